//! Running the program: earn rules, settings and the sources' return windows. Every change is
//! audited with the staff member (or the campaign) that made it.

use crate::domain::program::{CampaignRevision, CampaignRule, NewRule, PendingDays, Program};
use crate::domain::ProgramSettings;
use crate::storage::rules;
pub use crate::storage::rules::RuleRecord;
use crate::storage::{audit, program};
use platform::notified_cache::NotifiedCache;
use platform::ApiError;
use sqlx::{PgConnection, PgPool};
use std::sync::Arc;
use uuid::Uuid;

/// The program as this process keeps it: dropped by the `program_<schema>` notification its
/// tables' trigger sends on every change, wherever the change was made.
pub type ProgramCache = NotifiedCache<Program>;

pub fn cache() -> Arc<ProgramCache> {
    NotifiedCache::new("program")
}

/// The program now: from memory, or read through `conn` (and kept) after a change.
pub async fn current(
    conn: &mut PgConnection,
    cache: &ProgramCache,
) -> Result<Arc<Program>, sqlx::Error> {
    match cache.get() {
        Ok(program) => Ok(program),
        Err(ticket) => {
            let program = Arc::new(program::load(conn).await?);
            cache.store(ticket, Arc::clone(&program));
            Ok(program)
        }
    }
}

/// The program now, from memory; a connection is taken from `pool` only to read it after a change.
pub async fn current_in(pool: &PgPool, cache: &ProgramCache) -> Result<Arc<Program>, sqlx::Error> {
    match cache.get() {
        Ok(program) => Ok(program),
        Err(_) => current(&mut *pool.acquire().await?, cache).await,
    }
}

/// Who changes the program: the staff member's id and how the audit log names them.
#[derive(Debug, Clone, Copy)]
pub struct Staff<'a> {
    pub id: Uuid,
    pub actor: &'a str,
}

pub async fn list_rules(pool: &PgPool, include_retired: bool) -> Result<Vec<RuleRecord>, ApiError> {
    let mut conn = pool.acquire().await?;
    Ok(rules::list(&mut conn, include_retired).await?)
}

/// Adds a bonus rule; it applies to purchases earned from now on.
pub async fn create_rule(
    pool: &PgPool,
    rule: &NewRule,
    staff: Staff<'_>,
    cache: &ProgramCache,
) -> Result<RuleRecord, ApiError> {
    let mut tx = pool.begin().await?;
    let created = rules::insert(&mut tx, rule, staff.id, None, None).await?;
    audit::record(
        &mut tx,
        staff.actor,
        "rule.create",
        None,
        serde_json::json!({"rule_id": created.id}),
    )
    .await?;
    tx.commit().await?;
    cache.invalidate();
    Ok(created)
}

/// Retires a live rule and puts a new version in its place.
pub async fn replace_rule(
    pool: &PgPool,
    rule_id: Uuid,
    rule: &NewRule,
    staff: Staff<'_>,
    cache: &ProgramCache,
) -> Result<RuleRecord, ApiError> {
    let mut tx = pool.begin().await?;
    let old = retire_staff_rule(&mut tx, rule_id).await?;
    let created = rules::insert(&mut tx, rule, staff.id, Some(old.id), None).await?;
    audit::record(
        &mut tx,
        staff.actor,
        "rule.replace",
        None,
        serde_json::json!({"rule_id": created.id, "replaces": old.id}),
    )
    .await?;
    tx.commit().await?;
    cache.invalidate();
    Ok(created)
}

pub async fn retire_rule(
    pool: &PgPool,
    rule_id: Uuid,
    staff: Staff<'_>,
    cache: &ProgramCache,
) -> Result<(), ApiError> {
    let mut tx = pool.begin().await?;
    let old = retire_staff_rule(&mut tx, rule_id).await?;
    audit::record(
        &mut tx,
        staff.actor,
        "rule.retire",
        None,
        serde_json::json!({"rule_id": old.id}),
    )
    .await?;
    tx.commit().await?;
    cache.invalidate();
    Ok(())
}

/// Retires a live rule for staff; a campaign's rule changes only with its campaign.
async fn retire_staff_rule(conn: &mut PgConnection, rule_id: Uuid) -> Result<RuleRecord, ApiError> {
    let no_live_rule = || ApiError::NotFound("no live rule with this id".into());
    let live = rules::lock_live(conn, rule_id)
        .await?
        .ok_or_else(no_live_rule)?;
    if let Some(campaign_id) = live.campaign_id {
        return Err(ApiError::Conflict {
            slug: "rule-owned-by-campaign",
            detail: format!(
                "rule {rule_id} belongs to campaign {campaign_id}: change or end the campaign instead"
            ),
        });
    }
    rules::retire(conn, rule_id).await?.ok_or_else(no_live_rule)
}

/// Who made a rule that a campaign owns: no staff member, so the nil id; the audit log names
/// the campaign.
const CAMPAIGN_AUTHOR: Uuid = Uuid::nil();

/// What a campaign's bonus window did to its rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CampaignRuleChange {
    /// A new version is live, in place of `replaces` (if the campaign had a rule).
    Applied {
        rule_id: Uuid,
        replaces: Option<Uuid>,
    },
    /// A version of this revision or a later one was applied already: nothing changed.
    Outdated { latest: i64 },
    /// The window never opened: the live version (if any) is retired, with no replacement.
    Withdrawn { retired: Option<Uuid> },
}

/// Makes the campaign's bonus window its live earn rule, inside the consumer's transaction: the
/// live version (if any) is retired and the new one added, unless this revision is not newer
/// than one applied before. Every version stays, like staff's, so earned points keep pointing
/// at the rule they were earned under.
///
/// The program cache needs nothing here: the `earn_rules` trigger notifies every process, this
/// one included, when the consumer commits, and each drops its cached program. Dropping it now,
/// before the commit, would gain nothing: an earn in between would read and keep the rules
/// without this one until that notification all the same.
pub async fn apply_campaign_rule(
    conn: &mut PgConnection,
    change: &CampaignRule,
) -> Result<CampaignRuleChange, sqlx::Error> {
    let campaign = change.campaign;
    // Two events of one campaign applied at once: the later never saw the other's new version
    // (it was not committed when the rows were locked), and its insert breaks the one-live-rule
    // index; the consumer retries it, and then it sees that version.
    let replaces = match retire_if_superseded(conn, campaign).await? {
        Ok(retired) => retired,
        Err(outdated) => return Ok(outdated),
    };
    let created = rules::insert(
        conn,
        &change.rule,
        CAMPAIGN_AUTHOR,
        replaces,
        Some(campaign),
    )
    .await?;
    audit::record(
        conn,
        &format!("campaign:{}", campaign.campaign_id),
        "rule.campaign",
        None,
        serde_json::json!({
            "rule_id": created.id,
            "replaces": replaces,
            "campaign_id": campaign.campaign_id,
            "revision": campaign.revision,
        }),
    )
    .await?;
    Ok(CampaignRuleChange::Applied {
        rule_id: created.id,
        replaces,
    })
}

/// Locks the campaign's versions; if `campaign` is newer than all of them, retires the live one
/// (returning its id), else answers that the revision is outdated.
async fn retire_if_superseded(
    conn: &mut PgConnection,
    campaign: CampaignRevision,
) -> Result<Result<Option<Uuid>, CampaignRuleChange>, sqlx::Error> {
    let versions = rules::lock_campaign(conn, campaign.campaign_id).await?;
    if !campaign.supersedes(versions.iter().map(|v| v.revision)) {
        let latest = versions
            .iter()
            .map(|v| v.revision)
            .max()
            .unwrap_or_default();
        return Ok(Err(CampaignRuleChange::Outdated { latest }));
    }
    Ok(Ok(match versions.iter().find(|v| v.live) {
        Some(live) => rules::retire(conn, live.id).await?.map(|r| r.id),
        None => None,
    }))
}

/// Retires the campaign's rule without a replacement (its window never opened), unless a later
/// revision was applied already.
pub async fn withdraw_campaign_rule(
    conn: &mut PgConnection,
    campaign: CampaignRevision,
) -> Result<CampaignRuleChange, sqlx::Error> {
    let retired = match retire_if_superseded(conn, campaign).await? {
        Ok(retired) => retired,
        Err(outdated) => return Ok(outdated),
    };
    audit::record(
        conn,
        &format!("campaign:{}", campaign.campaign_id),
        "rule.campaign_withdrawn",
        None,
        serde_json::json!({
            "retired": retired,
            "campaign_id": campaign.campaign_id,
            "revision": campaign.revision,
        }),
    )
    .await?;
    Ok(CampaignRuleChange::Withdrawn { retired })
}

pub async fn settings(pool: &PgPool) -> Result<ProgramSettings, ApiError> {
    let mut conn = pool.acquire().await?;
    Ok(program::settings(&mut conn).await?)
}

/// Changes the program's settings (for what happens from now on).
pub async fn update_settings(
    pool: &PgPool,
    settings: &ProgramSettings,
    staff: Staff<'_>,
    cache: &ProgramCache,
) -> Result<(), ApiError> {
    let mut tx = pool.begin().await?;
    let before = program::settings(&mut tx).await?;
    program::update_settings(&mut tx, settings).await?;
    audit::record(
        &mut tx,
        staff.actor,
        "program.update",
        None,
        serde_json::json!({"before": audited(&before), "after": audited(settings)}),
    )
    .await?;
    tx.commit().await?;
    cache.invalidate();
    Ok(())
}

fn audited(s: &ProgramSettings) -> serde_json::Value {
    serde_json::json!({
        "currency": s.currency.code(),
        "points_per_unit": s.points_per_unit,
        "expiry_months": s.expiry_months,
        "cap_per_transaction": s.cap_per_transaction,
        "cap_per_day": s.cap_per_day,
        "rounding": s.rounding.as_str(),
        "allow_negative_balance": s.allow_negative_balance,
    })
}

/// Sets a source's return window.
pub async fn set_pending_days(
    pool: &PgPool,
    source: &str,
    days: PendingDays,
    staff: Staff<'_>,
    cache: &ProgramCache,
) -> Result<(), ApiError> {
    let mut tx = pool.begin().await?;
    program::set_pending_days(&mut tx, source, days.get()).await?;
    audit::record(
        &mut tx,
        staff.actor,
        "source.update",
        None,
        serde_json::json!({"source": source, "pending_days": days.get()}),
    )
    .await?;
    tx.commit().await?;
    cache.invalidate();
    Ok(())
}
