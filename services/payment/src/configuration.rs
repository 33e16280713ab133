use platform::config::ServiceSettings;
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    #[serde(flatten)]
    pub service: ServiceSettings,
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

impl Settings {
    /// `PAYMENT__PORT`, `PAYMENT__STRIPE__BASE_URL`, `PAYMENT__JOBS__MAX_ATTEMPTS`, ... override the defaults.
    pub fn load() -> anyhow::Result<Self> {
        platform::config::load(
            "PAYMENT",
            &[
                ("port", "3005"),
                ("database_schema", "payments"),
                ("stripe.base_url", "http://127.0.0.1:3010"),
                ("stripe.secret_key", "sk_test_sandbox"),
                ("stripe.webhook_secret", "whsec_sandbox"),
                ("stripe.timeout_ms", "10000"),
                ("paypal.base_url", "http://127.0.0.1:3010"),
                ("paypal.client_id", "sandbox-client"),
                ("paypal.client_secret", "sandbox-secret"),
                ("paypal.webhook_id", "WH-SANDBOX"),
                ("paypal.timeout_ms", "10000"),
                ("routing", "*:stripe>paypal"),
                ("jobs.max_attempts", "6"),
                ("jobs.backoff_base_ms", "2000"),
                ("jobs.backoff_max_ms", "300000"),
                ("jobs.poll_ms", "1000"),
                ("jobs.lease_secs", "60"),
            ],
        )
    }

    /// The production defaults around the given connections, with the PSPs at `psp_base_url`
    /// (the sandbox) under its test keys: for the fleet runner and tests.
    pub fn new(service: ServiceSettings, psp_base_url: &str) -> Self {
        Self {
            service,
            stripe: StripeSettings {
                base_url: psp_base_url.to_owned(),
                secret_key: "sk_test_sandbox".into(),
                webhook_secret: "whsec_sandbox".into(),
                timeout_ms: 10_000,
            },
            paypal: PaypalSettings {
                base_url: psp_base_url.to_owned(),
                client_id: "sandbox-client".into(),
                client_secret: "sandbox-secret".into(),
                webhook_id: "WH-SANDBOX".into(),
                timeout_ms: 10_000,
            },
            routing: "*:stripe>paypal".into(),
            jobs: JobSettings {
                max_attempts: 6,
                backoff_base_ms: 2_000,
                backoff_max_ms: 300_000,
                poll_ms: 1_000,
                lease_secs: 60,
            },
        }
    }
}
