//! Refunds of succeeded charges, in full or in part.

use super::charges::not_found;
use super::{jobs, key_already_used, record_response, vanished, Payments};
use crate::domain::{refund_amount, Charge, JobKind, NewRefund, Refund, RefundError};
use crate::storage::{self, charges, refunds};
use platform::idempotency::ClaimedKey;
use platform::pagination::{Cursor, PageRequest};
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
/// can never add up to more than was captured. A key taken over from a request that died before
/// recording its response answers with the refund that request stored, as it stands now, if
/// there is one.
pub async fn create(
    payments: &Payments,
    charge_id: Uuid,
    request: NewRefund,
    authorize: impl Fn(&Charge) -> Result<(), ApiError>,
    claimed: &ClaimedKey<'_>,
    respond: impl Fn(&Refund) -> (u16, serde_json::Value),
) -> Result<Refund, ApiError> {
    if claimed.resumed {
        let found =
            refunds::find_by_idempotency_key(&payments.pool, claimed.scope, claimed.key.as_str())
                .await?;
        if let Some(refund) = found {
            tracing::info!(refund_id = %refund.id, "resumed idempotency key answered with its refund");
            record_response(&payments.pool, claimed, respond(&refund)).await?;
            return Ok(refund);
        }
    }
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
            claimed.key.as_str(),
        )
        .await
        .map_err(|e| {
            if refunds::is_key_taken(&e) {
                key_already_used("refund")
            } else {
                ApiError::from(e)
            }
        })?;
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

/// One page of a charge's refunds, newest first, and the cursor of the next page, if `may_see`
/// allows the charge.
pub async fn list(
    payments: &Payments,
    charge_id: Uuid,
    may_see: impl Fn(&Charge) -> bool,
    page: &PageRequest,
) -> Result<(Vec<Refund>, Option<String>), ApiError> {
    let charge = super::charges::get(payments, charge_id, may_see).await?;
    let found = refunds::for_charge(
        &payments.pool,
        charge.id,
        page.after_time(),
        page.after_id(),
        page.fetch_limit(),
    )
    .await?;
    Ok(page.finish(found, |refund| Cursor {
        created_at: refund.created_at,
        id: refund.id,
    }))
}
