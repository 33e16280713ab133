use platform::config::{Loader, ServiceSettings, Setting};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    #[serde(flatten)]
    pub service: ServiceSettings,
    /// Requests a minute per caller to the endpoints that move money or points.
    pub rate_limit: platform::rate_limit::Budget,
    /// How often the scheduled jobs run (pending points, hold and point expiry, tier reviews), seconds.
    pub jobs_interval_secs: u64,
}

const PREFIX: &str = "POINT";

/// Every setting of the point service beyond [`platform::config::COMMON`], with its default.
pub const SETTINGS: &[Setting] = &[
    Setting::new("rate_limit.member_per_minute", "60"),
    Setting::new("rate_limit.partner_per_minute", "6000"),
    Setting::new("port", "3002"),
    Setting::new("database_schema", "points"),
    Setting::new("jobs_interval_secs", "60"),
];

impl Settings {
    /// Production: the defaults, then the environment (`POINT__PORT`, ...).
    pub fn load() -> anyhow::Result<Self> {
        Loader::new(PREFIX, SETTINGS).from_env().load()
    }

    /// The fleet runner: the defaults around its connections, then `POINT__*` variables.
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
