use super::AppState;
use crate::connectors::{Headers, PaymentState, WebhookError};
use crate::domain::ChargeStatus;
use crate::processor::{apply_transition, approve_and_queue_capture};
use crate::storage::{
    self,
    charges::{self, Transition},
};
use actix_web::{web, HttpRequest, HttpResponse};
use platform::ApiError;

/// Events from a PSP (`stripe`, `paypal`). The signature is verified before anything in the
/// body is read; a replayed event id is acknowledged and ignored; a charge only ever moves
/// forward, so events arriving out of order cannot undo a later state.
#[utoipa::path(
    post, path = "/api/v1/payments/webhooks/{psp}", tag = "webhooks",
    params(("psp" = String, Path, description = "stripe or paypal")),
    request_body(content = String, description = "The PSP's event, exactly as it signed it"),
    responses(
        (status = 200, description = "Handled, or a replay acknowledged"),
        (status = 400, description = "Signed, but not a readable event", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "Missing, wrong or stale signature: nothing was read or changed", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such PSP", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "psp_webhook", psp = %path.as_str()))]
pub async fn psp_webhook(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let psp = path.into_inner();
    let connector = state
        .processor
        .connectors()
        .get(&psp)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("no PSP called {psp}")))?;
    let headers: Headers = req
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let event = connector
        .verify_webhook(&headers, &body)
        .await
        .map_err(|e| match e {
            WebhookError::BadSignature(why) => {
                tracing::warn!(%why, "webhook refused");
                ApiError::Unauthorized(why)
            }
            WebhookError::Malformed(why) => ApiError::MalformedRequest(why),
            WebhookError::Unverifiable(why) => ApiError::Unavailable(why),
        })?;

    let mut tx = state.pool.begin().await?;
    if !storage::record_webhook_event(&mut tx, &psp, &event.id, &event.event_type).await? {
        tracing::info!(event_id = %event.id, "webhook replay ignored");
        return Ok(
            HttpResponse::Ok().json(serde_json::json!({ "received": true, "duplicate": true }))
        );
    }
    if let Some(update) = &event.payment {
        let charge = match update.charge_id {
            Some(id) => charges::lock(&mut tx, id).await?,
            None => charges::find_by_psp_reference(&mut tx, &psp, &update.psp_reference).await?,
        };
        match charge {
            // Only the PSP that holds the payment speaks for it.
            Some(charge) if charge.psp == psp => {
                // An approval is ours to capture (PayPal's approval flow).
                let moved = if update.state == PaymentState::Approved {
                    approve_and_queue_capture(
                        &mut tx,
                        charge.id,
                        &update.psp_reference,
                        "PSP webhook: payer approved; capturing",
                        state.processor.settings().max_attempts,
                    )
                    .await?
                } else {
                    let transition = transition_for(&update.state, &update.psp_reference);
                    apply_transition(&mut tx, charge.id, &transition).await?
                };
                tracing::info!(event_id = %event.id, charge_id = %charge.id, event_type = %event.event_type,
                    applied = moved.is_some(), "webhook applied");
            }
            _ => tracing::warn!(event_id = %event.id, psp_reference = %update.psp_reference,
                "webhook for a payment that is not ours; acknowledged"),
        }
    }
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "received": true })))
}

fn transition_for<'a>(state: &'a PaymentState, psp_reference: &'a str) -> Transition<'a> {
    let base = |to, cause| Transition {
        to,
        cause,
        psp_reference: Some(psp_reference),
        failure_code: None,
        failure_message: None,
        next_action_url: None,
    };
    match state {
        PaymentState::Succeeded => base(ChargeStatus::Succeeded, "PSP webhook: succeeded"),
        // The route sends approvals through `approve_and_queue_capture`, which makes this same
        // move and also queues the capture.
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
