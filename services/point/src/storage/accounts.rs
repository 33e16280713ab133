//! `accounts`: one row per member, a cache of the ledger updated in the same transaction as the
//! entries (balance, pending, held), plus the member's tier.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Account {
    pub member_id: Uuid,
    /// The tier in force: an unexpired override, else the qualified tier.
    pub tier: String,
    pub qualified_tier: String,
    pub multiplier_bp: i32,
    pub tier_rank: i32,
    /// Active points: the sum of the member's `member:` ledger entries.
    pub balance: i64,
    pub pending: i64,
    pub held: i64,
    pub lifetime_earned: i64,
    pub tier_period_ends_at: DateTime<Utc>,
    pub override_reason: Option<String>,
    pub override_expires_at: Option<DateTime<Utc>>,
    pub erased_at: Option<DateTime<Utc>>,
}

impl Account {
    /// What the member can spend now.
    pub fn available(&self) -> i64 {
        self.balance - self.held
    }
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

const SELECT: &str = "
    WITH a AS (
        SELECT *, CASE WHEN override_tier IS NOT NULL AND override_expires_at > now()
                       THEN override_tier ELSE tier END AS effective
          FROM accounts WHERE member_id = $1
    )
    SELECT a.member_id, a.effective AS tier, a.tier AS qualified_tier, t.multiplier_bp,
           t.rank AS tier_rank, a.balance, a.pending, a.held, a.lifetime_earned,
           a.tier_period_ends_at,
           CASE WHEN a.effective <> a.tier THEN a.override_reason END AS override_reason,
           CASE WHEN a.effective <> a.tier THEN a.override_expires_at END AS override_expires_at,
           a.erased_at
      FROM a JOIN tiers t ON t.code = a.effective";

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
    sqlx::query("SELECT 1 FROM accounts WHERE member_id = $1 FOR UPDATE")
        .bind(member_id)
        .execute(&mut *conn)
        .await?;
    find(conn, member_id).await
}

/// Adds to the cached balances; `earned` also counts towards lifetime points.
pub async fn apply(
    conn: &mut PgConnection,
    member_id: Uuid,
    balance: i64,
    pending: i64,
    held: i64,
    earned: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE accounts SET balance = balance + $2, pending = pending + $3, held = held + $4,
                lifetime_earned = lifetime_earned + $5, updated_at = now()
          WHERE member_id = $1",
    )
    .bind(member_id)
    .bind(balance)
    .bind(pending)
    .bind(held)
    .bind(earned)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_tier(
    conn: &mut PgConnection,
    member_id: Uuid,
    tier: &str,
    period_ends_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE accounts SET tier = $2, tier_period_ends_at = $3, updated_at = now() WHERE member_id = $1",
    )
    .bind(member_id)
    .bind(tier)
    .bind(period_ends_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_override(
    conn: &mut PgConnection,
    member_id: Uuid,
    tier: Option<&str>,
    reason: Option<&str>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE accounts SET override_tier = $2, override_reason = $3, override_expires_at = $4,
                updated_at = now()
          WHERE member_id = $1",
    )
    .bind(member_id)
    .bind(tier)
    .bind(reason)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn mark_erased(conn: &mut PgConnection, member_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET erased_at = COALESCE(erased_at, now()) WHERE member_id = $1")
        .bind(member_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Everything outstanding: what the program owes its members.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Liability {
    /// Active points of every member (the sum of the cached balances).
    pub active_points: i64,
    pub pending_points: i64,
    pub held_points: i64,
    pub members: i64,
    /// The ledger's side: minus the program liability account's entries for active points.
    pub ledger_active_points: i64,
    pub ledger_pending_points: i64,
}

pub async fn liability(conn: &mut PgConnection) -> Result<Liability, sqlx::Error> {
    sqlx::query_as(
        "SELECT COALESCE(sum(balance), 0)::bigint AS active_points,
                COALESCE(sum(pending), 0)::bigint AS pending_points,
                COALESCE(sum(held), 0)::bigint AS held_points,
                count(*) AS members,
                (SELECT COALESCE(sum(amount), 0) FROM ledger_entries WHERE account LIKE 'member:%')::bigint
                    AS ledger_active_points,
                (SELECT COALESCE(sum(amount), 0) FROM ledger_entries WHERE account LIKE 'pending:%')::bigint
                    AS ledger_pending_points
           FROM accounts",
    )
    .fetch_one(conn)
    .await
}
