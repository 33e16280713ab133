//! The payment service's tables: every query, checked against the schema at compile time.

pub mod charges;
pub mod checkout_sessions;
pub mod jobs;
pub mod refunds;
pub mod webhooks;
pub mod withdrawals;

/// A stored value the domain does not know (a status written by a newer version, say).
fn unknown(what: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unknown {what} {value:?}").into())
}
