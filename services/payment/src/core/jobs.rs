//! PSP jobs: one attempt at a time, whether inline for the request that created the job or
//! from the worker for a retry; and the dead-letter queue staff look after.
//!
//! An unknown outcome (timeout, 5xx) is never guessed: the job waits and tries again, with
//! exponential backoff and jitter, and after its last attempt goes to the dead-letter queue.
//! Failover to the next PSP happens only when the first could not be reached at all.

use super::{transitions, Payments};
use crate::configuration::JobSettings;
use crate::connectors::{
    AuthorizeOutcome, AuthorizeRequest, Connector, ConnectorError, RefundOutcome, RefundRequest,
};
use crate::domain::{Charge, ChargeStatus, Job, JobKind, Refund, RefundStatus, Transition};
use crate::events::publishes;
use crate::storage::{charges, jobs, refunds};
use chrono::Utc;
use kernel::money::Money;
use platform::pagination::{Cursor, PageRequest};
use platform::ApiError;
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

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

/// Runs one attempt of a job this caller has leased, and records what came of it.
pub(super) async fn attempt(payments: &Payments, job: &Job) {
    let result = match job.kind {
        JobKind::Authorize => authorize(payments, job).await,
        JobKind::Refund => refund(payments, job).await,
        JobKind::Capture => capture(payments, job).await,
    };
    let pool = &payments.pool;
    let recorded = match result {
        Ok(()) => Ok(()),
        Err(AttemptError::Transient(why)) if job.has_attempts_left() => {
            let wait = backoff(&payments.settings, job.attempts);
            tracing::warn!(job_id = %job.id, charge_id = %job.charge_id, attempt = job.attempts,
                retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), %why,
                "PSP job will be retried");
            let run_at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
            jobs::reschedule(pool, job.id, run_at, &why).await
        }
        Err(AttemptError::Transient(why) | AttemptError::Permanent(why)) => {
            tracing::error!(job_id = %job.id, charge_id = %job.charge_id, attempt = job.attempts,
                %why, "PSP job moved to the dead-letter queue");
            jobs::mark_dead(pool, job.id, &why).await
        }
    };
    if let Err(e) = recorded {
        // The lease runs out and the job is taken over: nothing is lost.
        tracing::error!(job_id = %job.id, error = %e, "could not record a PSP job's attempt");
    }
}

fn connector(payments: &Payments, name: &str) -> Result<Arc<dyn Connector>, AttemptError> {
    payments
        .connector(name)
        .ok_or_else(|| AttemptError::Permanent(format!("the PSP {name} is not configured")))
}

fn money(charge: &Charge) -> Result<Money, ConnectorError> {
    charge
        .money()
        .map_err(|e| ConnectorError::Refused(format!("stored currency: {e}")))
}

/// The job's charge if it still waits for the PSP; otherwise it was settled meanwhile (a
/// webhook, another runner), the job is done and `None` is returned.
async fn charge_still_processing(
    payments: &Payments,
    job: &Job,
) -> Result<Option<Charge>, AttemptError> {
    let charge = charges::find(&payments.pool, job.charge_id)
        .await?
        .ok_or_else(|| AttemptError::Permanent("the charge does not exist".into()))?;
    if charge.status == ChargeStatus::Processing {
        return Ok(Some(charge));
    }
    let mut conn = payments.pool.acquire().await?;
    jobs::mark_done(&mut conn, job.id).await?;
    Ok(None)
}

async fn authorize(payments: &Payments, job: &Job) -> Result<(), AttemptError> {
    let Some(mut charge) = charge_still_processing(payments, job).await? else {
        return Ok(());
    };
    let mut contacted = job.psp_contacted;
    let mut tried: Vec<&'static str> = Vec::new();
    let outcome = loop {
        let connector = connector(payments, &charge.psp)?;
        tried.push(connector.name());
        let result =
            authorize_with(payments, job, &charge, connector.as_ref(), &mut contacted).await;
        match result {
            // A vaulted card's token belongs to its PSP: such a charge cannot move.
            Err(ConnectorError::Unavailable(why)) if !contacted && charge.card_last4.is_none() => {
                let next = payments
                    .connectors
                    .route(&charge.currency)
                    .into_iter()
                    .find(|c| !tried.contains(&c.name()));
                let Some(next) = next else {
                    break Err(ConnectorError::Unavailable(why));
                };
                tracing::warn!(charge_id = %charge.id, from = %charge.psp, to = next.name(), %why,
                    "PSP unreachable; failing over");
                let cause = format!(
                    "failover: {} unreachable, sent to {}",
                    charge.psp,
                    next.name()
                );
                let mut tx = payments.pool.begin().await?;
                charges::switch_psp(&mut tx, charge.id, next.name(), &cause).await?;
                tx.commit().await?;
                charge.psp = next.name().to_owned();
            }
            other => break other,
        }
    }?;
    settle_charge(payments, job, &charge, &outcome).await
}

/// One PSP's answer for the charge: asks first if an earlier attempt may have reached it.
async fn authorize_with(
    payments: &Payments,
    job: &Job,
    charge: &Charge,
    connector: &dyn Connector,
    contacted: &mut bool,
) -> Result<AuthorizeOutcome, ConnectorError> {
    let database = |e: sqlx::Error| ConnectorError::Unknown(format!("database: {e}"));
    if *contacted {
        if let Some(outcome) = connector.lookup(charge.id).await? {
            return Ok(outcome);
        }
        // The PSP never saw it: sending it now is safe.
    } else {
        jobs::set_contacted(&payments.pool, job.id, true)
            .await
            .map_err(database)?;
        *contacted = true;
    }
    let result = connector
        .authorize(&AuthorizeRequest {
            charge_id: charge.id,
            member_id: charge.member_id,
            kind: charge.kind,
            amount: money(charge)?,
            payment_method: &charge.payment_method,
            description: charge.description.as_deref(),
            return_url: charge.return_url.as_deref(),
        })
        .await;
    if matches!(result, Err(ConnectorError::Unavailable(_))) {
        // Certainly never arrived: another PSP may take it.
        jobs::set_contacted(&payments.pool, job.id, false)
            .await
            .map_err(database)?;
        *contacted = false;
    }
    result
}

/// Captures a payment the payer approved at the PSP. The capture is idempotent at the PSP for
/// the charge, so every attempt may simply send it again; it stays with that PSP.
async fn capture(payments: &Payments, job: &Job) -> Result<(), AttemptError> {
    let Some(charge) = charge_still_processing(payments, job).await? else {
        return Ok(());
    };
    let psp_reference = charge
        .psp_reference
        .as_deref()
        .ok_or_else(|| AttemptError::Permanent("no PSP payment to capture".into()))?;
    let outcome = connector(payments, &charge.psp)?
        .capture(psp_reference, charge.id)
        .await?;
    settle_charge(payments, job, &charge, &outcome).await
}

/// The move a PSP's answer to an authorization or capture makes.
fn transition_for(outcome: &AuthorizeOutcome) -> Transition<'_> {
    match outcome {
        AuthorizeOutcome::Succeeded { psp_reference } => Transition {
            psp_reference: Some(psp_reference),
            ..Transition::new(ChargeStatus::Succeeded, "PSP approved")
        },
        AuthorizeOutcome::RequiresAction {
            psp_reference,
            redirect_url,
        } => Transition {
            psp_reference: Some(psp_reference),
            next_action_url: redirect_url.as_deref(),
            ..Transition::new(ChargeStatus::RequiresAction, "PSP requires customer action")
        },
        AuthorizeOutcome::Declined {
            psp_reference,
            code,
            message,
        } => Transition {
            psp_reference: psp_reference.as_deref(),
            failure_code: Some(code),
            failure_message: Some(message),
            ..Transition::new(ChargeStatus::Failed, "PSP declined")
        },
    }
}

async fn settle_charge(
    payments: &Payments,
    job: &Job,
    charge: &Charge,
    outcome: &AuthorizeOutcome,
) -> Result<(), AttemptError> {
    let mut tx = payments.pool.begin().await?;
    transitions::apply(&mut tx, charge.id, &transition_for(outcome)).await?;
    jobs::mark_done(&mut tx, job.id).await?;
    tx.commit().await?;
    Ok(())
}

async fn refund(payments: &Payments, job: &Job) -> Result<(), AttemptError> {
    let refund_id = job
        .refund_id
        .ok_or_else(|| AttemptError::Permanent("refund job without a refund".into()))?;
    let refund = refunds::find(&payments.pool, refund_id)
        .await?
        .ok_or_else(|| AttemptError::Permanent("the refund does not exist".into()))?;
    let charge = charges::find(&payments.pool, job.charge_id)
        .await?
        .ok_or_else(|| AttemptError::Permanent("the charge does not exist".into()))?;
    // Settled meanwhile (another runner): nothing left to send.
    if !refund.status.can_become(RefundStatus::Succeeded) {
        let mut conn = payments.pool.acquire().await?;
        jobs::mark_done(&mut conn, job.id).await?;
        return Ok(());
    }
    let psp_reference = charge
        .psp_reference
        .as_deref()
        .ok_or_else(|| AttemptError::Permanent("the charge has no PSP reference".into()))?;
    // The refund id is the PSP's idempotency key: sending it again never refunds twice.
    let outcome = connector(payments, &charge.psp)?
        .refund(&RefundRequest {
            refund_id: refund.id,
            psp_reference,
            amount: Money {
                amount_minor: refund.amount,
                ..money(&charge)?
            },
        })
        .await?;
    record_refund_outcome(payments, job, &charge, &refund, outcome).await
}

/// Settles the refund as the PSP answered, with its event or the release of its reservation,
/// and finishes the job, in one transaction.
async fn record_refund_outcome(
    payments: &Payments,
    job: &Job,
    charge: &Charge,
    refund: &Refund,
    outcome: RefundOutcome,
) -> Result<(), AttemptError> {
    let mut tx = payments.pool.begin().await?;
    match outcome {
        RefundOutcome::Succeeded { psp_reference } => {
            let settled = refunds::settle(
                &mut tx,
                refund.id,
                RefundStatus::Succeeded,
                Some(&psp_reference),
                None,
            )
            .await?;
            if let Some(settled) = settled {
                let total = refunds::total_succeeded(&mut tx, charge.id).await?;
                let event = publishes::charge_refunded(charge, &settled, total);
                events::outbox::enqueue(&mut tx, &event).await?;
            }
        }
        RefundOutcome::Failed { reason } => {
            let settled = refunds::settle(
                &mut tx,
                refund.id,
                RefundStatus::Failed,
                None,
                Some(&reason),
            )
            .await?;
            if settled.is_some() {
                // The reserved amount can be refunded again.
                charges::release_refund(&mut tx, charge.id, refund.amount).await?;
            }
        }
    }
    jobs::mark_done(&mut tx, job.id).await?;
    tx.commit().await?;
    Ok(())
}

/// The wait after the `attempt`-th failure: the base doubled per failure, capped, and then
/// jittered over its upper half so that retries of many jobs spread out.
pub fn backoff(settings: &JobSettings, attempt: i32) -> Duration {
    let exponent = attempt.saturating_sub(1).clamp(0, 30).unsigned_abs();
    let ceiling = settings
        .backoff_base_ms
        .saturating_mul(1u64 << exponent)
        .min(settings.backoff_max_ms)
        .max(1);
    let half = ceiling / 2;
    Duration::from_millis(half + rand::thread_rng().gen_range(0..=ceiling - half))
}

/// One page of the dead-letter queue, most recently dead first, and the cursor of the next page.
pub async fn list_dead(
    payments: &Payments,
    page: &PageRequest,
) -> Result<(Vec<Job>, Option<String>), ApiError> {
    let found = jobs::list_dead(
        &payments.pool,
        page.after_time(),
        page.after_id(),
        page.fetch_limit(),
    )
    .await?;
    Ok(page.finish(found, |job| Cursor {
        created_at: job.updated_at,
        id: job.id,
    }))
}

/// Gives a dead job a fresh set of attempts, starting now. Safe whatever happened before: a
/// job that may have reached the PSP asks it first.
pub async fn retry(payments: &Payments, job_id: Uuid) -> Result<Job, ApiError> {
    if let Some(job) = jobs::revive(&payments.pool, job_id).await? {
        return Ok(job);
    }
    match jobs::find(&payments.pool, job_id).await? {
        Some(job) => Err(ApiError::Conflict {
            slug: "job-not-dead",
            detail: format!("the job is {}; only dead jobs can be retried", job.status),
        }),
        None => Err(ApiError::NotFound("no such job".into())),
    }
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
