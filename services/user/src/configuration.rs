use platform::config::ServiceSettings;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    #[serde(flatten)]
    pub service: ServiceSettings,
    /// Lifetime of an access token, seconds.
    pub access_token_ttl_secs: i64,
    /// Lifetime of a refresh token, seconds.
    pub refresh_token_ttl_secs: i64,
}

impl Settings {
    /// `USER__PORT`, `USER__ACCESS_TOKEN_TTL_SECS`, ... override the defaults.
    pub fn load() -> anyhow::Result<Self> {
        platform::config::load(
            "USER",
            &[
                ("port", "3001"),
                ("database_schema", "users"),
                ("access_token_ttl_secs", "900"),
                ("refresh_token_ttl_secs", "604800"),
            ],
        )
    }
}
