//! The reconciler: compares what one service says happened with what others applied, and
//! repairs what is safe to repair by asking the producer to publish the event again.
//!
//! Today it compares charges that succeeded (the payment service) with the `charge.succeeded`
//! events the point service and this service applied. A charge's event has an id derived from
//! the charge, so the producer can list the ids it published, each consumer can say which its
//! inbox holds, and publishing again reuses the id: a consumer that applied it skips it. A
//! difference that an earlier run already republished is not republished again: the event
//! reached the consumer and could not be applied (it was dead-lettered), and a person must look.

use crate::configuration::ReconcilerSettings;
use crate::storage::reconciliation::{self as runs, Difference, Run};
use anyhow::Context;
use chrono::{DateTime, Utc};
use platform::ApiError;
use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use std::collections::HashSet;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use uuid::Uuid;

/// The pairs compared: a fact's producer and one of its consumers.
pub const CHARGES_TO_POINTS: &str = "charge.succeeded -> point";
pub const CHARGES_TO_ADMIN: &str = "charge.succeeded -> admin";
const PAIRS: &[&str] = &[CHARGES_TO_POINTS, CHARGES_TO_ADMIN];

/// This service's consumer, as its inbox records events.
const ADMIN_CONSUMER: &str = "admin";
/// Only one run at a time across every instance of the admin service.
const RUN_LOCK: i64 = 0x7265_636f_6e63_696c; // "reconcil"
const PAGE: usize = 500;

/// What a run found, for the metrics and the run's record.
#[derive(Default)]
struct Tally {
    checked: i64,
    differences: i64,
    republished: i64,
    per_pair: Vec<(&'static str, i64)>,
}

pub struct Reconciler {
    pool: PgPool,
    http: reqwest::Client,
    settings: ReconcilerSettings,
    secret: Option<SecretString>,
    token: Mutex<Option<(String, Instant)>>,
    metrics: ReconcilerMetrics,
}

struct ReconcilerMetrics {
    differences: IntGaugeVec,
    republished: IntCounterVec,
    runs: IntCounterVec,
}

impl ReconcilerMetrics {
    fn register(registry: &Registry) -> anyhow::Result<Self> {
        let differences = IntGaugeVec::new(
            Opts::new(
                "reconciliation_differences",
                "Events a consumer had not applied, found by the latest finished run, per pair",
            ),
            &["pair"],
        )?;
        let republished = IntCounterVec::new(
            Opts::new(
                "reconciliation_republished_total",
                "Events the reconciler asked their producer to publish again, per pair",
            ),
            &["pair"],
        )?;
        let runs = IntCounterVec::new(
            Opts::new(
                "reconciliation_runs_total",
                "Reconciliation runs by outcome",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(differences.clone()))?;
        registry.register(Box::new(republished.clone()))?;
        registry.register(Box::new(runs.clone()))?;
        for pair in PAIRS {
            differences.with_label_values(&[pair]).set(0);
            republished.with_label_values(&[pair]);
        }
        Ok(Self {
            differences,
            republished,
            runs,
        })
    }
}

#[derive(Deserialize)]
struct SucceededCharge {
    charge_id: Uuid,
    member_id: Uuid,
    event_id: Uuid,
}

#[derive(Deserialize)]
struct SucceededChargePage {
    items: Vec<SucceededCharge>,
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
struct AppliedEvents {
    applied: Vec<Uuid>,
}

#[derive(Deserialize)]
struct RepublishResult {
    queued: Vec<Uuid>,
}

impl Reconciler {
    pub fn new(
        pool: PgPool,
        settings: ReconcilerSettings,
        registry: &Registry,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self {
            pool,
            http,
            secret: settings.client_secret.clone(),
            settings,
            token: Mutex::new(None),
            metrics: ReconcilerMetrics::register(registry)?,
        })
    }

    /// Runs the schedule until shutdown (nothing when the interval is 0 or no key is set).
    pub async fn run_on_schedule(
        self: std::sync::Arc<Self>,
        shutdown: platform::CancellationToken,
    ) -> anyhow::Result<()> {
        if self.settings.interval_secs == 0 || self.secret.is_none() {
            return Ok(());
        }
        let every = Duration::from_secs(self.settings.interval_secs);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = tokio::time::sleep(every) => {}
            }
            match self.run("schedule").await {
                Ok(run) => tracing::info!(run_id = %run.id, checked = run.checked,
                    differences = run.differences, republished = run.republished,
                    error = run.error.as_deref().unwrap_or(""), "reconciliation run finished"),
                Err(ApiError::Conflict { .. }) => {}
                Err(e) => tracing::warn!(error = %e, "reconciliation run could not start"),
            }
        }
    }

    /// One run over the configured window, recorded with what it found. A service that cannot
    /// be reached ends the run early, with the reason recorded.
    pub async fn run(&self, started_by: &str) -> Result<Run, ApiError> {
        if self.secret.is_none() {
            return Err(ApiError::Unavailable(
                "the reconciler has no client key (reconciler.client_secret)".into(),
            ));
        }
        let mut lock = self.pool.acquire().await?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(RUN_LOCK)
            .fetch_one(&mut *lock)
            .await?;
        if !locked {
            return Err(ApiError::Conflict {
                slug: "reconciliation-running",
                detail: "a reconciliation run is in progress; try again when it has finished"
                    .into(),
            });
        }
        let outcome = self.run_locked(started_by).await;
        let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(RUN_LOCK)
            .execute(&mut *lock)
            .await;
        outcome
    }

    async fn run_locked(&self, started_by: &str) -> Result<Run, ApiError> {
        let until = before(Utc::now(), self.settings.grace_secs);
        let since = before(until, self.settings.lookback_secs);
        let run_id = Uuid::now_v7();
        let mut conn = self.pool.acquire().await?;
        runs::start_run(&mut conn, run_id, started_by, since, until).await?;
        let mut tally = Tally {
            per_pair: PAIRS.iter().map(|p| (*p, 0)).collect(),
            ..Tally::default()
        };
        let outcome = self
            .compare_window(&mut conn, run_id, since, until, &mut tally)
            .await;
        let error = outcome.as_ref().err().map(|e| format!("{e:#}"));
        let run = runs::finish_run(
            &mut conn,
            run_id,
            tally.checked,
            tally.differences,
            tally.republished,
            error.as_deref(),
        )
        .await?;
        if error.is_none() {
            for (pair, found) in &tally.per_pair {
                self.metrics
                    .differences
                    .with_label_values(&[pair])
                    .set(*found);
            }
        }
        self.metrics
            .runs
            .with_label_values(&[if error.is_none() { "ok" } else { "failed" }])
            .inc();
        Ok(run)
    }

    async fn compare_window(
        &self,
        conn: &mut PgConnection,
        run_id: Uuid,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        tally: &mut Tally,
    ) -> anyhow::Result<()> {
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .succeeded_charges(since, until, cursor.as_deref())
                .await?;
            if !page.items.is_empty() {
                self.compare_page(conn, run_id, &page.items, tally).await?;
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(()),
            }
        }
    }

    async fn compare_page(
        &self,
        conn: &mut PgConnection,
        run_id: Uuid,
        charges: &[SucceededCharge],
        tally: &mut Tally,
    ) -> anyhow::Result<()> {
        let event_ids: Vec<Uuid> = charges.iter().map(|c| c.event_id).collect();
        let point_applied: HashSet<Uuid> =
            self.point_applied(&event_ids).await?.into_iter().collect();
        let admin_applied: HashSet<Uuid> = events::inbox::applied(conn, ADMIN_CONSUMER, &event_ids)
            .await?
            .into_iter()
            .collect();
        tally.checked += charges.len() as i64;

        let mut differences = Vec::new();
        for (pair, applied) in [
            (CHARGES_TO_POINTS, &point_applied),
            (CHARGES_TO_ADMIN, &admin_applied),
        ] {
            let missing: Vec<&SucceededCharge> = charges
                .iter()
                .filter(|c| !applied.contains(&c.event_id))
                .collect();
            if missing.is_empty() {
                continue;
            }
            let missing_ids: Vec<Uuid> = missing.iter().map(|c| c.event_id).collect();
            let tried: HashSet<Uuid> = runs::already_republished(conn, pair, &missing_ids)
                .await?
                .into_iter()
                .collect();
            for charge in missing {
                let action = if tried.contains(&charge.event_id) {
                    "needs_attention"
                } else {
                    "republished"
                };
                differences.push((charge, pair, action));
            }
            if let Some(entry) = tally.per_pair.iter_mut().find(|(p, _)| *p == pair) {
                entry.1 += missing_ids.len() as i64;
            }
        }
        if differences.is_empty() {
            return Ok(());
        }
        tally.differences += differences.len() as i64;

        // One republish per charge, however many consumers missed it.
        let mut to_republish: Vec<Uuid> = differences
            .iter()
            .filter(|(_, _, action)| *action == "republished")
            .map(|(charge, _, _)| charge.charge_id)
            .collect();
        to_republish.sort();
        to_republish.dedup();
        let queued: HashSet<Uuid> = if to_republish.is_empty() {
            HashSet::new()
        } else {
            self.republish(&to_republish).await?.into_iter().collect()
        };
        tally.republished += queued.len() as i64;

        for (charge, pair, action) in differences {
            // A charge the producer could not publish again stays for a person to look at.
            let action = if action == "republished" && !queued.contains(&charge.charge_id) {
                "needs_attention"
            } else {
                action
            };
            if action == "republished" {
                self.metrics.republished.with_label_values(&[pair]).inc();
            }
            tracing::warn!(pair, charge_id = %charge.charge_id, event_id = %charge.event_id,
                action, "reconciliation difference");
            runs::record_difference(
                conn,
                run_id,
                &Difference {
                    pair: pair.to_owned(),
                    reference_id: charge.charge_id.to_string(),
                    event_id: charge.event_id,
                    member_id: charge.member_id,
                    action: action.to_owned(),
                },
            )
            .await?;
        }
        Ok(())
    }

    async fn succeeded_charges(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        cursor: Option<&str>,
    ) -> anyhow::Result<SucceededChargePage> {
        let limit = PAGE.to_string();
        let since = since.to_rfc3339();
        let until = until.to_rfc3339();
        let mut query = vec![
            ("since", since.as_str()),
            ("until", until.as_str()),
            ("limit", limit.as_str()),
        ];
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor));
        }
        let request = self
            .http
            .get(format!(
                "{}/api/v1/payments/reconciliation/succeeded-charges",
                self.settings.payment_url
            ))
            .query(&query);
        self.call(request, "listing succeeded charges at the payment service")
            .await
    }

    async fn point_applied(&self, event_ids: &[Uuid]) -> anyhow::Result<Vec<Uuid>> {
        let request = self
            .http
            .post(format!(
                "{}/api/v1/points/reconciliation/applied",
                self.settings.point_url
            ))
            .json(&json!({ "event_ids": event_ids }));
        let answer: AppliedEvents = self
            .call(request, "asking the point service what it applied")
            .await?;
        Ok(answer.applied)
    }

    async fn republish(&self, charge_ids: &[Uuid]) -> anyhow::Result<Vec<Uuid>> {
        let request = self
            .http
            .post(format!(
                "{}/api/v1/payments/reconciliation/republish",
                self.settings.payment_url
            ))
            .json(&json!({ "charge_ids": charge_ids }));
        let answer: RepublishResult = self
            .call(request, "asking the payment service to publish again")
            .await?;
        Ok(answer.queued)
    }

    /// Sends `request` with the reconciler's token and reads the JSON answer.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> anyhow::Result<T> {
        let token = self.token().await?;
        let response = request
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!(e.without_url()))
            .with_context(|| what.to_owned())?;
        let status = response.status();
        if !status.is_success() {
            anyhow::bail!("{what}: answered {status}");
        }
        response
            .json()
            .await
            .with_context(|| format!("{what}: an unreadable answer"))
    }

    /// The reconciler's access token (client credentials), fetched again a minute before it
    /// expires.
    async fn token(&self) -> anyhow::Result<String> {
        let mut cached = self.token.lock().await;
        if let Some((token, renew_at)) = cached.as_ref() {
            if Instant::now() < *renew_at {
                return Ok(token.clone());
            }
        }
        let secret = self
            .secret
            .as_ref()
            .context("the reconciler has no client key")?;
        let client_id = auth::internal::RECONCILER.id.to_string();
        let response = self
            .http
            .post(format!("{}/api/v1/auth/token", self.settings.user_url))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
                ("client_secret", secret.expose_secret()),
            ])
            .send()
            .await
            .map_err(|e| anyhow::anyhow!(e.without_url()))
            .context("getting the reconciler's token from the user service")?;
        let status = response.status();
        if !status.is_success() {
            anyhow::bail!(
                "the user service refused the reconciler's key ({status}): is \
                 reconciler.client_secret the same as the user service's \
                 reconciler_client_secret?"
            );
        }
        #[derive(Deserialize)]
        struct Token {
            access_token: String,
            expires_in: u64,
        }
        let token: Token = response
            .json()
            .await
            .context("an unreadable token answer")?;
        let renew_at = Instant::now() + Duration::from_secs(token.expires_in.saturating_sub(60));
        *cached = Some((token.access_token.clone(), renew_at));
        Ok(token.access_token)
    }
}

/// `seconds` before `at`; the earliest time there is for settings too large to subtract.
fn before(at: DateTime<Utc>, seconds: u64) -> DateTime<Utc> {
    i64::try_from(seconds)
        .ok()
        .and_then(chrono::TimeDelta::try_seconds)
        .and_then(|delta| at.checked_sub_signed(delta))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Runs and what they found, for staff.
pub async fn list_runs(
    pool: &PgPool,
    page: &platform::pagination::PageRequest,
) -> Result<(Vec<Run>, Option<String>), ApiError> {
    let mut conn = pool.acquire().await?;
    let found = runs::page(
        &mut conn,
        page.after_time(),
        page.after_id(),
        page.fetch_limit(),
    )
    .await?;
    Ok(page.finish(found, |run| platform::pagination::Cursor {
        created_at: run.started_at,
        id: run.id,
    }))
}

/// A run and its differences; 404 if there is no such run.
pub async fn run_details(pool: &PgPool, run_id: Uuid) -> Result<(Run, Vec<Difference>), ApiError> {
    let mut conn = pool.acquire().await?;
    let run = runs::find_run(&mut conn, run_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such reconciliation run".into()))?;
    let differences = runs::differences_of(&mut conn, run_id).await?;
    Ok((run, differences))
}
