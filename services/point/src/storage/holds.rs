//! `holds`: points reserved for a redemption until it is captured or released.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Hold {
    pub id: Uuid,
    pub member_id: Uuid,
    pub points: i64,
    /// active, captured, released or expired.
    pub status: String,
    pub reference_id: Option<String>,
    pub description: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub settled_at: Option<DateTime<Utc>>,
    pub transaction_id: Option<Uuid>,
    #[serde(skip)]
    pub created_by: String,
    #[serde(skip)]
    pub request_fingerprint: String,
}

const COLUMNS: &str = "id, member_id, points, status, reference_id, description, expires_at, created_at, settled_at, transaction_id, created_by, request_fingerprint";

pub struct NewHold<'a> {
    pub member_id: Uuid,
    pub points: i64,
    pub reference_id: Option<&'a str>,
    pub description: Option<&'a str>,
    pub created_by: &'a str,
    pub idempotency_key: &'a str,
    pub request_fingerprint: &'a str,
    pub ttl_secs: i64,
}

pub async fn insert(conn: &mut PgConnection, hold: &NewHold<'_>) -> Result<Hold, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO holds (id, member_id, points, status, reference_id, description, created_by,
                            idempotency_key, request_fingerprint, expires_at)
         VALUES ($1, $2, $3, 'active', $4, $5, $6, $7, $8, now() + make_interval(secs => $9))
         RETURNING {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(hold.member_id)
    .bind(hold.points)
    .bind(hold.reference_id)
    .bind(hold.description)
    .bind(hold.created_by)
    .bind(hold.idempotency_key)
    .bind(hold.request_fingerprint)
    .bind(hold.ttl_secs as f64)
    .fetch_one(conn)
    .await
}

pub async fn find_by_key(
    conn: &mut PgConnection,
    created_by: &str,
    idempotency_key: &str,
) -> Result<Option<Hold>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM holds WHERE created_by = $1 AND idempotency_key = $2"
    ))
    .bind(created_by)
    .bind(idempotency_key)
    .fetch_optional(conn)
    .await
}

pub async fn lock(
    conn: &mut PgConnection,
    member_id: Uuid,
    id: Uuid,
) -> Result<Option<Hold>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM holds WHERE id = $1 AND member_id = $2 FOR UPDATE"
    ))
    .bind(id)
    .bind(member_id)
    .fetch_optional(conn)
    .await
}

pub async fn settle(
    conn: &mut PgConnection,
    id: Uuid,
    status: &str,
    transaction_id: Option<Uuid>,
) -> Result<Hold, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE holds SET status = $2, settled_at = now(), transaction_id = $3 WHERE id = $1
         RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(status)
    .bind(transaction_id)
    .fetch_one(conn)
    .await
}

/// Active holds past their expiry at `now`, oldest first.
pub async fn expired(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(Uuid, Uuid)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, member_id FROM holds WHERE status = 'active' AND expires_at <= $1
          ORDER BY expires_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Sum of active holds, for checking invariants.
pub async fn active_total(conn: &mut PgConnection, member_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COALESCE(sum(points), 0)::bigint FROM holds WHERE member_id = $1 AND status = 'active'")
        .bind(member_id)
        .fetch_one(conn)
        .await
}
