use super::{AppState, MONEY_STAFF, STAFF};
use crate::domain::Job;
use actix_web::{web, HttpResponse};
use auth::Principal;
use chrono::{DateTime, Utc};
use platform::pagination::PageRequest;
use platform::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

// A PSP job as staff see it; published under the schema name `Job`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Job)]
pub struct JobView {
    pub id: Uuid,
    /// `authorize`, `refund` or `capture`.
    pub kind: String,
    pub charge_id: Uuid,
    pub refund_id: Option<Uuid>,
    /// `queued`, `running`, `done` or `dead`.
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    /// Whether a request may have reached the PSP: a retry then asks the PSP first.
    pub psp_contacted: bool,
    pub run_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Job> for JobView {
    fn from(job: &Job) -> Self {
        JobView {
            id: job.id,
            kind: job.kind.as_str().to_owned(),
            charge_id: job.charge_id,
            refund_id: job.refund_id,
            status: job.status.as_str().to_owned(),
            attempts: job.attempts,
            max_attempts: job.max_attempts,
            psp_contacted: job.psp_contacted,
            run_at: job.run_at,
            last_error: job.last_error.clone(),
            created_at: job.created_at,
            updated_at: job.updated_at,
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeadJobQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
}

// A page of the dead-letter queue; published under the schema name `JobPage`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = JobPage)]
pub struct JobPageView {
    pub items: Vec<JobView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The dead-letter queue: PSP work that ran out of attempts (the PSP down for long, or refusing
/// our requests), most recently dead first. Each job names its charge and its last error.
#[utoipa::path(
    get, path = "/api/v1/payments/jobs/dead", tag = "operations", security(("bearer" = [])),
    params(DeadJobQuery),
    responses(
        (status = 200, body = JobPageView),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A bad limit or cursor", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "list_dead_jobs", principal = %principal.subject))]
pub async fn list_dead_jobs(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<DeadJobQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(STAFF)?;
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), 50, 200)?;
    let (dead, next_cursor) = crate::core::jobs::list_dead(&state.payments, &page).await?;
    Ok(HttpResponse::Ok().json(JobPageView {
        items: dead.iter().map(JobView::from).collect(),
        next_cursor,
    }))
}

/// Gives a dead job a fresh set of attempts, starting now. Safe whatever happened before: a
/// job that may have reached the PSP asks it first.
#[utoipa::path(
    post, path = "/api/v1/payments/jobs/{job_id}/retry", tag = "operations", security(("bearer" = [])),
    params(("job_id" = Uuid, Path)),
    responses(
        (status = 202, description = "Queued; the worker runs it", body = JobView),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The job is not dead", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "retry_job", job_id = %path, principal = %principal.subject))]
pub async fn retry_job(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(MONEY_STAFF)?;
    let job = crate::core::jobs::retry(&state.payments, path.into_inner()).await?;
    tracing::info!(job_id = %job.id, charge_id = %job.charge_id, by = %principal.scope_key(),
        "dead PSP job retried");
    Ok(HttpResponse::Accepted().json(JobView::from(&job)))
}
