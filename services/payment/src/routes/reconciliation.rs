//! Reconciliation across services (the admin service's reconciler, with the `reconcile` scope,
//! or admins): which charges succeeded and under which event, and publishing a charge's event
//! again.

use super::{AppState, MONEY_STAFF};
use actix_web::{web, HttpResponse};
use auth::Principal;
use chrono::{DateTime, Utc};
use platform::pagination::PageRequest;
use platform::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SucceededChargesQuery {
    /// Charges that succeeded at or after this time (RFC 3339).
    pub since: DateTime<Utc>,
    /// ... and before this time (RFC 3339).
    pub until: DateTime<Utc>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 1000, default 500.
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SucceededCharge {
    pub charge_id: Uuid,
    pub member_id: Uuid,
    pub succeeded_at: DateTime<Utc>,
    /// The id of the `charge.succeeded` event that announced it: what consumers' inboxes hold.
    pub event_id: Uuid,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SucceededChargePage {
    pub items: Vec<SucceededCharge>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Charges that succeeded in a time window, most recent first, each with the id of the event
/// that announced it.
#[utoipa::path(
    get, path = "/api/v1/payments/reconciliation/succeeded-charges", tag = "operations",
    security(("bearer" = [])),
    params(SucceededChargesQuery),
    responses(
        (status = 200, body = SucceededChargePage),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A bad window, limit or cursor", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "list_succeeded_charges", principal = %principal.subject))]
pub async fn list_succeeded_charges(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<SucceededChargesQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_scope(auth::scopes::RECONCILE, MONEY_STAFF)?;
    if query.until <= query.since {
        return Err(ApiError::validation("until", "must be after `since`"));
    }
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), 500, 1000)?;
    let (items, next_cursor) = crate::core::reconciliation::succeeded_charges(
        &state.payments,
        query.since,
        query.until,
        &page,
    )
    .await?;
    Ok(HttpResponse::Ok().json(SucceededChargePage {
        items: items
            .into_iter()
            .map(|published| SucceededCharge {
                charge_id: published.charge.charge_id,
                member_id: published.charge.member_id,
                succeeded_at: published.charge.succeeded_at,
                event_id: published.event_id,
            })
            .collect(),
        next_cursor,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepublishRequest {
    /// 1 to 500 charges.
    #[schema(min_items = 1, max_items = 500)]
    pub charge_ids: Vec<Uuid>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RepublishResult {
    /// Charges whose final-state event is queued to be published again.
    pub queued: Vec<Uuid>,
    /// Ids that name no charge in a final state: nothing to publish.
    pub unknown: Vec<Uuid>,
}

/// Publishes the final-state event of each charge again, under the id it first had: consumers
/// that applied it skip it, one that never saw it applies it. Safe to repeat, so it needs no
/// idempotency key.
#[utoipa::path(
    post, path = "/api/v1/payments/reconciliation/republish", tag = "operations",
    security(("bearer" = [])),
    request_body = RepublishRequest,
    responses(
        (status = 200, body = RepublishResult),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "republish_charges", principal = %principal.subject))]
pub async fn republish(
    state: web::Data<AppState>,
    principal: Principal,
    body: web::Json<RepublishRequest>,
) -> Result<HttpResponse, ApiError> {
    principal.require_scope(auth::scopes::RECONCILE, MONEY_STAFF)?;
    if !(1..=500).contains(&body.charge_ids.len()) {
        return Err(ApiError::validation(
            "charge_ids",
            "must name 1 to 500 charges",
        ));
    }
    let done = crate::core::reconciliation::republish(&state.payments, &body.charge_ids).await?;
    tracing::info!(queued = done.queued.len(), by = %principal.scope_key(), "charge events republished");
    Ok(HttpResponse::Ok().json(RepublishResult {
        queued: done.queued,
        unknown: done.unknown,
    }))
}
