//! The rewards service's tables.

pub mod campaigns;
pub mod catalog;
pub mod redemptions;
pub mod referrals;
