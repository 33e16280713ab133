//! Charging a member: with a payment method token, or with card details for the PSP's vault;
//! reading and listing charges.

use super::{jobs, key_already_used, record_response, vanished, Payments};
use crate::connectors::ConnectorError;
use crate::domain::{
    CardDetails, CardSummary, Charge, ChargeFilter, ChargeStatus, JobKind, NewCharge, Transition,
};
use crate::storage::{self, charges};
use platform::idempotency::ClaimedKey;
use platform::pagination::{Cursor, PageRequest};
use platform::ApiError;
use uuid::Uuid;

/// The PSP whose vault takes card details sent server to server.
const CARD_VAULT: &str = "stripe";

/// Runs a charge whose idempotency key this request holds. Returns the charge as it stands
/// after the first attempt: settled, waiting for the customer, or still processing (the worker
/// retries). If the charge could not even be stored, the key is released so the client can retry.
/// A key taken over from a request that died before recording its response answers with the
/// charge that request stored, as it stands now, if there is one.
pub async fn create(
    payments: &Payments,
    charge: NewCharge,
    claimed: &ClaimedKey<'_>,
    respond: impl Fn(&Charge) -> (u16, serde_json::Value),
) -> Result<Charge, ApiError> {
    if let Some(stored) = resumed(payments, claimed, &respond).await? {
        return Ok(stored);
    }
    create_new(payments, charge, claimed, respond).await
}

/// For a resumed key: the charge stored under it, with its response recorded.
pub(super) async fn resumed(
    payments: &Payments,
    claimed: &ClaimedKey<'_>,
    respond: impl Fn(&Charge) -> (u16, serde_json::Value),
) -> Result<Option<Charge>, ApiError> {
    if !claimed.resumed {
        return Ok(None);
    }
    let Some(charge) =
        charges::find_by_idempotency_key(&payments.pool, claimed.scope, claimed.key.as_str())
            .await?
    else {
        return Ok(None);
    };
    tracing::info!(charge_id = %charge.id, "resumed idempotency key answered with its charge");
    record_response(&payments.pool, claimed, respond(&charge)).await?;
    Ok(Some(charge))
}

async fn create_new(
    payments: &Payments,
    charge: NewCharge,
    claimed: &ClaimedKey<'_>,
    respond: impl Fn(&Charge) -> (u16, serde_json::Value),
) -> Result<Charge, ApiError> {
    let id = Uuid::now_v7();
    let first_choice = match charge.pinned_psp {
        Some(psp) => psp,
        None => payments
            .connectors
            .route(charge.amount.currency.code())
            .first()
            .map(|c| c.name())
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no PSP is routed")))?,
    };
    let stored = async {
        let mut tx = payments.pool.begin().await?;
        let sent = Transition::new(ChargeStatus::Processing, "sent to PSP");
        charges::insert(
            &mut tx,
            id,
            &charge,
            claimed.scope,
            claimed.key.as_str(),
            first_choice,
            &sent,
        )
        .await?;
        let job = storage::jobs::insert_leased(
            &mut tx,
            JobKind::Authorize,
            id,
            None,
            payments.settings.max_attempts,
            payments.lease_secs(),
        )
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(job)
    }
    .await;
    let job = match stored {
        Ok(job) => job,
        Err(e) => {
            claimed.release(&payments.pool).await;
            if charges::is_key_taken(&e) {
                return Err(key_already_used("charge"));
            }
            return Err(e.into());
        }
    };
    jobs::attempt(payments, &job).await;
    let charge = charges::find(&payments.pool, id)
        .await?
        .ok_or_else(|| vanished("charge", id))?;
    record_response(&payments.pool, claimed, respond(&charge)).await?;
    Ok(charge)
}

/// Sends card details to the PSP's vault, forgets them, and charges the token it gave back.
/// If the vault refuses or cannot be reached, nothing is stored and the key is released. A
/// resumed key whose charge exists answers with it, and the card is not sent again.
pub async fn create_with_card(
    payments: &Payments,
    mut charge: NewCharge,
    card: CardDetails,
    claimed: &ClaimedKey<'_>,
    respond: impl Fn(&Charge) -> (u16, serde_json::Value),
) -> Result<Charge, ApiError> {
    if let Some(stored) = resumed(payments, claimed, &respond).await? {
        return Ok(stored);
    }
    let vault = payments
        .connector(CARD_VAULT)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no PSP takes card details")))?;
    let token = match vault.tokenize_card(&card).await {
        Ok(token) => token,
        Err(e) => {
            claimed.release(&payments.pool).await;
            return Err(match e {
                ConnectorError::Refused(why) => ApiError::Unprocessable {
                    slug: "card-refused",
                    detail: why,
                },
                other => ApiError::Unavailable(other.to_string()),
            });
        }
    };
    drop(card);
    charge.payment_method = token.payment_method;
    charge.card = Some(CardSummary {
        brand: token.brand,
        last4: token.last4,
    });
    charge.pinned_psp = Some(CARD_VAULT);
    create_new(payments, charge, claimed, respond).await
}

/// The charge if `may_see` allows it. Someone else's charge looks exactly like a missing one,
/// so ids cannot be probed.
pub async fn get(
    payments: &Payments,
    charge_id: Uuid,
    may_see: impl Fn(&Charge) -> bool,
) -> Result<Charge, ApiError> {
    charges::find(&payments.pool, charge_id)
        .await?
        .filter(|charge| may_see(charge))
        .ok_or_else(not_found)
}

pub(super) fn not_found() -> ApiError {
    ApiError::NotFound("no such charge".into())
}

/// One page of charges, newest first, and the cursor of the next page.
pub async fn list(
    payments: &Payments,
    filter: &ChargeFilter,
    page: &PageRequest,
) -> Result<(Vec<Charge>, Option<String>), ApiError> {
    let found = charges::list(
        &payments.pool,
        filter,
        page.after_time(),
        page.after_id(),
        page.fetch_limit(),
    )
    .await?;
    Ok(page.finish(found, |charge| Cursor {
        created_at: charge.created_at,
        id: charge.id,
    }))
}
