//! What the admin service publishes: nothing yet.

pub const PUBLISHES: &[&str] = &[];
