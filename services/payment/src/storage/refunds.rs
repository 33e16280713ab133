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

pub async fn insert_pending(
    conn: &mut PgConnection,
    charge_id: Uuid,
    amount: i64,
    currency: &str,
    reason: Option<&str>,
    created_by: &str,
) -> Result<Refund, sqlx::Error> {
    sqlx::query_as!(
        RefundRow,
        "INSERT INTO refunds (id, charge_id, amount, currency, reason, status, created_by)
         VALUES ($1, $2, $3, $4, $5, 'pending', $6)
         RETURNING id, charge_id, amount, currency, reason, status, psp_reference, failure_reason,
                   created_by, created_at, updated_at",
        Uuid::now_v7(),
        charge_id,
        amount,
        currency,
        reason,
        created_by,
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

pub async fn for_charge(pool: &PgPool, charge_id: Uuid) -> Result<Vec<Refund>, sqlx::Error> {
    sqlx::query_as!(
        RefundRow,
        "SELECT id, charge_id, amount, currency, reason, status, psp_reference, failure_reason,
                created_by, created_at, updated_at
           FROM refunds WHERE charge_id = $1 ORDER BY created_at, id",
        charge_id,
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
