//! Payment service providers behind one interface. Each connector speaks its provider's real
//! wire format against a configurable base URL (the provider, or the PSP sandbox).

mod stripe;

pub use stripe::StripeConnector;

use platform::money::Money;
use uuid::Uuid;

pub struct AuthorizeRequest<'a> {
    /// Our charge id; also the PSP idempotency key, so a retried call never charges twice.
    pub charge_id: Uuid,
    pub amount: Money,
    pub payment_method: &'a str,
    pub description: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeOutcome {
    Succeeded {
        psp_reference: String,
    },
    /// The customer must act (3-D Secure); the result arrives later.
    RequiresAction {
        psp_reference: String,
    },
    /// The PSP said no: a final answer.
    Declined {
        psp_reference: Option<String>,
        code: String,
        message: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// No answer, or an answer that says nothing about the outcome (timeout, 5xx): the charge
    /// may or may not exist at the PSP, and must be resolved by asking it later.
    #[error("the PSP did not give an answer: {0}")]
    Unknown(String),
    /// The PSP refused our request itself (bad key, malformed call): our problem, not the member's.
    #[error("the PSP refused the request: {0}")]
    Refused(String),
}

#[async_trait::async_trait]
pub trait Connector: Send + Sync {
    /// The name stored on charges (`stripe`, `paypal`).
    fn name(&self) -> &'static str;

    /// Creates and confirms a payment.
    async fn authorize(
        &self,
        request: &AuthorizeRequest<'_>,
    ) -> Result<AuthorizeOutcome, ConnectorError>;
}
