//! The payment service's use cases. Each owns its transaction; route handlers and event
//! handlers call exactly one of them. Only this layer calls the PSP connectors.
//!
//! The rules that keep money safe:
//! - Work for a PSP is a job stored with the change that needs it; the request runs the first
//!   attempt at once, the worker retries with backoff, and a job out of attempts is dead.
//! - Before a request that may reach the PSP, the job is marked `psp_contacted`; a later attempt
//!   asks the PSP what happened before sending anything again (and our id is the PSP's
//!   idempotency key, so a resend cannot charge twice either).
//! - A charge only moves forward; its outcome, its event and its job's completion commit together.

pub mod charges;
pub mod checkout;
pub mod erasure;
pub mod jobs;
pub mod reconciliation;
pub mod refunds;
mod transitions;
pub mod webhooks;
pub mod withdrawals;
pub mod worker;

use crate::configuration::JobSettings;
use crate::connectors::{Connector, Connectors};
use crate::domain::{FieldProblem, InputError};
use platform::idempotency::ClaimedKey;
use platform::{ApiError, FieldError};
use sqlx::PgPool;
use std::sync::Arc;

/// What every use case works with: the database, the PSPs and the job queue's settings.
#[derive(Clone)]
pub struct Payments {
    pool: PgPool,
    connectors: Arc<Connectors>,
    settings: JobSettings,
}

impl Payments {
    pub fn new(pool: PgPool, connectors: Arc<Connectors>, settings: JobSettings) -> Self {
        Self {
            pool,
            connectors,
            settings,
        }
    }

    fn connector(&self, name: &str) -> Option<Arc<dyn Connector>> {
        self.connectors.get(name).cloned()
    }

    fn lease_secs(&self) -> f64 {
        self.settings.lease_secs as f64
    }
}

impl From<FieldProblem> for FieldError {
    fn from(problem: FieldProblem) -> Self {
        FieldError::new(problem.field, problem.message)
    }
}

impl From<InputError> for ApiError {
    fn from(e: InputError) -> Self {
        match e {
            InputError::Forbidden(why) => ApiError::Forbidden(why),
            InputError::Invalid(problems) => {
                ApiError::Validation(problems.into_iter().map(FieldError::from).collect())
            }
        }
    }
}

/// The caller's key is already on another charge or refund (it was used more than 24 hours ago,
/// so its record expired): a key never makes a second one.
fn key_already_used(what: &str) -> ApiError {
    ApiError::Unprocessable {
        slug: "idempotency-key-reused",
        detail: format!("this Idempotency-Key was already used for another {what}; send a new key"),
    }
}

fn vanished(what: &str, id: uuid::Uuid) -> ApiError {
    ApiError::Internal(anyhow::anyhow!("{what} {id} vanished"))
}

/// Stores the response for replays of this key. If the process dies before this, the key answers
/// 409 until its in-flight lease runs out; then a retry takes it over ([`ClaimedKey::resumed`])
/// and answers with the charge or refund stored under the key, while the worker resumes the job.
async fn record_response(
    pool: &PgPool,
    claimed: &ClaimedKey<'_>,
    (status, body): (u16, serde_json::Value),
) -> Result<(), ApiError> {
    let mut conn = pool.acquire().await?;
    claimed.complete(&mut conn, status, &body).await
}
