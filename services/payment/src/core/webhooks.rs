//! PSP webhooks: verified, deduplicated by event id, and applied to the charge they name.

use super::{transitions, Payments};
use crate::connectors::{Headers, PaymentState, PaymentUpdate, WebhookError, WebhookEvent};
use crate::domain::{ChargeStatus, Transition};
use crate::storage::{charges, webhooks};
use platform::ApiError;
use sqlx::PgConnection;

/// What came of a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    Applied,
    /// The event id was handled before: acknowledged, nothing changed.
    Duplicate,
}

/// Verifies the event's signature before reading anything in it, records its id (a replay is
/// acknowledged and ignored), and moves the charge it names. A charge only ever moves forward,
/// so events arriving out of order cannot undo a later state.
pub async fn receive(
    payments: &Payments,
    psp: &str,
    headers: &Headers,
    body: &[u8],
) -> Result<Receipt, ApiError> {
    let connector = payments
        .connector(psp)
        .ok_or_else(|| ApiError::NotFound(format!("no PSP called {psp}")))?;
    let event = connector
        .verify_webhook(headers, body)
        .await
        .map_err(|e| match e {
            WebhookError::BadSignature(why) => {
                tracing::warn!(%why, "webhook refused");
                ApiError::Unauthorized(why)
            }
            WebhookError::Malformed(why) => ApiError::MalformedRequest(why),
            WebhookError::Unverifiable(why) => ApiError::Unavailable(why),
        })?;

    let mut tx = payments.pool.begin().await?;
    if !webhooks::record_event(&mut tx, psp, &event.id, &event.event_type).await? {
        tracing::info!(event_id = %event.id, "webhook replay ignored");
        return Ok(Receipt::Duplicate);
    }
    if let Some(update) = &event.payment {
        apply_update(&mut tx, payments, psp, &event, update).await?;
    }
    tx.commit().await?;
    Ok(Receipt::Applied)
}

async fn apply_update(
    conn: &mut PgConnection,
    payments: &Payments,
    psp: &str,
    event: &WebhookEvent,
    update: &PaymentUpdate,
) -> Result<(), sqlx::Error> {
    let charge = match update.charge_id {
        Some(id) => charges::lock(conn, id).await?,
        None => charges::find_by_psp_reference(conn, psp, &update.psp_reference).await?,
    };
    // Only the PSP that holds the payment speaks for it.
    let Some(charge) = charge.filter(|c| c.psp == psp) else {
        tracing::warn!(event_id = %event.id, psp_reference = %update.psp_reference,
            "webhook for a payment that is not ours; acknowledged");
        return Ok(());
    };
    // An approval is ours to capture (PayPal's approval flow).
    let moved = if update.state == PaymentState::Approved {
        transitions::approve_and_queue_capture(
            conn,
            charge.id,
            &update.psp_reference,
            "PSP webhook: payer approved; capturing",
            payments.settings.max_attempts,
        )
        .await?
    } else {
        let transition = transition_for(&update.state, &update.psp_reference);
        transitions::apply(conn, charge.id, &transition).await?
    };
    tracing::info!(event_id = %event.id, charge_id = %charge.id, event_type = %event.event_type,
        applied = moved.is_some(), "webhook applied");
    Ok(())
}

fn transition_for<'a>(state: &'a PaymentState, psp_reference: &'a str) -> Transition<'a> {
    let base = |to, cause| Transition {
        psp_reference: Some(psp_reference),
        ..Transition::new(to, cause)
    };
    match state {
        PaymentState::Succeeded => base(ChargeStatus::Succeeded, "PSP webhook: succeeded"),
        // Approvals go through `approve_and_queue_capture`, which makes this same move and also
        // queues the capture.
        PaymentState::Approved => base(
            ChargeStatus::Processing,
            "PSP webhook: payer approved; capturing",
        ),
        PaymentState::RequiresAction { redirect_url } => Transition {
            next_action_url: redirect_url.as_deref(),
            ..base(ChargeStatus::RequiresAction, "PSP webhook: requires action")
        },
        PaymentState::Declined { code, message } => Transition {
            failure_code: Some(code),
            failure_message: Some(message),
            ..base(ChargeStatus::Failed, "PSP webhook: declined")
        },
        PaymentState::Canceled => base(ChargeStatus::Canceled, "PSP webhook: canceled"),
    }
}
