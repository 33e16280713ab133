//! Points over time: pending points become active when their return window closes, active
//! points expire (oldest first, never into held points), and members hear about it before.

use super::{lock_account, Result};
use crate::domain::{LotStatus, TransactionKind};
use crate::events::publishes;
use crate::storage::accounts::{self, BalanceChange};
use crate::storage::entries::{self, Book, NewTransaction, Recorded};
use crate::storage::lots;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// Makes a pending lot active once its return window has closed. Returns whether it did.
pub async fn activate_lot(pool: &PgPool, member_id: Uuid, lot_id: Uuid) -> Result<bool> {
    let mut tx = pool.begin().await?;
    lock_account(&mut tx, member_id).await?;
    let Some(lot) = lots::lock(&mut tx, lot_id).await? else {
        return Ok(false);
    };
    if !lot.status.can_become(LotStatus::Active) || lot.remaining == 0 {
        return Ok(false);
    }
    let reference = lot_id.to_string();
    let mut activation = NewTransaction::new(
        member_id,
        TransactionKind::Activate,
        lot.remaining,
        "pending",
        &reference,
    );
    activation.description = Some("Return window closed");
    activation.moves = vec![
        (Book::Pending, -lot.remaining),
        (Book::Active, lot.remaining),
    ];
    let activated = entries::record(&mut tx, &activation).await?.is_some();
    if activated {
        lots::activate(&mut tx, lot_id).await?;
        accounts::apply(
            &mut tx,
            member_id,
            BalanceChange {
                active: lot.remaining,
                pending: -lot.remaining,
                ..Default::default()
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(activated)
}

/// Expires the member's points whose lots expired by `now`, never into held points. Returns
/// how many points expired.
pub async fn expire_member(pool: &PgPool, member_id: Uuid, now: DateTime<Utc>) -> Result<i64> {
    let mut tx = pool.begin().await?;
    let account = lock_account(&mut tx, member_id).await?;
    let due = lots::expired_total(&mut tx, member_id, now).await?;
    let points = due.min(account.available().max(0));
    if points == 0 {
        return Ok(0);
    }
    let reference = format!("{member_id}:{}", now.timestamp_micros());
    let mut expiry = NewTransaction::new(
        member_id,
        TransactionKind::Expire,
        -points,
        "expiry",
        &reference,
    );
    expiry.description = Some("Points expired");
    expiry.moves = vec![(Book::Active, -points)];
    let Some(Recorded {
        id: transaction_id, ..
    }) = entries::record(&mut tx, &expiry).await?
    else {
        return Ok(0);
    };
    lots::take_expired(&mut tx, member_id, now, points, transaction_id).await?;
    accounts::apply(
        &mut tx,
        member_id,
        BalanceChange {
            active: -points,
            ..Default::default()
        },
    )
    .await?;
    events::outbox::enqueue(
        &mut tx,
        &publishes::points_expired(
            member_id,
            transaction_id,
            points,
            account.balance.saturating_sub(points),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(points)
}

/// Warns members, once per lot, of points expiring within `window_days` of `now`. Returns how
/// many warnings went out.
pub async fn warn_expiring(
    pool: &PgPool,
    now: DateTime<Utc>,
    window_days: i32,
    limit: i64,
) -> Result<usize> {
    let mut tx = pool.begin().await?;
    let warned = lots::claim_expiry_warnings(&mut tx, now, window_days, limit).await?;
    for lot in &warned {
        events::outbox::enqueue(
            &mut tx,
            &publishes::points_expiring(lot.member_id, lot.id, lot.remaining, lot.expires_at),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(warned.len())
}
