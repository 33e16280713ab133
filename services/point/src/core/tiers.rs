//! Tiers: upgrades as soon as spend qualifies, downgrades only at the end of a qualification
//! period (with a warning before), and admins' overrides.

use super::{lock_account, Result};
use crate::domain::program::TierOverride;
use crate::domain::tiers::{qualifying_tier, rank_of};
use crate::domain::{LedgerError, Tier};
use crate::events::publishes;
use crate::storage::accounts::{self, Account};
use crate::storage::{audit, program, spend};
use chrono::{DateTime, Months, Utc};
use platform::ApiError;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Upgrades the member at once when their rolling 12-month spend reaches a higher tier.
/// `spend` is that spend if the caller knows it (the account's running total). Returns the tier
/// in force afterwards.
pub(crate) async fn upgrade_if_qualified(
    conn: &mut PgConnection,
    account: &Account,
    tiers: &[Tier],
    spend: Option<i64>,
    now: DateTime<Utc>,
) -> Result<String> {
    let spend = match spend {
        Some(spend) => spend,
        None => spend::rolling(conn, account.member_id, now.max(Utc::now())).await?,
    };
    let qualified = qualifying_tier(tiers, spend);
    if qualified.rank <= rank_of(tiers, &account.qualified_tier) {
        return Ok(account.tier.clone());
    }
    let period_end = Utc::now()
        .checked_add_months(Months::new(12))
        .unwrap_or_else(Utc::now);
    accounts::set_tier(conn, account.member_id, &qualified.code, period_end, false).await?;
    events::outbox::enqueue(
        conn,
        &publishes::tier_changed(
            account.member_id,
            &account.qualified_tier,
            &qualified.code,
            "qualifying spend reached",
            true,
        ),
    )
    .await?;
    let after = accounts::find(conn, account.member_id)
        .await?
        .ok_or(LedgerError::UnknownMember)?;
    Ok(after.tier)
}

/// At the end of a qualification period the member keeps the tier their last 12 months qualify
/// for: a lower one is a downgrade (published), and a new period starts.
pub async fn review(pool: &PgPool, member_id: Uuid, now: DateTime<Utc>) -> Result<()> {
    let mut tx = pool.begin().await?;
    let account = lock_account(&mut tx, member_id).await?;
    if account.tier_period_ends_at > now {
        return Ok(());
    }
    let tiers = program::tiers(&mut tx).await?;
    let spend = spend::rolling(&mut tx, member_id, now).await?;
    let qualified = qualifying_tier(&tiers, spend);
    let next_period = now.checked_add_months(Months::new(12)).unwrap_or(now);
    accounts::set_tier(&mut tx, member_id, &qualified.code, next_period, true).await?;
    if qualified.rank < rank_of(&tiers, &account.qualified_tier) {
        events::outbox::enqueue(
            &mut tx,
            &publishes::tier_changed(
                member_id,
                &account.qualified_tier,
                &qualified.code,
                "qualification period ended",
                false,
            ),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The grace notice: near the period's end, a member whose rolling spend qualifies for a lower
/// tier is warned once (`tier.downgrade_warning`), so they can still spend to keep their tier.
/// Returns whether a warning went out.
pub async fn warn_of_downgrade(pool: &PgPool, member_id: Uuid, now: DateTime<Utc>) -> Result<bool> {
    let mut tx = pool.begin().await?;
    let account = lock_account(&mut tx, member_id).await?;
    let tiers = program::tiers(&mut tx).await?;
    let spend = spend::rolling(&mut tx, member_id, now).await?;
    let qualified = qualifying_tier(&tiers, spend);
    if qualified.rank >= rank_of(&tiers, &account.qualified_tier) {
        return Ok(false);
    }
    accounts::mark_downgrade_warned(&mut tx, member_id, now).await?;
    events::outbox::enqueue(
        &mut tx,
        &publishes::tier_downgrade_warning(
            member_id,
            &account.qualified_tier,
            &qualified.code,
            account.tier_period_ends_at,
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Puts a member on a tier regardless of spend until the override expires, or (`None`) ends
/// the override. Audited.
pub async fn set_override(
    pool: &PgPool,
    member_id: Uuid,
    tier_override: Option<&TierOverride>,
    actor: &str,
) -> std::result::Result<(), ApiError> {
    let mut tx = pool.begin().await?;
    lock_account(&mut tx, member_id).await?;
    if let Some(o) = tier_override {
        let tiers = program::tiers(&mut tx).await?;
        if !tiers.iter().any(|t| t.code == o.tier) {
            let codes: Vec<&str> = tiers.iter().map(|t| t.code.as_str()).collect();
            return Err(ApiError::validation(
                "tier",
                format!("must be one of {}", codes.join(", ")),
            ));
        }
    }
    accounts::set_override(
        &mut tx,
        member_id,
        tier_override.map(|o| o.tier.as_str()),
        tier_override.map(|o| o.reason.as_str()),
        tier_override.map(|o| o.expires_at),
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        "tier.override",
        Some(member_id),
        serde_json::json!({
            "tier": tier_override.map(|o| &o.tier),
            "reason": tier_override.map(|o| &o.reason),
            "expires_at": tier_override.map(|o| o.expires_at),
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
