//! Staff adjustments: a credit or debit of a member's points with a reason, audited.

use super::{lock_member, Result, REPLAY_STATUS};
use crate::domain::points::debt;
use crate::domain::{AdjustmentPoints, LedgerError, TransactionKind};
use crate::events::publishes;
use crate::storage::accounts::{self, Account, BalanceChange};
use crate::storage::entries::{self, Book, NewTransaction, Recorded, TransactionRecord};
use crate::storage::lots::{self, NewLot};
use crate::storage::{audit, program};
use chrono::Utc;
use platform::idempotency::ClaimedKey;
use platform::ApiError;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub struct Adjustment<'a> {
    pub member_id: Uuid,
    pub points: AdjustmentPoints,
    pub reason: &'a str,
    /// The staff member (`user:<id>`).
    pub actor: &'a str,
}

#[derive(Debug, Clone)]
pub struct Adjusted {
    pub transaction: TransactionRecord,
    /// This actor's key had made this adjustment before.
    pub replayed: bool,
}

/// Makes the adjustment under the request's idempotency key; `replay` is the response a retry
/// with the same key gets, recorded in the same transaction.
pub async fn adjust(
    pool: &PgPool,
    adjustment: &Adjustment<'_>,
    claimed: &ClaimedKey<'_>,
    replay: impl FnOnce(&TransactionRecord) -> serde_json::Value,
) -> std::result::Result<Adjusted, ApiError> {
    let outcome = async {
        let mut tx = pool.begin().await?;
        let adjusted = adjust_in(&mut tx, adjustment, claimed.key.as_str()).await?;
        claimed
            .complete(&mut tx, REPLAY_STATUS, &replay(&adjusted.transaction))
            .await?;
        tx.commit().await?;
        Ok::<_, ApiError>(adjusted)
    }
    .await;
    claimed.release_on_error(pool, outcome).await
}

/// The adjustment inside the caller's transaction (a consumer's), keyed by `idempotency_key`.
pub(super) async fn adjust_in(
    conn: &mut PgConnection,
    adjustment: &Adjustment<'_>,
    idempotency_key: &str,
) -> Result<Adjusted> {
    let member_id = adjustment.member_id;
    let points = adjustment.points;
    let account = lock_member(conn, member_id).await?;
    let settings = program::settings(conn).await?;
    if let Some(debit) = points.debit() {
        if debit > account.available() && !settings.allow_negative_balance {
            return Err(LedgerError::Insufficient {
                available: account.available().max(0),
            }
            .into());
        }
    }
    let balance_after = account
        .balance
        .checked_add(points.signed())
        .ok_or(LedgerError::OutOfRange)?;
    let reference = format!("{}:{}", adjustment.actor, idempotency_key);
    let mut transaction = NewTransaction::new(
        member_id,
        TransactionKind::Adjust,
        points.signed(),
        "adjustment",
        &reference,
    );
    transaction.description = Some(adjustment.reason);
    transaction.actor = Some(adjustment.actor);
    transaction.moves = vec![(Book::Active, points.signed())];
    // A credit becomes a new lot (repaying any debt first).
    let now = Utc::now();
    transaction.lot = points.credit().map(|credit| NewLot {
        points: credit,
        remaining: credit - debt(account.balance).min(credit),
        pending: false,
        earned_at: now,
        available_at: now,
        expires_at: settings.expiry(now),
    });
    // (source, reference, kind) is unique: a second adjustment with this actor's key finds the
    // first one here.
    let Some(Recorded {
        id: transaction_id, ..
    }) = entries::record(conn, &transaction).await?
    else {
        let original = find(conn, &reference).await?;
        return if original.points == points.signed() && original.member_id == member_id {
            Ok(Adjusted {
                transaction: original,
                replayed: true,
            })
        } else {
            Err(LedgerError::KeyReused.into())
        };
    };
    move_points(conn, &account, points, transaction_id).await?;
    audit::record(
        conn,
        adjustment.actor,
        "points.adjust",
        Some(member_id),
        serde_json::json!({
            "points": points.signed(), "reason": adjustment.reason, "transaction_id": transaction_id,
        }),
    )
    .await?;
    events::outbox::enqueue(
        conn,
        &publishes::points_adjusted(
            member_id,
            transaction_id,
            points.signed(),
            adjustment.reason,
            adjustment.actor,
            balance_after,
        ),
    )
    .await?;
    Ok(Adjusted {
        transaction: find(conn, &reference).await?,
        replayed: false,
    })
}

/// A debit takes from the oldest lots (a credit's lot was written with its transaction).
async fn move_points(
    conn: &mut PgConnection,
    account: &Account,
    points: AdjustmentPoints,
    transaction_id: Uuid,
) -> Result<()> {
    let member_id = account.member_id;
    if let Some(debit) = points.debit() {
        lots::take(conn, member_id, debit, transaction_id, None).await?;
    }
    accounts::apply(
        conn,
        member_id,
        BalanceChange {
            active: points.signed(),
            earned: points.credit().unwrap_or(0),
            ..Default::default()
        },
    )
    .await?;
    Ok(())
}

async fn find(conn: &mut PgConnection, reference: &str) -> Result<TransactionRecord> {
    Ok(
        entries::find_by_reference(conn, "adjustment", reference, &[TransactionKind::Adjust])
            .await?
            .ok_or(LedgerError::UnknownMember)?,
    )
}
