use platform::config::{Loader, ServiceSettings, Setting};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    #[serde(flatten)]
    pub service: ServiceSettings,
}

const PREFIX: &str = "ADMIN";

/// Every setting of the admin service beyond [`platform::config::COMMON`], with its default.
pub const SETTINGS: &[Setting] = &[
    Setting::new("port", "3004"),
    Setting::new("database_schema", "admin"),
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
