//! `tessera-bench`: the load-test suite against a fleet started here, beside its baselines.
//! `loadtest/bench` builds it in release and runs it; see `--help`.

use anyhow::{bail, Context};
use loadtest::api::{Api, Targets};
use loadtest::procstat;
use loadtest::suite::{self, Database, Options, PgBaseline};
use localinfra::{PrivateBroker, PrivatePostgres, PrivateRedis};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HELP: &str = "tessera-bench [options]

Starts a private Postgres, Redis and broker, the fleet (release build, one process) and a bare
actix-web baseline, runs every scenario beside its baseline and writes the report.

  --duration SECS       measured time of each scenario (default 20)
  --warmup SECS         unmeasured warm-up before each scenario (default 3)
  --connections N       closed-loop connections, and pgbench clients (default 32)
  --members N           members registered for the member scenarios (default 64)
  --history N           purchases of the member with a history (default 10000)
  --rate N              charges a second of the charge -> points scenario (default 200)
  --flow-duration SECS  how long the charges flow (default 30)
  --backlog N           events in the backlog the point consumer drains (default 20000)
  --idle SECS           window of the at-rest CPU measurement (default 10)
  --mock-broker         librdkafka's mock cluster in this process, even where tansu is installed:
                        the fleet's own limits, without a broker's
  --no-services         skip the at-rest figures of each service as a process of its own
  --out PATH            the report (default target/bench/report.md)";

/// The broker the fleet is given.
struct Brokers {
    servers: String,
    /// Whether the services create their topics (the mock cluster has them all already).
    create_topics: bool,
}

struct Args {
    /// librdkafka's mock cluster even where tansu is installed.
    mock_broker: bool,
    options: Options,
    members: usize,
    history: usize,
    idle: Duration,
    services: bool,
    out: Option<PathBuf>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        mock_broker: false,
        options: Options {
            connections: 32,
            warmup: Duration::from_secs(3),
            duration: Duration::from_secs(20),
            flow_rate: 200.0,
            flow_duration: Duration::from_secs(30),
            backlog: 20_000,
        },
        members: 64,
        history: 10_000,
        idle: Duration::from_secs(10),
        services: true,
        out: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--duration" => args.options.duration = Duration::from_secs(value()?.parse()?),
            "--warmup" => args.options.warmup = Duration::from_secs(value()?.parse()?),
            "--connections" => args.options.connections = value()?.parse()?,
            "--members" => args.members = value()?.parse()?,
            "--history" => args.history = value()?.parse()?,
            "--rate" => args.options.flow_rate = value()?.parse()?,
            "--flow-duration" => {
                args.options.flow_duration = Duration::from_secs(value()?.parse()?)
            }
            "--backlog" => args.options.backlog = value()?.parse()?,
            "--idle" => args.idle = Duration::from_secs(value()?.parse()?),
            "--no-services" => args.services = false,
            "--mock-broker" => args.mock_broker = true,
            "--out" => args.out = Some(value()?.into()),
            "-h" | "--help" => {
                println!("{HELP}");
                std::process::exit(0);
            }
            other => bail!("unknown option {other}\n\n{HELP}"),
        }
    }
    Ok(args)
}

/// The binaries built beside this one.
fn sibling(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("own path");
    exe.parent().expect("a directory").join(name)
}

/// A child process stopped with SIGTERM (then SIGKILL) when dropped.
struct Process {
    name: String,
    child: Child,
}

impl Process {
    fn spawn(
        name: &str,
        binary: &Path,
        args: &[&str],
        env: &[(String, String)],
        log: &Path,
    ) -> anyhow::Result<Process> {
        if !binary.is_file() {
            bail!(
                "{} is missing: build it first (loadtest/bench does)",
                binary.display()
            );
        }
        let log = std::fs::File::create(log)?;
        let child = Command::new(binary)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", std::env::var("HOME").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .envs(env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Process {
            name: name.to_owned(),
            child,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then SIGKILL after 20 s.
    fn stop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn wait_ready(
    http: &reqwest::Client,
    url: &str,
    process: &mut Process,
) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        if http
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        if let Ok(Some(status)) = process.child.try_wait() {
            bail!(
                "{} exited ({status}) before {url} answered; see its log",
                process.name
            );
        }
        if start.elapsed() > Duration::from_secs(180) {
            bail!("{url} did not answer within 3 minutes");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn free_base() -> u16 {
    // Twenty-one consecutive ports from here are free in practice; checked for the edge's.
    (43000..60000)
        .step_by(50)
        .find(|&base| {
            (0..=20).all(|offset| std::net::TcpListener::bind(("127.0.0.1", base + offset)).is_ok())
        })
        .unwrap_or(43000)
}

fn with_database(url: &str, database: &str) -> String {
    let mut url = url::Url::parse(url).expect("a database URL");
    url.set_path(&format!("/{database}"));
    url.to_string()
}

async fn recreate_database(server_url: &str, name: &str) -> anyhow::Result<String> {
    let mut conn = PgConnection::connect(server_url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(with_database(server_url, name))
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpus} CPUs ({model})")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let dir = localinfra::workspace_target_dir().join("bench");
    std::fs::create_dir_all(&dir)?;
    let out = args.out.clone().unwrap_or_else(|| dir.join("report.md"));

    println!("==> private Postgres and Redis under {}", dir.display());
    let postgres = PrivatePostgres::new(dir.join("postgres"), 55533)
        .ensure_running_as_owner()
        .await?;
    let redis = PrivateRedis::new(dir.join("redis"), 56480)
        .ensure_running_as_owner()
        .await?;
    let result = run(&args, &dir, &out, &postgres.url, &redis.url).await;
    let _ = redis.stop().await;
    let _ = postgres.stop().await;
    result
}

async fn run(
    args: &Args,
    dir: &Path,
    out: &Path,
    server_url: &str,
    redis_url: &str,
) -> anyhow::Result<()> {
    let database_url = recreate_database(server_url, "tessera_bench").await?;
    let tpcb_url = recreate_database(server_url, "pgbench_tpcb").await?;
    let mut notes = vec![format!("machine: {}", machine())];

    // The broker: tansu as `scripts/run` uses it, or librdkafka's mock cluster in this process.
    let mut _mock = None;
    let mut broker = None;
    let tansu = if args.mock_broker {
        None
    } else {
        localinfra::find_tansu()
    };
    let brokers = match tansu {
        Some(_) => {
            let broker_dir = dir.join("broker");
            let _ = std::fs::remove_dir_all(&broker_dir);
            let handle = PrivateBroker::new(&broker_dir, 59192)
                .ensure_running_as_owner()
                .await?;
            notes.push(
                "broker: a private tansu broker (events on disk), as `scripts/run` starts it"
                    .into(),
            );
            let brokers = Brokers {
                servers: handle.bootstrap_servers.clone(),
                create_topics: true,
            };
            broker = Some(handle);
            brokers
        }
        None => {
            let cluster = events::kafka::mock_cluster()?;
            // The mock cluster has every topic already and no CreateTopics API.
            let brokers = Brokers {
                servers: cluster.bootstrap_servers(),
                create_topics: false,
            };
            _mock = Some(cluster);
            notes.push(if args.mock_broker {
                "broker: librdkafka's mock cluster in the bench process (--mock-broker): the fleet's own limits, without a broker's".into()
            } else {
                "broker: librdkafka's mock cluster in the bench process (tansu is not installed: scripts/run installs it)".into()
            });
            brokers
        }
    };
    let result = measure(
        args,
        dir,
        out,
        &database_url,
        &tpcb_url,
        redis_url,
        &brokers,
        notes,
    )
    .await;
    if let Some(broker) = broker {
        let _ = broker.stop().await;
    }
    result
}

fn limits() -> Vec<(String, String)> {
    [
        // Registering and logging in the bench's members comes from one address.
        ("USER__AUTH_REQUESTS_PER_MINUTE", "1000000"),
        ("USER__ACCESS_TOKEN_TTL_SECS", "7200"),
        ("USER__CLIENT_TOKEN_TTL_SECS", "7200"),
        ("POINT__RATE_LIMIT__MEMBER_PER_MINUTE", "100000000"),
        ("POINT__RATE_LIMIT__PARTNER_PER_MINUTE", "100000000"),
        ("PAYMENT__RATE_LIMIT__MEMBER_PER_MINUTE", "100000000"),
        ("PAYMENT__RATE_LIMIT__PARTNER_PER_MINUTE", "100000000"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Each service as a process of its own, at rest: CPU and RSS.
async fn services_at_rest(
    dir: &Path,
    database_url: &str,
    redis_url: &str,
    brokers: &Brokers,
    pii_key: &str,
    window: Duration,
) -> anyhow::Result<Vec<procstat::Idle>> {
    let http = reqwest::Client::new();
    let base = free_base();
    let port = |offset: u16| (base + offset).to_string();
    let sandbox_url = format!("http://127.0.0.1:{}", port(10));
    let common = vec![
        ("DATABASE_URL".to_owned(), database_url.to_owned()),
        ("REDIS_URL".to_owned(), redis_url.to_owned()),
        ("KAFKA_BROKERS".to_owned(), brokers.servers.clone()),
        (
            "KAFKA_CREATE_TOPICS".to_owned(),
            brokers.create_topics.to_string(),
        ),
        (
            "JWKS_URL".to_owned(),
            format!("http://127.0.0.1:{}/api/v1/auth/jwks.json", port(1)),
        ),
    ];
    let env = |extra: &[(&str, String)]| {
        let mut env = common.clone();
        env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        env
    };
    let specs: Vec<(&str, &str, Vec<&str>, Vec<(String, String)>, String)> = vec![
        (
            "psp-sandbox",
            "psp-sandbox",
            vec![],
            vec![("PSP_SANDBOX_PORT".into(), port(10))],
            format!("{sandbox_url}/health"),
        ),
        (
            "user",
            "user-service",
            vec!["serve"],
            env(&[
                ("USER__PORT", port(1)),
                ("USER__PII_KEY", pii_key.to_owned()),
            ]),
            format!("http://127.0.0.1:{}/health/ready", port(1)),
        ),
        (
            "point",
            "point-service",
            vec!["serve"],
            env(&[("POINT__PORT", port(2))]),
            format!("http://127.0.0.1:{}/health/ready", port(2)),
        ),
        (
            "rewards",
            "rewards-service",
            vec!["serve"],
            env(&[("REWARDS__PORT", port(3))]),
            format!("http://127.0.0.1:{}/health/ready", port(3)),
        ),
        (
            "admin",
            "admin-service",
            vec!["serve"],
            env(&[("ADMIN__PORT", port(4))]),
            format!("http://127.0.0.1:{}/health/ready", port(4)),
        ),
        (
            "payment",
            "payment-service",
            vec!["serve"],
            env(&[
                ("PAYMENT__PORT", port(5)),
                ("PAYMENT__STRIPE__BASE_URL", sandbox_url.clone()),
                ("PAYMENT__PAYPAL__BASE_URL", sandbox_url.clone()),
            ]),
            format!("http://127.0.0.1:{}/health/ready", port(5)),
        ),
    ];
    let mut processes = Vec::new();
    for (name, binary, argv, env, ready) in specs {
        let mut process = Process::spawn(
            name,
            &sibling(binary),
            &argv,
            &env,
            &dir.join(format!("{name}.log")),
        )?;
        wait_ready(&http, &ready, &mut process).await?;
        processes.push(process);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pids: Vec<(String, u32)> = processes
        .iter()
        .map(|p| (format!("{} service (own process)", p.name), p.pid()))
        .collect();
    let idle = procstat::idle(&pids, window).await;
    for process in processes.iter_mut().rev() {
        process.stop();
    }
    Ok(idle)
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    args: &Args,
    dir: &Path,
    out: &Path,
    database_url: &str,
    tpcb_url: &str,
    redis_url: &str,
    brokers: &Brokers,
    mut notes: Vec<String>,
) -> anyhow::Result<()> {
    let pii_key = user_service::domain::PiiCipher::generate_key();
    let mut idle = Vec::new();
    if args.services {
        println!(
            "==> each service as a process of its own, at rest ({} s)",
            args.idle.as_secs()
        );
        match services_at_rest(dir, database_url, redis_url, brokers, &pii_key, args.idle).await {
            Ok(figures) => idle.extend(figures.into_iter().map(|i| (i, "RSS <50 MB"))),
            Err(e) => notes.push(format!(
                "services as processes of their own: not measured ({e:#})"
            )),
        }
    }

    println!("==> the fleet (one process)");
    let base = free_base();
    let mut env = vec![
        ("DATABASE_URL".to_owned(), database_url.to_owned()),
        ("REDIS_URL".to_owned(), redis_url.to_owned()),
        ("KAFKA_BROKERS".to_owned(), brokers.servers.clone()),
        (
            "KAFKA_CREATE_TOPICS".to_owned(),
            brokers.create_topics.to_string(),
        ),
        ("FLEET_PORT_BASE".to_owned(), base.to_string()),
        ("USER__PII_KEY".to_owned(), pii_key.clone()),
    ];
    env.extend(limits());
    let mut fleet = Process::spawn(
        "fleet",
        &sibling("fleet"),
        &[],
        &env,
        &dir.join("fleet.log"),
    )?;
    let url = |offset: u16| format!("http://127.0.0.1:{}", base + offset);
    let targets = Targets {
        user: url(1),
        point: url(2),
        payment: url(5),
        psp_sandbox: url(10),
    };
    let http = reqwest::Client::new();
    for ready in [
        format!("{}/health/ready", targets.user),
        format!("{}/health/ready", targets.point),
        format!("{}/health/ready", url(3)),
        format!("{}/health/ready", url(4)),
        format!("{}/health/ready", targets.payment),
        format!("{}/health", targets.psp_sandbox),
    ] {
        wait_ready(&http, &ready, &mut fleet).await?;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    println!("==> the fleet at rest ({} s)", args.idle.as_secs());
    let fleet_idle = procstat::idle(
        &[("fleet, all services in one process".into(), fleet.pid())],
        args.idle,
    )
    .await;
    idle.extend(fleet_idle.into_iter().map(|i| (i, "CPU <2% of a core")));

    let bare_port = localinfra::free_port();
    let mut bare = Process::spawn(
        "bare-balance",
        &sibling("bare-balance"),
        &[&bare_port.to_string(), "2"],
        &[],
        &dir.join("bare-balance.log"),
    )?;
    let bare_url = format!("http://127.0.0.1:{bare_port}");
    wait_ready(
        &http,
        &format!("{bare_url}/api/v1/points/{}/balance", uuid::Uuid::nil()),
        &mut bare,
    )
    .await?;

    let api = Api::new(targets, args.options.connections)?;
    let admin = api
        .login("admin@example.com", "demo-admin-password")
        .await?;
    println!(
        "==> registering {} members, {} purchases for one",
        args.members, args.history
    );
    let setup = loadtest::scenarios::setup(&api, &admin, args.members, args.history).await?;

    let points_schema = "points".to_owned();
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect(database_url)
        .await?;
    let pg = loadtest::pgbench::find().map(|pgbench| PgBaseline {
        pgbench,
        tpcb: loadtest::pgbench::Target::from_url(tpcb_url).expect("URL"),
        fleet: loadtest::pgbench::Target::from_url(database_url).expect("URL"),
        scratch: dir.join("pgbench"),
    });
    println!(
        "==> scenarios: {} conns, {} s each after {} s warm-up",
        args.options.connections,
        args.options.duration.as_secs(),
        args.options.warmup.as_secs()
    );
    let db = Database {
        pool,
        points_schema,
        brokers: brokers.servers.clone(),
    };
    let mut report = suite::run(&api, &setup, &args.options, &bare_url, pg, &db).await;
    fleet.stop();
    bare.stop();

    report.title = format!(
        "Tessera bench, {}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    notes.extend([
        format!("build: {}", if cfg!(debug_assertions) { "debug (figures are not representative)" } else { "release" }),
        "the fleet runs every service in one process with 2 HTTP workers each; the bare actix-web baseline runs as a process of its own with 2 workers".into(),
        "requests go straight to each service (as Kong routes them), not through the development edge".into(),
        format!("a member with history has {} purchases, recorded through the POS API before the run", args.history),
        "pgbench runs on the fleet's Postgres with as many clients as the scenarios have connections; the earn's SQL is replayed in a copy of the point schema's tables (loadtest/sql/earn.pgbench)".into(),
        "charge -> points: from the payment service's answer (charge succeeded) until the earn is in the point service's ledger, which the history endpoint reads; the ledger is asked every 5 ms for the charges still awaited (by its unique index)".into(),
        "point consumer: the backlog is written straight to the charge.succeeded topic as the payment service's relay writes it, while the consumer runs; events a second from the first write to the last inbox row, latency from each write to its inbox row".into(),
        "at rest: CPU over the window after start-up settled; RSS at its end. Per-service figures come from each service's own binary on the same infrastructure; the fleet row is the whole one-process fleet".into(),
    ]);
    report.notes = notes;
    report.idle = idle;
    let markdown = report.markdown();
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(out, &markdown)?;
    println!("\n{markdown}\nWritten to {}", out.display());
    Ok(())
}
