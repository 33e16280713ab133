//! Program settings, per-source settings, tiers, earn rules, qualifying spend and the audit log.

use crate::domain::{BonusRule, EarnPolicy, Rounding, Tier};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ProgramSettings {
    /// The currency purchases earn in (ISO 4217); other currencies are refused.
    pub currency: String,
    /// Points per whole unit of the currency, before multipliers.
    pub points_per_unit: i32,
    /// Months after earning that points expire.
    pub expiry_months: i32,
    pub cap_per_transaction: Option<i64>,
    pub cap_per_day: Option<i64>,
    /// `down` or `nearest`.
    pub rounding: String,
    /// Whether a reversal may take a member below zero (their debt is repaid by later earns).
    pub allow_negative_balance: bool,
}

pub async fn settings(conn: &mut PgConnection) -> Result<ProgramSettings, sqlx::Error> {
    sqlx::query_as(
        "SELECT currency, points_per_unit, expiry_months, cap_per_transaction, cap_per_day,
                rounding, allow_negative_balance FROM program",
    )
    .fetch_one(conn)
    .await
}

pub async fn update_settings(
    conn: &mut PgConnection,
    s: &ProgramSettings,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE program SET currency = $1, points_per_unit = $2, expiry_months = $3,
                cap_per_transaction = $4, cap_per_day = $5, rounding = $6,
                allow_negative_balance = $7, updated_at = now()",
    )
    .bind(&s.currency)
    .bind(s.points_per_unit)
    .bind(s.expiry_months)
    .bind(s.cap_per_transaction)
    .bind(s.cap_per_day)
    .bind(&s.rounding)
    .bind(s.allow_negative_balance)
    .execute(conn)
    .await?;
    Ok(())
}

impl ProgramSettings {
    pub fn policy(&self) -> EarnPolicy {
        EarnPolicy {
            points_per_unit: self.points_per_unit,
            rounding: Rounding::parse(&self.rounding).unwrap_or(Rounding::Down),
            cap_per_transaction: self.cap_per_transaction,
            cap_per_day: self.cap_per_day,
        }
    }
}

/// Days points from `source` stay pending (0: active at once).
pub async fn pending_days(conn: &mut PgConnection, source: &str) -> Result<i32, sqlx::Error> {
    let days: Option<i32> =
        sqlx::query_scalar("SELECT pending_days FROM source_settings WHERE source = $1")
            .bind(source)
            .fetch_optional(conn)
            .await?;
    Ok(days.unwrap_or(0))
}

pub async fn set_pending_days(
    conn: &mut PgConnection,
    source: &str,
    days: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO source_settings (source, pending_days) VALUES ($1, $2)
         ON CONFLICT (source) DO UPDATE SET pending_days = EXCLUDED.pending_days, updated_at = now()",
    )
    .bind(source)
    .bind(days)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn tiers(conn: &mut PgConnection) -> Result<Vec<Tier>, sqlx::Error> {
    let rows: Vec<(String, i32, i32, i64)> = sqlx::query_as(
        "SELECT code, rank, multiplier_bp, min_qualifying_spend FROM tiers ORDER BY rank",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(code, rank, multiplier_bp, min_qualifying_spend)| Tier {
            code,
            rank,
            multiplier_bp,
            min_qualifying_spend,
        })
        .collect())
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct RuleRecord {
    pub id: Uuid,
    pub name: String,
    pub multiplier_bp: i32,
    pub bonus_points: i64,
    pub source: Option<String>,
    pub store_id: Option<String>,
    pub category: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
    pub replaces: Option<Uuid>,
}

const RULE_COLUMNS: &str = "id, name, multiplier_bp, bonus_points, source, store_id, category, starts_at, ends_at, created_by, created_at, retired_at, replaces";

pub struct NewRule<'a> {
    pub name: &'a str,
    pub multiplier_bp: i32,
    pub bonus_points: i64,
    pub source: Option<&'a str>,
    pub store_id: Option<&'a str>,
    pub category: Option<&'a str>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub created_by: Uuid,
    pub replaces: Option<Uuid>,
}

pub async fn insert_rule(
    conn: &mut PgConnection,
    rule: &NewRule<'_>,
) -> Result<RuleRecord, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO earn_rules (id, name, multiplier_bp, bonus_points, source, store_id, category,
                                 starts_at, ends_at, created_by, replaces)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {RULE_COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(rule.name)
    .bind(rule.multiplier_bp)
    .bind(rule.bonus_points)
    .bind(rule.source)
    .bind(rule.store_id)
    .bind(rule.category)
    .bind(rule.starts_at)
    .bind(rule.ends_at)
    .bind(rule.created_by)
    .bind(rule.replaces)
    .fetch_one(conn)
    .await
}

/// Retires a live rule; returns it, or `None` if there is no such live rule.
pub async fn retire_rule(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<RuleRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE earn_rules SET retired_at = now() WHERE id = $1 AND retired_at IS NULL RETURNING {RULE_COLUMNS}"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn rules(
    conn: &mut PgConnection,
    include_retired: bool,
) -> Result<Vec<RuleRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {RULE_COLUMNS} FROM earn_rules WHERE $1 OR retired_at IS NULL ORDER BY created_at"
    ))
    .bind(include_retired)
    .fetch_all(conn)
    .await
}

/// The rules in force now (a rule retired or created later does not apply to this earn).
pub async fn live_rules(conn: &mut PgConnection) -> Result<Vec<BonusRule>, sqlx::Error> {
    Ok(rules(conn, false)
        .await?
        .into_iter()
        .map(|r| BonusRule {
            id: r.id,
            multiplier_bp: r.multiplier_bp,
            bonus_points: r.bonus_points,
            source: r.source,
            store_id: r.store_id,
            category: r.category,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
        })
        .collect())
}

pub async fn add_qualifying_spend(
    conn: &mut PgConnection,
    member_id: Uuid,
    reference: &str,
    amount_minor: i64,
    occurred_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO qualifying_spend (member_id, reference, amount_minor, occurred_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(member_id)
    .bind(reference)
    .bind(amount_minor)
    .bind(occurred_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes a refunded amount off a purchase's qualifying spend (never below zero).
pub async fn reduce_qualifying_spend(
    conn: &mut PgConnection,
    member_id: Uuid,
    reference: &str,
    refunded: i64,
    charge_amount: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE qualifying_spend SET amount_minor = GREATEST($4 - $3, 0)
          WHERE member_id = $1 AND reference = $2",
    )
    .bind(member_id)
    .bind(reference)
    .bind(refunded)
    .bind(charge_amount)
    .execute(conn)
    .await?;
    Ok(())
}

/// Qualifying spend in the 12 months up to `now`.
pub async fn rolling_spend(
    conn: &mut PgConnection,
    member_id: Uuid,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COALESCE(sum(amount_minor), 0)::bigint FROM qualifying_spend
          WHERE member_id = $1 AND occurred_at > $2 - interval '12 months' AND occurred_at <= $2",
    )
    .bind(member_id)
    .bind(now)
    .fetch_one(conn)
    .await
}

pub async fn audit(
    conn: &mut PgConnection,
    actor: &str,
    action: &str,
    member_id: Option<Uuid>,
    detail: serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (id, actor, action, member_id, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Uuid::now_v7())
    .bind(actor)
    .bind(action)
    .bind(member_id)
    .bind(detail)
    .execute(conn)
    .await?;
    Ok(())
}

/// Early refunds: a charge.refunded that arrived before its charge.succeeded.
pub async fn remember_early_refund(
    conn: &mut PgConnection,
    charge_id: &str,
    member_id: Uuid,
    total_refunded: i64,
    charge_amount: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO early_refunds (charge_id, member_id, total_refunded, charge_amount)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (charge_id) DO UPDATE SET
             total_refunded = GREATEST(early_refunds.total_refunded, EXCLUDED.total_refunded)",
    )
    .bind(charge_id)
    .bind(member_id)
    .bind(total_refunded)
    .bind(charge_amount)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn take_early_refund(
    conn: &mut PgConnection,
    charge_id: &str,
) -> Result<Option<(i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "DELETE FROM early_refunds WHERE charge_id = $1 RETURNING total_refunded, charge_amount",
    )
    .bind(charge_id)
    .fetch_optional(conn)
    .await
}
