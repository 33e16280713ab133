use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Account {
    pub member_id: Uuid,
    pub tier: String,
    pub multiplier_bp: i32,
    pub balance: i64,
    pub pending: i64,
    pub lifetime_earned: i64,
    pub updated_at: DateTime<Utc>,
}

/// Opens an account at the lowest tier; does nothing if it exists.
pub async fn open(conn: &mut PgConnection, member_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO accounts (member_id, tier)
         SELECT $1, code FROM tiers ORDER BY rank LIMIT 1
         ON CONFLICT (member_id) DO NOTHING",
    )
    .bind(member_id)
    .execute(conn)
    .await?;
    Ok(())
}

const SELECT: &str = "SELECT a.member_id, a.tier, t.multiplier_bp, a.balance, a.pending, a.lifetime_earned, a.updated_at
                        FROM accounts a JOIN tiers t ON t.code = a.tier WHERE a.member_id = $1";

pub async fn find(
    conn: &mut PgConnection,
    member_id: Uuid,
) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query_as(SELECT)
        .bind(member_id)
        .fetch_optional(conn)
        .await
}

/// Locks the member's account for the rest of the transaction: every change to one member's
/// points is serialised here, so concurrent earns and spends can't both read a stale balance.
pub async fn lock(
    conn: &mut PgConnection,
    member_id: Uuid,
) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} FOR UPDATE OF a"))
        .bind(member_id)
        .fetch_optional(conn)
        .await
}

pub async fn apply_delta(
    conn: &mut PgConnection,
    member_id: Uuid,
    points: i64,
) -> Result<i64, sqlx::Error> {
    let (balance,): (i64,) = sqlx::query_as(
        "UPDATE accounts SET balance = balance + $2,
                lifetime_earned = lifetime_earned + GREATEST($2, 0), updated_at = now()
          WHERE member_id = $1 RETURNING balance",
    )
    .bind(member_id)
    .bind(points)
    .fetch_one(conn)
    .await?;
    Ok(balance)
}

pub async fn program_rate(conn: &mut PgConnection) -> Result<i32, sqlx::Error> {
    let (rate,): (i32,) = sqlx::query_as("SELECT points_per_unit FROM program")
        .fetch_one(conn)
        .await?;
    Ok(rate)
}
