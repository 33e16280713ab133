//! Withdrawals reported by the card processor.

use super::Payments;
use crate::domain::{NewWithdrawal, Withdrawal};
use crate::events::publishes;
use crate::storage::withdrawals;
use platform::idempotency::ClaimedKey;
use platform::pagination::{Cursor, PageRequest};
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

/// One page of a member's withdrawals, newest first, and the cursor of the next page.
pub async fn for_member(
    payments: &Payments,
    member_id: Uuid,
    page: &PageRequest,
) -> Result<(Vec<Withdrawal>, Option<String>), ApiError> {
    let found = withdrawals::for_member(
        &payments.pool,
        member_id,
        page.after_time(),
        page.after_id(),
        page.fetch_limit(),
    )
    .await?;
    Ok(page.finish(found, |withdrawal| Cursor {
        created_at: withdrawal.created_at,
        id: withdrawal.id,
    }))
}
