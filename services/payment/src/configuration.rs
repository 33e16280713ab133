use platform::config::ServiceSettings;
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    #[serde(flatten)]
    pub service: ServiceSettings,
    pub stripe: StripeSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StripeSettings {
    /// Stripe's API, or the PSP sandbox for local runs and tests.
    pub base_url: String,
    pub secret_key: SecretString,
    /// How long to wait for the PSP before treating the outcome as unknown.
    pub timeout_ms: u64,
}

impl Settings {
    /// `PAYMENT__PORT`, `PAYMENT__STRIPE__BASE_URL`, `PAYMENT__STRIPE__SECRET_KEY`, ... override the defaults.
    pub fn load() -> anyhow::Result<Self> {
        platform::config::load(
            "PAYMENT",
            &[
                ("port", "3005"),
                ("database_schema", "payments"),
                ("stripe.base_url", "http://127.0.0.1:3010"),
                ("stripe.secret_key", "sk_test_sandbox"),
                ("stripe.timeout_ms", "10000"),
            ],
        )
    }
}
