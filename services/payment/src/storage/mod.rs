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

/// Whether `e` is a violation of the unique index or constraint `name`.
fn violates(e: &sqlx::Error, name: &str) -> bool {
    matches!(e, sqlx::Error::Database(db)
        if db.is_unique_violation() && db.constraint() == Some(name))
}
