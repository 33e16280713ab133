//! The nightly settlement file (seed 000's reconciliation): every line settles a load. A load
//! already seen instantly is marked settled (no amount change); a load never seen is a delayed
//! load and is added. The whole file is applied in one transaction, once per content hash;
//! each line is idempotent too, so a file sent again with more lines settles only the new ones.

use super::campaigns::{self, CampaignRuntime};
use crate::domain::settlement::{self, Channel, FileError, MalformedLine, SettledLoad};
use crate::storage::campaigns as store;
use platform::ApiError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// At most this many transaction ids are listed per finding; the counts are always whole.
const LISTED_MAX: usize = 1_000;

/// An instant load the file did not settle although the grace period counting it is over.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UnsettledLoadView {
    pub transaction_id: String,
    pub member_id: Uuid,
    pub amount: i64,
    pub currency: String,
}

/// What ingesting a file did.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SettlementReport {
    pub file_id: Uuid,
    pub business_id: Uuid,
    pub name: String,
    /// Hex SHA-256 of the file's bytes: the same file is ingested once.
    pub sha256: String,
    /// True when this file had been ingested before: nothing was applied again and this is the
    /// first ingestion's report.
    pub replayed: bool,
    /// Lines after the header (blank lines not counted).
    pub lines: usize,
    /// Lines that changed something: `settled_instant` plus `added_delayed`.
    pub applied: usize,
    /// Loads seen instantly and now settled.
    pub settled_instant: usize,
    /// Loads known only from this file (delayed loads, e.g. bank transfers), added settled.
    pub added_delayed: usize,
    /// Lines settling a load already settled (by an earlier file or a repeated line).
    pub duplicates: usize,
    /// Lines that broke a rule, with their number and why; the rest of the file was applied.
    pub malformed: Vec<MalformedLine>,
    /// Settled loads with no instant load (the delayed loads and any instant line whose charge
    /// was never seen), up to 1,000 listed.
    pub settled_without_instant: Vec<String>,
    pub settled_without_instant_count: usize,
    /// Instant loads never settled although an enrolment's grace period counting them is over.
    pub unsettled_after_grace: Vec<UnsettledLoadView>,
}

/// Where a file came from.
pub struct Received<'a> {
    pub business_id: Uuid,
    pub name: &'a str,
    pub source: &'static str,
    pub received_by: &'a str,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Ingests a file: its report, or why the whole file was refused.
pub async fn ingest(
    pool: &PgPool,
    runtime: &CampaignRuntime,
    received: &Received<'_>,
    bytes: &[u8],
) -> Result<SettlementReport, ApiError> {
    let sha256 = sha256_hex(bytes);
    let mut tx = pool.begin().await?;
    if let Some(report) = stored_report(&mut tx, received.business_id, &sha256).await? {
        return Ok(report);
    }
    let parsed = settlement::parse_file(bytes).map_err(refused)?;
    let file_id = Uuid::now_v7();
    let mut report = SettlementReport {
        file_id,
        business_id: received.business_id,
        name: received.name.to_owned(),
        sha256: sha256.clone(),
        replayed: false,
        lines: parsed.loads.len() + parsed.malformed.len(),
        applied: 0,
        settled_instant: 0,
        added_delayed: 0,
        duplicates: 0,
        malformed: parsed.malformed,
        settled_without_instant: Vec::new(),
        settled_without_instant_count: 0,
        unsettled_after_grace: Vec::new(),
    };
    let mut members = BTreeSet::new();
    for load in &parsed.loads {
        match settle(&mut tx, received.business_id, file_id, load).await? {
            Ok(Settled::Instant) => report.settled_instant += 1,
            Ok(Settled::Delayed) => {
                report.added_delayed += 1;
                report.settled_without_instant_count += 1;
                if report.settled_without_instant.len() < LISTED_MAX {
                    report
                        .settled_without_instant
                        .push(load.transaction_id.clone());
                }
            }
            Ok(Settled::Duplicate) => {
                report.duplicates += 1;
                continue;
            }
            Err(reason) => {
                report.malformed.push(MalformedLine {
                    line: load.line,
                    reason,
                });
                continue;
            }
        }
        members.insert(load.member_id);
    }
    report.malformed.sort_by_key(|m| m.line);
    report.applied = report.settled_instant + report.added_delayed;
    // Settled totals changed: move the members' enrolments (in member order, one lock order).
    for member in members {
        campaigns::reevaluate_member(&mut tx, runtime, received.business_id, member)
            .await
            .map_err(ApiError::Internal)?;
    }
    report.unsettled_after_grace = store::unsettled_after_grace(
        &mut tx,
        received.business_id,
        runtime.now(),
        LISTED_MAX as i64,
    )
    .await?
    .into_iter()
    .map(|l| UnsettledLoadView {
        transaction_id: l.transaction_id,
        member_id: l.member_id,
        amount: l.amount,
        currency: l.currency,
    })
    .collect();
    let stored = store::insert_settlement_file(
        &mut tx,
        &store::SettlementFileRow {
            id: file_id,
            business_id: received.business_id,
            sha256: &sha256,
            name: received.name,
            source: received.source,
            received_by: received.received_by,
            report: serde_json::to_value(&report).map_err(anyhow::Error::from)?,
        },
    )
    .await?;
    if !stored {
        // The same file was ingested alongside: its report stands, this work is undone.
        drop(tx);
        let mut conn = pool.acquire().await?;
        return stored_report(&mut conn, received.business_id, &sha256)
            .await?
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("settlement file vanished")));
    }
    tx.commit().await?;
    tracing::info!(
        %file_id,
        applied = report.applied,
        duplicates = report.duplicates,
        malformed = report.malformed.len(),
        "settlement file ingested"
    );
    Ok(report)
}

/// A file's report, by id, if `visible`.
pub async fn report(
    pool: &PgPool,
    file_id: Uuid,
    visible: impl FnOnce(Uuid) -> bool,
) -> Result<SettlementReport, ApiError> {
    let mut conn = pool.acquire().await?;
    let (_, report) = store::settlement_file(&mut conn, file_id)
        .await?
        .filter(|(business, _)| visible(*business))
        .ok_or_else(|| ApiError::NotFound("no such settlement file".into()))?;
    Ok(serde_json::from_value(report).map_err(anyhow::Error::from)?)
}

async fn stored_report(
    conn: &mut PgConnection,
    business_id: Uuid,
    sha256: &str,
) -> Result<Option<SettlementReport>, ApiError> {
    let Some((_, report)) = store::settlement_file_by_hash(conn, business_id, sha256).await? else {
        return Ok(None);
    };
    let mut report: SettlementReport =
        serde_json::from_value(report).map_err(anyhow::Error::from)?;
    report.replayed = true;
    Ok(Some(report))
}

fn refused(e: FileError) -> ApiError {
    ApiError::Unprocessable {
        slug: "settlement-file-invalid",
        detail: e.to_string(),
    }
}

enum Settled {
    Instant,
    Delayed,
    Duplicate,
}

/// Applies one line: `Err` names why it cannot be applied.
async fn settle(
    conn: &mut PgConnection,
    business_id: Uuid,
    file_id: Uuid,
    load: &SettledLoad,
) -> Result<Result<Settled, String>, sqlx::Error> {
    let currency = load.amount.currency.code();
    match store::lock_load(conn, business_id, &load.transaction_id).await? {
        None => {
            store::insert_settled_load(
                conn,
                &store::SettledLoadRow {
                    business_id,
                    transaction_id: &load.transaction_id,
                    member_id: load.member_id,
                    amount: load.amount.amount_minor,
                    currency,
                    transacted_at: load.transacted_at,
                    settled_on: load.settled_on,
                    file_id,
                    channel: load.channel.as_str(),
                },
            )
            .await?;
            if load.channel == Channel::Instant {
                tracing::warn!(transaction_id = %load.transaction_id, "settled card load never seen instantly");
            }
            Ok(Ok(Settled::Delayed))
        }
        Some(known)
            if known.member_id != load.member_id
                || known.amount != load.amount.amount_minor
                || known.currency != currency =>
        {
            Ok(Err(format!(
                "transaction {} is known as {} {} for another member or amount; the line was not applied",
                load.transaction_id, known.amount, known.currency
            )))
        }
        Some(known) if known.settled_on.is_some() => Ok(Ok(Settled::Duplicate)),
        Some(known) => {
            store::mark_settled(
                conn,
                business_id,
                &load.transaction_id,
                load.settled_on,
                file_id,
            )
            .await?;
            Ok(Ok(if known.instant_seen_at.is_some() {
                Settled::Instant
            } else {
                Settled::Delayed
            }))
        }
    }
}

/// Watches a directory for settlement files: `<dir>/*.csv` belong to the default business,
/// `<dir>/<business id>/*.csv` to that business. Each file is ingested, then moved into
/// `processed/` (or `rejected/` when refused whole) beside it with its report as
/// `<name>.report.json`.
pub async fn watch_directory(
    pool: PgPool,
    runtime: campaigns::Runtime,
    dir: PathBuf,
    default_business: Uuid,
    interval: std::time::Duration,
    shutdown: platform::CancellationToken,
) -> anyhow::Result<()> {
    loop {
        if let Err(e) = scan_directory(&pool, &runtime, &dir, default_business).await {
            tracing::error!(error = %e, dir = %dir.display(), "settlement directory scan failed");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

/// One pass over the directory; returns how many files were taken.
pub async fn scan_directory(
    pool: &PgPool,
    runtime: &CampaignRuntime,
    dir: &Path,
    default_business: Uuid,
) -> anyhow::Result<usize> {
    let mut taken = 0;
    let mut places = vec![(dir.to_path_buf(), default_business)];
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let business = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| Uuid::parse_str(n).ok());
        if let (true, Some(business)) = (path.is_dir(), business) {
            places.push((path, business));
        }
    }
    for (place, business) in places {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&place)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "csv"))
            .collect();
        files.sort();
        for file in files {
            take_file(pool, runtime, &place, &file, business).await?;
            taken += 1;
        }
    }
    Ok(taken)
}

async fn take_file(
    pool: &PgPool,
    runtime: &CampaignRuntime,
    place: &Path,
    file: &Path,
    business: Uuid,
) -> anyhow::Result<()> {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("settlement.csv")
        .to_owned();
    let bytes = tokio::fs::read(file).await?;
    let received = Received {
        business_id: business,
        name: &name,
        source: "directory",
        received_by: "directory",
    };
    let (folder, report) = match ingest(pool, runtime, &received, &bytes).await {
        Ok(report) => ("processed", serde_json::to_vec_pretty(&report)?),
        Err(ApiError::Unprocessable { detail, .. }) => (
            "rejected",
            serde_json::to_vec_pretty(&serde_json::json!({ "name": name, "refused": detail }))?,
        ),
        Err(e) => return Err(anyhow::anyhow!("ingesting {name}: {e}")),
    };
    let target = place.join(folder);
    tokio::fs::create_dir_all(&target).await?;
    tokio::fs::write(target.join(format!("{name}.report.json")), report).await?;
    tokio::fs::rename(file, target.join(&name)).await?;
    tracing::info!(file = %name, folder, "settlement file taken from the directory");
    Ok(())
}
