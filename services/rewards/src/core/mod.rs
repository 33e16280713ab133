//! The rewards service's use cases. Each owns its transaction; routes and event handlers call
//! exactly one of them.

pub mod campaigns;
pub mod catalog;
pub mod clock;
pub mod redemptions;
pub mod referrals;
pub mod settlements;
pub mod standing;
