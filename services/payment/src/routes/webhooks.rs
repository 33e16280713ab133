use super::AppState;
use crate::core::webhooks::Receipt;
use actix_web::{web, HttpRequest, HttpResponse};
use platform::ApiError;
use std::collections::HashMap;

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
    let headers: HashMap<String, String> = req
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let receipt = crate::core::webhooks::receive(&state.payments, &path, &headers, &body).await?;
    Ok(HttpResponse::Ok().json(match receipt {
        Receipt::Applied => serde_json::json!({ "received": true }),
        Receipt::Duplicate => serde_json::json!({ "received": true, "duplicate": true }),
    }))
}
