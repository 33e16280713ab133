//! The reconciler's runs and the differences each found.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

pub struct Run {
    pub id: Uuid,
    pub started_by: String,
    pub window_from: DateTime<Utc>,
    pub window_to: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub checked: i64,
    pub differences: i64,
    pub republished: i64,
    pub error: Option<String>,
}

pub struct Difference {
    pub pair: String,
    pub reference_id: String,
    pub event_id: Uuid,
    pub member_id: Uuid,
    pub action: String,
}

pub async fn start_run(
    conn: &mut PgConnection,
    id: Uuid,
    started_by: &str,
    window_from: DateTime<Utc>,
    window_to: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO reconciliation_runs (id, started_by, window_from, window_to)
         VALUES ($1, $2, $3, $4)",
        id,
        started_by,
        window_from,
        window_to,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn finish_run(
    conn: &mut PgConnection,
    id: Uuid,
    checked: i64,
    differences: i64,
    republished: i64,
    error: Option<&str>,
) -> Result<Run, sqlx::Error> {
    sqlx::query_as!(
        Run,
        "UPDATE reconciliation_runs
            SET finished_at = now(), checked = $2, differences = $3, republished = $4, error = $5
          WHERE id = $1
          RETURNING id, started_by, window_from, window_to, started_at, finished_at, checked,
                    differences, republished, error",
        id,
        checked,
        differences,
        republished,
        error,
    )
    .fetch_one(conn)
    .await
}

pub async fn record_difference(
    conn: &mut PgConnection,
    run_id: Uuid,
    difference: &Difference,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO reconciliation_differences (run_id, pair, reference_id, event_id, member_id, action)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        run_id,
        difference.pair,
        difference.reference_id,
        difference.event_id,
        difference.member_id,
        difference.action,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Of these events, those an earlier run already republished for `pair`.
pub async fn already_republished(
    conn: &mut PgConnection,
    pair: &str,
    event_ids: &[Uuid],
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT DISTINCT event_id FROM reconciliation_differences
          WHERE pair = $1 AND event_id = ANY($2) AND action = 'republished'",
        pair,
        event_ids,
    )
    .fetch_all(conn)
    .await
}

pub async fn find_run(conn: &mut PgConnection, id: Uuid) -> Result<Option<Run>, sqlx::Error> {
    sqlx::query_as!(
        Run,
        "SELECT id, started_by, window_from, window_to, started_at, finished_at, checked,
                differences, republished, error
           FROM reconciliation_runs WHERE id = $1",
        id,
    )
    .fetch_optional(conn)
    .await
}

pub async fn differences_of(
    conn: &mut PgConnection,
    run_id: Uuid,
) -> Result<Vec<Difference>, sqlx::Error> {
    sqlx::query_as!(
        Difference,
        "SELECT pair, reference_id, event_id, member_id, action
           FROM reconciliation_differences WHERE run_id = $1 ORDER BY pair, reference_id",
        run_id,
    )
    .fetch_all(conn)
    .await
}

/// Up to `limit` runs started before the position (`after_time`, `after_id`), newest first.
pub async fn page(
    conn: &mut PgConnection,
    after_time: DateTime<Utc>,
    after_id: Uuid,
    limit: i64,
) -> Result<Vec<Run>, sqlx::Error> {
    sqlx::query_as!(
        Run,
        "SELECT id, started_by, window_from, window_to, started_at, finished_at, checked,
                differences, republished, error
           FROM reconciliation_runs
          WHERE (started_at, id) < ($1::timestamptz, $2::uuid)
          ORDER BY started_at DESC, id DESC
          LIMIT $3",
        after_time,
        after_id,
        limit,
    )
    .fetch_all(conn)
    .await
}

/// Erasure: differences name the member.
pub async fn forget_member(conn: &mut PgConnection, member_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM reconciliation_differences WHERE member_id = $1",
        member_id
    )
    .execute(conn)
    .await?;
    Ok(())
}
