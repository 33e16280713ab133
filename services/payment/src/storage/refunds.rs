use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefundRecord {
    pub id: Uuid,
    pub charge_id: Uuid,
    pub amount: i64,
    pub currency: String,
    pub reason: Option<String>,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    pub psp_reference: Option<String>,
    pub failure_reason: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, charge_id, amount, currency, reason, status, psp_reference, failure_reason,
                       created_by, created_at, updated_at";

pub async fn insert_pending(
    conn: &mut PgConnection,
    charge_id: Uuid,
    amount: i64,
    currency: &str,
    reason: Option<&str>,
    created_by: &str,
) -> Result<RefundRecord, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO refunds (id, charge_id, amount, currency, reason, status, created_by)
         VALUES ($1, $2, $3, $4, $5, 'pending', $6) RETURNING {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(charge_id)
    .bind(amount)
    .bind(currency)
    .bind(reason)
    .bind(created_by)
    .fetch_one(conn)
    .await
}

pub async fn find(pool: &PgPool, id: Uuid) -> Result<Option<RefundRecord>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM refunds WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Settles a pending refund; `None` if it was already settled (a concurrent runner won).
pub async fn settle(
    conn: &mut PgConnection,
    id: Uuid,
    status: &str,
    psp_reference: Option<&str>,
    failure_reason: Option<&str>,
) -> Result<Option<RefundRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE refunds SET status = $2, psp_reference = $3, failure_reason = $4, updated_at = now()
          WHERE id = $1 AND status = 'pending' RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(status)
    .bind(psp_reference)
    .bind(failure_reason)
    .fetch_optional(conn)
    .await
}

pub async fn for_charge(pool: &PgPool, charge_id: Uuid) -> Result<Vec<RefundRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM refunds WHERE charge_id = $1 ORDER BY created_at, id"
    ))
    .bind(charge_id)
    .fetch_all(pool)
    .await
}

/// What has actually gone back to the customer for this charge.
pub async fn total_succeeded(conn: &mut PgConnection, charge_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COALESCE(sum(amount), 0)::bigint FROM refunds WHERE charge_id = $1 AND status = 'succeeded'",
    )
    .bind(charge_id)
    .fetch_one(conn)
    .await
}
