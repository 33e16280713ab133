use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WithdrawalRecord {
    pub id: Uuid,
    pub member_id: Uuid,
    pub amount: i64,
    pub currency: String,
    pub reference: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, member_id, amount, currency, reference, created_by, created_at";

pub async fn insert(
    conn: &mut PgConnection,
    member_id: Uuid,
    amount: i64,
    currency: &str,
    reference: Option<&str>,
    created_by: &str,
) -> Result<WithdrawalRecord, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO withdrawals (id, member_id, amount, currency, reference, created_by)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(member_id)
    .bind(amount)
    .bind(currency)
    .bind(reference)
    .bind(created_by)
    .fetch_one(conn)
    .await
}

pub async fn for_member(
    pool: &PgPool,
    member_id: Uuid,
    limit: i64,
) -> Result<Vec<WithdrawalRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM withdrawals WHERE member_id = $1 ORDER BY id DESC LIMIT $2"
    ))
    .bind(member_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}
