//! The point service's scheduled work, run by a background worker and safe to run on every
//! instance at once (each item is handled under its member's account lock, and repeats are
//! no-ops): pending points whose return window closed become active, holds nobody captured or
//! released expire, expired lots are taken out, members are warned 30 days before points
//! expire, and tiers are reviewed at the end of their qualification period.

use crate::ledger;
use crate::storage::{holds, lots};
use chrono::{DateTime, Utc};
use platform::CancellationToken;
use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

const BATCH: i64 = 500;
/// Members hear about expiring points, and about a coming tier downgrade, this many days ahead.
pub const EXPIRY_WARNING_DAYS: i32 = 30;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct JobReport {
    pub activated_lots: usize,
    pub expired_holds: usize,
    pub expired_points: i64,
    pub expiry_warnings: usize,
    pub tiers_reviewed: usize,
    pub downgrade_warnings: usize,
}

/// Runs every job once as of `now` (tests pass a time in the future).
pub async fn run_once(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<JobReport> {
    let mut report = JobReport::default();

    let due = lots::due_pending(&mut *pool.acquire().await?, now, BATCH).await?;
    for lot in due {
        let mut tx = pool.begin().await?;
        ledger::activate_lot(&mut tx, lot.member_id, lot.id).await?;
        tx.commit().await?;
        report.activated_lots += 1;
    }

    let expired_holds = holds::expired(&mut *pool.acquire().await?, now, BATCH).await?;
    for (hold_id, member_id) in expired_holds {
        let mut tx = pool.begin().await?;
        ledger::release(&mut tx, member_id, hold_id, "expired").await?;
        tx.commit().await?;
        report.expired_holds += 1;
    }

    let members = lots::expired_by_member(&mut *pool.acquire().await?, now, BATCH).await?;
    for (member_id, _) in members {
        let mut tx = pool.begin().await?;
        report.expired_points += ledger::expire_member(&mut tx, member_id, now).await?;
        tx.commit().await?;
    }

    let mut tx = pool.begin().await?;
    let warned = lots::claim_expiry_warnings(&mut tx, now, EXPIRY_WARNING_DAYS, BATCH).await?;
    for lot in &warned {
        events::outbox::enqueue(
            &mut tx,
            &crate::events::points_expiring(lot.member_id, lot.id, lot.remaining, lot.expires_at),
        )
        .await?;
    }
    tx.commit().await?;
    report.expiry_warnings = warned.len();

    let to_warn: Vec<Uuid> = sqlx::query_scalar(
        "SELECT a.member_id FROM accounts a JOIN tiers t ON t.code = a.tier
          WHERE a.erased_at IS NULL AND a.downgrade_warned_at IS NULL AND t.rank > 1
            AND a.tier_period_ends_at > $1 AND a.tier_period_ends_at <= $1 + make_interval(days => $2)
          LIMIT $3",
    )
    .bind(now)
    .bind(EXPIRY_WARNING_DAYS)
    .bind(BATCH)
    .fetch_all(pool)
    .await?;
    for member_id in to_warn {
        let mut tx = pool.begin().await?;
        if ledger::warn_of_downgrade(&mut tx, member_id, now).await? {
            report.downgrade_warnings += 1;
        }
        tx.commit().await?;
    }

    let reviews: Vec<Uuid> = sqlx::query_scalar(
        "SELECT member_id FROM accounts WHERE tier_period_ends_at <= $1 AND erased_at IS NULL LIMIT $2",
    )
    .bind(now)
    .bind(BATCH)
    .fetch_all(pool)
    .await?;
    for member_id in reviews {
        let mut tx = pool.begin().await?;
        ledger::review_tier(&mut tx, member_id, now).await?;
        tx.commit().await?;
        report.tiers_reviewed += 1;
    }
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
