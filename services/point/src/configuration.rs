use platform::config::ServiceSettings;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    #[serde(flatten)]
    pub service: ServiceSettings,
    /// How often the scheduled jobs run (pending points, hold and point expiry, tier reviews), seconds.
    pub jobs_interval_secs: u64,
}

impl Settings {
    /// `POINT__PORT`, `POINT__DATABASE_SCHEMA`, ... override the defaults.
    pub fn load() -> anyhow::Result<Self> {
        platform::config::load(
            "POINT",
            &[
                ("port", "3002"),
                ("database_schema", "points"),
                ("jobs_interval_secs", "60"),
            ],
        )
    }

    /// The production defaults around the given connections (for the fleet runner and tests).
    pub fn new(service: ServiceSettings) -> Self {
        Self {
            service,
            jobs_interval_secs: 60,
        }
    }
}
