//! The rewards service's use cases. Each owns its transaction; routes and event handlers call
//! exactly one of them.

pub mod catalog;
pub mod redemptions;
pub mod standing;
