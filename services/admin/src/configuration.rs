use platform::config::ServiceSettings;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    #[serde(flatten)]
    pub service: ServiceSettings,
}

impl Settings {
    /// `ADMIN__PORT`, `ADMIN__DATABASE_SCHEMA`, ... override the defaults.
    pub fn load() -> anyhow::Result<Self> {
        platform::config::load("ADMIN", &[("port", "3004"), ("database_schema", "admin")])
    }
}
