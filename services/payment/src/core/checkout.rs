//! Hosted checkout: the customer pays on the PSP's own page.

use super::{key_already_used, record_response, vanished, Payments};
use crate::connectors::{CheckoutRequest, ConnectorError, HostedCheckout};
use crate::domain::{Charge, ChargeStatus, CheckoutSession, NewCheckout, Transition};
use crate::storage::charges;
use crate::storage::checkout_sessions::{self, NewSession};
use platform::idempotency::ClaimedKey;
use platform::ApiError;
use uuid::Uuid;

/// Opens a hosted payment page at the first routed PSP that offers one and is reachable, and
/// stores the charge, waiting for the customer, with its session.
///
/// The PSP is called before anything is stored: a session moves no money, and nobody but this
/// request learns its URL, so if storing fails (or the PSP's answer is lost) the orphaned session
/// simply expires unpaid, and the released key lets the client try again. A key taken over from
/// a request that died before recording its response answers with the charge and session that
/// request stored, if there are any; no second page is opened.
pub async fn create(
    payments: &Payments,
    checkout: NewCheckout,
    claimed: &ClaimedKey<'_>,
    respond: impl Fn(&Charge, &CheckoutSession) -> (u16, serde_json::Value),
) -> Result<(Charge, CheckoutSession), ApiError> {
    if claimed.resumed {
        let found =
            charges::find_by_idempotency_key(&payments.pool, claimed.scope, claimed.key.as_str())
                .await?;
        if let Some(charge) = found {
            let session = checkout_sessions::find(&payments.pool, charge.id)
                .await?
                .ok_or_else(|| vanished("checkout session", charge.id))?;
            tracing::info!(charge_id = %charge.id, "resumed idempotency key answered with its checkout");
            record_response(&payments.pool, claimed, respond(&charge, &session)).await?;
            return Ok((charge, session));
        }
    }
    let id = Uuid::now_v7();
    let opened = open_hosted_page(payments, id, &checkout).await;
    let stored = match opened {
        Ok((psp, hosted)) => store(payments, id, &checkout, claimed, psp, &hosted)
            .await
            .map_err(|e| {
                if charges::is_key_taken(&e) {
                    key_already_used("charge")
                } else {
                    ApiError::from(e)
                }
            }),
        Err(e) => Err(e),
    };
    if let Err(e) = stored {
        claimed.release(&payments.pool).await;
        return Err(e);
    }
    let charge = charges::find(&payments.pool, id)
        .await?
        .ok_or_else(|| vanished("charge", id))?;
    let session = checkout_sessions::find(&payments.pool, id)
        .await?
        .ok_or_else(|| vanished("checkout session", id))?;
    record_response(&payments.pool, claimed, respond(&charge, &session)).await?;
    Ok((charge, session))
}

async fn open_hosted_page(
    payments: &Payments,
    charge_id: Uuid,
    checkout: &NewCheckout,
) -> Result<(&'static str, HostedCheckout), ApiError> {
    let currency = checkout.charge.amount.currency.code();
    let candidates: Vec<_> = payments
        .connectors
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

/// The charge in `requires_action` (its three transitions recorded) with its session.
async fn store(
    payments: &Payments,
    id: Uuid,
    checkout: &NewCheckout,
    claimed: &ClaimedKey<'_>,
    psp: &str,
    hosted: &HostedCheckout,
) -> Result<(), sqlx::Error> {
    let mut tx = payments.pool.begin().await?;
    let opened = Transition::new(ChargeStatus::Processing, "checkout session opened at PSP");
    charges::insert(
        &mut tx,
        id,
        &checkout.charge,
        claimed.scope,
        claimed.key.as_str(),
        psp,
        &opened,
    )
    .await?;
    let sent = Transition {
        psp_reference: Some(&hosted.psp_reference),
        next_action_url: Some(&hosted.url),
        ..Transition::new(
            ChargeStatus::RequiresAction,
            "customer sent to the PSP's payment page",
        )
    };
    charges::update_status(&mut tx, id, ChargeStatus::Processing, &sent).await?;
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
