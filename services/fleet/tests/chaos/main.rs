//! Crash tests: the user, point and payment services each run as a process of their own (the
//! binaries `scripts/test` builds) on a real broker (tansu, also a process) and Postgres. Under
//! a steady load of charges, each service and the broker are killed with `kill -9` in turn and
//! restarted; then every succeeded charge must have earned its points exactly once, every
//! balance must equal its ledger entries, the ledger must balance, every outbox must be drained
//! and no event may sit in a dead-letter topic.

use localinfra::{free_port, PrivateBroker};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use sqlx::PgPool;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::TestInfra;
use uuid::Uuid;

const MEMBERS: usize = 8;
/// Paced so the load lasts through every kill and restart below.
const CHARGES_PER_MEMBER: usize = 50;
const PACE: Duration = Duration::from_millis(250);
const PASSWORD: &str = "a long enough password";

/// Where cargo put the service binaries: beside this test's own `deps/` folder.
fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in <target>/<profile>/deps");
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: scripts/test builds the service binaries (cargo build --workspace --bins)",
        path.display()
    );
    path
}

/// One service binary, started and killed like a deployment's process.
struct ServiceProcess {
    name: &'static str,
    port: u16,
    env: Vec<(String, String)>,
    child: Option<Child>,
    log: PathBuf,
}

impl ServiceProcess {
    fn new(
        name: &'static str,
        env: Vec<(String, String)>,
        port: u16,
        logs: &std::path::Path,
    ) -> Self {
        Self {
            name,
            port,
            env,
            child: None,
            log: logs.join(format!("{name}.log")),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(binary(&format!("{}-service", self.name)))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .envs(self.env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting the {} service: {e}", self.name));
        self.child = Some(child);
    }

    /// `kill -9`: no drain, no final commit.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Waits until `/health/ready` answers 200; returns how long that took.
    async fn ready(&self, http: &reqwest::Client) -> Duration {
        let started = Instant::now();
        loop {
            let ready = http
                .get(format!("{}/health/ready", self.url()))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ready {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the {} service is not ready after a minute; see {}",
                self.name,
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

#[derive(Default)]
struct Figures {
    requests: AtomicU64,
    retries: AtomicU64,
    replays: AtomicU64,
    /// Keys whose first request died with the payment service after claiming the key: they
    /// answer 409 until the key expires (a known gap, see docs/decisions.md); the client finds
    /// the charge in the member's charge list instead.
    stranded_keys: AtomicU64,
}

/// Charges for one member, each retried with its key until the service gives a final answer.
async fn pay(
    http: reqwest::Client,
    payment: String,
    token: String,
    member: usize,
    figures: Arc<Figures>,
) -> Vec<(String, i64)> {
    let mut keys = Vec::new();
    for n in 0..CHARGES_PER_MEMBER {
        let key = format!("chaos-{member}-{n}");
        // Small amounts keep every member in the first tier, so each charge earns one point per
        // whole AUD and the expected total is known.
        let amount = 100 + 10 * i64::try_from(n).unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut in_flight_since: Option<Instant> = None;
        loop {
            figures.requests.fetch_add(1, Ordering::Relaxed);
            let answer = http
                .post(format!("{payment}/api/v1/payments/charges"))
                .bearer_auth(&token)
                .header("Idempotency-Key", &key)
                .json(
                    &json!({"amount": amount, "currency": "AUD", "payment_method": "pm_card_visa"}),
                )
                .timeout(Duration::from_secs(15))
                .send()
                .await;
            match answer {
                Ok(r) if r.status() == 201 || r.status() == 202 => {
                    if r.headers().contains_key("idempotent-replayed") {
                        figures.replays.fetch_add(1, Ordering::Relaxed);
                    }
                    break;
                }
                Ok(r) if r.status() == 409 => {
                    let since = *in_flight_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > Duration::from_secs(10) {
                        figures.stranded_keys.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    figures.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                // Down or restarting: the client retries with the same key, as a real client
                // would.
                _ => {
                    figures.retries.fetch_add(1, Ordering::Relaxed);
                    assert!(
                        Instant::now() < deadline,
                        "charge {key} never got an answer"
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        keys.push((key, amount));
        tokio::time::sleep(PACE).await;
    }
    keys
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nothing_is_lost_or_doubled_when_services_and_the_broker_are_killed() {
    let infra = TestInfra::start().await.unwrap();
    let scratch = localinfra::workspace_target_dir()
        .join("chaos")
        .join(Uuid::now_v7().to_string());
    std::fs::create_dir_all(&scratch).unwrap();
    let broker = PrivateBroker::new(scratch.join("broker"), free_port());
    let mut broker_handle = Some(broker.ensure_running_as_owner().await.unwrap());
    let bootstrap = broker_handle.as_ref().unwrap().bootstrap_servers.clone();

    // The PSP plays its part from this process: it is not under test and survives the kills.
    let sandbox = psp_sandbox::Sandbox::build(
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
        psp_sandbox::SandboxConfig::default(),
    )
    .unwrap();
    let sandbox_url = sandbox.base_url();
    tokio::spawn(sandbox.run_until_stopped());

    let (user_port, point_port, payment_port) = (free_port(), free_port(), free_port());
    let common = |extra: &[(&str, String)]| {
        let mut env = vec![
            (
                "DATABASE_URL".to_owned(),
                infra.database_url.expose_secret().to_owned(),
            ),
            (
                "REDIS_URL".to_owned(),
                infra.redis_url.expose_secret().to_owned(),
            ),
            ("KAFKA_BROKERS".to_owned(), bootstrap.clone()),
            // As a pod name would be: the restarted process is the same group member.
            ("KAFKA_GROUP_INSTANCE_ID".to_owned(), "chaos-1".to_owned()),
            (
                "JWKS_URL".to_owned(),
                format!("http://127.0.0.1:{user_port}/api/v1/auth/jwks.json"),
            ),
        ];
        env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        env
    };
    let pii_key = user_service::domain::PiiCipher::generate_key();
    let mut user = ServiceProcess::new(
        "user",
        common(&[
            ("USER__PORT", user_port.to_string()),
            ("USER__PII_KEY", pii_key),
            ("USER__AUTH_REQUESTS_PER_MINUTE", "100000".into()),
        ]),
        user_port,
        &scratch,
    );
    let mut point = ServiceProcess::new(
        "point",
        common(&[
            ("POINT__PORT", point_port.to_string()),
            ("POINT__RATE_LIMIT__MEMBER_PER_MINUTE", "100000".into()),
        ]),
        point_port,
        &scratch,
    );
    let mut payment = ServiceProcess::new(
        "payment",
        common(&[
            ("PAYMENT__PORT", payment_port.to_string()),
            ("PAYMENT__STRIPE__BASE_URL", sandbox_url.clone()),
            ("PAYMENT__PAYPAL__BASE_URL", sandbox_url.clone()),
            ("PAYMENT__RATE_LIMIT__MEMBER_PER_MINUTE", "100000".into()),
            ("PAYMENT__JOBS__BACKOFF_BASE_MS", "200".into()),
            ("PAYMENT__JOBS__POLL_MS", "200".into()),
            ("PAYMENT__JOBS__LEASE_SECS", "5".into()),
        ]),
        payment_port,
        &scratch,
    );
    let http = reqwest::Client::new();
    user.start();
    user.ready(&http).await;
    point.start();
    payment.start();
    point.ready(&http).await;
    payment.ready(&http).await;

    // Members, registered and signed in through the user service.
    let mut tokens = Vec::new();
    for n in 0..MEMBERS {
        let email = format!("chaos-{n}-{}@example.com", Uuid::now_v7().simple());
        let registered = http
            .post(format!("{}/api/v1/auth/register", user.url()))
            .json(&json!({"email": email, "password": PASSWORD, "first_name": "Ada", "last_name": "Lovelace"}))
            .send()
            .await
            .unwrap();
        assert_eq!(registered.status(), 201);
        let login: Value = http
            .post(format!("{}/api/v1/auth/login", user.url()))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens.push(login["access_token"].as_str().unwrap().to_owned());
    }

    let figures = Arc::new(Figures::default());
    let load: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(n, token)| {
            tokio::spawn(pay(
                http.clone(),
                payment.url(),
                token.clone(),
                n,
                figures.clone(),
            ))
        })
        .collect();

    // Under that load, kill each part in turn and bring it back.
    let mut recoveries = BTreeMap::new();
    let pause = Duration::from_millis(700);
    tokio::time::sleep(pause).await;
    for victim in ["point", "payment", "broker", "user", "payment"] {
        let killed_at = Instant::now();
        match victim {
            "point" => point.kill(),
            "payment" => payment.kill(),
            "user" => user.kill(),
            _ => {
                // The broker dies hard; its handle must not stop it politely.
                std::mem::forget(broker_handle.take());
                let pid = std::fs::read_to_string(scratch.join("broker/tansu.pid")).unwrap();
                assert!(Command::new("kill")
                    .args(["-9", pid.trim()])
                    .status()
                    .unwrap()
                    .success());
            }
        }
        tokio::time::sleep(pause).await;
        match victim {
            "point" => point.start(),
            "payment" => payment.start(),
            "user" => user.start(),
            _ => broker_handle = Some(broker.ensure_running_as_owner().await.unwrap()),
        }
        match victim {
            "point" => point.ready(&http).await,
            "payment" => payment.ready(&http).await,
            "user" => user.ready(&http).await,
            _ => Duration::ZERO,
        };
        recoveries.insert(
            format!("{victim} #{}", recoveries.len() + 1),
            killed_at.elapsed(),
        );
        tokio::time::sleep(pause).await;
    }
    let mut sent = Vec::new();
    for member in load {
        sent.extend(member.await.unwrap());
    }

    // Quiescence: every charge settled at the PSP's word, every succeeded one earned.
    let payments = infra.pool("payments").await.unwrap();
    let points = infra.pool("points").await.unwrap();
    let settled_by = Instant::now() + Duration::from_secs(90);
    loop {
        let open = count(
            &payments,
            "SELECT count(*) FROM charges WHERE status NOT IN ('succeeded', 'failed')",
        )
        .await;
        let succeeded = count(
            &payments,
            "SELECT count(*) FROM charges WHERE status = 'succeeded'",
        )
        .await;
        let earned = count(
            &points,
            "SELECT count(*) FROM point_transactions WHERE source = 'charge' AND kind = 'earn'",
        )
        .await;
        if open == 0 && earned == succeeded {
            break;
        }
        assert!(
            Instant::now() < settled_by,
            "not settled: {open} charges open, {succeeded} succeeded, {earned} earned"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Invariants.
    let charges = count(&payments, "SELECT count(*) FROM charges").await;
    let keys = i64::try_from(sent.len()).unwrap();
    let stranded = i64::try_from(figures.stranded_keys.load(Ordering::Relaxed)).unwrap();
    assert!(
        charges <= keys && charges >= keys - stranded,
        "one charge per idempotency key, none doubled: {charges} charges for {keys} keys"
    );
    let succeeded = count(
        &payments,
        "SELECT count(*) FROM charges WHERE status = 'succeeded'",
    )
    .await;
    assert_eq!(succeeded, charges, "the test card always succeeds");
    let unearned = count(
        &points,
        "SELECT count(*) FROM payments.charges c WHERE c.status = 'succeeded' AND NOT EXISTS (
             SELECT 1 FROM point_transactions t
              WHERE t.source = 'charge' AND t.kind = 'earn' AND t.reference_id = c.id::text)",
    )
    .await;
    assert_eq!(unearned, 0, "every succeeded charge earned its points");
    let expected_points = count(
        &payments,
        "SELECT COALESCE(sum(amount / 100), 0)::bigint FROM charges WHERE status = 'succeeded'",
    )
    .await;
    let total_points = count(
        &points,
        "SELECT COALESCE(sum(points), 0)::bigint FROM point_transactions WHERE source = 'charge'",
    )
    .await;
    assert_eq!(
        total_points, expected_points,
        "one point per whole AUD, once"
    );
    let off_balance = count(
        &points,
        "SELECT count(*) FROM accounts a WHERE a.balance <> (
             SELECT COALESCE(sum(e.amount), 0) FROM ledger_entries e WHERE e.member_id = a.member_id)",
    )
    .await;
    assert_eq!(off_balance, 0, "every balance equals its ledger entries");
    assert_eq!(
        count(
            &points,
            "SELECT COALESCE(sum(amount), 0)::bigint FROM ledger_entries"
        )
        .await,
        0,
        "both legs of the ledger balance"
    );
    for (schema, pool) in [("payments", &payments), ("points", &points)] {
        let drained_by = Instant::now() + Duration::from_secs(30);
        loop {
            let pending = count(
                pool,
                "SELECT count(*) FROM outbox WHERE published_at IS NULL",
            )
            .await;
            if pending == 0 {
                break;
            }
            assert!(
                Instant::now() < drained_by,
                "{pending} events stuck in the {schema} outbox"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let brokers = broker_handle.as_ref().unwrap().bootstrap_servers.clone();
    let dead = tokio::task::spawn_blocking(move || {
        testkit::read_topic(
            &brokers,
            "charge.succeeded.dlq.point",
            1,
            Duration::from_secs(3),
        )
    })
    .await
    .unwrap()
    .unwrap_or_default();
    assert!(dead.is_empty(), "{} events dead-lettered", dead.len());
    let applied_events = count(
        &points,
        "SELECT count(*) FROM inbox WHERE topic = 'charge.succeeded'",
    )
    .await;
    assert_eq!(
        applied_events, succeeded,
        "each charge.succeeded applied once"
    );

    println!(
        "crash run: {} charges over {} members; {} requests ({} retried while a part was down, \
         {} answered from the idempotency store, {} keys stranded in flight by a crash); {} \
         charge.succeeded events applied once each, 0 lost, 0 doubled; {} points earned; \
         recovery (kill to ready): {}",
        charges,
        MEMBERS,
        figures.requests.load(Ordering::Relaxed),
        figures.retries.load(Ordering::Relaxed),
        figures.replays.load(Ordering::Relaxed),
        stranded,
        applied_events,
        total_points,
        recoveries
            .iter()
            .map(|(part, took)| format!("{part} {} ms", took.as_millis()))
            .collect::<Vec<_>>()
            .join(", ")
    );

    payment.kill();
    point.kill();
    user.kill();
    if let Some(handle) = broker_handle {
        handle.stop().await.unwrap();
    }
    std::fs::remove_dir_all(&scratch).ok();
}
