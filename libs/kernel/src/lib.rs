//! The shared kernel: the few domain types every service speaks, so that a charge's amount or
//! a reason typed by staff is checked the same way everywhere. Pure values and rules: nothing
//! here does I/O or knows about HTTP; callers turn the errors into their own.

pub mod business;
pub mod money;
pub mod text;

pub use business::DEMO_BUSINESS_ID;
pub use money::{Currency, Money};
