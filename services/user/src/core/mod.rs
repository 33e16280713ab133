//! The user service's use cases. Each owns its transaction; a route calls exactly one of them.

pub mod clients;
pub mod codes;
pub mod context;
pub mod counter;
pub mod erasure;
pub mod keys;
pub mod limits;
pub mod messages;
pub mod notifications;
pub mod passwords;
pub mod profile;
pub mod registration;
pub mod sessions;
pub mod social;
pub mod staff;

pub use context::Context;
