//! Reconciliation across services: which events the point service has applied (the admin
//! service's reconciler, with the `reconcile` scope, or admins).

use super::{AppState, ADMINS};
use actix_web::{web, HttpResponse};
use auth::Principal;
use platform::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppliedQuery {
    /// 1 to 1000 event ids (e.g. those a producer lists as published).
    #[schema(min_items = 1, max_items = 1000)]
    pub event_ids: Vec<Uuid>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AppliedEvents {
    /// The asked-for events this service has applied; the others it never received.
    pub applied: Vec<Uuid>,
}

/// Which of the given events this service has applied. A read, sent as POST for the size of
/// the list.
#[utoipa::path(
    post, path = "/api/v1/points/reconciliation/applied", tag = "operations",
    security(("bearer" = [])),
    request_body = AppliedQuery,
    responses(
        (status = 200, body = AppliedEvents),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "applied_events", principal = %principal.subject))]
pub async fn applied_events(
    state: web::Data<AppState>,
    principal: Principal,
    body: web::Json<AppliedQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_scope(auth::scopes::RECONCILE, ADMINS)?;
    if !(1..=1000).contains(&body.event_ids.len()) {
        return Err(ApiError::validation(
            "event_ids",
            "must name 1 to 1000 events",
        ));
    }
    let applied = crate::core::reconciliation::applied(&state.pool, &body.event_ids).await?;
    Ok(HttpResponse::Ok().json(AppliedEvents { applied }))
}
