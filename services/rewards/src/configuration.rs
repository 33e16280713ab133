use platform::config::ServiceSettings;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    #[serde(flatten)]
    pub service: ServiceSettings,
}

impl Settings {
    /// `REWARDS__PORT`, `REWARDS__DATABASE_SCHEMA`, ... override the defaults.
    pub fn load() -> anyhow::Result<Self> {
        platform::config::load(
            "REWARDS",
            &[("port", "3003"), ("database_schema", "rewards")],
        )
    }
}
