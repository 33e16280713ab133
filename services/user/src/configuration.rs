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
    /// How often each instance reloads the signing keys, so a rotation reaches it, seconds.
    pub key_reload_secs: u64,
    /// Where outgoing email and SMS are delivered: a JSON webhook of the mail/SMS provider.
    pub message_webhook_url: Option<String>,
    /// Development only: print outgoing messages (codes included) to the console instead.
    pub message_console: bool,
    /// The SMTP server email is sent through (`smtp://user:pass@host:port`, `smtps://` for TLS,
    /// `?tls=required` for STARTTLS); set, it takes email over from the webhook. Never logged.
    pub smtp_url: Option<SecretString>,
    /// The sender of every email sent over SMTP (`Name <address>`).
    pub mail_from: String,
    /// Push notifications through an FCM HTTP v1 provider; off unless all three are set.
    #[serde(default)]
    pub push: PushSettings,
    /// The secret key of the reconciler's client (`auth::internal::RECONCILER`), the same as the
    /// admin service's `reconciler.client_secret`; unset, the client is not created.
    pub reconciler_client_secret: Option<SecretString>,
    /// Sign-in with Google (OpenID Connect); off unless its issuer, client and redirect are set.
    #[serde(default)]
    pub google: OidcProviderSettings,
    /// Sign-in with Apple (OpenID Connect); off unless its issuer, client and redirect are set.
    #[serde(default)]
    pub apple: OidcProviderSettings,
    /// How long a social sign-in may take between its start and its callback, seconds.
    pub social_login_ttl_secs: u64,
}

/// A push provider speaking FCM's HTTP v1 API:
/// `POST {url}/v1/projects/{project_id}/messages:send` with a bearer token.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PushSettings {
    /// The provider's base URL (`https://fcm.googleapis.com`).
    pub url: Option<String>,
    /// The project messages are sent in.
    pub project_id: Option<String>,
    /// The bearer token sent with every request. Never logged.
    pub bearer_token: Option<SecretString>,
}

impl PushSettings {
    /// The provider's settings when all three are set.
    pub fn configured(&self) -> Option<(&str, &str, &SecretString)> {
        fn non_empty(v: &Option<String>) -> Option<&str> {
            v.as_deref().filter(|v| !v.trim().is_empty())
        }
        Some((
            non_empty(&self.url)?,
            non_empty(&self.project_id)?,
            self.bearer_token
                .as_ref()
                .filter(|t| !t.expose_secret().trim().is_empty())?,
        ))
    }
}

/// One OpenID Connect provider members sign in with.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OidcProviderSettings {
    /// The provider's issuer (`https://accounts.google.com`, `https://appleid.apple.com`); its
    /// discovery document is read from `<issuer>/.well-known/openid-configuration`.
    pub issuer_url: Option<String>,
    /// The client id the provider gave us (Google's OAuth client id, Apple's Services ID).
    pub client_id: Option<String>,
    /// The client secret (for Apple, the signed client-secret JWT).
    pub client_secret: Option<SecretString>,
    /// Where the provider sends the member back with the code: a page of the member app that
    /// posts the code and state to `/api/v1/auth/social/{provider}/callback`.
    pub redirect_url: Option<String>,
}

impl OidcProviderSettings {
    /// The provider's settings when it is configured: issuer, client id and redirect are set.
    pub fn configured(&self) -> Option<ConfiguredProvider<'_>> {
        Some(ConfiguredProvider {
            issuer_url: self
                .issuer_url
                .as_deref()
                .filter(|v| !v.trim().is_empty())?,
            client_id: self.client_id.as_deref().filter(|v| !v.trim().is_empty())?,
            client_secret: self.client_secret.as_ref(),
            redirect_url: self
                .redirect_url
                .as_deref()
                .filter(|v| !v.trim().is_empty())?,
        })
    }
}

/// A provider's settings with everything it needs.
pub struct ConfiguredProvider<'a> {
    pub issuer_url: &'a str,
    pub client_id: &'a str,
    pub client_secret: Option<&'a SecretString>,
    pub redirect_url: &'a str,
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
    Setting::new("key_reload_secs", "30"),
    Setting::unset("message_webhook_url"),
    Setting::new("message_console", "false"),
    Setting::unset("smtp_url"),
    Setting::new("mail_from", "Tessera <no-reply@tessera.localhost>"),
    Setting::unset("push.url"),
    Setting::unset("push.project_id"),
    Setting::unset("push.bearer_token"),
    Setting::unset("reconciler_client_secret"),
    Setting::unset("google.issuer_url"),
    Setting::unset("google.client_id"),
    Setting::unset("google.client_secret"),
    Setting::unset("google.redirect_url"),
    Setting::unset("apple.issuer_url"),
    Setting::unset("apple.client_id"),
    Setting::unset("apple.client_secret"),
    Setting::unset("apple.redirect_url"),
    Setting::new("social_login_ttl_secs", "600"),
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
