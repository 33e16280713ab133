//! `accounts`: one row per member, a cache of the ledger updated in the same transaction as the
//! entries (balance, pending, held), plus the member's tier.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone)]
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
    /// Points earned today (UTC), for the daily cap.
    pub earned_today: i64,
    pub tier_period_ends_at: DateTime<Utc>,
    pub override_reason: Option<String>,
    pub override_expires_at: Option<DateTime<Utc>>,
    pub erased_at: Option<DateTime<Utc>>,
}

impl Account {
    /// What the member can spend now.
    pub fn available(&self) -> i64 {
        crate::domain::points::available(self.balance, self.held)
    }
}

/// Opens an account at the lowest tier; does nothing if it exists.
pub async fn open(conn: &mut PgConnection, member_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO accounts (member_id, tier)
         SELECT $1, code FROM tiers ORDER BY rank LIMIT 1
         ON CONFLICT (member_id) DO NOTHING",
        member_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The member's account as it stands (the balance read's query, without its extras).
pub async fn find(
    conn: &mut PgConnection,
    member_id: Uuid,
) -> Result<Option<Account>, sqlx::Error> {
    Ok(balance_row(conn, member_id, 0)
        .await?
        .map(|row| row.account))
}

/// Locks the member's account for the rest of the transaction: every change to one member's
/// points is serialised here, so concurrent earns and spends can't both read a stale balance.
/// The columns are [`balance_row`]'s, taken from the locked row itself: a join on `accounts`
/// would read the version from before the lock waited. (A view cannot serve both reads: locking
/// through it would lock the tier's row too, and serialise every member of that tier.)
pub async fn lock(
    conn: &mut PgConnection,
    member_id: Uuid,
) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query_as!(
        Account,
        r#"WITH locked AS (
               SELECT * FROM accounts WHERE member_id = $1 FOR UPDATE
           ), a AS (
               SELECT *, CASE WHEN override_tier IS NOT NULL AND override_expires_at > now()
                              THEN override_tier ELSE tier END AS effective
                 FROM locked
           )
           SELECT a.member_id AS "member_id!", a.effective AS "tier!", a.tier AS "qualified_tier!",
                  t.multiplier_bp, t.rank AS tier_rank, a.balance AS "balance!",
                  a.pending AS "pending!", a.held AS "held!",
                  a.lifetime_earned AS "lifetime_earned!",
                  CASE WHEN a.earned_day = (now() AT TIME ZONE 'UTC')::date
                       THEN a.earned_today ELSE 0 END AS "earned_today!",
                  a.tier_period_ends_at AS "tier_period_ends_at!",
                  CASE WHEN a.effective <> a.tier THEN a.override_reason END AS override_reason,
                  CASE WHEN a.effective <> a.tier THEN a.override_expires_at END AS override_expires_at,
                  a.erased_at
             FROM a JOIN tiers t ON t.code = a.effective"#,
        member_id
    )
    .fetch_optional(conn)
    .await
}

/// What a balance read shows, in one indexed query: the account, the active points expiring
/// within the warning window, and the rolling qualifying spend if the running total is valid.
#[derive(Debug, Clone)]
pub struct BalanceRow {
    pub account: Account,
    pub expiring_soon: i64,
    /// `None`: the running total must be recomputed ([`refresh_spend`]).
    pub qualifying_spend: Option<i64>,
    pub spend_version: i64,
    /// Until when the running spend total is right; `None` while no purchase is in the window.
    pub spend_valid_until: Option<DateTime<Utc>>,
    /// When the next active lot enters the warning window, changing `expiring_soon`.
    pub expiring_changes_at: Option<DateTime<Utc>>,
}

pub async fn balance_row(
    conn: &mut PgConnection,
    member_id: Uuid,
    warning_days: i32,
) -> Result<Option<BalanceRow>, sqlx::Error> {
    let row = sqlx::query!(
        r#"WITH a AS (
               SELECT *, CASE WHEN override_tier IS NOT NULL AND override_expires_at > now()
                              THEN override_tier ELSE tier END AS effective
                 FROM accounts WHERE member_id = $1
           )
           SELECT a.member_id AS "member_id!", a.effective AS "tier!", a.tier AS "qualified_tier!",
                  t.multiplier_bp, t.rank AS tier_rank, a.balance AS "balance!",
                  a.pending AS "pending!", a.held AS "held!",
                  a.lifetime_earned AS "lifetime_earned!",
                  CASE WHEN a.earned_day = (now() AT TIME ZONE 'UTC')::date
                       THEN a.earned_today ELSE 0 END AS "earned_today!",
                  a.tier_period_ends_at AS "tier_period_ends_at!",
                  CASE WHEN a.effective <> a.tier THEN a.override_reason END AS override_reason,
                  CASE WHEN a.effective <> a.tier THEN a.override_expires_at END AS override_expires_at,
                  a.erased_at,
                  CASE WHEN a.spend_valid_until > now() THEN a.spend_12m END AS qualifying_spend,
                  a.spend_version AS "spend_version!",
                  -- 'infinity' (no purchase in the window) does not fit a date: no end.
                  CASE WHEN a.spend_valid_until < 'infinity' THEN a.spend_valid_until END AS spend_valid_until,
                  (SELECT COALESCE(sum(l.remaining), 0) FROM point_lots l
                    WHERE l.member_id = a.member_id AND l.status = 'active' AND l.remaining > 0
                      AND l.expires_at <= now() + make_interval(days => $2))::bigint AS "expiring_soon!",
                  (SELECT min(l.expires_at) - make_interval(days => $2) FROM point_lots l
                    WHERE l.member_id = a.member_id AND l.status = 'active' AND l.remaining > 0
                      AND l.expires_at > now() + make_interval(days => $2)) AS expiring_changes_at
             FROM a JOIN tiers t ON t.code = a.effective"#,
        member_id,
        warning_days,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| BalanceRow {
        account: Account {
            member_id: r.member_id,
            tier: r.tier,
            qualified_tier: r.qualified_tier,
            multiplier_bp: r.multiplier_bp,
            tier_rank: r.tier_rank,
            balance: r.balance,
            pending: r.pending,
            held: r.held,
            lifetime_earned: r.lifetime_earned,
            earned_today: r.earned_today,
            tier_period_ends_at: r.tier_period_ends_at,
            override_reason: r.override_reason,
            override_expires_at: r.override_expires_at,
            erased_at: r.erased_at,
        },
        expiring_soon: r.expiring_soon,
        qualifying_spend: r.qualifying_spend,
        spend_version: r.spend_version,
        spend_valid_until: r.spend_valid_until,
        expiring_changes_at: r.expiring_changes_at,
    }))
}

/// Recomputes the member's rolling qualifying spend from their purchases and keeps it with how
/// long it stays right, unless an earn or refund changed it since `seen_version` was read (then
/// `None`: the caller sums it itself). Runs when the oldest purchase leaves the window, at most
/// a few times a day per active member.
pub async fn refresh_spend(
    conn: &mut PgConnection,
    member_id: Uuid,
    seen_version: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"UPDATE accounts a
              SET spend_12m = s.total,
                  -- Right until the oldest purchase in the window leaves it.
                  spend_valid_until = COALESCE(s.oldest + interval '12 months', 'infinity')
             FROM (SELECT COALESCE(sum(amount_minor), 0)::bigint AS total, min(occurred_at) AS oldest
                     FROM qualifying_spend
                    WHERE member_id = $1 AND occurred_at > now() - interval '12 months') s
            WHERE a.member_id = $1 AND a.spend_version = $2
        RETURNING a.spend_12m"#,
        member_id,
        seen_version,
    )
    .fetch_optional(conn)
    .await
}

/// A purchase's contribution to qualifying spend, once per reference.
#[derive(Debug, Clone)]
pub struct QualifyingPurchase {
    pub reference: String,
    pub amount_minor: i64,
    pub occurred_at: DateTime<Utc>,
}

/// An earn's change to its member's account, written with its transaction
/// ([`super::entries::record`]): the cached balances, the points earned today, and for a
/// purchase its qualifying spend, added to the running 12-month total.
#[derive(Debug, Clone)]
pub struct EarnChange {
    pub change: BalanceChange,
    pub purchase: Option<QualifyingPurchase>,
}

/// Changes of the cached balances; `earned` also counts towards lifetime points.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BalanceChange {
    pub active: i64,
    pub pending: i64,
    pub held: i64,
    pub earned: i64,
}

pub async fn apply(
    conn: &mut PgConnection,
    member_id: Uuid,
    change: BalanceChange,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE accounts SET balance = balance + $2, pending = pending + $3, held = held + $4,
                lifetime_earned = lifetime_earned + $5, updated_at = now()
          WHERE member_id = $1",
        member_id,
        change.active,
        change.pending,
        change.held,
        change.earned,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets the qualified tier and when its period ends; a new period has not been warned about.
pub async fn set_tier(
    conn: &mut PgConnection,
    member_id: Uuid,
    tier: &str,
    period_ends_at: DateTime<Utc>,
    new_period: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE accounts SET tier = $2, tier_period_ends_at = $3, updated_at = now(),
                downgrade_warned_at = CASE WHEN $4 THEN NULL ELSE downgrade_warned_at END
          WHERE member_id = $1",
        member_id,
        tier,
        period_ends_at,
        new_period,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn mark_downgrade_warned(
    conn: &mut PgConnection,
    member_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE accounts SET downgrade_warned_at = $2 WHERE member_id = $1",
        member_id,
        at
    )
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
    sqlx::query!(
        "UPDATE accounts SET override_tier = $2, override_reason = $3, override_expires_at = $4,
                updated_at = now()
          WHERE member_id = $1",
        member_id,
        tier,
        reason,
        expires_at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn mark_erased(conn: &mut PgConnection, member_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE accounts SET erased_at = COALESCE(erased_at, now()) WHERE member_id = $1",
        member_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Members above the entry tier whose period ends within `days` of `now` and who have not
/// been warned of a downgrade yet.
pub async fn due_downgrade_warning(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    days: i32,
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT a.member_id FROM accounts a JOIN tiers t ON t.code = a.tier
          WHERE a.erased_at IS NULL AND a.downgrade_warned_at IS NULL AND t.rank > 1
            AND a.tier_period_ends_at > $1 AND a.tier_period_ends_at <= $1 + make_interval(days => $2)
          LIMIT $3",
        now,
        days,
        limit
    )
    .fetch_all(conn)
    .await
}

/// Members whose qualification period has ended by `now`.
pub async fn due_tier_review(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT member_id FROM accounts WHERE tier_period_ends_at <= $1 AND erased_at IS NULL LIMIT $2",
        now,
        limit
    )
    .fetch_all(conn)
    .await
}

/// Everything outstanding: what the program owes its members.
#[derive(Debug, Clone)]
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
    sqlx::query_as!(
        Liability,
        r#"SELECT COALESCE(sum(balance), 0)::bigint AS "active_points!",
                  COALESCE(sum(pending), 0)::bigint AS "pending_points!",
                  COALESCE(sum(held), 0)::bigint AS "held_points!",
                  count(*) AS "members!",
                  (SELECT COALESCE(sum(amount), 0) FROM ledger_entries WHERE account LIKE 'member:%')::bigint
                      AS "ledger_active_points!",
                  (SELECT COALESCE(sum(amount), 0) FROM ledger_entries WHERE account LIKE 'pending:%')::bigint
                      AS "ledger_pending_points!"
             FROM accounts"#
    )
    .fetch_one(conn)
    .await
}
