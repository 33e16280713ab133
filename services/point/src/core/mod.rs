//! The point service's use cases. Each owns its transaction (or runs in the one an event
//! consumer hands it): it locks the member's account, changes the ledger through `storage`,
//! applies the rules of `domain`, and writes its events to the outbox, so all of it commits
//! together or not at all. Locking the account first serialises every change to one member's
//! points. Routes and event handlers call exactly one of them.

pub mod adjust;
pub mod balance;
pub mod earn;
pub mod expiry;
pub mod holds;
pub mod members;
pub mod program;
pub mod reconciliation;
pub mod refunds;
pub mod scheduler;
pub mod stamps;
pub mod tiers;

use crate::domain::LedgerError;
use crate::storage::accounts::{self, Account};
use platform::ApiError;
use sqlx::PgConnection;
use uuid::Uuid;

/// Why a use case failed: a rule of the ledger, or the database.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Refused(#[from] LedgerError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Refused(refusal) => refusal_to_api(refusal),
            Error::Database(e) => e.into(),
        }
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        refusal_to_api(e)
    }
}

fn refusal_to_api(e: LedgerError) -> ApiError {
    match e {
        LedgerError::UnknownMember => {
            ApiError::NotFound("this member has no points account".into())
        }
        LedgerError::UnknownHold => ApiError::NotFound("no such hold for this member".into()),
        LedgerError::Erased => ApiError::Unprocessable {
            slug: "member-erased",
            detail: "this member's account was erased".into(),
        },
        LedgerError::CurrencyNotAccepted { expected, given } => ApiError::Unprocessable {
            slug: "currency-not-accepted",
            detail: format!("the program earns points in {expected}; {given} is not accepted"),
        },
        LedgerError::Insufficient { available } => ApiError::Unprocessable {
            slug: "insufficient-points",
            detail: format!("not enough points: {available} available"),
        },
        LedgerError::ReferenceConflict(reference) => ApiError::Conflict {
            slug: "reference-conflict",
            detail: format!("reference {reference} was already used with a different amount"),
        },
        LedgerError::KeyReused => ApiError::Unprocessable {
            slug: "idempotency-key-reused",
            detail: "this Idempotency-Key was used with a different request".into(),
        },
        LedgerError::HoldNotActive(status) => ApiError::Conflict {
            slug: "hold-not-active",
            detail: format!("the hold is {status}"),
        },
        LedgerError::OutOfRange => ApiError::Unprocessable {
            slug: "points-out-of-range",
            detail: "the member's points would leave the range the ledger can hold".into(),
        },
    }
}

/// Locks the member's account; refuses unknown and erased members.
async fn lock_member(conn: &mut PgConnection, member_id: Uuid) -> Result<Account> {
    let account = lock_account(conn, member_id).await?;
    if account.erased_at.is_some() {
        return Err(LedgerError::Erased.into());
    }
    Ok(account)
}

/// Locks the member's account, opening it first if there is none (an earn may come before the
/// member's registration event); refuses erased members.
async fn lock_or_open_member(conn: &mut PgConnection, member_id: Uuid) -> Result<Account> {
    let account = match accounts::lock(conn, member_id).await? {
        Some(account) => account,
        None => {
            accounts::open(conn, member_id).await?;
            lock_account(conn, member_id).await?
        }
    };
    if account.erased_at.is_some() {
        return Err(LedgerError::Erased.into());
    }
    Ok(account)
}

/// Locks the member's account, erased or not.
async fn lock_account(conn: &mut PgConnection, member_id: Uuid) -> Result<Account> {
    accounts::lock(conn, member_id)
        .await?
        .ok_or_else(|| LedgerError::UnknownMember.into())
}

/// The status a retry with the same idempotency key is answered with; the first answer is the
/// route's own (201).
pub const REPLAY_STATUS: u16 = 200;
