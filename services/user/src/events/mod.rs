//! Events in and out of the user service: it publishes account events and consumes what
//! happens to members elsewhere, to notify them.

pub mod consumes;
pub mod publishes;

use events::topics;

pub use consumes::{UserEvents, CONSUMES};

pub const PUBLISHES: &[&str] = &[topics::USER_REGISTERED, topics::USER_ERASED];
