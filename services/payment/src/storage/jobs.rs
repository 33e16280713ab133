//! The PSP job queue (see [`crate::domain::Job`] for its states).

use super::unknown;
use crate::domain::{Job, JobKind, JobStatus};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

struct JobRow {
    id: Uuid,
    kind: String,
    charge_id: Uuid,
    refund_id: Option<Uuid>,
    status: String,
    attempts: i32,
    max_attempts: i32,
    psp_contacted: bool,
    run_at: DateTime<Utc>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<JobRow> for Job {
    type Error = sqlx::Error;

    fn try_from(row: JobRow) -> Result<Self, sqlx::Error> {
        Ok(Job {
            kind: JobKind::parse(&row.kind).ok_or_else(|| unknown("job kind", &row.kind))?,
            status: JobStatus::parse(&row.status)
                .ok_or_else(|| unknown("job status", &row.status))?,
            id: row.id,
            charge_id: row.charge_id,
            refund_id: row.refund_id,
            attempts: row.attempts,
            max_attempts: row.max_attempts,
            psp_contacted: row.psp_contacted,
            run_at: row.run_at,
            last_error: row.last_error,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn jobs(rows: Vec<JobRow>) -> Result<Vec<Job>, sqlx::Error> {
    rows.into_iter().map(Job::try_from).collect()
}

/// Inserts a job already leased to the caller, which runs its first attempt at once.
pub async fn insert_leased(
    conn: &mut PgConnection,
    kind: JobKind,
    charge_id: Uuid,
    refund_id: Option<Uuid>,
    max_attempts: i32,
    lease_secs: f64,
) -> Result<Job, sqlx::Error> {
    sqlx::query_as!(
        JobRow,
        "INSERT INTO payment_jobs (id, kind, charge_id, refund_id, status, attempts, max_attempts,
                                   locked_until)
         VALUES ($1, $2, $3, $4, 'running', 1, $5, now() + make_interval(secs => $6))
         RETURNING id, kind, charge_id, refund_id, status, attempts, max_attempts, psp_contacted,
                   run_at, last_error, created_at, updated_at",
        Uuid::now_v7(),
        kind.as_str(),
        charge_id,
        refund_id,
        max_attempts,
        lease_secs,
    )
    .fetch_one(conn)
    .await?
    .try_into()
}

/// Queues a job for the worker, due at once (for work a webhook starts: the webhook is
/// answered without waiting for the PSP).
pub async fn insert_queued(
    conn: &mut PgConnection,
    kind: JobKind,
    charge_id: Uuid,
    max_attempts: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO payment_jobs (id, kind, charge_id, status, max_attempts)
         VALUES ($1, $2, $3, 'queued', $4)",
        Uuid::now_v7(),
        kind.as_str(),
        charge_id,
        max_attempts,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Leases up to `limit` due jobs: queued ones whose time has come, and running ones whose
/// runner's lease ran out (it crashed mid-attempt). Each lease counts as an attempt.
pub async fn claim_due(
    pool: &PgPool,
    limit: i64,
    lease_secs: f64,
) -> Result<Vec<Job>, sqlx::Error> {
    jobs(
        sqlx::query_as!(
            JobRow,
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
             RETURNING id, kind, charge_id, refund_id, status, attempts, max_attempts,
                       psp_contacted, run_at, last_error, created_at, updated_at",
            limit,
            lease_secs,
        )
        .fetch_all(pool)
        .await?,
    )
}

/// Records, before the call, that the next PSP request may reach it (or, with `false` after a
/// connection failure, that it certainly did not).
pub async fn set_contacted(pool: &PgPool, id: Uuid, contacted: bool) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE payment_jobs SET psp_contacted = $2, updated_at = now() WHERE id = $1",
        id,
        contacted,
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn mark_done(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE payment_jobs
            SET status = 'done', locked_until = NULL, last_error = NULL, updated_at = now()
          WHERE id = $1",
        id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A charge settled another way (a webhook): its waiting authorize jobs have nothing left to do.
pub async fn finish_for_charge(
    conn: &mut PgConnection,
    charge_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE payment_jobs SET status = 'done', locked_until = NULL, updated_at = now()
          WHERE charge_id = $1 AND kind = 'authorize' AND status IN ('queued', 'dead')",
        charge_id,
    )
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
    sqlx::query!(
        "UPDATE payment_jobs
            SET status = 'queued', run_at = $2, last_error = $3, locked_until = NULL,
                updated_at = now()
          WHERE id = $1 AND status = 'running'",
        id,
        run_at,
        error,
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn mark_dead(pool: &PgPool, id: Uuid, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE payment_jobs
            SET status = 'dead', last_error = $2, locked_until = NULL, updated_at = now()
          WHERE id = $1 AND status = 'running'",
        id,
        error,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// One page of the dead-letter queue, most recently dead first (a dead job's `updated_at` is
/// when it died), after the position `(after_time, after_id)`.
pub async fn list_dead(
    pool: &PgPool,
    after_time: DateTime<Utc>,
    after_id: Uuid,
    limit: i64,
) -> Result<Vec<Job>, sqlx::Error> {
    jobs(
        sqlx::query_as!(
            JobRow,
            "SELECT id, kind, charge_id, refund_id, status, attempts, max_attempts, psp_contacted,
                    run_at, last_error, created_at, updated_at
               FROM payment_jobs
              WHERE status = 'dead' AND (updated_at, id) < ($1::timestamptz, $2::uuid)
              ORDER BY updated_at DESC, id DESC
              LIMIT $3",
            after_time,
            after_id,
            limit,
        )
        .fetch_all(pool)
        .await?,
    )
}

/// Gives a dead job a fresh set of attempts, due now. `None` if the job is not dead.
pub async fn revive(pool: &PgPool, id: Uuid) -> Result<Option<Job>, sqlx::Error> {
    sqlx::query_as!(
        JobRow,
        "UPDATE payment_jobs SET status = 'queued', attempts = 0, run_at = now(), updated_at = now()
          WHERE id = $1 AND status = 'dead'
         RETURNING id, kind, charge_id, refund_id, status, attempts, max_attempts, psp_contacted,
                   run_at, last_error, created_at, updated_at",
        id,
    )
    .fetch_optional(pool)
    .await?
    .map(Job::try_from)
    .transpose()
}

pub async fn find(pool: &PgPool, id: Uuid) -> Result<Option<Job>, sqlx::Error> {
    sqlx::query_as!(
        JobRow,
        "SELECT id, kind, charge_id, refund_id, status, attempts, max_attempts, psp_contacted,
                run_at, last_error, created_at, updated_at
           FROM payment_jobs WHERE id = $1",
        id,
    )
    .fetch_optional(pool)
    .await?
    .map(Job::try_from)
    .transpose()
}

/// Per kind of job: how many wait to run (queued or running) and how many are dead.
pub async fn depths(pool: &PgPool) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT kind,
                count(*) FILTER (WHERE status IN ('queued', 'running')),
                count(*) FILTER (WHERE status = 'dead')
           FROM payment_jobs
          WHERE status IN ('queued', 'running', 'dead')
          GROUP BY kind",
    )
    .fetch_all(pool)
    .await
}
