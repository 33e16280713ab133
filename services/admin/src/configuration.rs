use platform::config::{Loader, ServiceSettings, Setting};
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    #[serde(flatten)]
    pub service: ServiceSettings,
    pub reconciler: ReconcilerSettings,
}

/// The reconciler: compares what producers published with what consumers applied, and asks
/// producers to publish again what a consumer never applied.
#[derive(Debug, Clone, Deserialize)]
pub struct ReconcilerSettings {
    /// The secret key of its client (`auth::internal::RECONCILER`), the same as the user
    /// service's `reconciler_client_secret`. Unset, the reconciler is off.
    pub client_secret: Option<SecretString>,
    /// Where the services it asks are (the user service issues its token).
    pub user_url: String,
    pub point_url: String,
    pub payment_url: String,
    /// How often the scheduled run starts, seconds; 0 runs it only when staff ask.
    pub interval_secs: u64,
    /// How far back a run looks, seconds.
    pub lookback_secs: u64,
    /// Facts younger than this are still on their way and not compared yet, seconds.
    pub grace_secs: u64,
}

const PREFIX: &str = "ADMIN";

/// Every setting of the admin service beyond [`platform::config::COMMON`], with its default.
pub const SETTINGS: &[Setting] = &[
    Setting::new("port", "3004"),
    Setting::new("database_schema", "admin"),
    Setting::unset("reconciler.client_secret"),
    Setting::new("reconciler.user_url", "http://127.0.0.1:3001"),
    Setting::new("reconciler.point_url", "http://127.0.0.1:3002"),
    Setting::new("reconciler.payment_url", "http://127.0.0.1:3005"),
    Setting::new("reconciler.interval_secs", "300"),
    Setting::new("reconciler.lookback_secs", "86400"),
    Setting::new("reconciler.grace_secs", "60"),
];

impl Settings {
    /// Production: the defaults, then the environment (`ADMIN__PORT`, ...).
    pub fn load() -> anyhow::Result<Self> {
        Loader::new(PREFIX, SETTINGS).from_env().load()
    }

    /// The fleet runner: the defaults around its connections, then `ADMIN__*` variables.
    pub fn in_fleet(service: &ServiceSettings) -> anyhow::Result<Self> {
        Loader::new(PREFIX, SETTINGS)
            .service(service)
            .from_env()
            .load()
    }

    /// Tests: the defaults around the given connections; the environment is not read.
    pub fn new(service: ServiceSettings) -> Self {
        Loader::new(PREFIX, SETTINGS)
            .service(&service)
            .load()
            .expect("the settings table loads")
    }
}
