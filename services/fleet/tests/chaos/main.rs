//! Crash tests: the user, point, payment, rewards and admin services each run as a process of
//! their own (the binaries `scripts/test` builds) on a real broker (tansu, also a process) and a
//! private Postgres cluster of this test's own. Under a steady load of charges and redemptions,
//! each service, the broker and Postgres are killed with `kill -9` in turn and restarted; then
//! every succeeded charge must have earned its points exactly once, the admin read model must
//! count each charge and earn once, every balance must equal its ledger entries and none be
//! negative, the ledger must balance, every outbox must be drained and no event may sit in a
//! dead-letter topic.

use localinfra::{free_port, PrivateBroker};
use serde_json::{json, Value};
use sqlx::PgPool;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

const MEMBERS: usize = 8;
/// Each member pays, then pauses, until every part has been killed and restarted.
const PACE: Duration = Duration::from_millis(250);
/// After every this many charges, a member redeems a point.
const REDEEM_EVERY: usize = 4;
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
    /// The stranded writes themselves (key and request), sent again once their claims' lease
    /// has run out.
    stranded: std::sync::Mutex<Vec<(String, reqwest::RequestBuilder)>>,
    /// Why requests were retried: a status code, or `unreachable`.
    retry_reasons: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
    redeemed: AtomicU64,
    /// Redemptions refused for want of points (the member's earns had not arrived yet).
    redemptions_refused: AtomicU64,
}

/// How a write with an idempotency key ended, as its client saw it.
enum Final {
    Done,
    /// 422, with the problem's `type`.
    Refused(String),
    Stranded,
}

/// Sends one write until it gets a final answer, retrying with the same key while a part is down
/// or restarting, as a real client would.
async fn until_final(
    figures: &Figures,
    request: impl Fn() -> reqwest::RequestBuilder,
    what: &str,
) -> Final {
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut in_flight_since: Option<Instant> = None;
    loop {
        figures.requests.fetch_add(1, Ordering::Relaxed);
        let answer = request().timeout(Duration::from_secs(15)).send().await;
        match answer {
            Ok(r) if r.status() == 200 || r.status() == 201 || r.status() == 202 => {
                if r.headers().contains_key("idempotent-replayed") {
                    figures.replays.fetch_add(1, Ordering::Relaxed);
                }
                return Final::Done;
            }
            // 404: a member whose account the point service has not opened yet (its events are
            // on their way); a refusal like 422, not a part that is down.
            Ok(r) if r.status() == 422 || r.status() == 404 => {
                let problem: Value = r.json().await.unwrap_or_default();
                return Final::Refused(problem["type"].as_str().unwrap_or_default().to_owned());
            }
            Ok(r) if r.status() == 409 => {
                // In flight, or stranded by a crash until its claim's lease runs out.
                let since = *in_flight_since.get_or_insert_with(Instant::now);
                if since.elapsed() > STRANDED_AFTER {
                    figures
                        .stranded
                        .lock()
                        .unwrap()
                        .push((what.to_owned(), request()));
                    return Final::Stranded;
                }
                figures.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => {
                let reason = match other {
                    Ok(r) => r.status().as_u16().to_string(),
                    Err(_) => "unreachable".to_owned(),
                };
                *figures
                    .retry_reasons
                    .lock()
                    .unwrap()
                    .entry(reason)
                    .or_default() += 1;
                figures.retries.fetch_add(1, Ordering::Relaxed);
                assert!(Instant::now() < deadline, "{what} never got an answer");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// How long a client waits out 409 answers before it calls its key stranded.
const STRANDED_AFTER: Duration = Duration::from_secs(10);

struct Paying {
    http: reqwest::Client,
    payment: String,
    point: String,
    token: String,
    member_id: String,
    member: usize,
}

impl Paying {
    /// A card charge of `amount` cents with the idempotency key `key`.
    fn charge(&self, key: &str, amount: i64) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/api/v1/payments/charges", self.payment))
            .bearer_auth(&self.token)
            .header("Idempotency-Key", key)
            .json(&json!({"amount": amount, "currency": "AUD", "payment_method": "pm_card_visa"}))
    }
}

/// Charges for one member until `stop`, each retried with its key until the service gives a
/// final answer; every few charges, a redemption of one point.
async fn pay(member: Paying, stop: Arc<AtomicBool>, figures: Arc<Figures>) -> Vec<(String, i64)> {
    let mut keys = Vec::new();
    let mut n = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let key = format!("chaos-{}-{n}", member.member);
        // Small amounts keep every member in the first tier, so each charge earns one point per
        // whole AUD and the expected total is known.
        let amount = 100 + 10 * i64::try_from(n % 50).unwrap();
        let outcome = until_final(&figures, || member.charge(&key, amount), &key).await;
        if let Final::Refused(problem) = outcome {
            panic!("charge {key} refused: {problem}");
        }
        keys.push((key, amount));
        if n % REDEEM_EVERY == REDEEM_EVERY - 1 {
            let key = format!("chaos-redeem-{}-{n}", member.member);
            let outcome = until_final(
                &figures,
                || {
                    member
                        .http
                        .post(format!(
                            "{}/api/v1/points/{}/redeem",
                            member.point, member.member_id
                        ))
                        .bearer_auth(&member.token)
                        .header("Idempotency-Key", &key)
                        .json(&json!({"points": 1, "reference_id": key}))
                },
                &key,
            )
            .await;
            match outcome {
                Final::Done => figures.redeemed.fetch_add(1, Ordering::Relaxed),
                // The member's earns (or their account) may not have arrived yet: the one
                // refusal that may happen.
                Final::Refused(problem)
                    if problem.ends_with(":insufficient-points")
                        || problem.ends_with(":not-found") =>
                {
                    figures.redemptions_refused.fetch_add(1, Ordering::Relaxed)
                }
                Final::Refused(problem) => panic!("redemption {key} refused: {problem}"),
                Final::Stranded => 0,
            };
        }
        n += 1;
        tokio::time::sleep(PACE).await;
    }
    keys
}

/// A first charge of 10 AUD, and the wait until its 10 points are there. Returns its key and
/// amount.
async fn warm_up(member: &Paying, figures: &Figures) -> (String, i64) {
    let key = format!("chaos-warm-up-{}", member.member);
    let amount = 1000;
    let outcome = until_final(figures, || member.charge(&key, amount), &key).await;
    assert!(
        matches!(outcome, Final::Done),
        "the warm-up charge {key} failed"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let balance: Value = member
            .http
            .get(format!(
                "{}/api/v1/points/{}/balance",
                member.point, member.member_id
            ))
            .bearer_auth(&member.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap_or_default();
        if balance["total_points"].as_i64() >= Some(10) {
            return (key, amount);
        }
        assert!(
            Instant::now() < deadline,
            "the warm-up points never arrived: {balance}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// `kill -9` of the whole cluster, as a crash of its machine would: the postmaster and every
/// backend at once, no checkpoint. The restart replays the write-ahead log.
fn crash_postgres(data_dir: &std::path::Path) {
    let pid_file = std::fs::read_to_string(data_dir.join("postmaster.pid")).unwrap();
    let postmaster = pid_file.lines().next().unwrap().trim().to_owned();
    let _ = Command::new("pkill")
        .args(["-9", "-P", &postmaster])
        .status();
    assert!(Command::new("kill")
        .args(["-9", &postmaster])
        .status()
        .unwrap()
        .success());
    // Wait for it to die. Where no init process reaps orphans (some containers), it stays a
    // zombie, which `pg_ctl status` and Postgres's own lock-file checks take for a live server:
    // its lock files then go, as an operator would remove them once the process is dead.
    let stat = format!("/proc/{postmaster}/stat");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match std::fs::read_to_string(&stat) {
            Err(_) => return,
            Ok(line)
                if line
                    .rsplit(')')
                    .next()
                    .is_some_and(|rest| rest.trim_start().starts_with('Z')) =>
            {
                let _ = std::fs::remove_file(data_dir.join("postmaster.pid"));
                for entry in std::fs::read_dir(data_dir).unwrap().flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if name.starts_with(".s.PGSQL.") && name.ends_with(".lock") {
                        let _ = std::fs::remove_file(entry.path());
                    }
                }
                return;
            }
            Ok(_) => {
                assert!(Instant::now() < deadline, "Postgres survived kill -9");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Whatever happens to the test (a failed assertion too), its Postgres and broker go with it.
struct Scratch {
    dir: PathBuf,
    /// The cluster's data directory (as root it may lie outside `dir`).
    pg_data: Option<PathBuf>,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let pg_data = self.pg_data.clone().unwrap_or_else(|| self.dir.join("pg"));
        for pid_file in [
            pg_data.join("postmaster.pid"),
            self.dir.join("broker/tansu.pid"),
        ] {
            if let Some(pid) = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|text| text.lines().next().map(|l| l.trim().to_owned()))
            {
                let _ = Command::new("kill").args(["-9", &pid]).status();
            }
        }
        if std::thread::panicking() {
            // The services' logs stay for whoever reads the failure.
            eprintln!("crash test: logs kept in {}", self.dir.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&pg_data);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nothing_is_lost_or_doubled_when_services_the_broker_and_postgres_are_killed() {
    let scratch = localinfra::workspace_target_dir()
        .join("chaos")
        .join(Uuid::now_v7().to_string());
    std::fs::create_dir_all(&scratch).unwrap();
    let mut cleanup = Scratch {
        dir: scratch.clone(),
        pg_data: None,
    };
    let postgres = localinfra::PrivatePostgres::new(scratch.join("pg"), free_port());
    let mut postgres_handle = postgres.ensure_running_as_owner().await.unwrap();
    let pg_data = postgres_handle
        .data_dir()
        .expect("a cluster of this test's own")
        .to_path_buf();
    cleanup.pg_data = Some(pg_data.clone());
    let database_url = postgres_handle.url.clone();
    let redis_url = testkit::redis_server().await.unwrap();
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

    let user_port = free_port();
    let common = |extra: &[(&str, String)]| {
        let mut env = vec![
            ("DATABASE_URL".to_owned(), database_url.clone()),
            ("REDIS_URL".to_owned(), redis_url.clone()),
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
    let point_port = free_port();
    let mut point = ServiceProcess::new(
        "point",
        common(&[
            ("POINT__PORT", point_port.to_string()),
            ("POINT__RATE_LIMIT__MEMBER_PER_MINUTE", "100000".into()),
        ]),
        point_port,
        &scratch,
    );
    let payment_port = free_port();
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
    let rewards_port = free_port();
    let mut rewards = ServiceProcess::new(
        "rewards",
        common(&[("REWARDS__PORT", rewards_port.to_string())]),
        rewards_port,
        &scratch,
    );
    let admin_port = free_port();
    let mut admin = ServiceProcess::new(
        "admin",
        common(&[("ADMIN__PORT", admin_port.to_string())]),
        admin_port,
        &scratch,
    );
    let http = reqwest::Client::new();
    user.start();
    user.ready(&http).await;
    for service in [&mut point, &mut payment, &mut rewards, &mut admin] {
        service.start();
    }
    for service in [&point, &payment, &rewards, &admin] {
        service.ready(&http).await;
    }

    // Members, registered and signed in through the user service.
    let mut members = Vec::new();
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
        let token = login["access_token"].as_str().unwrap().to_owned();
        let me: Value = http
            .get(format!("{}/api/v1/users/me", user.url()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        members.push(Paying {
            http: http.clone(),
            payment: payment.url(),
            point: point.url(),
            token,
            member_id: me["id"].as_str().unwrap().to_owned(),
            member: n,
        });
    }

    let figures = Arc::new(Figures::default());
    // Every member starts with points to redeem, and every consumer has joined its group, before
    // anything is killed.
    let mut warm_up_keys = Vec::new();
    for member in &members {
        warm_up_keys.push(warm_up(member, &figures).await);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = members
        .into_iter()
        .map(|member| tokio::spawn(pay(member, stop.clone(), figures.clone())))
        .collect();

    // Under that load, kill each part in turn and bring it back.
    let mut recoveries = Vec::new();
    let pause = Duration::from_millis(700);
    tokio::time::sleep(pause).await;
    let victims = [
        "point", "payment", "broker", "user", "admin", "rewards", "postgres", "payment",
    ];
    for victim in victims {
        let killed_at = Instant::now();
        match victim {
            "point" => point.kill(),
            "payment" => payment.kill(),
            "user" => user.kill(),
            "admin" => admin.kill(),
            "rewards" => rewards.kill(),
            "postgres" => crash_postgres(&pg_data),
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
            "admin" => admin.start(),
            "rewards" => rewards.start(),
            "postgres" => {
                postgres_handle = postgres.ensure_running_as_owner().await.unwrap();
            }
            _ => broker_handle = Some(broker.ensure_running_as_owner().await.unwrap()),
        }
        // Recovered when the parts that were hit answer ready again; after a Postgres crash,
        // that is every service.
        match victim {
            "point" => point.ready(&http).await,
            "payment" => payment.ready(&http).await,
            "user" => user.ready(&http).await,
            "admin" => admin.ready(&http).await,
            "rewards" => rewards.ready(&http).await,
            "postgres" => {
                for service in [&user, &point, &payment, &rewards, &admin] {
                    service.ready(&http).await;
                }
                Duration::ZERO
            }
            _ => Duration::ZERO,
        };
        recoveries.push((victim, killed_at.elapsed()));
        tokio::time::sleep(pause).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut sent = warm_up_keys;
    for member in load {
        sent.extend(member.await.unwrap());
    }
    let recovered_at = Instant::now();

    // A write whose first request died with its service after claiming the key answers 409
    // until the claim's lease (`platform::idempotency::IN_FLIGHT_LEASE_SECS`) runs out; then a
    // retry takes the key over and finishes the work once. The test moves those claims past
    // the lease instead of waiting two minutes, and the clients retry.
    let stranded = std::mem::take(&mut *figures.stranded.lock().unwrap());
    if !stranded.is_empty() {
        let secret_url = secrecy::SecretString::from(database_url.clone());
        for schema in ["payments", "points"] {
            let pool = platform::db::connect(&secret_url, schema, 1).await.unwrap();
            sqlx::query(
                "UPDATE idempotency_keys SET created_at = created_at - interval '10 minutes'
                  WHERE response_status IS NULL",
            )
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
        }
    }
    for (key, request) in &stranded {
        let outcome = until_final(&figures, || request.try_clone().unwrap(), key).await;
        assert!(
            matches!(outcome, Final::Done),
            "the stranded write {key} did not finish after its lease"
        );
        if key.starts_with("chaos-redeem-") {
            figures.redeemed.fetch_add(1, Ordering::Relaxed);
        }
    }

    // Quiescence: every charge settled at the PSP's word, every succeeded one earned and seen by
    // the back office.
    let secret_url = secrecy::SecretString::from(database_url.clone());
    let pool = |schema: &'static str| platform::db::connect(&secret_url, schema, 2);
    let payments = pool("payments").await.unwrap();
    let points = pool("points").await.unwrap();
    let back_office = pool("admin").await.unwrap();
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
        let seen = count(
            &back_office,
            "SELECT COALESCE(sum(charges_succeeded), 0)::bigint FROM member_activity",
        )
        .await;
        let points_earned = count(
            &points,
            "SELECT COALESCE(sum(points), 0)::bigint FROM point_transactions WHERE kind = 'earn'",
        )
        .await;
        let points_seen = count(
            &back_office,
            "SELECT COALESCE(sum(points_earned_total), 0)::bigint FROM member_activity",
        )
        .await;
        if open == 0 && earned == succeeded && seen == succeeded && points_seen == points_earned {
            break;
        }
        assert!(
            Instant::now() < settled_by,
            "not settled: {open} charges open, {succeeded} succeeded, {earned} earned, {seen} seen \
             by the back office; {points_earned} points earned, {points_seen} seen by the back office"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let settled_after = recovered_at.elapsed();

    // Invariants.
    let charges = count(&payments, "SELECT count(*) FROM charges").await;
    let keys = i64::try_from(sent.len()).unwrap();
    let stranded = i64::try_from(stranded.len()).unwrap();
    assert_eq!(
        charges, keys,
        "one charge per idempotency key, none lost, none doubled"
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
    // How long a charge's points took to arrive, crashes included (milliseconds: p50, p99, max).
    let (lag_p50, lag_p99, lag_max): (f64, f64, f64) = sqlx::query_as(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag), \
                percentile_cont(0.99) WITHIN GROUP (ORDER BY lag), max(lag) \
           FROM (SELECT (extract(epoch FROM p.created_at - t.created_at) * 1000)::float8 AS lag \
                   FROM points.point_transactions p \
                   JOIN payments.charge_transitions t \
                     ON t.charge_id::text = p.reference_id AND t.to_status = 'succeeded' \
                  WHERE p.source = 'charge') lags",
    )
    .fetch_one(&points)
    .await
    .unwrap();
    let off_balance = count(
        &points,
        "SELECT count(*) FROM accounts a WHERE a.balance <> (
             SELECT COALESCE(sum(e.amount), 0) FROM ledger_entries e WHERE e.member_id = a.member_id)",
    )
    .await;
    assert_eq!(off_balance, 0, "every balance equals its ledger entries");
    assert_eq!(
        count(&points, "SELECT count(*) FROM accounts WHERE balance < 0").await,
        0,
        "no balance below zero"
    );
    assert_eq!(
        count(
            &points,
            "SELECT COALESCE(sum(amount), 0)::bigint FROM ledger_entries"
        )
        .await,
        0,
        "both legs of the ledger balance"
    );
    let redeemed = i64::try_from(figures.redeemed.load(Ordering::Relaxed)).unwrap();
    let captured = count(
        &points,
        "SELECT count(*) FROM holds WHERE status = 'captured'",
    )
    .await;
    assert_eq!(captured, redeemed, "each redemption captured once");
    assert_eq!(
        count(
            &back_office,
            "SELECT COALESCE(sum(points_earned_total), 0)::bigint FROM member_activity"
        )
        .await,
        total_points,
        "the back office counts each earn once"
    );
    for (schema, pool) in [
        ("payments", &payments),
        ("points", &points),
        ("admin", &back_office),
    ] {
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
        let mut dead = Vec::new();
        for topic in [
            "charge.succeeded.dlq.point",
            "charge.succeeded.dlq.admin",
            "points.earned.dlq.admin",
        ] {
            dead.extend(
                testkit::read_topic(&brokers, topic, 1, Duration::from_secs(2)).unwrap_or_default(),
            );
        }
        dead
    })
    .await
    .unwrap();
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
        "crash run: killed {} parts in turn ({}); {} charges and {} redemptions ({} refused for \
         want of points) over {} members; {} requests ({} retried while a part was down: {}; {} \
         answered from the idempotency store, {} keys stranded in flight by a crash and finished \
         after their lease); {} \
         charge.succeeded events applied once each, 0 lost, 0 doubled; {} points earned; \
         charge to points p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; recovery (kill to ready): {}; \
         settled {} ms after the load ended",
        victims.len(),
        victims.join(", "),
        charges,
        redeemed,
        figures.redemptions_refused.load(Ordering::Relaxed),
        MEMBERS,
        figures.requests.load(Ordering::Relaxed),
        figures.retries.load(Ordering::Relaxed),
        figures
            .retry_reasons
            .lock()
            .unwrap()
            .iter()
            .map(|(reason, n)| format!("{reason} x{n}"))
            .collect::<Vec<_>>()
            .join(", "),
        figures.replays.load(Ordering::Relaxed),
        stranded,
        applied_events,
        total_points,
        lag_p50,
        lag_p99,
        lag_max,
        recoveries
            .iter()
            .map(|(part, took)| format!("{part} {} ms", took.as_millis()))
            .collect::<Vec<_>>()
            .join(", "),
        settled_after.as_millis()
    );

    for service in [
        &mut payment,
        &mut point,
        &mut rewards,
        &mut admin,
        &mut user,
    ] {
        service.kill();
    }
    if let Some(handle) = broker_handle {
        handle.stop().await.unwrap();
    }
    postgres_handle.stop().await.unwrap();
}
