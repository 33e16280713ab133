//! Plumbing every service shares. A service crate wires these together in its `startup.rs`;
//! nothing here knows about points, charges or members.

pub mod client_ip;
pub mod config;
pub mod db;
pub mod health;
pub mod http;
pub mod idempotency;
pub mod metrics;
pub mod notified_cache;
pub mod pagination;
pub mod problem;
pub mod rate_limit;
pub mod redis;
pub mod service;
pub mod telemetry;
pub mod text;

pub use problem::{ApiError, FieldError};
pub use tokio_util::sync::CancellationToken;
