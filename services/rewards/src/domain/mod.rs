//! The rewards service's rules, free of I/O: the catalog, redemption codes and the redemption's
//! states.

pub mod campaigns;
pub mod catalog;
pub mod codes;
pub mod redemptions;
pub mod referrals;
pub mod settlement;

pub use catalog::{CreateReward, InvalidField, NewReward};
