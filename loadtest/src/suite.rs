//! Every scenario in one run, each beside its baseline.

use crate::api::Api;
use crate::pgbench;
use crate::report::{Report, Target};
use crate::runner::Load;
use crate::scenarios::{self, Setup};
use crate::stats::Summary;
use sqlx::PgPool;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Options {
    /// Closed-loop connections of every scenario (and pgbench's clients).
    pub connections: usize,
    pub warmup: Duration,
    /// Measured time of each closed-loop scenario.
    pub duration: Duration,
    /// Charges a second of the charge-to-points scenario, and for how long.
    pub flow_rate: f64,
    pub flow_duration: Duration,
    /// Events in the backlog the point consumer drains.
    pub backlog: usize,
}

/// pgbench on the fleet's Postgres.
pub struct PgBaseline {
    pub pgbench: PathBuf,
    /// A database of its own for TPC-B (initialised here).
    pub tpcb: pgbench::Target,
    /// The fleet's database, where the earn replay copies the point schema.
    pub fleet: pgbench::Target,
    pub scratch: PathBuf,
}

/// The fleet's database and broker, for the replay's copy, the charge-to-points watch and the
/// consumer's backlog.
pub struct Database {
    pub pool: PgPool,
    pub points_schema: String,
    pub brokers: String,
}

fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> impl std::future::Future<Output = anyhow::Result<T>> {
    async move { tokio::task::spawn_blocking(f).await? }
}

fn failed(name: &str, error: anyhow::Error) -> Summary {
    let mut s = crate::stats::Recorder::default();
    s.error(format!("{error:#}"));
    s.summary(name, Duration::from_secs(1))
}

pub async fn run(
    api: &Api,
    setup: &Setup,
    options: &Options,
    bare_url: &str,
    pg: Option<PgBaseline>,
    db: &Database,
) -> Report {
    let load = Load {
        connections: options.connections,
        warmup: options.warmup,
        duration: options.duration,
    };
    let conns = format!("{} conns", options.connections);
    let mut report = Report::default();

    let bare = scenarios::bare_balance(api, bare_url, setup, load).await;
    let balance = scenarios::balance(api, setup, load).await;
    report.row(bare.clone(), conns.clone());
    report.compared(
        balance,
        conns.clone(),
        &bare,
        Some(Target::Ratio {
            min: 0.5,
            max_p99: Some(3.0),
        }),
    );
    report.row(scenarios::history(api, setup, load).await, conns.clone());

    let new_balance =
        scenarios::one_member(api, "balance, new member", &setup.fresh, false, load).await;
    let heavy_balance = scenarios::one_member(
        api,
        "balance, member with history",
        &setup.heavy,
        false,
        load,
    )
    .await;
    report.row(new_balance.clone(), conns.clone());
    report.compared(
        heavy_balance,
        conns.clone(),
        &new_balance,
        Some(Target::Ratio {
            min: 0.9,
            max_p99: None,
        }),
    );
    let new_history =
        scenarios::one_member(api, "history, new member", &setup.fresh, true, load).await;
    let heavy_history = scenarios::one_member(
        api,
        "history, member with history",
        &setup.heavy,
        true,
        load,
    )
    .await;
    report.row(new_history.clone(), conns.clone());
    report.compared(
        heavy_history,
        conns.clone(),
        &new_history,
        Some(Target::Ratio {
            min: 0.9,
            max_p99: None,
        }),
    );

    let (tpcb, earn_sql) = match pg {
        Some(pg) => {
            let clients = options.connections;
            let duration = options.warmup + options.duration;
            let tpcb = {
                let (bin, target, scratch) =
                    (pg.pgbench.clone(), pg.tpcb.clone(), pg.scratch.clone());
                blocking(move || {
                    pgbench::init_tpcb(&bin, &target, clients)?;
                    pgbench::run(
                        &bin,
                        &target,
                        &pgbench::Workload::TpcB,
                        clients,
                        duration,
                        &scratch,
                    )
                })
                .await
                .unwrap_or_else(|e| failed("pgbench TPC-B", e))
            };
            let earn = match pgbench::prepare_replay(&db.pool, &db.points_schema).await {
                Ok(members) => {
                    let (bin, target, scratch) =
                        (pg.pgbench.clone(), pg.fleet.clone(), pg.scratch.clone());
                    blocking(move || {
                        pgbench::run(
                            &bin,
                            &target,
                            &pgbench::Workload::Earn { members },
                            clients,
                            duration,
                            &scratch,
                        )
                    })
                    .await
                    .unwrap_or_else(|e| failed("pgbench: the earn's SQL", e))
                }
                Err(e) => failed("pgbench: the earn's SQL", e),
            };
            (Some(tpcb), Some(earn))
        }
        None => {
            report.notes.push("pgbench not found: the database baselines were skipped (install postgresql-contrib / the postgresql client package)".into());
            (None, None)
        }
    };
    let burst = scenarios::pos_burst(api, setup, load).await;
    if let Some(tpcb) = &tpcb {
        report.row(tpcb.clone(), format!("{} clients", options.connections));
        report.compared(
            burst.clone(),
            conns.clone(),
            tpcb,
            Some(Target::Ratio {
                min: 0.7,
                max_p99: None,
            }),
        );
    }
    if let Some(earn_sql) = &earn_sql {
        report.row(earn_sql.clone(), format!("{} clients", options.connections));
        report.compared(burst.clone(), conns.clone(), earn_sql, None);
    }
    if tpcb.is_none() {
        report.row(burst, conns.clone());
    }

    let references = Arc::new(Mutex::new(Vec::new()));
    report.row(
        scenarios::pay(api, setup, load, references.clone()).await,
        conns.clone(),
    );
    report.row(scenarios::redeem(api, setup, load).await, conns.clone());
    let references = references.lock().unwrap().clone();
    let storm = scenarios::webhook_storm(api, &references, load)
        .await
        .unwrap_or_else(|e| failed("webhook storm: PSP redeliveries", e));
    report.row(storm, conns.clone());

    let flow = scenarios::charge_to_points(
        api,
        setup,
        db.pool.clone(),
        &db.points_schema,
        options.flow_rate,
        options.flow_duration,
    )
    .await;
    report.rows.push(crate::report::Row {
        summary: flow,
        load: format!(
            "{}/s for {} s",
            options.flow_rate,
            options.flow_duration.as_secs()
        ),
        baseline: None,
        target: Some(Target::P99Under {
            ms: 100.0,
            rate: options.flow_rate,
        }),
    });
    let drain = scenarios::consumer_drain(
        &db.brokers,
        setup,
        db.pool.clone(),
        &db.points_schema,
        options.backlog,
    )
    .await;
    report.rows.push(crate::report::Row {
        summary: drain,
        load: format!("{} events", options.backlog),
        baseline: None,
        target: Some(Target::Throughput { min: 2000.0 }),
    });
    report.seeding = setup.seeding.clone();
    report
}
