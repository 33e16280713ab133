//! The harness keeps working: every scenario runs for seconds at a low rate against the fleet
//! in process (a fresh database, the mock broker) and produces figures with no errors. The
//! figures themselves are benchmarks (`loadtest/bench`), never asserted here.

use fleet::{Fleet, FleetConfig, Ports};
use loadtest::api::{Api, Targets};
use loadtest::suite::{self, Database, Options, PgBaseline};
use std::time::Duration;
use testkit::TestInfra;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_scenario_runs_without_errors() {
    // As `loadtest/bench` configures the fleet: the members it registers come from one address.
    for (key, value) in [
        ("USER__AUTH_REQUESTS_PER_MINUTE", "100000"),
        ("POINT__RATE_LIMIT__MEMBER_PER_MINUTE", "100000"),
        ("POINT__RATE_LIMIT__PARTNER_PER_MINUTE", "100000"),
        ("PAYMENT__RATE_LIMIT__MEMBER_PER_MINUTE", "100000"),
    ] {
        std::env::set_var(key, value);
    }
    let infra = TestInfra::start().await.expect("test infrastructure");
    let pii_key = user_service::domain::PiiCipher::generate_key();
    let fleet = Fleet::start(FleetConfig {
        host: "127.0.0.1".into(),
        ports: Ports::any(),
        database_url: infra.database_url.clone(),
        redis_url: infra.redis_url.clone(),
        kafka_brokers: infra.brokers(),
        kafka_create_topics: false,
        http_workers: 1,
        pii_key: pii_key.clone().into(),
        message_console: false,
    })
    .await
    .expect("the fleet starts");
    let users = infra.pool(&fleet.user_schema).await.unwrap();
    let pii = user_service::domain::PiiCipher::from_base64(&pii_key).unwrap();
    user_service::seed::demo_accounts(&users, &pii)
        .await
        .unwrap();

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let bare_url = format!("http://{}", listener.local_addr().unwrap());
    let bare = loadtest::baseline::serve(listener, 1).unwrap();
    let bare_handle = bare.handle();
    tokio::spawn(bare);

    let api = Api::new(
        Targets {
            user: fleet.urls.user.clone(),
            point: fleet.urls.point.clone(),
            payment: fleet.urls.payment.clone(),
            psp_sandbox: fleet.urls.psp_sandbox.clone(),
        },
        2,
    )
    .unwrap();
    let admin = api
        .login("admin@example.com", "demo-admin-password")
        .await
        .unwrap();
    let setup = loadtest::scenarios::setup(&api, &admin, 4, 20)
        .await
        .expect("members and history");

    use secrecy::ExposeSecret;
    let database_url = infra.database_url.expose_secret().to_owned();
    let target = loadtest::pgbench::Target::from_url(&database_url).unwrap();
    let scratch = localinfra::workspace_target_dir()
        .join("loadtest-smoke")
        .join(&infra.database_name);
    let pg = loadtest::pgbench::find().map(|pgbench| PgBaseline {
        pgbench,
        tpcb: target.clone(),
        fleet: target,
        scratch: scratch.clone(),
    });
    let db = Database {
        pool: infra.pool(&fleet.point_schema).await.unwrap(),
        points_schema: fleet.point_schema.clone(),
        brokers: infra.brokers(),
    };
    let options = Options {
        connections: 2,
        warmup: Duration::ZERO,
        duration: Duration::from_secs(2),
        flow_rate: 5.0,
        flow_duration: Duration::from_secs(2),
        backlog: 50,
    };
    let report = suite::run(&api, &setup, &options, &bare_url, pg, &db).await;
    let markdown = report.markdown();
    println!("{markdown}");
    assert!(report.errors().is_empty(), "{markdown}");
    assert!(report.rows.len() >= 12, "{markdown}");
    assert!(markdown.contains("charge -> points visible"), "{markdown}");
    assert!(markdown.contains("point consumer: a backlog"), "{markdown}");

    bare_handle.stop(true).await;
    fleet.stop().await.expect("the fleet stops cleanly");
    let _ = std::fs::remove_dir_all(scratch);
}
