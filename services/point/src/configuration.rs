use platform::config::ServiceSettings;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    #[serde(flatten)]
    pub service: ServiceSettings,
}

impl Settings {
    /// `POINT__PORT`, `POINT__DATABASE_SCHEMA`, ... override the defaults.
    pub fn load() -> anyhow::Result<Self> {
        platform::config::load("POINT", &[("port", "3002"), ("database_schema", "points")])
    }
}
