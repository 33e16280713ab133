//! Events in and out of the point service.

pub mod consumes;
pub mod counted;
pub mod publishes;

pub use consumes::{PointEvents, CONSUMES};
pub use publishes::PUBLISHES;
