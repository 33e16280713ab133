//! Refunds of charges: the points a refunded purchase earned are taken back in proportion.

use super::{lock_member, Result};
use crate::domain::earning::ChargeRefund;
use crate::domain::{earning, LotStatus, TransactionKind};
use crate::events::publishes;
use crate::storage::accounts::{self, BalanceChange};
use crate::storage::entries::{self, Book, NewTransaction, Recorded};
use crate::storage::lots::{self, LotRecord};
use crate::storage::program;
use crate::storage::spend;
use sqlx::PgConnection;
use uuid::Uuid;

/// Applies a charge's refund state: `total_refunded` of `charge_amount` so far. Inside the
/// return window it cancels pending points; after it, it reverses active points (never below
/// zero unless the program allows it; what cannot be taken back is recorded as a shortfall).
/// Repeats and older states are no-ops; a refund for a charge not earned for yet is kept until
/// the charge arrives.
pub async fn refund_in(
    conn: &mut PgConnection,
    member_id: Uuid,
    charge_id: &str,
    refund: ChargeRefund,
) -> Result<()> {
    accounts::open(conn, member_id).await?;
    let account = lock_member(conn, member_id).await?;
    let Some(earn) = entries::find_by_reference(
        conn,
        "charge",
        charge_id,
        &[TransactionKind::Earn, TransactionKind::EarnPending],
    )
    .await?
    else {
        spend::remember_early_refund(conn, charge_id, member_id, refund).await?;
        return Ok(());
    };
    spend::reduce_qualifying(
        conn,
        member_id,
        &format!("charge:{charge_id}"),
        refund.total_refunded,
        refund.charge_amount,
    )
    .await?;
    let due = earning::points_to_reverse(earn.points, refund.charge_amount, refund.total_refunded);
    let accounted = entries::refunded_for_charge(conn, charge_id).await?;
    let delta = due.saturating_sub(accounted);
    if delta <= 0 {
        return Ok(());
    }
    let reference = format!("{charge_id}/{}", refund.total_refunded);
    let lot = lots::of_transaction(conn, earn.id).await?;
    if let Some(lot) = lot.filter(|l| l.status == LotStatus::Pending) {
        return cancel_pending(conn, member_id, &lot, delta, &reference).await;
    }
    let settings = program::settings(conn).await?;
    let take = if settings.allow_negative_balance {
        delta
    } else {
        delta.min(account.available().max(0))
    };
    let mut reversal = NewTransaction::new(
        member_id,
        TransactionKind::Reverse,
        -take,
        "refund",
        &reference,
    );
    reversal.description = Some("Refund of the purchase");
    reversal.shortfall = delta - take;
    reversal.moves = vec![(Book::Active, -take)];
    let Some(Recorded {
        id: transaction_id, ..
    }) = entries::record(conn, &reversal).await?
    else {
        return Ok(());
    };
    if take > 0 {
        lots::take(conn, member_id, take, transaction_id, Some(earn.id)).await?;
        accounts::apply(
            conn,
            member_id,
            BalanceChange {
                active: -take,
                ..Default::default()
            },
        )
        .await?;
    }
    if delta > take {
        tracing::warn!(%member_id, charge_id, shortfall = delta - take, "refund reversal short: points already spent");
    }
    events::outbox::enqueue(
        conn,
        &publishes::points_reversed(
            member_id,
            transaction_id,
            take,
            &reference,
            account.balance.saturating_sub(take),
        ),
    )
    .await?;
    Ok(())
}

/// Inside the return window: takes the refunded share out of the pending lot; what the lot no
/// longer holds is recorded as a shortfall.
async fn cancel_pending(
    conn: &mut PgConnection,
    member_id: Uuid,
    lot: &LotRecord,
    delta: i64,
    reference: &str,
) -> Result<()> {
    let cancel = delta.min(lot.remaining);
    let mut cancellation = NewTransaction::new(
        member_id,
        TransactionKind::CancelPending,
        -cancel,
        "refund",
        reference,
    );
    cancellation.description = Some("Refund inside the return window");
    cancellation.shortfall = delta - cancel;
    cancellation.moves = vec![(Book::Pending, -cancel)];
    let Some(Recorded {
        id: transaction_id, ..
    }) = entries::record(conn, &cancellation).await?
    else {
        return Ok(());
    };
    if cancel > 0 {
        lots::cancel_pending(conn, lot.id, cancel, transaction_id).await?;
        accounts::apply(
            conn,
            member_id,
            BalanceChange {
                pending: -cancel,
                ..Default::default()
            },
        )
        .await?;
    }
    Ok(())
}
