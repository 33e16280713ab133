//! The payment service's tables.

pub mod charges;
