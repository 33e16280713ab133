//! The background worker: retries due PSP jobs and settles checkouts whose pages expired.

use super::{jobs, transitions, Payments};
use crate::connectors::CheckoutState;
use crate::domain::{ChargeStatus, JobKind, Transition};
use crate::storage::{self, checkout_sessions};
use platform::CancellationToken;
use std::time::Duration;

/// How often a checkout whose page expired is asked about again while the PSP still shows it
/// open (its expiry event may be on its way).
const CHECKOUT_RECHECK_SECS: f64 = 60.0;

/// Jobs or checkouts taken per round.
const BATCH: i64 = 16;

/// Runs due jobs and checks expired checkouts until shut down.
pub async fn run(payments: Payments, shutdown: CancellationToken) -> anyhow::Result<()> {
    let idle = Duration::from_millis(payments.settings.poll_ms.max(10));
    loop {
        let ran = match run_due(&payments).await {
            Ok(ran) => ran,
            Err(e) => {
                tracing::warn!(error = %e, "could not lease PSP jobs");
                0
            }
        };
        if let Err(e) = check_expired_checkouts(&payments).await {
            tracing::warn!(error = %e, "could not check expired checkouts");
        }
        if ran > 0 {
            continue;
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(idle) => {}
        }
    }
}

/// Leases and runs the jobs that are due; returns how many ran.
pub async fn run_due(payments: &Payments) -> Result<usize, sqlx::Error> {
    let due = storage::jobs::claim_due(&payments.pool, BATCH, payments.lease_secs()).await?;
    for job in &due {
        jobs::attempt(payments, job).await;
    }
    Ok(due.len())
}

/// Asks the PSPs about checkouts whose pages have expired while their charges still wait:
/// paid ones succeed, approved ones are captured, abandoned ones are canceled, and ones the
/// PSP still shows open are asked again later. Returns how many were checked.
pub async fn check_expired_checkouts(payments: &Payments) -> Result<usize, sqlx::Error> {
    let due =
        checkout_sessions::claim_expired(&payments.pool, BATCH, CHECKOUT_RECHECK_SECS).await?;
    for checkout in &due {
        let Some(connector) = payments.connector(&checkout.psp) else {
            continue;
        };
        let state = match connector.checkout_state(&checkout.psp_session_id).await {
            Ok(state) => state,
            Err(e) => {
                tracing::warn!(charge_id = %checkout.charge_id, error = %e,
                    "could not ask the PSP about an expired checkout; asking again later");
                continue;
            }
        };
        let mut tx = payments.pool.begin().await?;
        match &state {
            CheckoutState::Open => {}
            CheckoutState::Paid { psp_reference } => {
                let paid = Transition {
                    psp_reference: Some(psp_reference),
                    ..Transition::new(ChargeStatus::Succeeded, "checkout paid (asked the PSP)")
                };
                transitions::apply(&mut tx, checkout.charge_id, &paid).await?;
            }
            CheckoutState::Approved => {
                transitions::approve_and_queue_capture(
                    &mut tx,
                    checkout.charge_id,
                    &checkout.psp_session_id,
                    "payer approved (asked the PSP); capturing",
                    payments.settings.max_attempts,
                )
                .await?;
            }
            CheckoutState::Expired => {
                let canceled =
                    Transition::new(ChargeStatus::Canceled, "checkout page expired unpaid");
                transitions::apply(&mut tx, checkout.charge_id, &canceled).await?;
            }
        }
        tx.commit().await?;
        tracing::info!(charge_id = %checkout.charge_id, ?state, "expired checkout checked");
    }
    Ok(due.len())
}

/// `jobs_pending{queue}` and `jobs_dead{queue}` (the queue is the kind of job), measured every
/// `every` until shut down.
pub async fn report_queue(
    pool: sqlx::PgPool,
    registry: prometheus::Registry,
    every: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    use prometheus::{IntGaugeVec, Opts};
    let pending = IntGaugeVec::new(
        Opts::new("jobs_pending", "PSP jobs waiting to run, by kind"),
        &["queue"],
    )?;
    let dead = IntGaugeVec::new(
        Opts::new(
            "jobs_dead",
            "PSP jobs that gave up, awaiting staff, by kind",
        ),
        &["queue"],
    )?;
    registry.register(Box::new(pending.clone()))?;
    registry.register(Box::new(dead.clone()))?;
    loop {
        match storage::jobs::depths(&pool).await {
            Ok(depths) => {
                // Kinds with no row read as zero rather than keeping their last value.
                for kind in [JobKind::Authorize, JobKind::Refund, JobKind::Capture] {
                    let (waiting, gave_up) = depths
                        .iter()
                        .find(|(k, _, _)| k == kind.as_str())
                        .map_or((0, 0), |(_, w, d)| (*w, *d));
                    pending.with_label_values(&[kind.as_str()]).set(waiting);
                    dead.with_label_values(&[kind.as_str()]).set(gave_up);
                }
            }
            Err(e) => tracing::debug!(error = %e, "could not measure the PSP job queue"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(every) => {}
        }
    }
}
