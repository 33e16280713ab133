//! `earn_rules`: bonus rules, versioned (a change retires the old row and adds a new one).

use crate::domain::program::{CampaignRevision, NewRule};
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
    /// The campaign that owns the rule; `None` for staff's rules.
    pub campaign_id: Option<Uuid>,
}

/// Adds a rule version; `campaign` is the campaign revision it was made from, if a campaign
/// owns it.
pub async fn insert(
    conn: &mut PgConnection,
    rule: &NewRule,
    created_by: Uuid,
    replaces: Option<Uuid>,
    campaign: Option<CampaignRevision>,
) -> Result<RuleRecord, sqlx::Error> {
    sqlx::query_as!(
        RuleRecord,
        "INSERT INTO earn_rules (id, name, multiplier_bp, bonus_points, source, store_id, category,
                                 starts_at, ends_at, created_by, replaces, campaign_id,
                                 campaign_revision)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         RETURNING id, name, multiplier_bp, bonus_points, source, store_id, category, starts_at,
                   ends_at, created_by, created_at, retired_at, replaces, campaign_id",
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
        campaign.map(|c| c.campaign_id),
        campaign.map(|c| c.revision),
    )
    .fetch_one(conn)
    .await
}

/// Locks a live rule; `None` if there is no such live rule.
pub async fn lock_live(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<RuleRecord>, sqlx::Error> {
    sqlx::query_as!(
        RuleRecord,
        "SELECT id, name, multiplier_bp, bonus_points, source, store_id, category, starts_at,
                ends_at, created_by, created_at, retired_at, replaces, campaign_id
           FROM earn_rules WHERE id = $1 AND retired_at IS NULL FOR UPDATE",
        id,
    )
    .fetch_optional(conn)
    .await
}

/// One version of a campaign's rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignVersion {
    pub id: Uuid,
    pub revision: i64,
    pub live: bool,
}

/// Locks every version of the campaign's rule, live and retired, so events of one campaign are
/// applied one after the other.
pub async fn lock_campaign(
    conn: &mut PgConnection,
    campaign_id: Uuid,
) -> Result<Vec<CampaignVersion>, sqlx::Error> {
    sqlx::query_as!(
        CampaignVersion,
        r#"SELECT id, campaign_revision AS "revision!", retired_at IS NULL AS "live!"
             FROM earn_rules WHERE campaign_id = $1 FOR UPDATE"#,
        campaign_id,
    )
    .fetch_all(conn)
    .await
}

/// Retires a live rule; returns it, or `None` if there is no such live rule.
pub async fn retire(conn: &mut PgConnection, id: Uuid) -> Result<Option<RuleRecord>, sqlx::Error> {
    sqlx::query_as!(
        RuleRecord,
        "UPDATE earn_rules SET retired_at = now() WHERE id = $1 AND retired_at IS NULL
         RETURNING id, name, multiplier_bp, bonus_points, source, store_id, category, starts_at,
                   ends_at, created_by, created_at, retired_at, replaces, campaign_id",
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
                ends_at, created_by, created_at, retired_at, replaces, campaign_id
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
