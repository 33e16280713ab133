use crate::domain::{NewWithdrawal, Withdrawal};
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

pub async fn for_member(
    pool: &PgPool,
    member_id: Uuid,
    limit: i64,
) -> Result<Vec<Withdrawal>, sqlx::Error> {
    sqlx::query_as!(
        Withdrawal,
        "SELECT id, member_id, amount, currency, reference, created_by, created_at
           FROM withdrawals WHERE member_id = $1 ORDER BY id DESC LIMIT $2",
        member_id,
        limit,
    )
    .fetch_all(pool)
    .await
}
