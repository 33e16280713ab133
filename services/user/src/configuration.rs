use platform::config::{Loader, ServiceSettings, Setting};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    #[serde(flatten)]
    pub service: ServiceSettings,
    /// Lifetime of an access token, seconds.
    pub access_token_ttl_secs: i64,
    /// Lifetime of a refresh token, seconds.
    pub refresh_token_ttl_secs: i64,
    /// Lifetime of a partner client's access token, seconds.
    pub client_token_ttl_secs: i64,
    /// How long a superseded partner key keeps working after a rotation, seconds.
    pub secret_rotation_overlap_secs: i64,
    /// 32 random bytes, base64: encrypts email addresses and phone numbers at rest. Required,
    /// with no default: losing it makes stored contact details unreadable.
    pub pii_key: SecretString,
    /// Lifetime of a one-time code (verification, password reset), seconds.
    pub code_ttl_secs: i64,
    /// Wrong guesses allowed per one-time code.
    pub code_max_attempts: i32,
    /// Requests per minute to the authentication endpoints, per client IP and per account.
    pub auth_requests_per_minute: u32,
    /// Failed logins in a row after which an account is locked, with a doubling lockout.
    pub lockout_after_failures: u32,
    /// Take the client IP from `X-Forwarded-For` (only behind a proxy that sets it, like Kong).
    pub trust_forwarded_for: bool,
    /// How often each instance reloads the signing keys, so a rotation reaches it, seconds.
    pub key_reload_secs: u64,
    /// Where outgoing email and SMS are delivered: a JSON webhook of the mail/SMS provider.
    pub message_webhook_url: Option<String>,
    /// Development only: print outgoing messages (codes included) to the console instead.
    pub message_console: bool,
    /// The secret key of the reconciler's client (`auth::internal::RECONCILER`), the same as the
    /// admin service's `reconciler.client_secret`; unset, the client is not created.
    pub reconciler_client_secret: Option<SecretString>,
}

const PREFIX: &str = "USER";

/// Every setting of the user service beyond [`platform::config::COMMON`], with its default.
pub const SETTINGS: &[Setting] = &[
    Setting::new("port", "3001"),
    Setting::new("database_schema", "users"),
    Setting::new("access_token_ttl_secs", "900"),
    Setting::new("refresh_token_ttl_secs", "604800"),
    Setting::new("client_token_ttl_secs", "900"),
    Setting::new("secret_rotation_overlap_secs", "86400"),
    Setting::required("pii_key"),
    Setting::new("code_ttl_secs", "900"),
    Setting::new("code_max_attempts", "5"),
    Setting::new("auth_requests_per_minute", "10"),
    Setting::new("lockout_after_failures", "5"),
    Setting::new("trust_forwarded_for", "false"),
    Setting::new("key_reload_secs", "30"),
    Setting::unset("message_webhook_url"),
    Setting::new("message_console", "false"),
    Setting::unset("reconciler_client_secret"),
];

const PII_KEY_HINT: &str =
    "USER__PII_KEY must be set to 32 random bytes in base64 (openssl rand -base64 32)";

impl Settings {
    /// Production: the defaults, then the environment (`USER__PORT`, `USER__PII_KEY`, ...).
    pub fn load() -> anyhow::Result<Self> {
        Loader::new(PREFIX, SETTINGS)
            .from_env()
            .load()
            .map_err(|e| e.context(PII_KEY_HINT))
    }

    /// The fleet runner: the defaults around its connections and key, then `USER__*` variables.
    pub fn in_fleet(service: &ServiceSettings, pii_key: &SecretString) -> anyhow::Result<Self> {
        Loader::new(PREFIX, SETTINGS)
            .service(service)
            .set("pii_key", pii_key.expose_secret())
            .from_env()
            .load()
    }

    /// Tests: the defaults around the given connections and key; the environment is not read.
    pub fn new(service: ServiceSettings, pii_key: SecretString) -> Self {
        Loader::new(PREFIX, SETTINGS)
            .service(&service)
            .set("pii_key", pii_key.expose_secret())
            .load()
            .expect("the settings table loads")
    }
}
