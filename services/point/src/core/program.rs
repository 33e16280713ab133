//! Running the program: earn rules, settings and the sources' return windows. Every change is
//! audited with the staff member who made it.

use crate::domain::program::{NewRule, PendingDays, Program};
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
    let created = rules::insert(&mut tx, rule, staff.id, None).await?;
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
    let old = rules::retire(&mut tx, rule_id)
        .await?
        .ok_or_else(no_live_rule)?;
    let created = rules::insert(&mut tx, rule, staff.id, Some(old.id)).await?;
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
    let old = rules::retire(&mut tx, rule_id)
        .await?
        .ok_or_else(no_live_rule)?;
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

fn no_live_rule() -> ApiError {
    ApiError::NotFound("no live rule with this id".into())
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
