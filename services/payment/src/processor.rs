//! Runs PSP jobs: one attempt at a time, whether inline for the request that created the job
//! or from the worker for a retry.
//!
//! The rules that keep money safe:
//! - Before a request that may reach the PSP, the job is marked `psp_contacted`. A later attempt
//!   of such a job asks the PSP what happened before it sends anything again (and every request
//!   carries our id as the PSP's idempotency key, so a resend cannot charge twice either).
//! - An unknown outcome (timeout, 5xx) is never guessed: the job waits and tries again, with
//!   exponential backoff and jitter, and after its last attempt goes to the dead-letter queue.
//! - Failover to the next PSP happens only when the first could not be reached at all.
//! - A charge's outcome, its event and the job's completion commit together.

use crate::configuration::JobSettings;
use crate::connectors::{
    AuthorizeOutcome, AuthorizeRequest, CheckoutState, Connector, ConnectorError, Connectors,
    RefundOutcome, RefundRequest,
};
use crate::domain::ChargeStatus;
use crate::storage::charges::{self, ChargeRecord, Transition};
use crate::storage::checkout_sessions;
use crate::storage::jobs::{self, Job};
use crate::storage::refunds;
use chrono::Utc;
use kernel::money::{Currency, Money};
use platform::CancellationToken;
use rand::Rng;
use sqlx::{PgConnection, PgPool};
use std::sync::Arc;
use std::time::Duration;

/// How often a checkout whose page expired is asked about again while the PSP still shows it
/// open (its expiry event may be on its way).
const CHECKOUT_RECHECK_SECS: i64 = 60;

#[derive(Clone)]
pub struct Processor {
    pool: PgPool,
    connectors: Arc<Connectors>,
    settings: JobSettings,
}

/// Why an attempt did not finish its job.
enum AttemptError {
    /// Try again later.
    Transient(String),
    /// No retry can help (the PSP refused our request): straight to the dead-letter queue.
    Permanent(String),
}

impl From<sqlx::Error> for AttemptError {
    fn from(e: sqlx::Error) -> Self {
        AttemptError::Transient(format!("database: {e}"))
    }
}

impl From<ConnectorError> for AttemptError {
    fn from(e: ConnectorError) -> Self {
        match e {
            ConnectorError::Refused(_) => AttemptError::Permanent(e.to_string()),
            ConnectorError::Unknown(_) | ConnectorError::Unavailable(_) => {
                AttemptError::Transient(e.to_string())
            }
        }
    }
}

impl Processor {
    pub fn new(pool: PgPool, connectors: Arc<Connectors>, settings: JobSettings) -> Self {
        Self {
            pool,
            connectors,
            settings,
        }
    }

    pub fn connectors(&self) -> &Connectors {
        &self.connectors
    }

    pub fn settings(&self) -> &JobSettings {
        &self.settings
    }

    /// Runs one attempt of a job this caller has leased, and records what came of it.
    pub async fn attempt(&self, job: &Job) {
        let result = match job.kind.as_str() {
            "authorize" => self.authorize(job).await,
            "refund" => self.refund(job).await,
            "capture" => self.capture(job).await,
            other => Err(AttemptError::Permanent(format!("unknown job kind {other}"))),
        };
        let recorded = match result {
            Ok(()) => Ok(()),
            Err(AttemptError::Transient(why)) if job.attempts < job.max_attempts => {
                let wait = backoff(&self.settings, job.attempts);
                tracing::warn!(job_id = %job.id, charge_id = %job.charge_id, attempt = job.attempts,
                    retry_in_ms = wait.as_millis() as u64, %why, "PSP job will be retried");
                let run_at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                jobs::reschedule(&self.pool, job.id, run_at, &why).await
            }
            Err(AttemptError::Transient(why) | AttemptError::Permanent(why)) => {
                tracing::error!(job_id = %job.id, charge_id = %job.charge_id, attempt = job.attempts,
                    %why, "PSP job moved to the dead-letter queue");
                jobs::mark_dead(&self.pool, job.id, &why).await
            }
        };
        if let Err(e) = recorded {
            // The lease runs out and the job is taken over: nothing is lost.
            tracing::error!(job_id = %job.id, error = %e, "could not record a PSP job's attempt");
        }
    }

    /// The job's charge if it still waits for the PSP; otherwise it was settled meanwhile (a
    /// webhook, another runner), the job is done and `None` is returned.
    async fn charge_still_processing(
        &self,
        job: &Job,
    ) -> Result<Option<ChargeRecord>, AttemptError> {
        let charge = charges::find(&self.pool, job.charge_id)
            .await?
            .ok_or_else(|| AttemptError::Permanent("the charge does not exist".into()))?;
        if charge.status == ChargeStatus::Processing.as_str() {
            return Ok(Some(charge));
        }
        let mut conn = self.pool.acquire().await?;
        jobs::mark_done(&mut conn, job.id).await?;
        Ok(None)
    }

    async fn authorize(&self, job: &Job) -> Result<(), AttemptError> {
        let Some(mut charge) = self.charge_still_processing(job).await? else {
            return Ok(());
        };
        let mut contacted = job.psp_contacted;
        let mut tried: Vec<&'static str> = Vec::new();
        let outcome = loop {
            let connector = self.connector(&charge.psp)?;
            tried.push(connector.name());
            let result = self
                .authorize_with(job, &charge, connector.as_ref(), &mut contacted)
                .await;
            match result {
                // A vaulted card's token belongs to its PSP: such a charge cannot move.
                Err(ConnectorError::Unavailable(why))
                    if !contacted && charge.card_last4.is_none() =>
                {
                    let next = self
                        .connectors
                        .route(&charge.currency)
                        .into_iter()
                        .find(|c| !tried.contains(&c.name()));
                    let Some(next) = next else {
                        break Err(ConnectorError::Unavailable(why));
                    };
                    tracing::warn!(charge_id = %charge.id, from = %charge.psp, to = next.name(), %why,
                        "PSP unreachable; failing over");
                    charges::switch_psp(&self.pool, charge.id, &charge.psp, next.name()).await?;
                    charge.psp = next.name().to_owned();
                }
                other => break other,
            }
        }?;
        self.settle_charge(job, &charge, &outcome).await
    }

    /// One PSP's answer for the charge: asks first if an earlier attempt may have reached it.
    async fn authorize_with(
        &self,
        job: &Job,
        charge: &ChargeRecord,
        connector: &dyn Connector,
        contacted: &mut bool,
    ) -> Result<AuthorizeOutcome, ConnectorError> {
        if *contacted {
            if let Some(outcome) = connector.lookup(charge.id).await? {
                return Ok(outcome);
            }
            // The PSP never saw it: sending it now is safe.
        } else {
            jobs::set_contacted(&self.pool, job.id, true)
                .await
                .map_err(|e| ConnectorError::Unknown(format!("database: {e}")))?;
            *contacted = true;
        }
        let amount = money(charge)?;
        let result = connector
            .authorize(&AuthorizeRequest {
                charge_id: charge.id,
                amount,
                payment_method: &charge.payment_method,
                description: charge.description.as_deref(),
                return_url: charge.return_url.as_deref(),
            })
            .await;
        if matches!(result, Err(ConnectorError::Unavailable(_))) {
            // Certainly never arrived: another PSP may take it.
            jobs::set_contacted(&self.pool, job.id, false)
                .await
                .map_err(|e| ConnectorError::Unknown(format!("database: {e}")))?;
            *contacted = false;
        }
        result
    }

    /// Captures a payment the payer approved at the PSP. The capture is idempotent at the PSP
    /// for the charge, so every attempt may simply send it again; it stays with that PSP.
    async fn capture(&self, job: &Job) -> Result<(), AttemptError> {
        let Some(charge) = self.charge_still_processing(job).await? else {
            return Ok(());
        };
        let psp_reference = charge
            .psp_reference
            .as_deref()
            .ok_or_else(|| AttemptError::Permanent("no PSP payment to capture".into()))?;
        let outcome = self
            .connector(&charge.psp)?
            .capture(psp_reference, charge.id)
            .await?;
        self.settle_charge(job, &charge, &outcome).await
    }

    async fn settle_charge(
        &self,
        job: &Job,
        charge: &ChargeRecord,
        outcome: &AuthorizeOutcome,
    ) -> Result<(), AttemptError> {
        let transition = match outcome {
            AuthorizeOutcome::Succeeded { psp_reference } => Transition {
                to: ChargeStatus::Succeeded,
                cause: "PSP approved",
                psp_reference: Some(psp_reference),
                failure_code: None,
                failure_message: None,
                next_action_url: None,
            },
            AuthorizeOutcome::RequiresAction {
                psp_reference,
                redirect_url,
            } => Transition {
                to: ChargeStatus::RequiresAction,
                cause: "PSP requires customer action",
                psp_reference: Some(psp_reference),
                failure_code: None,
                failure_message: None,
                next_action_url: redirect_url.as_deref(),
            },
            AuthorizeOutcome::Declined {
                psp_reference,
                code,
                message,
            } => Transition {
                to: ChargeStatus::Failed,
                cause: "PSP declined",
                psp_reference: psp_reference.as_deref(),
                failure_code: Some(code),
                failure_message: Some(message),
                next_action_url: None,
            },
        };
        let mut tx = self.pool.begin().await?;
        apply_transition(&mut tx, charge.id, &transition).await?;
        jobs::mark_done(&mut tx, job.id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn refund(&self, job: &Job) -> Result<(), AttemptError> {
        let refund_id = job
            .refund_id
            .ok_or_else(|| AttemptError::Permanent("refund job without a refund".into()))?;
        let refund = refunds::find(&self.pool, refund_id)
            .await?
            .ok_or_else(|| AttemptError::Permanent("the refund does not exist".into()))?;
        let charge = charges::find(&self.pool, job.charge_id)
            .await?
            .ok_or_else(|| AttemptError::Permanent("the charge does not exist".into()))?;
        if refund.status != "pending" {
            let mut conn = self.pool.acquire().await?;
            jobs::mark_done(&mut conn, job.id).await?;
            return Ok(());
        }
        let psp_reference = charge
            .psp_reference
            .as_deref()
            .ok_or_else(|| AttemptError::Permanent("the charge has no PSP reference".into()))?;
        let connector = self.connector(&charge.psp)?;
        // The refund id is the PSP's idempotency key: sending it again never refunds twice.
        let outcome = connector
            .refund(&RefundRequest {
                refund_id: refund.id,
                psp_reference,
                amount: Money {
                    amount_minor: refund.amount,
                    ..money(&charge)?
                },
            })
            .await?;
        let mut tx = self.pool.begin().await?;
        match outcome {
            RefundOutcome::Succeeded { psp_reference } => {
                if let Some(settled) =
                    refunds::settle(&mut tx, refund.id, "succeeded", Some(&psp_reference), None)
                        .await?
                {
                    let total = refunds::total_succeeded(&mut tx, charge.id).await?;
                    let event = crate::events::charge_refunded(&charge, &settled, total);
                    events::outbox::enqueue(&mut tx, &event).await?;
                }
            }
            RefundOutcome::Failed { reason } => {
                if refunds::settle(&mut tx, refund.id, "failed", None, Some(&reason))
                    .await?
                    .is_some()
                {
                    // The reserved amount can be refunded again.
                    charges::add_refunded(&mut tx, charge.id, -refund.amount).await?;
                }
            }
        }
        jobs::mark_done(&mut tx, job.id).await?;
        tx.commit().await?;
        Ok(())
    }

    fn connector(&self, name: &str) -> Result<Arc<dyn Connector>, AttemptError> {
        self.connectors
            .get(name)
            .cloned()
            .ok_or_else(|| AttemptError::Permanent(format!("the PSP {name} is not configured")))
    }

    /// Leases and runs the jobs that are due; returns how many ran.
    pub async fn run_due(&self) -> Result<usize, sqlx::Error> {
        let due = jobs::claim_due(&self.pool, 16, self.settings.lease_secs as i64).await?;
        for job in &due {
            self.attempt(job).await;
        }
        Ok(due.len())
    }

    /// Asks the PSPs about checkouts whose pages have expired while their charges still wait:
    /// paid ones succeed, approved ones are captured, abandoned ones are canceled, and ones the
    /// PSP still shows open are asked again later. Returns how many were checked.
    pub async fn check_expired_checkouts(&self) -> Result<usize, sqlx::Error> {
        let due = checkout_sessions::claim_expired(&self.pool, 16, CHECKOUT_RECHECK_SECS).await?;
        for checkout in &due {
            let Ok(connector) = self.connector(&checkout.psp) else {
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
            let mut tx = self.pool.begin().await?;
            match &state {
                CheckoutState::Open => {}
                CheckoutState::Paid { psp_reference } => {
                    let paid = Transition {
                        psp_reference: Some(psp_reference),
                        ..Transition::new(ChargeStatus::Succeeded, "checkout paid (asked the PSP)")
                    };
                    apply_transition(&mut tx, checkout.charge_id, &paid).await?;
                }
                CheckoutState::Approved => {
                    approve_and_queue_capture(
                        &mut tx,
                        checkout.charge_id,
                        &checkout.psp_session_id,
                        "payer approved (asked the PSP); capturing",
                        self.settings.max_attempts,
                    )
                    .await?;
                }
                CheckoutState::Expired => {
                    let canceled =
                        Transition::new(ChargeStatus::Canceled, "checkout page expired unpaid");
                    apply_transition(&mut tx, checkout.charge_id, &canceled).await?;
                }
            }
            tx.commit().await?;
            tracing::info!(charge_id = %checkout.charge_id, ?state, "expired checkout checked");
        }
        Ok(due.len())
    }

    /// The worker: runs due jobs until shut down.
    pub async fn work(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let idle = Duration::from_millis(self.settings.poll_ms.max(10));
        loop {
            let ran = match self.run_due().await {
                Ok(ran) => ran,
                Err(e) => {
                    tracing::warn!(error = %e, "could not lease PSP jobs");
                    0
                }
            };
            if let Err(e) = self.check_expired_checkouts().await {
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
}

/// Moves the charge if the move is legal (never backwards, never out of a final state) and
/// enqueues the event of a final state in the same transaction. Returns the updated charge.
pub async fn apply_transition(
    conn: &mut PgConnection,
    charge_id: uuid::Uuid,
    transition: &Transition<'_>,
) -> Result<Option<ChargeRecord>, sqlx::Error> {
    let Some(updated) = charges::transition(conn, charge_id, transition).await? else {
        return Ok(None);
    };
    if let Some(event) = crate::events::for_final_state(&updated) {
        events::outbox::enqueue(conn, &event).await?;
    }
    if transition.to.is_final() {
        jobs::finish_for_charge(conn, charge_id).await?;
    }
    Ok(Some(updated))
}

/// The payer approved the payment at the PSP: the charge goes back to processing and its
/// capture is queued. Only the call that moves the charge queues it, so a repeated approval
/// (a replayed webhook, a check racing the webhook) never queues a second capture.
pub async fn approve_and_queue_capture(
    conn: &mut PgConnection,
    charge_id: uuid::Uuid,
    psp_reference: &str,
    cause: &str,
    max_attempts: i32,
) -> Result<Option<ChargeRecord>, sqlx::Error> {
    let approved = Transition {
        psp_reference: Some(psp_reference),
        ..Transition::new(ChargeStatus::Processing, cause)
    };
    let moved = apply_transition(conn, charge_id, &approved).await?;
    if moved.is_some() {
        jobs::insert_queued(conn, jobs::JobKind::Capture, charge_id, max_attempts).await?;
    }
    Ok(moved)
}

fn money(charge: &ChargeRecord) -> Result<Money, ConnectorError> {
    let currency = Currency::parse(&charge.currency)
        .map_err(|e| ConnectorError::Refused(format!("stored currency: {e}")))?;
    Ok(Money {
        amount_minor: charge.amount,
        currency,
    })
}

/// The wait after the `attempt`-th failure: the base doubled per failure, capped, and then
/// jittered over its upper half so that retries of many jobs spread out.
pub fn backoff(settings: &JobSettings, attempt: i32) -> Duration {
    let exponent = attempt.saturating_sub(1).clamp(0, 30) as u32;
    let ceiling = settings
        .backoff_base_ms
        .saturating_mul(1u64 << exponent)
        .min(settings.backoff_max_ms)
        .max(1);
    let half = ceiling / 2;
    Duration::from_millis(half + rand::thread_rng().gen_range(0..=ceiling - half))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> JobSettings {
        JobSettings {
            max_attempts: 6,
            backoff_base_ms: 1_000,
            backoff_max_ms: 10_000,
            poll_ms: 100,
            lease_secs: 60,
        }
    }

    #[test]
    fn backoff_doubles_within_its_jitter_and_stops_at_the_cap() {
        for _ in 0..200 {
            let first = backoff(&settings(), 1).as_millis();
            assert!((500..=1_000).contains(&first), "{first}");
            let third = backoff(&settings(), 3).as_millis();
            assert!((2_000..=4_000).contains(&third), "{third}");
            let late = backoff(&settings(), 20).as_millis();
            assert!((5_000..=10_000).contains(&late), "{late}");
        }
    }
}
