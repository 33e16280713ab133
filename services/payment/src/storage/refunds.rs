use super::unknown;
use crate::domain::{Refund, RefundStatus};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

struct RefundRow {
    id: Uuid,
    charge_id: Uuid,
    amount: i64,
    currency: String,
    reason: Option<String>,
    status: String,
    psp_reference: Option<String>,
    failure_reason: Option<String>,
    created_by: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<RefundRow> for Refund {
    type Error = sqlx::Error;

    fn try_from(row: RefundRow) -> Result<Self, sqlx::Error> {
        Ok(Refund {
            status: RefundStatus::parse(&row.status)
                .ok_or_else(|| unknown("refund status", &row.status))?,
            id: row.id,
            charge_id: row.charge_id,
            amount: row.amount,
            currency: row.currency,
            reason: row.reason,
            psp_reference: row.psp_reference,
            failure_reason: row.failure_reason,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A new refund, pending; `idempotency_key` is the key of the request that made it, unique per
/// `created_by` (see [`is_key_taken`]).
pub async fn insert_pending(
    conn: &mut PgConnection,
    charge_id: Uuid,
    amount: i64,
    currency: &str,
    reason: Option<&str>,
    created_by: &str,
    idempotency_key: &str,
) -> Result<Refund, sqlx::Error> {
    sqlx::query_as!(
        RefundRow,
        "INSERT INTO refunds (id, charge_id, amount, currency, reason, status, created_by,
                              idempotency_key)
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7)
         RETURNING id, charge_id, amount, currency, reason, status, psp_reference, failure_reason,
                   created_by, created_at, updated_at",
        Uuid::now_v7(),
        charge_id,
        amount,
        currency,
        reason,
        created_by,
        idempotency_key,
    )
    .fetch_one(conn)
    .await?
    .try_into()
}

pub async fn find(pool: &PgPool, id: Uuid) -> Result<Option<Refund>, sqlx::Error> {
    sqlx::query_as!(
        RefundRow,
        "SELECT id, charge_id, amount, currency, reason, status, psp_reference, failure_reason,
                created_by, created_at, updated_at
           FROM refunds WHERE id = $1",
        id,
    )
    .fetch_optional(pool)
    .await?
    .map(Refund::try_from)
    .transpose()
}

/// The refund `created_by` made with this idempotency key, if any.
pub async fn find_by_idempotency_key(
    pool: &PgPool,
    created_by: &str,
    idempotency_key: &str,
) -> Result<Option<Refund>, sqlx::Error> {
    sqlx::query_as!(
        RefundRow,
        "SELECT id, charge_id, amount, currency, reason, status, psp_reference, failure_reason,
                created_by, created_at, updated_at
           FROM refunds WHERE created_by = $1 AND idempotency_key = $2",
        created_by,
        idempotency_key,
    )
    .fetch_optional(pool)
    .await?
    .map(Refund::try_from)
    .transpose()
}

/// Whether `e` is the insert of a refund under an idempotency key its caller already used.
pub fn is_key_taken(e: &sqlx::Error) -> bool {
    super::violates(e, "refunds_idempotency_key")
}

/// Settles a pending refund; `None` if it was already settled (a concurrent runner won).
pub async fn settle(
    conn: &mut PgConnection,
    id: Uuid,
    status: RefundStatus,
    psp_reference: Option<&str>,
    failure_reason: Option<&str>,
) -> Result<Option<Refund>, sqlx::Error> {
    sqlx::query_as!(
        RefundRow,
        "UPDATE refunds SET status = $2, psp_reference = $3, failure_reason = $4, updated_at = now()
          WHERE id = $1 AND status = 'pending'
         RETURNING id, charge_id, amount, currency, reason, status, psp_reference, failure_reason,
                   created_by, created_at, updated_at",
        id,
        status.as_str(),
        psp_reference,
        failure_reason,
    )
    .fetch_optional(conn)
    .await?
    .map(Refund::try_from)
    .transpose()
}

/// One page of a charge's refunds, newest first, after the position `(after_time, after_id)`.
pub async fn for_charge(
    pool: &PgPool,
    charge_id: Uuid,
    after_time: DateTime<Utc>,
    after_id: Uuid,
    limit: i64,
) -> Result<Vec<Refund>, sqlx::Error> {
    sqlx::query_as!(
        RefundRow,
        "SELECT id, charge_id, amount, currency, reason, status, psp_reference, failure_reason,
                created_by, created_at, updated_at
           FROM refunds
          WHERE charge_id = $1 AND (created_at, id) < ($2::timestamptz, $3::uuid)
          ORDER BY created_at DESC, id DESC
          LIMIT $4",
        charge_id,
        after_time,
        after_id,
        limit,
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(Refund::try_from)
    .collect()
}

/// What has actually gone back to the customer for this charge.
pub async fn total_succeeded(conn: &mut PgConnection, charge_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT COALESCE(sum(amount), 0)::bigint AS "total!" FROM refunds
            WHERE charge_id = $1 AND status = 'succeeded'"#,
        charge_id,
    )
    .fetch_one(conn)
    .await
}
