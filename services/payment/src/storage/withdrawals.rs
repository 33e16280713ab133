use crate::domain::{NewWithdrawal, Withdrawal};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    withdrawal: &NewWithdrawal,
    created_by: &str,
) -> Result<Withdrawal, sqlx::Error> {
    sqlx::query_as!(
        Withdrawal,
        "INSERT INTO withdrawals (id, member_id, amount, currency, reference, created_by)
         VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING id, member_id, amount, currency, reference, created_by, created_at",
        id,
        withdrawal.member_id,
        withdrawal.amount.amount_minor,
        withdrawal.amount.currency.code(),
        withdrawal.reference.as_deref(),
        created_by,
    )
    .fetch_one(conn)
    .await
}

/// One page of a member's withdrawals, newest first, after the position `(after_time, after_id)`.
pub async fn for_member(
    pool: &PgPool,
    member_id: Uuid,
    after_time: DateTime<Utc>,
    after_id: Uuid,
    limit: i64,
) -> Result<Vec<Withdrawal>, sqlx::Error> {
    sqlx::query_as!(
        Withdrawal,
        "SELECT id, member_id, amount, currency, reference, created_by, created_at
           FROM withdrawals
          WHERE member_id = $1 AND (created_at, id) < ($2::timestamptz, $3::uuid)
          ORDER BY created_at DESC, id DESC
          LIMIT $4",
        member_id,
        after_time,
        after_id,
        limit,
    )
    .fetch_all(pool)
    .await
}
