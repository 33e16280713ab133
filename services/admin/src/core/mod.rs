//! The admin service's use cases: the business directory, projecting events into the read
//! model, and reading it. Event handlers and routes call exactly one of them.

pub mod directory;
pub mod members;
pub mod projection;
pub mod reconciler;
pub mod rewards;
