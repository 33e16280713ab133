//! Charge creation: store the charge, ask the PSP, record the outcome and its event together.

use crate::connectors::{AuthorizeOutcome, AuthorizeRequest, Connector, ConnectorError};
use crate::domain::{ChargeStatus, NewCharge};
use crate::storage::charges::{self, ChargeRecord, Transition};
use platform::idempotency::{self, IdempotencyKey};
use platform::ApiError;
use sqlx::PgPool;
use uuid::Uuid;

/// Runs a charge whose idempotency key this request holds. Returns the charge as it stands.
/// If the charge could not even be stored, the key is released so the client can retry.
pub async fn create_charge(
    pool: &PgPool,
    connector: &dyn Connector,
    charge: NewCharge,
    scope: &str,
    key: &IdempotencyKey,
    respond: impl Fn(&ChargeRecord) -> (u16, serde_json::Value),
) -> Result<ChargeRecord, ApiError> {
    let id = Uuid::now_v7();
    let stored = async {
        let mut tx = pool.begin().await?;
        charges::insert_processing(&mut tx, id, &charge, scope, connector.name()).await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = stored {
        idempotency::release(pool, scope, key).await;
        return Err(e.into());
    }

    let outcome = connector
        .authorize(&AuthorizeRequest {
            charge_id: id,
            amount: charge.amount,
            payment_method: &charge.payment_method,
            description: charge.description.as_deref(),
        })
        .await;
    let transition = match &outcome {
        Ok(AuthorizeOutcome::Succeeded { psp_reference }) => Some(Transition {
            to: ChargeStatus::Succeeded,
            cause: "PSP approved",
            psp_reference: Some(psp_reference),
            failure_code: None,
            failure_message: None,
        }),
        Ok(AuthorizeOutcome::RequiresAction { psp_reference }) => Some(Transition {
            to: ChargeStatus::RequiresAction,
            cause: "PSP requires customer action",
            psp_reference: Some(psp_reference),
            failure_code: None,
            failure_message: None,
        }),
        Ok(AuthorizeOutcome::Declined {
            psp_reference,
            code,
            message,
        }) => Some(Transition {
            to: ChargeStatus::Failed,
            cause: "PSP declined",
            psp_reference: psp_reference.as_deref(),
            failure_code: Some(code),
            failure_message: Some(message),
        }),
        // The outcome is unknown: the charge stays `processing` until the PSP is asked again.
        // Guessing either way could lose a payment or charge twice.
        Err(ConnectorError::Unknown(why)) => {
            tracing::warn!(charge_id = %id, %why, "PSP outcome unknown; charge left processing");
            None
        }
        Err(ConnectorError::Refused(why)) => {
            tracing::error!(charge_id = %id, %why, "PSP refused our request");
            None
        }
    };

    let mut tx = pool.begin().await?;
    let record = match transition {
        Some(t) => match charges::transition(&mut tx, id, &t).await? {
            Some(updated) => {
                if let Some(event) = crate::events::for_final_state(&updated) {
                    events::outbox::enqueue(&mut tx, &event).await?;
                }
                updated
            }
            None => current(pool, id).await?,
        },
        None => current(pool, id).await?,
    };
    let (status, body) = respond(&record);
    idempotency::complete(&mut tx, scope, key, status, &body).await?;
    tx.commit().await?;
    Ok(record)
}

async fn current(pool: &PgPool, id: Uuid) -> Result<ChargeRecord, ApiError> {
    charges::find(pool, id)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("charge {id} vanished")))
}
