//! The database baselines, on the fleet's own Postgres: pgbench's TPC-B, and pgbench replaying
//! the SQL of one earn (`sql/earn.pgbench`) in a copy of the point schema's tables.

use crate::stats::Summary;
use anyhow::{bail, Context};
use sqlx::PgPool;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The script of an earn's SQL.
pub const EARN_SCRIPT: &str = include_str!("../sql/earn.pgbench");
/// Where the replay's tables live.
pub const REPLAY_SCHEMA: &str = "earn_replay";

/// `pgbench` on PATH or beside the PostgreSQL server binaries.
pub fn find() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join("pgbench"))
                .collect()
        })
        .unwrap_or_default();
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path().join("bin/pgbench"))
            .collect();
        versions.sort();
        candidates.extend(versions.into_iter().rev());
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// One pgbench database connection target.
#[derive(Debug, Clone)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
}

impl Target {
    /// From a `postgres://user@host:port/database` URL.
    pub fn from_url(url: &str) -> anyhow::Result<Target> {
        let url = url::Url::parse(url).context("database URL")?;
        Ok(Target {
            host: url.host_str().unwrap_or("127.0.0.1").to_owned(),
            port: url.port().unwrap_or(5432),
            user: if url.username().is_empty() {
                "postgres".into()
            } else {
                url.username().to_owned()
            },
            database: url.path().trim_start_matches('/').to_owned(),
        })
    }

    fn command(&self, pgbench: &Path) -> Command {
        let mut command = Command::new(pgbench);
        command
            .arg("-h")
            .arg(&self.host)
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-U")
            .arg(&self.user);
        command
    }
}

/// Initialises TPC-B at `scale` in `target`'s database.
pub fn init_tpcb(pgbench: &Path, target: &Target, scale: usize) -> anyhow::Result<()> {
    let output = target
        .command(pgbench)
        .args(["-i", "-q", "-s", &scale.max(1).to_string()])
        .arg(&target.database)
        .output()
        .context("running pgbench -i")?;
    if !output.status.success() {
        bail!(
            "pgbench -i failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// Copies the point schema's tables the earn touches into [`REPLAY_SCHEMA`], with its accounts
/// and program, and numbers the members for the script.
pub async fn prepare_replay(pool: &PgPool, points_schema: &str) -> anyhow::Result<i64> {
    let s = REPLAY_SCHEMA;
    let p = points_schema;
    let mut statements = vec![
        format!("DROP SCHEMA IF EXISTS {s} CASCADE"),
        format!("CREATE SCHEMA {s}"),
    ];
    for table in [
        "tiers",
        "program",
        "source_settings",
        "earn_rules",
        "accounts",
        "point_transactions",
        "ledger_entries",
        "point_lots",
        "qualifying_spend",
        "outbox",
    ] {
        statements.push(format!(
            "CREATE TABLE {s}.{table} (LIKE {p}.{table} INCLUDING ALL)"
        ));
    }
    for table in [
        "tiers",
        "program",
        "source_settings",
        "earn_rules",
        "accounts",
    ] {
        statements.push(format!("INSERT INTO {s}.{table} SELECT * FROM {p}.{table}"));
    }
    statements.push(format!(
        "CREATE TABLE {s}.replay_members AS
           SELECT row_number() OVER (ORDER BY member_id) AS n, member_id FROM {s}.accounts"
    ));
    statements.push(format!(
        "ALTER TABLE {s}.replay_members ADD PRIMARY KEY (n)"
    ));
    statements.push("ANALYZE".to_owned());
    for statement in statements {
        sqlx::query(&statement)
            .execute(pool)
            .await
            .with_context(|| format!("preparing the earn replay: {statement}"))?;
    }
    let members: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {s}.replay_members"))
        .fetch_one(pool)
        .await?;
    if members == 0 {
        bail!("the point schema has no accounts to replay earns for");
    }
    Ok(members)
}

/// What to run: TPC-B (built in) or the earn script.
pub enum Workload {
    TpcB,
    Earn { members: i64 },
}

/// Runs `workload` with `clients` clients for `duration`; latencies from pgbench's
/// per-transaction log in `scratch`.
pub fn run(
    pgbench: &Path,
    target: &Target,
    workload: &Workload,
    clients: usize,
    duration: Duration,
    scratch: &Path,
) -> anyhow::Result<Summary> {
    let (name, prefix) = match workload {
        Workload::TpcB => ("pgbench TPC-B", "tpcb"),
        Workload::Earn { .. } => ("pgbench: the earn's SQL", "earn"),
    };
    std::fs::create_dir_all(scratch)?;
    for entry in std::fs::read_dir(scratch)?.flatten() {
        if entry.file_name().to_string_lossy().starts_with(prefix) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    let mut command = target.command(pgbench);
    command
        .arg("-n")
        .args(["-c", &clients.max(1).to_string()])
        .args(["-j", &clients.clamp(1, 2).to_string()])
        .args(["-T", &duration.as_secs().max(1).to_string()])
        .arg("-l")
        .arg(format!("--log-prefix={}", scratch.join(prefix).display()));
    match workload {
        Workload::TpcB => {}
        Workload::Earn { members } => {
            let script = scratch.join("earn.pgbench");
            std::fs::write(&script, EARN_SCRIPT)?;
            command
                .args(["-M", "prepared"])
                .args(["-D", &format!("members={members}")])
                .arg("-f")
                .arg(&script)
                .env("PGOPTIONS", format!("-c search_path={REPLAY_SCHEMA}"));
        }
    }
    command.arg(&target.database);
    let output = command.output().context("running pgbench")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "{name} failed: {}{}",
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let failed: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("number of failed transactions: "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    // Per-transaction log lines: client_id transaction_no time_us script_no epoch epoch_us.
    let mut latencies: Vec<u32> = Vec::new();
    for entry in std::fs::read_dir(scratch)?.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(prefix)
            || entry.path().extension().is_some_and(|e| e == "pgbench")
        {
            continue;
        }
        let log = std::fs::read_to_string(entry.path())?;
        latencies.extend(
            log.lines()
                .filter_map(|line| line.split_whitespace().nth(2))
                .filter_map(|us| us.parse::<u32>().ok()),
        );
    }
    latencies.sort_unstable();
    Ok(Summary::from_sorted(name, &latencies, failed, duration))
}
