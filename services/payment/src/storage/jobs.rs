//! The PSP job queue. A job is `queued` (waiting for `run_at`), `running` (leased by one
//! runner until `locked_until`), `done`, or `dead` (out of attempts, waiting for an admin).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Authorize,
    Refund,
    /// Takes the money of a payment the payer approved at the PSP.
    Capture,
}

impl JobKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            JobKind::Authorize => "authorize",
            JobKind::Refund => "refund",
            JobKind::Capture => "capture",
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, utoipa::ToSchema)]
pub struct Job {
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

const COLUMNS: &str =
    "id, kind, charge_id, refund_id, status, attempts, max_attempts, psp_contacted,
                       run_at, last_error, created_at, updated_at";

/// Inserts a job already leased to the caller, which runs its first attempt at once.
pub async fn insert_leased(
    conn: &mut PgConnection,
    kind: JobKind,
    charge_id: Uuid,
    refund_id: Option<Uuid>,
    max_attempts: i32,
    lease_secs: i64,
) -> Result<Job, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO payment_jobs (id, kind, charge_id, refund_id, status, attempts, max_attempts, locked_until)
         VALUES ($1, $2, $3, $4, 'running', 1, $5, now() + make_interval(secs => $6))
         RETURNING {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(kind.as_str())
    .bind(charge_id)
    .bind(refund_id)
    .bind(max_attempts)
    .bind(lease_secs as f64)
    .fetch_one(conn)
    .await
}

/// Queues a job for the worker, due at once (for work a webhook starts: the webhook is
/// answered without waiting for the PSP).
pub async fn insert_queued(
    conn: &mut PgConnection,
    kind: JobKind,
    charge_id: Uuid,
    max_attempts: i32,
) -> Result<Job, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO payment_jobs (id, kind, charge_id, status, max_attempts)
         VALUES ($1, $2, $3, 'queued', $4)
         RETURNING {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(kind.as_str())
    .bind(charge_id)
    .bind(max_attempts)
    .fetch_one(conn)
    .await
}

/// Leases up to `limit` due jobs: queued ones whose time has come, and running ones whose
/// runner's lease ran out (it crashed mid-attempt). Each lease counts as an attempt.
pub async fn claim_due(
    pool: &PgPool,
    limit: i64,
    lease_secs: i64,
) -> Result<Vec<Job>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE payment_jobs
            SET status = 'running', attempts = attempts + 1,
                locked_until = now() + make_interval(secs => $2), updated_at = now()
          WHERE id IN (
                SELECT id FROM payment_jobs
                 WHERE (status = 'queued' AND run_at <= now())
                    OR (status = 'running' AND locked_until < now())
                 ORDER BY run_at
                 LIMIT $1
                   FOR UPDATE SKIP LOCKED)
         RETURNING {COLUMNS}"
    ))
    .bind(limit)
    .bind(lease_secs as f64)
    .fetch_all(pool)
    .await
}

/// Records, before the call, that the next PSP request may reach it (or, with `false` after a
/// connection failure, that it certainly did not).
pub async fn set_contacted(pool: &PgPool, id: Uuid, contacted: bool) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE payment_jobs SET psp_contacted = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(contacted)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn mark_done(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE payment_jobs SET status = 'done', locked_until = NULL, last_error = NULL, updated_at = now()
          WHERE id = $1",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A charge settled another way (a webhook): its waiting authorize jobs have nothing left to do.
pub async fn finish_for_charge(
    conn: &mut PgConnection,
    charge_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE payment_jobs SET status = 'done', locked_until = NULL, updated_at = now()
          WHERE charge_id = $1 AND kind = 'authorize' AND status IN ('queued', 'dead')",
    )
    .bind(charge_id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn reschedule(
    pool: &PgPool,
    id: Uuid,
    run_at: DateTime<Utc>,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE payment_jobs SET status = 'queued', run_at = $2, last_error = $3, locked_until = NULL,
                updated_at = now()
          WHERE id = $1 AND status = 'running'",
    )
    .bind(id)
    .bind(run_at)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn mark_dead(pool: &PgPool, id: Uuid, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE payment_jobs SET status = 'dead', last_error = $2, locked_until = NULL, updated_at = now()
          WHERE id = $1 AND status = 'running'",
    )
    .bind(id)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// The dead-letter queue, most recent first.
pub async fn list_dead(pool: &PgPool, limit: i64) -> Result<Vec<Job>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM payment_jobs WHERE status = 'dead' ORDER BY updated_at DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Gives a dead job a fresh set of attempts, due now. `None` if the job is not dead.
pub async fn revive(pool: &PgPool, id: Uuid) -> Result<Option<Job>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE payment_jobs SET status = 'queued', attempts = 0, run_at = now(), updated_at = now()
          WHERE id = $1 AND status = 'dead'
         RETURNING {COLUMNS}"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

pub async fn find(pool: &PgPool, id: Uuid) -> Result<Option<Job>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM payment_jobs WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}
