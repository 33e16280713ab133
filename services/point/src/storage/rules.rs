//! `earn_rules`: bonus rules, versioned (a change retires the old row and adds a new one).

use crate::domain::program::NewRule;
use crate::domain::BonusRule;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone)]
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

pub async fn insert(
    conn: &mut PgConnection,
    rule: &NewRule,
    created_by: Uuid,
    replaces: Option<Uuid>,
) -> Result<RuleRecord, sqlx::Error> {
    sqlx::query_as!(
        RuleRecord,
        "INSERT INTO earn_rules (id, name, multiplier_bp, bonus_points, source, store_id, category,
                                 starts_at, ends_at, created_by, replaces)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         RETURNING id, name, multiplier_bp, bonus_points, source, store_id, category, starts_at,
                   ends_at, created_by, created_at, retired_at, replaces",
        Uuid::now_v7(),
        rule.name,
        rule.multiplier_bp,
        rule.bonus_points,
        rule.source,
        rule.store_id,
        rule.category,
        rule.starts_at,
        rule.ends_at,
        created_by,
        replaces,
    )
    .fetch_one(conn)
    .await
}

/// Retires a live rule; returns it, or `None` if there is no such live rule.
pub async fn retire(conn: &mut PgConnection, id: Uuid) -> Result<Option<RuleRecord>, sqlx::Error> {
    sqlx::query_as!(
        RuleRecord,
        "UPDATE earn_rules SET retired_at = now() WHERE id = $1 AND retired_at IS NULL
         RETURNING id, name, multiplier_bp, bonus_points, source, store_id, category, starts_at,
                   ends_at, created_by, created_at, retired_at, replaces",
        id,
    )
    .fetch_optional(conn)
    .await
}

pub async fn list(
    conn: &mut PgConnection,
    include_retired: bool,
) -> Result<Vec<RuleRecord>, sqlx::Error> {
    sqlx::query_as!(
        RuleRecord,
        "SELECT id, name, multiplier_bp, bonus_points, source, store_id, category, starts_at,
                ends_at, created_by, created_at, retired_at, replaces
           FROM earn_rules WHERE $1 OR retired_at IS NULL ORDER BY created_at",
        include_retired,
    )
    .fetch_all(conn)
    .await
}

/// The rules in force now (a rule retired or created later does not apply to this earn).
pub async fn live(conn: &mut PgConnection) -> Result<Vec<BonusRule>, sqlx::Error> {
    sqlx::query_as!(
        BonusRule,
        "SELECT id, multiplier_bp, bonus_points, source, store_id, category, starts_at, ends_at
           FROM earn_rules WHERE retired_at IS NULL ORDER BY created_at"
    )
    .fetch_all(conn)
    .await
}
