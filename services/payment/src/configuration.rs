use platform::config::{Loader, ServiceSettings, Setting};
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    #[serde(flatten)]
    pub service: ServiceSettings,
    /// Requests a minute per caller to the endpoints that move money or points.
    pub rate_limit: platform::rate_limit::Budget,
    pub stripe: StripeSettings,
    pub paypal: PaypalSettings,
    /// Which PSP takes a charge, per currency: `USD:paypal>stripe, *:stripe>paypal`. Later names
    /// are the failover when the first cannot be reached.
    pub routing: String,
    pub jobs: JobSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StripeSettings {
    /// Stripe's API, or the PSP sandbox for local runs and tests.
    pub base_url: String,
    pub secret_key: SecretString,
    /// The signing secret of our webhook endpoint (`whsec_...`).
    pub webhook_secret: SecretString,
    /// How long to wait for the PSP before treating the outcome as unknown.
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PaypalSettings {
    /// PayPal's REST API, or the PSP sandbox.
    pub base_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// The id PayPal gave our webhook registration; sent along when verifying an event.
    pub webhook_id: String,
    pub timeout_ms: u64,
}

/// The PSP job queue: retries with exponential backoff and jitter, then the dead-letter queue.
#[derive(Debug, Clone, Deserialize)]
pub struct JobSettings {
    /// Attempts before a job is dead (the first, inline attempt included).
    pub max_attempts: i32,
    /// The wait after the first failure; it doubles with every further failure.
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// How often the worker looks for due jobs.
    pub poll_ms: u64,
    /// How long a claimed job is reserved for its runner: after that it counts as abandoned (the
    /// runner crashed) and is taken over. Must exceed the longest PSP call.
    pub lease_secs: u64,
}

const PREFIX: &str = "PAYMENT";

/// Every setting of the payment service beyond [`platform::config::COMMON`], with its default.
/// The PSP defaults are the PSP sandbox's address and test keys.
pub const SETTINGS: &[Setting] = &[
    Setting::new("rate_limit.member_per_minute", "30"),
    Setting::new("rate_limit.partner_per_minute", "3000"),
    Setting::new("port", "3005"),
    Setting::new("database_schema", "payments"),
    Setting::new("stripe.base_url", "http://127.0.0.1:3010"),
    Setting::new("stripe.secret_key", "sk_test_sandbox"),
    Setting::new("stripe.webhook_secret", "whsec_sandbox"),
    Setting::new("stripe.timeout_ms", "10000"),
    Setting::new("paypal.base_url", "http://127.0.0.1:3010"),
    Setting::new("paypal.client_id", "sandbox-client"),
    Setting::new("paypal.client_secret", "sandbox-secret"),
    Setting::new("paypal.webhook_id", "WH-SANDBOX"),
    Setting::new("paypal.timeout_ms", "10000"),
    Setting::new("routing", "*:stripe>paypal"),
    Setting::new("jobs.max_attempts", "6"),
    Setting::new("jobs.backoff_base_ms", "2000"),
    Setting::new("jobs.backoff_max_ms", "300000"),
    Setting::new("jobs.poll_ms", "1000"),
    Setting::new("jobs.lease_secs", "60"),
];

impl Settings {
    /// Production: the defaults, then the environment (`PAYMENT__PORT`,
    /// `PAYMENT__STRIPE__BASE_URL`, `PAYMENT__JOBS__MAX_ATTEMPTS`, ...).
    pub fn load() -> anyhow::Result<Self> {
        Loader::new(PREFIX, SETTINGS).from_env().load()
    }

    /// The fleet runner: the defaults around its connections with both PSPs at `psp_base_url`
    /// (the sandbox), then `PAYMENT__*` variables.
    pub fn in_fleet(service: &ServiceSettings, psp_base_url: &str) -> anyhow::Result<Self> {
        Self::loader(service, psp_base_url).from_env().load()
    }

    /// Tests: the defaults around the given connections with both PSPs at `psp_base_url`; the
    /// environment is not read.
    pub fn new(service: ServiceSettings, psp_base_url: &str) -> Self {
        Self::loader(&service, psp_base_url)
            .load()
            .expect("the settings table loads")
    }

    fn loader(service: &ServiceSettings, psp_base_url: &str) -> Loader {
        Loader::new(PREFIX, SETTINGS)
            .service(service)
            .set("stripe.base_url", psp_base_url)
            .set("paypal.base_url", psp_base_url)
    }
}
