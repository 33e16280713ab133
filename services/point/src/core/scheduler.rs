//! The point service's scheduled work, run by a background worker and safe to run on every
//! instance at once (each item is handled under its member's account lock, and repeats are
//! no-ops): pending points whose return window closed become active, holds nobody captured or
//! released expire, expired lots are taken out, members are warned 30 days before points
//! expire, tiers are reviewed at the end of their qualification period, and idempotency keys
//! past their 24 hours are deleted.

use super::{expiry, holds, tiers};
use crate::domain::program::EXPIRY_WARNING_DAYS;
use crate::storage::{accounts, holds as hold_rows, lots};
use chrono::{DateTime, Utc};
use platform::CancellationToken;
use sqlx::PgPool;
use std::time::Duration;

const BATCH: i64 = 500;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct JobReport {
    pub activated_lots: usize,
    pub expired_holds: usize,
    pub expired_points: i64,
    pub expiry_warnings: usize,
    pub tiers_reviewed: usize,
    pub downgrade_warnings: usize,
    /// Idempotency keys past their 24 hours.
    pub purged_idempotency_keys: u64,
}

/// Runs every job once as of `now` (tests pass a time in the future).
pub async fn run_once(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<JobReport> {
    let mut report = JobReport::default();

    let due = lots::due_pending(&mut *pool.acquire().await?, now, BATCH).await?;
    for lot in due {
        expiry::activate_lot(pool, lot.member_id, lot.id).await?;
        report.activated_lots += 1;
    }

    let expired_holds = hold_rows::expired(&mut *pool.acquire().await?, now, BATCH).await?;
    for hold in expired_holds {
        holds::expire(pool, hold.member_id, hold.id).await?;
        report.expired_holds += 1;
    }

    let members = lots::members_with_expired(&mut *pool.acquire().await?, now, BATCH).await?;
    for member_id in members {
        report.expired_points = report
            .expired_points
            .saturating_add(expiry::expire_member(pool, member_id, now).await?);
    }

    report.expiry_warnings = expiry::warn_expiring(pool, now, EXPIRY_WARNING_DAYS, BATCH).await?;

    let to_warn = accounts::due_downgrade_warning(
        &mut *pool.acquire().await?,
        now,
        EXPIRY_WARNING_DAYS,
        BATCH,
    )
    .await?;
    for member_id in to_warn {
        if tiers::warn_of_downgrade(pool, member_id, now).await? {
            report.downgrade_warnings += 1;
        }
    }

    let reviews = accounts::due_tier_review(&mut *pool.acquire().await?, now, BATCH).await?;
    for member_id in reviews {
        tiers::review(pool, member_id, now).await?;
        report.tiers_reviewed += 1;
    }

    report.purged_idempotency_keys = platform::idempotency::purge_expired(pool).await?;
    Ok(report)
}

/// Runs the jobs every `every` until shutdown.
pub async fn run(pool: PgPool, every: Duration, shutdown: CancellationToken) -> anyhow::Result<()> {
    loop {
        match run_once(&pool, Utc::now()).await {
            Ok(report) if report != JobReport::default() => {
                tracing::info!(?report, "point jobs ran")
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = ?e, "point jobs failed; retrying next round"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(every) => {}
        }
    }
}
