//! Events in and out of the rewards service.

pub mod consumes;
pub mod publishes;

pub use consumes::RewardsEvents;
pub use publishes::PUBLISHES;

pub const CONSUMES: &[&str] = &[events::topics::USER_ERASED];
