//! The reconciler for staff: start a run, list runs, see what a run found.

use super::{AppState, ADMINS, STAFF};
use crate::core::reconciler;
use crate::storage::reconciliation::{Difference, Run};
use actix_web::{web, HttpResponse};
use auth::Principal;
use chrono::{DateTime, Utc};
use platform::pagination::PageRequest;
use platform::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

// A run as staff see it; published under the schema name `ReconciliationRun`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ReconciliationRun)]
pub struct RunView {
    pub id: Uuid,
    /// `schedule`, or `user:<id>` for a run staff started.
    pub started_by: String,
    /// The facts compared: those from `window_from` up to `window_to`.
    pub window_from: DateTime<Utc>,
    pub window_to: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Facts compared (each against every consumer).
    pub checked: i64,
    /// Facts a consumer had not applied.
    pub differences: i64,
    /// Events published again to repair them.
    pub republished: i64,
    /// Why the run stopped early (a service could not be reached), if it did.
    pub error: Option<String>,
}

impl From<Run> for RunView {
    fn from(run: Run) -> Self {
        RunView {
            id: run.id,
            started_by: run.started_by,
            window_from: run.window_from,
            window_to: run.window_to,
            started_at: run.started_at,
            finished_at: run.finished_at,
            checked: run.checked,
            differences: run.differences,
            republished: run.republished,
            error: run.error,
        }
    }
}

// Published under the schema name `ReconciliationDifference`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ReconciliationDifference)]
pub struct DifferenceView {
    /// What was compared, e.g. `charge.succeeded -> point`.
    pub pair: String,
    /// The fact (a charge id).
    pub reference_id: String,
    /// The event that announced it.
    pub event_id: Uuid,
    pub member_id: Uuid,
    /// `republished` (the producer publishes it again), or `needs_attention`: an earlier run
    /// republished it and the consumer still has not applied it.
    pub action: String,
}

impl From<Difference> for DifferenceView {
    fn from(d: Difference) -> Self {
        DifferenceView {
            pair: d.pair,
            reference_id: d.reference_id,
            event_id: d.event_id,
            member_id: d.member_id,
            action: d.action,
        }
    }
}

// Published under the schema name `ReconciliationRunDetails`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ReconciliationRunDetails)]
pub struct RunDetailsView {
    pub run: RunView,
    pub differences: Vec<DifferenceView>,
}

// Published under the schema name `ReconciliationRunPage`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ReconciliationRunPage)]
pub struct RunPageView {
    pub items: Vec<RunView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RunQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    pub limit: Option<i64>,
}

/// Runs the reconciler now over its window (the last day, up to a minute ago, by default) and
/// answers with what it found. Safe to repeat: a run only reads, and republishing an event
/// twice changes nothing, so it takes no idempotency key.
#[utoipa::path(
    post, path = "/api/v1/admin/reconciliation/runs", tag = "admin", security(("bearer" = [])),
    responses(
        (status = 201, description = "The run, finished; `error` says if it stopped early", body = RunDetailsView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "A run is in progress", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "The reconciler has no client key", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "admin_start_reconciliation", principal = %principal.subject))]
pub async fn start_run(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(ADMINS)?;
    let run = state.reconciler.run(&principal.scope_key()).await?;
    let (run, differences) = reconciler::run_details(&state.pool, run.id).await?;
    Ok(HttpResponse::Created().json(details(run, differences)))
}

/// Reconciliation runs, newest first.
#[utoipa::path(
    get, path = "/api/v1/admin/reconciliation/runs", tag = "admin", security(("bearer" = [])),
    params(RunQuery),
    responses(
        (status = 200, body = RunPageView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Not staff", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A bad limit or cursor", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "admin_list_reconciliation_runs"))]
pub async fn list_runs(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<RunQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(STAFF)?;
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), 20, 100)?;
    let (runs, next_cursor) = reconciler::list_runs(&state.pool, &page).await?;
    Ok(HttpResponse::Ok().json(RunPageView {
        items: runs.into_iter().map(RunView::from).collect(),
        next_cursor,
    }))
}

/// One run and every difference it found.
#[utoipa::path(
    get, path = "/api/v1/admin/reconciliation/runs/{run_id}", tag = "admin", security(("bearer" = [])),
    params(("run_id" = Uuid, Path)),
    responses(
        (status = 200, body = RunDetailsView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Not staff", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "admin_get_reconciliation_run", run_id = %path))]
pub async fn get_run(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(STAFF)?;
    let (run, differences) = reconciler::run_details(&state.pool, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(details(run, differences)))
}

fn details(run: Run, differences: Vec<Difference>) -> RunDetailsView {
    RunDetailsView {
        run: RunView::from(run),
        differences: differences.into_iter().map(DifferenceView::from).collect(),
    }
}
