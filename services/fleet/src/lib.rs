//! The whole fleet in one process, for local development and end-to-end tests: every service
//! as its own `Application` on its own port (as in production, one per process), the PSP
//! sandbox, the OpenID Connect sandbox (Google and Apple sign-in), and a development edge that
//! routes like Kong.

pub mod dashboard;
pub mod demo_businesses;
pub mod demo_shop;
pub mod edge;
pub mod openapi;

use anyhow::Context;
use platform::config::ServiceSettings;
use platform::service::Service;
use platform::CancellationToken;
use secrecy::SecretString;
use std::collections::HashMap;
use std::net::TcpListener;
use tokio::task::JoinSet;

#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub edge: u16,
    pub user: u16,
    pub point: u16,
    pub rewards: u16,
    pub admin: u16,
    pub payment: u16,
    pub psp_sandbox: u16,
    pub oidc_sandbox: u16,
}

impl Ports {
    /// The documented ports: edge 3000, services 3001-3005, PSP sandbox 3010, OIDC sandbox 3011.
    pub fn standard() -> Self {
        Self {
            edge: 3000,
            user: 3001,
            point: 3002,
            rewards: 3003,
            admin: 3004,
            payment: 3005,
            psp_sandbox: 3010,
            oidc_sandbox: 3011,
        }
    }

    /// The standard layout moved to start at `base`: edge `base`, services `base+1` to
    /// `base+5`, PSP sandbox `base+10`, OIDC sandbox `base+11` (`FLEET_PORT_BASE`, for a second
    /// fleet beside the first).
    pub fn from_base(base: u16) -> Self {
        Self {
            edge: base,
            user: base + 1,
            point: base + 2,
            rewards: base + 3,
            admin: base + 4,
            payment: base + 5,
            psp_sandbox: base + 10,
            oidc_sandbox: base + 11,
        }
    }

    /// Any free ports, for tests.
    pub fn any() -> Self {
        Self {
            edge: 0,
            user: 0,
            point: 0,
            rewards: 0,
            admin: 0,
            payment: 0,
            psp_sandbox: 0,
            oidc_sandbox: 0,
        }
    }
}

#[derive(Clone)]
pub struct FleetConfig {
    pub host: String,
    pub ports: Ports,
    pub database_url: SecretString,
    pub redis_url: SecretString,
    pub kafka_brokers: String,
    pub kafka_create_topics: bool,
    pub http_workers: usize,
    /// The user service's key for contact details at rest (base64, 32 bytes).
    pub pii_key: SecretString,
    /// Print outgoing email and SMS (verification codes) to the console.
    pub message_console: bool,
}

/// Where each part of a running fleet listens.
#[derive(Debug, Clone)]
pub struct Urls {
    pub edge: String,
    pub user: String,
    pub point: String,
    pub rewards: String,
    pub admin: String,
    pub payment: String,
    pub psp_sandbox: String,
    /// The OpenID Connect sandbox; its issuers are `<url>/google` and `<url>/apple`.
    pub oidc_sandbox: String,
}

pub struct Fleet {
    pub urls: Urls,
    /// The schemas the user and point services run in (their `database_schema` setting), for
    /// seeding demo data.
    pub user_schema: String,
    pub point_schema: String,
    shutdown: CancellationToken,
    tasks: JoinSet<(&'static str, anyhow::Result<()>)>,
    sandbox: actix_web::dev::ServerHandle,
    oidc_sandbox: actix_web::dev::ServerHandle,
    edge: actix_web::dev::ServerHandle,
}

impl FleetConfig {
    fn service(&self, schema: &str, port: u16, jwks_url: &str) -> ServiceSettings {
        ServiceSettings {
            host: self.host.clone(),
            port,
            database_url: self.database_url.clone(),
            database_schema: schema.into(),
            database_max_connections: 10,
            redis_url: self.redis_url.clone(),
            kafka_brokers: self.kafka_brokers.clone(),
            kafka_create_topics: self.kafka_create_topics,
            jwks_url: jwks_url.into(),
            http_workers: self.http_workers,
            // One fleet per checkout: a restarted fleet is the same member of each group.
            kafka_group_instance_id: Some("fleet".into()),
            // The development edge on this host appends each client's address.
            trusted_proxies: platform::client_ip::TrustedProxies::loopback(),
        }
    }

    fn url(&self, port: u16) -> String {
        format!("http://{}:{port}", self.host)
    }
}

impl Fleet {
    /// Starts the sandbox, the five services (migrating their schemas) and the edge.
    pub async fn start(config: FleetConfig) -> anyhow::Result<Fleet> {
        let shutdown = CancellationToken::new();
        let bind = |port: u16| {
            TcpListener::bind((config.host.as_str(), port))
                .with_context(|| format!("binding {}:{port}", config.host))
        };

        let sandbox = psp_sandbox::Sandbox::build(
            bind(config.ports.psp_sandbox)?,
            psp_sandbox::SandboxConfig::default(),
        )?;
        let sandbox_url = config.url(sandbox.port());
        let sandbox_handle = sandbox.handle();
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            (
                "psp-sandbox",
                sandbox.run_until_stopped().await.map_err(Into::into),
            )
        });

        // Members sign in with Google and Apple as played by the OIDC sandbox; codes come back
        // to the sandbox's own page, which shows what to post to the user service.
        let oidc_listener = bind(config.ports.oidc_sandbox)?;
        let oidc_url = config.url(oidc_listener.local_addr()?.port());
        let oidc_sandbox = oidc_sandbox::Sandbox::build_at(
            oidc_listener,
            oidc_sandbox::SandboxConfig::default(),
            oidc_url.clone(),
        )?;
        let oidc_handle = oidc_sandbox.handle();
        tasks.spawn(async move {
            (
                "oidc-sandbox",
                oidc_sandbox.run_until_stopped().await.map_err(Into::into),
            )
        });

        // The user service goes first: the others verify tokens against its JWKS.
        let mut user_settings = user_service::Settings::in_fleet(
            &config.service("users", config.ports.user, ""),
            &config.pii_key,
        )?;
        user_settings.message_console |= config.message_console;
        sign_in_with_sandbox(&mut user_settings, &oidc_url);
        // The reconciler (in the admin service) signs in with a client the user service creates
        // from the same secret: the one configured on either side, else one made for this run.
        let mut admin_settings =
            admin_service::Settings::in_fleet(&config.service("admin", config.ports.admin, ""))?;
        let reconciler_secret = user_settings
            .reconciler_client_secret
            .clone()
            .or_else(|| admin_settings.reconciler.client_secret.clone())
            .unwrap_or_else(|| {
                SecretString::from(format!(
                    "{}{}",
                    uuid::Uuid::new_v4().simple(),
                    uuid::Uuid::new_v4().simple()
                ))
            });
        user_settings.reconciler_client_secret = Some(reconciler_secret.clone());
        let user_schema = user_settings.service.database_schema.clone();
        let user = user_service::Application::build(user_settings, shutdown.clone())
            .await
            .context("starting the user service")?;
        let user_url = config.url(user.port);
        let jwks_url = format!("{user_url}/api/v1/auth/jwks.json");

        let point_settings = point_service::Settings::in_fleet(&config.service(
            "points",
            config.ports.point,
            &jwks_url,
        ))?;
        let point_schema = point_settings.service.database_schema.clone();
        let point = point_service::Application::build(point_settings, shutdown.clone())
            .await
            .context("starting the point service")?;
        let mut rewards_settings = rewards_service::Settings::in_fleet(&config.service(
            "rewards",
            config.ports.rewards,
            &jwks_url,
        ))?;
        rewards_settings.point_url = config.url(point.port);
        let rewards = rewards_service::Application::build(rewards_settings, shutdown.clone())
            .await
            .context("starting the rewards service")?;
        let payment = payment_service::Application::build(
            payment_service::Settings::in_fleet(
                &config.service("payments", config.ports.payment, &jwks_url),
                &sandbox_url,
            )?,
            shutdown.clone(),
        )
        .await
        .context("starting the payment service")?;
        // The sandbox sends its events to the payment service, as a PSP account does to its
        // registered webhook endpoint.
        let payment_url = config.url(payment.port);
        // The admin service goes last: its reconciler calls the user, point and payment services.
        admin_settings.service.jwks_url = jwks_url.clone();
        admin_settings.reconciler.client_secret = Some(reconciler_secret);
        admin_settings.reconciler.user_url = user_url.clone();
        admin_settings.reconciler.point_url = config.url(point.port);
        admin_settings.reconciler.payment_url = payment_url.clone();
        let admin = admin_service::Application::build(admin_settings, shutdown.clone())
            .await
            .context("starting the admin service")?;
        psp_sandbox::register_webhooks(
            &sandbox_url,
            &psp_sandbox::SandboxConfig::default(),
            &format!("{payment_url}/api/v1/payments/webhooks/stripe"),
            &format!("{payment_url}/api/v1/payments/webhooks/paypal"),
        )
        .await
        .context("registering the payment service's webhook endpoint with the PSP sandbox")?;

        let urls = Urls {
            edge: String::new(),
            user: user_url,
            point: config.url(point.port),
            rewards: config.url(rewards.port),
            admin: config.url(admin.port),
            payment: config.url(payment.port),
            psp_sandbox: sandbox_url,
            oidc_sandbox: oidc_url,
        };
        let upstreams: HashMap<String, String> = [
            ("user-service", &urls.user),
            ("point-service", &urls.point),
            ("rewards-service", &urls.rewards),
            ("admin-service", &urls.admin),
            ("payment-service", &urls.payment),
        ]
        .into_iter()
        .map(|(name, url)| (name.to_owned(), url.clone()))
        .collect();
        let edge_listener = bind(config.ports.edge)?;
        let edge_url = config.url(edge_listener.local_addr()?.port());
        let edge = edge::serve(edge_listener, upstreams)?;
        let edge_handle = edge.handle();
        tasks.spawn(async move { ("edge", edge.await.map_err(Into::into)) });

        for service in [user, point, rewards, admin, payment] {
            tasks.spawn(run(service));
        }
        Ok(Fleet {
            urls: Urls {
                edge: edge_url,
                ..urls
            },
            user_schema,
            point_schema,
            shutdown,
            tasks,
            sandbox: sandbox_handle,
            oidc_sandbox: oidc_handle,
            edge: edge_handle,
        })
    }

    /// Resolves when any part of the fleet stops by itself (a failure).
    pub async fn any_stopped(&mut self) -> Option<(&'static str, anyhow::Result<()>)> {
        self.tasks
            .join_next()
            .await
            .map(|r| r.unwrap_or(("fleet task", Err(anyhow::anyhow!("panicked")))))
    }

    /// Stops everything gracefully: services finish in-flight requests and their current events.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.edge.stop(true).await;
        self.sandbox.stop(true).await;
        self.oidc_sandbox.stop(true).await;
        let mut first_error = None;
        while let Some(joined) = self.tasks.join_next().await {
            if let Ok((name, Err(e))) = joined {
                tracing::error!(part = name, error = ?e, "stopped with an error");
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Points each social sign-in provider the environment did not configure
/// (`USER__GOOGLE__ISSUER_URL`, ...) at the OIDC sandbox, with the sandbox's clients.
fn sign_in_with_sandbox(settings: &mut user_service::Settings, oidc_url: &str) {
    use oidc_sandbox::Provider;
    let sandbox = |provider: Provider, client_id: &str, secret: &str| {
        user_service::configuration::OidcProviderSettings {
            issuer_url: Some(oidc_sandbox::issuer(oidc_url, provider)),
            client_id: Some(client_id.to_owned()),
            client_secret: Some(SecretString::from(secret.to_owned())),
            redirect_url: Some(format!("{oidc_url}/callback")),
        }
    };
    if settings.google.configured().is_none() {
        settings.google = sandbox(
            Provider::Google,
            oidc_sandbox::GOOGLE_CLIENT_ID,
            oidc_sandbox::GOOGLE_CLIENT_SECRET,
        );
    }
    if settings.apple.configured().is_none() {
        settings.apple = sandbox(
            Provider::Apple,
            oidc_sandbox::APPLE_CLIENT_ID,
            oidc_sandbox::APPLE_CLIENT_SECRET,
        );
    }
}

async fn run(service: Service) -> (&'static str, anyhow::Result<()>) {
    let name = service.name;
    (name, service.run_until_stopped().await)
}
