//! The payment flows behind the HTTP routes: store the work and its job together, run the job's
//! first attempt at once, and answer with what is known.

use crate::connectors::{CheckoutRequest, ConnectorError, HostedCheckout};
use crate::domain::{ChargeStatus, NewCharge, NewCheckout};
use crate::processor::Processor;
use crate::storage::charges::{self, ChargeRecord};
use crate::storage::checkout_sessions::{self, CheckoutSessionRecord, NewSession};
use crate::storage::jobs::{self, JobKind};
use crate::storage::refunds::{self, RefundRecord};
use platform::idempotency::{self, ClaimedKey};
use platform::ApiError;
use sqlx::PgPool;
use uuid::Uuid;

/// Runs a charge whose idempotency key this request holds. Returns the charge as it stands
/// after the first attempt: settled, waiting for the customer, or still processing (the worker
/// retries). If the charge could not even be stored, the key is released so the client can retry.
pub async fn create_charge(
    pool: &PgPool,
    processor: &Processor,
    charge: NewCharge,
    claimed: &ClaimedKey<'_>,
    respond: impl Fn(&ChargeRecord) -> (u16, serde_json::Value),
) -> Result<ChargeRecord, ApiError> {
    let id = Uuid::now_v7();
    let first_choice = match charge.pinned_psp {
        Some(psp) => psp,
        None => processor
            .connectors()
            .route(charge.amount.currency.code())
            .first()
            .map(|c| c.name())
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no PSP is routed")))?,
    };
    let settings = processor.settings();
    let stored = async {
        let mut tx = pool.begin().await?;
        charges::insert_processing(&mut tx, id, &charge, claimed.scope, first_choice).await?;
        let job = jobs::insert_leased(
            &mut tx,
            JobKind::Authorize,
            id,
            None,
            settings.max_attempts,
            settings.lease_secs as i64,
        )
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(job)
    }
    .await;
    let job = match stored {
        Ok(job) => job,
        Err(e) => {
            idempotency::release(pool, claimed.scope, claimed.key).await;
            return Err(e.into());
        }
    };
    processor.attempt(&job).await;
    let record = charges::find(pool, id)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("charge {id} vanished")))?;
    record_response(pool, claimed, respond(&record)).await?;
    Ok(record)
}

/// Opens a hosted payment page at the first routed PSP that offers one and is reachable, and
/// stores the charge, waiting for the customer, with its session.
///
/// The PSP is called before anything is stored: a session moves no money, and nobody but this
/// request learns its URL, so if storing fails (or the PSP's answer is lost) the orphaned session
/// simply expires unpaid, and the released key lets the client try again.
pub async fn create_checkout(
    pool: &PgPool,
    processor: &Processor,
    checkout: NewCheckout,
    claimed: &ClaimedKey<'_>,
    respond: impl Fn(&ChargeRecord, &CheckoutSessionRecord) -> (u16, serde_json::Value),
) -> Result<(ChargeRecord, CheckoutSessionRecord), ApiError> {
    let id = Uuid::now_v7();
    let opened = open_hosted_page(processor, id, &checkout).await;
    let stored = match opened {
        Ok((psp, hosted)) => store_checkout(pool, id, &checkout, claimed.scope, psp, &hosted)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    if let Err(e) = stored {
        idempotency::release(pool, claimed.scope, claimed.key).await;
        return Err(e);
    }
    let charge = charges::find(pool, id)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("charge {id} vanished")))?;
    let session = checkout_sessions::find(pool, id)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("checkout session {id} vanished")))?;
    record_response(pool, claimed, respond(&charge, &session)).await?;
    Ok((charge, session))
}

async fn open_hosted_page(
    processor: &Processor,
    charge_id: Uuid,
    checkout: &NewCheckout,
) -> Result<(&'static str, HostedCheckout), ApiError> {
    let currency = checkout.charge.amount.currency.code();
    let candidates: Vec<_> = processor
        .connectors()
        .route(currency)
        .into_iter()
        .filter(|c| c.hosted_checkout())
        .collect();
    if candidates.is_empty() {
        return Err(ApiError::Unprocessable {
            slug: "checkout-unavailable",
            detail: format!("no PSP routed for {currency} offers hosted checkout"),
        });
    }
    let request = CheckoutRequest {
        charge_id,
        amount: checkout.charge.amount,
        description: &checkout.description,
        success_url: &checkout.success_url,
        cancel_url: checkout.cancel_url.as_deref(),
    };
    let mut last_error = None;
    for connector in candidates {
        match connector.create_checkout(&request).await {
            Ok(hosted) => return Ok((connector.name(), hosted)),
            // Never reached that PSP: the next one may take it.
            Err(ConnectorError::Unavailable(why)) => {
                tracing::warn!(psp = connector.name(), %why, "PSP unreachable; trying the next");
                last_error = Some(why);
            }
            Err(ConnectorError::Unknown(why)) => {
                tracing::warn!(psp = connector.name(), %why, "checkout session outcome unknown");
                return Err(ApiError::Unavailable(format!(
                    "the PSP did not answer; retry with the same Idempotency-Key ({why})"
                )));
            }
            Err(ConnectorError::Refused(why)) => {
                return Err(ApiError::Internal(anyhow::anyhow!(
                    "{} refused the checkout session: {why}",
                    connector.name()
                )))
            }
        }
    }
    Err(ApiError::Unavailable(format!(
        "no PSP could be reached: {}",
        last_error.unwrap_or_default()
    )))
}

async fn store_checkout(
    pool: &PgPool,
    id: Uuid,
    checkout: &NewCheckout,
    created_by: &str,
    psp: &str,
    hosted: &HostedCheckout,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    charges::insert_awaiting_customer(
        &mut tx,
        id,
        &checkout.charge,
        created_by,
        psp,
        &hosted.psp_reference,
        &hosted.url,
    )
    .await?;
    checkout_sessions::insert(
        &mut tx,
        &NewSession {
            charge_id: id,
            psp,
            psp_session_id: &hosted.psp_reference,
            url: &hosted.url,
            success_url: &checkout.success_url,
            cancel_url: checkout.cancel_url.as_deref(),
            expires_at: hosted.expires_at,
        },
    )
    .await?;
    tx.commit().await
}

pub struct NewRefund {
    /// `None`: everything not yet refunded.
    pub amount: Option<i64>,
    pub reason: Option<String>,
}

/// Refunds (part of) a succeeded charge. The amount is reserved on the charge in the same
/// transaction that creates the refund, so concurrent refunds can never add up to more than
/// was captured.
pub async fn create_refund(
    pool: &PgPool,
    processor: &Processor,
    charge_id: Uuid,
    request: NewRefund,
    claimed: &ClaimedKey<'_>,
    respond: impl Fn(&RefundRecord) -> (u16, serde_json::Value),
) -> Result<RefundRecord, ApiError> {
    let settings = processor.settings();
    let created = async {
        let mut tx = pool.begin().await?;
        let charge = charges::lock(&mut tx, charge_id)
            .await?
            .ok_or_else(|| ApiError::NotFound("no such charge".into()))?;
        if charge.status != ChargeStatus::Succeeded.as_str() {
            return Err(ApiError::Unprocessable {
                slug: "charge-not-refundable",
                detail: format!(
                    "only a succeeded charge can be refunded; this one is {}",
                    charge.status
                ),
            });
        }
        let remaining = charge.amount - charge.amount_refunded;
        let amount = request.amount.unwrap_or(remaining);
        if amount <= 0 && request.amount.is_some() {
            return Err(ApiError::validation(
                "amount",
                "must be a positive integer number of minor units",
            ));
        }
        if amount > remaining || remaining == 0 {
            return Err(ApiError::Unprocessable {
                slug: "refund-exceeds-charge",
                detail: format!(
                    "{remaining} of the charge's {} {} is left to refund",
                    charge.amount, charge.currency
                ),
            });
        }
        let refund = refunds::insert_pending(
            &mut tx,
            charge.id,
            amount,
            &charge.currency,
            request.reason.as_deref(),
            claimed.scope,
        )
        .await?;
        charges::add_refunded(&mut tx, charge.id, amount).await?;
        let job = jobs::insert_leased(
            &mut tx,
            JobKind::Refund,
            charge.id,
            Some(refund.id),
            settings.max_attempts,
            settings.lease_secs as i64,
        )
        .await?;
        tx.commit().await?;
        Ok((refund, job))
    }
    .await;
    let (refund, job) = match created {
        Ok(created) => created,
        Err(e) => {
            idempotency::release(pool, claimed.scope, claimed.key).await;
            return Err(e);
        }
    };
    processor.attempt(&job).await;
    let record = refunds::find(pool, refund.id)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("refund {} vanished", refund.id)))?;
    record_response(pool, claimed, respond(&record)).await?;
    Ok(record)
}

/// Stores the response for replays of this key. If the process dies before this, the key stays
/// in flight (409) until it expires, while the job itself is resumed by the worker.
async fn record_response(
    pool: &PgPool,
    claimed: &ClaimedKey<'_>,
    (status, body): (u16, serde_json::Value),
) -> Result<(), ApiError> {
    let mut conn = pool.acquire().await?;
    idempotency::complete(&mut conn, claimed.scope, claimed.key, status, &body).await
}
