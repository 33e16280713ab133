//! Refunds of succeeded charges, in full or in part.

use super::charges::not_found;
use super::{jobs, record_response, vanished, Payments};
use crate::domain::{refund_amount, Charge, JobKind, NewRefund, Refund, RefundError};
use crate::storage::{self, charges, refunds};
use platform::idempotency::ClaimedKey;
use platform::ApiError;
use uuid::Uuid;

impl From<RefundError> for ApiError {
    fn from(e: RefundError) -> Self {
        match e {
            RefundError::NotRefundable(_) => ApiError::Unprocessable {
                slug: "charge-not-refundable",
                detail: e.to_string(),
            },
            RefundError::NotPositive => ApiError::validation("amount", e.to_string()),
            RefundError::ExceedsCharge { .. } => ApiError::Unprocessable {
                slug: "refund-exceeds-charge",
                detail: e.to_string(),
            },
        }
    }
}

/// Refunds (part of) a succeeded charge, if `authorize` allows it on that charge. The amount is
/// reserved on the charge in the same transaction that creates the refund, so concurrent refunds
/// can never add up to more than was captured.
pub async fn create(
    payments: &Payments,
    charge_id: Uuid,
    request: NewRefund,
    authorize: impl Fn(&Charge) -> Result<(), ApiError>,
    claimed: &ClaimedKey<'_>,
    respond: impl Fn(&Refund) -> (u16, serde_json::Value),
) -> Result<Refund, ApiError> {
    let created = async {
        let mut tx = payments.pool.begin().await?;
        let charge = charges::lock(&mut tx, charge_id)
            .await?
            .ok_or_else(not_found)?;
        authorize(&charge)?;
        let amount = refund_amount(&charge, request.amount)?;
        let refund = refunds::insert_pending(
            &mut tx,
            charge.id,
            amount,
            &charge.currency,
            request.reason.as_deref(),
            claimed.scope,
        )
        .await?;
        charges::reserve_refund(&mut tx, charge.id, amount).await?;
        let job = storage::jobs::insert_leased(
            &mut tx,
            JobKind::Refund,
            charge.id,
            Some(refund.id),
            payments.settings.max_attempts,
            payments.lease_secs(),
        )
        .await?;
        tx.commit().await?;
        Ok::<_, ApiError>((refund, job))
    }
    .await;
    let (refund, job) = match created {
        Ok(created) => created,
        Err(e) => {
            claimed.release(&payments.pool).await;
            return Err(e);
        }
    };
    jobs::attempt(payments, &job).await;
    let refund = refunds::find(&payments.pool, refund.id)
        .await?
        .ok_or_else(|| vanished("refund", refund.id))?;
    record_response(&payments.pool, claimed, respond(&refund)).await?;
    Ok(refund)
}

/// A charge's refunds, oldest first, if `may_see` allows the charge.
pub async fn list(
    payments: &Payments,
    charge_id: Uuid,
    may_see: impl Fn(&Charge) -> bool,
) -> Result<Vec<Refund>, ApiError> {
    let charge = super::charges::get(payments, charge_id, may_see).await?;
    Ok(refunds::for_charge(&payments.pool, charge.id).await?)
}
