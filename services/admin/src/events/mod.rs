//! Events in and out of the admin service.

pub mod consumes;
pub mod publishes;

pub use consumes::{AdminEvents, CONSUMES};
pub use publishes::PUBLISHES;
