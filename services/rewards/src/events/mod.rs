//! Events in and out of the rewards service.

pub mod consumes;
pub mod publishes;

pub use consumes::{RewardsEvents, CONSUMES};
pub use publishes::PUBLISHES;
