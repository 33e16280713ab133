//! Holds and redemptions: points reserved, then captured (spent, oldest lots first) or given
//! back (released by the caller, expired by the scheduler).

use super::{lock_account, lock_member, Result, REPLAY_STATUS};
use crate::domain::holds::Transition;
use crate::domain::{HoldStatus, HoldTtl, LedgerError, Points, TransactionKind};
use crate::events::publishes;
use crate::storage::accounts::{self, BalanceChange};
use crate::storage::entries::{self, Book, NewTransaction};
pub use crate::storage::holds::Hold;
use crate::storage::holds::{self, NewHold};
use crate::storage::lots;
use platform::idempotency::ClaimedKey;
use platform::ApiError;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub struct HoldRequest<'a> {
    pub member_id: Uuid,
    pub points: Points,
    pub ttl: HoldTtl,
    pub reference_id: Option<&'a str>,
    pub description: Option<&'a str>,
    /// The caller (`user:<id>`, `partner:<id>`): one hold per caller and idempotency key.
    pub created_by: &'a str,
    /// What makes two requests with one key the same request.
    pub fingerprint: &'a str,
}

/// A hold as a request left it.
#[derive(Debug, Clone)]
pub struct Placed {
    pub hold: Hold,
    /// The caller's key had placed this hold before.
    pub replayed: bool,
}

/// Reserves points under the request's idempotency key; `replay` is the response a retry with
/// the same key gets, recorded in the same transaction.
pub async fn place(
    pool: &PgPool,
    request: &HoldRequest<'_>,
    claimed: &ClaimedKey<'_>,
    replay: impl FnOnce(&Hold) -> serde_json::Value,
) -> std::result::Result<Placed, ApiError> {
    let outcome = async {
        let mut tx = pool.begin().await?;
        let placed = hold_in(&mut tx, request, claimed.key.as_str()).await?;
        claimed
            .complete(&mut tx, REPLAY_STATUS, &replay(&placed.hold))
            .await?;
        tx.commit().await?;
        Ok(placed)
    }
    .await;
    claimed.release_on_error(pool, outcome).await
}

/// Spends points in one step: a hold captured at once, under the request's idempotency key.
pub async fn redeem(
    pool: &PgPool,
    request: &HoldRequest<'_>,
    claimed: &ClaimedKey<'_>,
    replay: impl FnOnce(&Hold) -> serde_json::Value,
) -> std::result::Result<Placed, ApiError> {
    let outcome = async {
        let mut tx = pool.begin().await?;
        let placed = hold_in(&mut tx, request, claimed.key.as_str()).await?;
        let hold = capture_in(&mut tx, request.member_id, placed.hold.id).await?;
        claimed
            .complete(&mut tx, REPLAY_STATUS, &replay(&hold))
            .await?;
        tx.commit().await?;
        Ok(Placed {
            hold,
            replayed: placed.replayed,
        })
    }
    .await;
    claimed.release_on_error(pool, outcome).await
}

/// Spends a hold's points. Capturing a captured hold returns it unchanged.
pub async fn capture(
    pool: &PgPool,
    member_id: Uuid,
    hold_id: Uuid,
) -> std::result::Result<Hold, ApiError> {
    let mut tx = pool.begin().await?;
    let hold = capture_in(&mut tx, member_id, hold_id).await?;
    tx.commit().await?;
    Ok(hold)
}

/// Gives a hold's points back. Releasing a released or expired hold returns it unchanged.
pub async fn release(
    pool: &PgPool,
    member_id: Uuid,
    hold_id: Uuid,
) -> std::result::Result<Hold, ApiError> {
    let mut tx = pool.begin().await?;
    let hold = give_back(&mut tx, member_id, hold_id, HoldStatus::Released).await?;
    tx.commit().await?;
    Ok(hold)
}

/// Expires a hold nobody captured or released in time (the scheduler).
pub async fn expire(pool: &PgPool, member_id: Uuid, hold_id: Uuid) -> Result<()> {
    let mut tx = pool.begin().await?;
    give_back(&mut tx, member_id, hold_id, HoldStatus::Expired).await?;
    tx.commit().await?;
    Ok(())
}

/// Places the hold, or finds the one this caller's key placed before. The unique
/// (created_by, idempotency_key) decides between concurrent requests with one key.
async fn hold_in(
    conn: &mut PgConnection,
    request: &HoldRequest<'_>,
    idempotency_key: &str,
) -> Result<Placed> {
    let account = lock_member(conn, request.member_id).await?;
    let points = request.points.get();
    if points > account.available() {
        return Err(LedgerError::Insufficient {
            available: account.available().max(0),
        }
        .into());
    }
    let new_hold = NewHold {
        member_id: request.member_id,
        points,
        reference_id: request.reference_id,
        description: request.description,
        created_by: request.created_by,
        idempotency_key,
        request_fingerprint: request.fingerprint,
        ttl_secs: request.ttl.secs(),
    };
    let Some(hold) = holds::insert(conn, &new_hold).await? else {
        let existing = holds::find_by_key(conn, request.created_by, idempotency_key)
            .await?
            .ok_or(LedgerError::KeyReused)?;
        return if existing.request_fingerprint == request.fingerprint
            && existing.member_id == request.member_id
        {
            Ok(Placed {
                hold: existing,
                replayed: true,
            })
        } else {
            Err(LedgerError::KeyReused.into())
        };
    };
    accounts::apply(
        conn,
        request.member_id,
        BalanceChange {
            held: points,
            ..Default::default()
        },
    )
    .await?;
    Ok(Placed {
        hold,
        replayed: false,
    })
}

async fn capture_in(conn: &mut PgConnection, member_id: Uuid, hold_id: Uuid) -> Result<Hold> {
    let account = lock_member(conn, member_id).await?;
    let hold = holds::lock(conn, member_id, hold_id)
        .await?
        .ok_or(LedgerError::UnknownHold)?;
    match hold.status.settle(HoldStatus::Captured) {
        Ok(Transition::AlreadyDone) => return Ok(hold),
        Ok(Transition::Apply) => {}
        Err(status) => return Err(LedgerError::HoldNotActive(status).into()),
    }
    let spent = hold.points.checked_neg().ok_or(LedgerError::OutOfRange)?;
    let reference = hold.id.to_string();
    let mut redemption = NewTransaction::new(
        member_id,
        TransactionKind::Redeem,
        spent,
        "hold",
        &reference,
    );
    redemption.description = hold.description.as_deref().or(Some("Redemption"));
    redemption.moves = vec![(Book::Active, spent)];
    let transaction_id = entries::record(conn, &redemption)
        .await?
        .ok_or(LedgerError::HoldNotActive(HoldStatus::Captured))?
        .id;
    lots::take(conn, member_id, hold.points, transaction_id, None).await?;
    accounts::apply(
        conn,
        member_id,
        BalanceChange {
            active: spent,
            held: spent,
            ..Default::default()
        },
    )
    .await?;
    let hold = holds::settle(conn, hold.id, HoldStatus::Captured, Some(transaction_id)).await?;
    events::outbox::enqueue(
        conn,
        &publishes::points_redeemed(
            member_id,
            transaction_id,
            hold.points,
            hold.reference_id.as_deref().unwrap_or(&reference),
            account.balance.saturating_sub(hold.points),
        ),
    )
    .await?;
    Ok(hold)
}

async fn give_back(
    conn: &mut PgConnection,
    member_id: Uuid,
    hold_id: Uuid,
    to: HoldStatus,
) -> Result<Hold> {
    lock_account(conn, member_id).await?;
    let hold = holds::lock(conn, member_id, hold_id)
        .await?
        .ok_or(LedgerError::UnknownHold)?;
    match hold.status.settle(to) {
        Ok(Transition::AlreadyDone) => return Ok(hold),
        Ok(Transition::Apply) => {}
        Err(status) => return Err(LedgerError::HoldNotActive(status).into()),
    }
    let freed = hold.points.checked_neg().ok_or(LedgerError::OutOfRange)?;
    accounts::apply(
        conn,
        member_id,
        BalanceChange {
            held: freed,
            ..Default::default()
        },
    )
    .await?;
    Ok(holds::settle(conn, hold.id, to, None).await?)
}
