//! Withdrawals reported by the card processor.

use super::Payments;
use crate::domain::{NewWithdrawal, Withdrawal};
use crate::events::publishes;
use crate::storage::withdrawals;
use platform::idempotency::ClaimedKey;
use platform::ApiError;
use uuid::Uuid;

/// Records the withdrawal, its `withdrawal.recorded` event and the response for replays of the
/// key, all in one transaction; on failure the key is released.
pub async fn record(
    payments: &Payments,
    withdrawal: &NewWithdrawal,
    claimed: &ClaimedKey<'_>,
    respond: impl Fn(&Withdrawal) -> (u16, serde_json::Value),
) -> Result<Withdrawal, ApiError> {
    let recorded = async {
        let mut tx = payments.pool.begin().await?;
        let stored =
            withdrawals::insert(&mut tx, Uuid::now_v7(), withdrawal, claimed.scope).await?;
        events::outbox::enqueue(&mut tx, &publishes::withdrawal_recorded(&stored)).await?;
        let (status, body) = respond(&stored);
        claimed.complete(&mut tx, status, &body).await?;
        tx.commit().await?;
        Ok::<_, ApiError>(stored)
    }
    .await;
    if recorded.is_err() {
        claimed.release(&payments.pool).await;
    }
    recorded
}

/// A member's latest withdrawals, newest first.
pub async fn for_member(payments: &Payments, member_id: Uuid) -> Result<Vec<Withdrawal>, ApiError> {
    Ok(withdrawals::for_member(&payments.pool, member_id, 100).await?)
}
