//! `scripts/run`: the whole fleet on one machine. With no settings it starts a private Postgres
//! under `target/fleet/`, uses the local Redis (or starts a private one) and starts a private
//! Kafka-protocol broker (tansu) whose events are kept on disk under `target/fleet/broker/`;
//! `DATABASE_URL`, `REDIS_URL` and `KAFKA_BROKERS` point it at real ones instead.

use anyhow::Context;
use fleet::demo_shop::DemoShop;
use fleet::{Fleet, FleetConfig, Ports};
use localinfra::{PrivateBroker, PrivatePostgres, PrivateRedis};
use secrecy::{ExposeSecret, SecretString};

const FLEET_POSTGRES_PORT: u16 = 55433;
const FLEET_REDIS_PORT: u16 = 56380;
const FLEET_BROKER_PORT: u16 = 59092;
/// The demo shop's port is this far above the edge's.
const DEMO_SHOP_OFFSET: u16 = 20;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = platform::telemetry::init("fleet")?;
    let data_dir = localinfra::workspace_target_dir().join("fleet");
    let mut servers = PrivateServers::default();
    let result = run(&data_dir, &mut servers).await;
    // Whatever happened, the private servers this run started (or took over) stop with it.
    let stopped = servers.stop().await;
    result.and(stopped)?;
    println!("Stopped.");
    Ok(())
}

/// The private Postgres, Redis and broker of this run, stopped when it ends.
#[derive(Default)]
struct PrivateServers {
    postgres: Option<localinfra::PostgresHandle>,
    redis: Option<localinfra::RedisHandle>,
    broker: Option<localinfra::BrokerHandle>,
}

impl PrivateServers {
    async fn stop(self) -> anyhow::Result<()> {
        let broker = match self.broker {
            Some(handle) => handle.stop().await,
            None => Ok(()),
        };
        let redis = match self.redis {
            Some(handle) => handle.stop().await,
            None => Ok(()),
        };
        let postgres = match self.postgres {
            Some(handle) => handle.stop().await,
            None => Ok(()),
        };
        broker.and(redis).and(postgres)
    }
}

async fn run(data_dir: &std::path::Path, servers: &mut PrivateServers) -> anyhow::Result<()> {
    let database_url = match std::env::var("DATABASE_URL") {
        Ok(url) => url,
        Err(_) => {
            println!(
                "Starting a private Postgres in {} ...",
                data_dir.join("postgres").display()
            );
            let handle = PrivatePostgres::new(data_dir.join("postgres"), FLEET_POSTGRES_PORT)
                .ensure_running_as_owner()
                .await?;
            let url = handle.url.clone();
            servers.postgres = Some(handle);
            url
        }
    };
    let redis_url = match std::env::var("REDIS_URL") {
        Ok(url) => url,
        Err(_) if localinfra::answers("127.0.0.1:6379").await => {
            "redis://127.0.0.1:6379".to_owned()
        }
        Err(_) => {
            println!(
                "Starting a private Redis in {} ...",
                data_dir.join("redis").display()
            );
            let handle = PrivateRedis::new(data_dir.join("redis"), FLEET_REDIS_PORT)
                .ensure_running_as_owner()
                .await?;
            let url = handle.url.clone();
            servers.redis = Some(handle);
            url
        }
    };
    let (kafka_brokers, kafka_note) = match std::env::var("KAFKA_BROKERS") {
        Ok(brokers) => (brokers.clone(), format!("Kafka at {brokers}")),
        Err(_) => {
            let dir = data_dir.join("broker");
            println!(
                "Starting a private Kafka-protocol broker (tansu) in {} ...",
                dir.display()
            );
            let handle = PrivateBroker::new(&dir, FLEET_BROKER_PORT)
                .ensure_running_as_owner()
                .await?;
            let note = format!(
                "a private tansu broker at {}, events kept in {} (they survive a crash)",
                handle.bootstrap_servers,
                handle.storage.display()
            );
            let brokers = handle.bootstrap_servers.clone();
            servers.broker = Some(handle);
            (brokers, note)
        }
    };

    let ports = match std::env::var("FLEET_PORT_BASE") {
        Ok(base) => Ports::from_base(
            base.parse()
                .with_context(|| format!("FLEET_PORT_BASE is not a port number: {base}"))?,
        ),
        Err(_) => Ports::standard(),
    };
    let config = FleetConfig {
        host: std::env::var("FLEET_HOST").unwrap_or_else(|_| "127.0.0.1".into()),
        ports,
        database_url: SecretString::from(database_url.clone()),
        redis_url: SecretString::from(redis_url),
        kafka_brokers,
        // As every service reads it: off where topics are managed elsewhere (or by a mock).
        kafka_create_topics: match std::env::var("KAFKA_CREATE_TOPICS") {
            Ok(value) => platform::config::parse_flag(&value).with_context(|| {
                format!("KAFKA_CREATE_TOPICS must be true or false, got {value:?}")
            })?,
            Err(_) => true,
        },
        http_workers: 2,
        pii_key: pii_key(data_dir)?,
        message_console: true,
    };
    let mut fleet = Fleet::start(config.clone())
        .await
        .context("starting the fleet")?;
    let users = platform::db::connect(&config.database_url, &fleet.user_schema, 2).await?;
    let pii = user_service::domain::PiiCipher::from_base64(config.pii_key.expose_secret())?;
    user_service::seed::demo_accounts(&users, &pii)
        .await
        .context("seeding the demo accounts")?;
    users.close().await;
    let points = platform::db::connect(&config.database_url, &fleet.point_schema, 2).await?;
    point_service::seed::demo_program(&points)
        .await
        .context("seeding the demo program")?;
    points.close().await;
    let businesses = fleet::demo_businesses::seed(&fleet.urls.edge)
        .await
        .context("setting up the demo businesses")?;
    let shop = start_demo_shop(&fleet, &config.host, ports.edge + DEMO_SHOP_OFFSET)
        .await
        .context("starting the demo shop")?;
    print_banner(&fleet, &shop.url, &kafka_note, &businesses);

    let shutdown = platform::CancellationToken::new();
    platform::service::cancel_on_signal(shutdown.clone());
    tokio::select! {
        _ = shutdown.cancelled() => println!("\nStopping the fleet ..."),
        stopped = fleet.any_stopped() => {
            if let Some((part, result)) = stopped {
                eprintln!("{part} stopped unexpectedly: {result:?}; stopping the fleet");
            }
        }
    }
    shop.stop().await;
    fleet.stop().await
}

/// The example checkout page of `web/sdk`, paying as the demo member.
async fn start_demo_shop(fleet: &Fleet, host: &str, port: u16) -> anyhow::Result<DemoShop> {
    let listener = std::net::TcpListener::bind((host, port))
        .with_context(|| format!("binding {host}:{port}"))?;
    let (shop, server) = DemoShop::for_demo_accounts(fleet, listener).await?;
    tokio::spawn(server);
    Ok(shop)
}

fn print_banner(
    fleet: &Fleet,
    shop: &str,
    kafka_note: &str,
    businesses: &[fleet::demo_businesses::DemoBusiness],
) {
    let u = &fleet.urls;
    println!(
        r#"
Tessera is running.

  Edge (routes like gateway/kong.yaml)  {edge}
  staff dashboard                       {edge}/admin/   {dashboard}
  user service                          {user}      docs: {user}/docs
  point service                         {point}      docs: {point}/docs
  rewards service                       {rewards}      docs: {rewards}/docs
  admin service                         {admin}      docs: {admin}/docs
  payment service                       {payment}      docs: {payment}/docs
  PSP sandbox (Stripe and PayPal)       {psp}
  OIDC sandbox (Google and Apple)       {oidc}   sign in: POST {user}/api/v1/auth/social/google/start
  demo shop (the card SDK's example)    {shop}   pays as member@example.com

  Kafka: {kafka_note}

Demo logins (local runs only):
"#,
        edge = u.edge,
        user = u.user,
        point = u.point,
        rewards = u.rewards,
        admin = u.admin,
        payment = u.payment,
        psp = u.psp_sandbox,
        oidc = u.oidc_sandbox,
        dashboard = if fleet::dashboard::bundle_dir().join("index.html").is_file() {
            "(web/admin's build)"
        } else {
            "(not built: npm ci && npm run build in web/admin)"
        },
    );
    for account in user_service::seed::DEMO_ACCOUNTS {
        println!(
            "  {:<12} {:<26} {}",
            account.role.as_str(),
            account.email,
            account.password
        );
    }
    println!("\nDemo businesses:");
    for business in businesses {
        println!(
            "\n  {} ({}): {}",
            business.name, business.id, business.program
        );
        for (name, id) in &business.stores {
            println!("    store  {name:<24} {id}");
        }
        for login in &business.logins {
            println!(
                "    {:<12} {:<30} {}",
                login.role, login.email, login.password
            );
        }
    }
    println!("\nPress Ctrl-C to stop.");
}

/// The key contact details are encrypted with: `USER__PII_KEY`, else one generated on the first
/// run and kept beside the fleet's database (whose rows it can decrypt).
fn pii_key(data_dir: &std::path::Path) -> anyhow::Result<SecretString> {
    if let Ok(key) = std::env::var("USER__PII_KEY") {
        return Ok(SecretString::from(key));
    }
    let path = data_dir.join("pii.key");
    if let Ok(key) = std::fs::read_to_string(&path) {
        return Ok(SecretString::from(key.trim().to_owned()));
    }
    std::fs::create_dir_all(data_dir)?;
    let key = user_service::domain::PiiCipher::generate_key();
    std::fs::write(&path, &key).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(SecretString::from(key))
}
