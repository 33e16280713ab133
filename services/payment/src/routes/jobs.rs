use super::{AppState, MONEY_STAFF, STAFF};
use crate::storage::jobs::{self, Job};
use actix_web::{web, HttpResponse};
use auth::Principal;
use platform::ApiError;
use serde::Deserialize;
use uuid::Uuid;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeadJobQuery {
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
}

/// The dead-letter queue: PSP work that ran out of attempts (the PSP down for long, or refusing
/// our requests), most recent first. Each job names its charge and its last error.
#[utoipa::path(
    get, path = "/api/v1/payments/jobs/dead", tag = "operations", security(("bearer" = [])),
    params(DeadJobQuery),
    responses((status = 200, body = [Job]), (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
pub async fn list_dead_jobs(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<DeadJobQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(STAFF)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::validation("limit", "must be between 1 and 200"));
    }
    Ok(HttpResponse::Ok().json(jobs::list_dead(&state.pool, limit).await?))
}

/// Gives a dead job a fresh set of attempts, starting now. Safe whatever happened before: a
/// job that may have reached the PSP asks it first.
#[utoipa::path(
    post, path = "/api/v1/payments/jobs/{job_id}/retry", tag = "operations", security(("bearer" = [])),
    params(("job_id" = Uuid, Path)),
    responses(
        (status = 202, description = "Queued; the worker runs it", body = Job),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The job is not dead", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn retry_job(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(MONEY_STAFF)?;
    let id = path.into_inner();
    match jobs::revive(&state.pool, id).await? {
        Some(job) => {
            tracing::info!(job_id = %id, by = %principal.scope_key(), "dead PSP job retried");
            Ok(HttpResponse::Accepted().json(job))
        }
        None => match jobs::find(&state.pool, id).await? {
            Some(job) => Err(ApiError::Conflict {
                slug: "job-not-dead",
                detail: format!("the job is {}; only dead jobs can be retried", job.status),
            }),
            None => Err(ApiError::NotFound("no such job".into())),
        },
    }
}
