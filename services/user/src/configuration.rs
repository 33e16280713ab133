use platform::config::ServiceSettings;
use secrecy::SecretString;
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
    #[serde(default)]
    pub message_webhook_url: Option<String>,
    /// Development only: print outgoing messages (codes included) to the console instead.
    #[serde(default)]
    pub message_console: bool,
}

const DEFAULTS: &[(&str, &str)] = &[
    ("port", "3001"),
    ("database_schema", "users"),
    ("access_token_ttl_secs", "900"),
    ("refresh_token_ttl_secs", "604800"),
    ("client_token_ttl_secs", "900"),
    ("secret_rotation_overlap_secs", "86400"),
    ("code_ttl_secs", "900"),
    ("code_max_attempts", "5"),
    ("auth_requests_per_minute", "10"),
    ("lockout_after_failures", "5"),
    ("trust_forwarded_for", "false"),
    ("key_reload_secs", "30"),
];

impl Settings {
    /// `USER__PORT`, `USER__PII_KEY`, ... override the defaults.
    pub fn load() -> anyhow::Result<Self> {
        platform::config::load("USER", DEFAULTS).map_err(|e| {
            e.context(
                "USER__PII_KEY must be set to 32 random bytes in base64 (openssl rand -base64 32)",
            )
        })
    }

    /// The production defaults around the given connections and key (for the fleet runner and tests).
    pub fn new(service: ServiceSettings, pii_key: SecretString) -> Self {
        Self {
            service,
            access_token_ttl_secs: 900,
            refresh_token_ttl_secs: 7 * 24 * 3600,
            client_token_ttl_secs: 900,
            secret_rotation_overlap_secs: 24 * 3600,
            pii_key,
            code_ttl_secs: 900,
            code_max_attempts: 5,
            auth_requests_per_minute: 10,
            lockout_after_failures: 5,
            trust_forwarded_for: false,
            key_reload_secs: 30,
            message_webhook_url: None,
            message_console: false,
        }
    }
}
