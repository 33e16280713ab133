//! Events in and out of the user service. It consumes nothing.

pub mod publishes;

use events::topics;

pub const PUBLISHES: &[&str] = &[topics::USER_REGISTERED, topics::USER_ERASED];
pub const CONSUMES: &[&str] = &[];
