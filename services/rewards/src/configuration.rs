use platform::config::{Loader, ServiceSettings, Setting};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    #[serde(flatten)]
    pub service: ServiceSettings,
    /// How long `POST /api/v1/rewards/{id}/redemptions` waits for the redemption to finish
    /// before answering 202 with its URL.
    pub redemption_wait_ms: u64,
    /// The point service, read for the catalog's member filters (`affordable`, `for_my_tier`).
    pub point_url: String,
}

const PREFIX: &str = "REWARDS";

/// Every setting of the rewards service beyond [`platform::config::COMMON`], with its default.
pub const SETTINGS: &[Setting] = &[
    Setting::new("port", "3003"),
    Setting::new("database_schema", "rewards"),
    Setting::new("redemption_wait_ms", "2000"),
    Setting::new("point_url", "http://127.0.0.1:3002"),
];

impl Settings {
    /// Production: the defaults, then the environment (`REWARDS__PORT`, ...).
    pub fn load() -> anyhow::Result<Self> {
        Loader::new(PREFIX, SETTINGS).from_env().load()
    }

    /// The fleet runner: the defaults around its connections, then `REWARDS__*` variables.
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
