//! Payment service providers behind one interface. Each connector speaks its provider's real
//! wire format against a configurable base URL (the provider, or the PSP sandbox).

mod metered;
mod paypal;
mod routing;
mod stripe;

pub use metered::PspMetrics;
pub use paypal::PaypalConnector;
pub use routing::{Connectors, RoutingRules};
pub use stripe::StripeConnector;

pub use crate::domain::CardDetails;
use crate::domain::ChargeKind;
use kernel::money::Money;
use uuid::Uuid;

pub struct AuthorizeRequest<'a> {
    /// Our charge id; also the PSP idempotency key, so a retried call never charges twice.
    pub charge_id: Uuid,
    /// The member paying: the processor's settlement file names the member of every card load.
    pub member_id: Uuid,
    /// What the charge is for: the settlement file tells card loads from purchases by it.
    pub kind: ChargeKind,
    pub amount: Money,
    pub payment_method: &'a str,
    pub description: Option<&'a str>,
    /// Where the customer's browser returns after the bank's challenge or the PSP's approval.
    pub return_url: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeOutcome {
    Succeeded {
        psp_reference: String,
    },
    /// The customer must act (3-D Secure) at `redirect_url`; the result arrives by webhook.
    RequiresAction {
        psp_reference: String,
        redirect_url: Option<String>,
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
    /// The PSP could not be reached at all (connection refused, DNS, connect timeout): the
    /// request certainly never arrived, so another PSP may be tried at once.
    #[error("the PSP is unreachable: {0}")]
    Unavailable(String),
    /// The PSP refused our request itself (bad key, malformed call): our problem, not the member's.
    #[error("the PSP refused the request: {0}")]
    Refused(String),
}

impl ConnectorError {
    /// From an HTTP status that is not a success: 5xx, 429 and 409 (a concurrent request under
    /// the same idempotency key) say nothing about the outcome; anything else is a refusal.
    pub fn from_status(status: reqwest::StatusCode, what: &str) -> Self {
        use reqwest::StatusCode;
        let message = format!("{what} answered {status}");
        if status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::CONFLICT
        {
            ConnectorError::Unknown(message)
        } else {
            ConnectorError::Refused(message)
        }
    }

    /// From a failed HTTP exchange: whether the request may have reached the PSP decides
    /// between `Unavailable` and `Unknown`.
    pub fn from_transport(e: reqwest::Error) -> Self {
        if e.is_connect() {
            ConnectorError::Unavailable(e.without_url().to_string())
        } else if e.is_timeout() {
            ConnectorError::Unknown("timed out".into())
        } else {
            ConnectorError::Unknown(e.without_url().to_string())
        }
    }
}

pub struct RefundRequest<'a> {
    /// Our refund id; also the PSP idempotency key.
    pub refund_id: Uuid,
    /// The PSP's id of the payment being refunded.
    pub psp_reference: &'a str,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    Succeeded {
        psp_reference: String,
    },
    /// The PSP refused the refund for good.
    Failed {
        reason: String,
    },
}

/// A PSP event about one of our payments, after its signature was verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// The PSP's event id: a replay carries the same one.
    pub id: String,
    pub event_type: String,
    /// `None` for event types we do not act on (they are acknowledged all the same).
    pub payment: Option<PaymentUpdate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentUpdate {
    /// Our charge id, from the metadata we attached; else the charge is found by `psp_reference`.
    pub charge_id: Option<Uuid>,
    pub psp_reference: String,
    pub state: PaymentState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentState {
    Succeeded,
    /// The payer approved the payment on the PSP's page; we must capture it.
    Approved,
    RequiresAction {
        redirect_url: Option<String>,
    },
    Declined {
        code: String,
        message: String,
    },
    Canceled,
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Missing, malformed or wrong signature, or a timestamp outside the tolerance.
    #[error("{0}")]
    BadSignature(String),
    /// Signed, but not an event we can read.
    #[error("{0}")]
    Malformed(String),
    /// The PSP's verification service could not be asked; the PSP will redeliver.
    #[error("{0}")]
    Unverifiable(String),
}

/// What the PSP's vault gave back for a card: a payment method token and receipt details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardToken {
    pub payment_method: String,
    pub brand: String,
    pub last4: String,
}

/// A hosted payment page for one charge: the customer pays on the PSP's own page.
pub struct CheckoutRequest<'a> {
    /// Our charge id: the PSP idempotency key, and in the metadata of the session's events.
    pub charge_id: Uuid,
    pub amount: Money,
    /// What the page shows the customer.
    pub description: &'a str,
    /// Where the customer lands after paying, and after giving up.
    pub success_url: &'a str,
    pub cancel_url: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedCheckout {
    /// The PSP's id of the session.
    pub psp_reference: String,
    /// The page to send the customer to.
    pub url: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Where a hosted checkout stands at the PSP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckoutState {
    /// The PSP still offers the page.
    Open,
    /// The customer paid; `psp_reference` is the payment (what refunds name).
    Paid { psp_reference: String },
    /// The payer approved; the payment waits for our capture.
    Approved,
    /// Nobody paid and nobody can any more.
    Expired,
}

/// Request headers by lower-case name, for webhook verification.
pub type Headers = std::collections::HashMap<String, String>;

#[async_trait::async_trait]
pub trait Connector: Send + Sync {
    /// The name stored on charges (`stripe`, `paypal`).
    fn name(&self) -> &'static str;

    /// Creates and confirms a payment.
    async fn authorize(
        &self,
        request: &AuthorizeRequest<'_>,
    ) -> Result<AuthorizeOutcome, ConnectorError>;

    /// What the PSP knows of the payment for our charge: `None` if it never saw one. Used
    /// before retrying a payment whose first attempt may have reached the PSP.
    async fn lookup(&self, charge_id: Uuid) -> Result<Option<AuthorizeOutcome>, ConnectorError>;

    /// Captures a payment the payer approved on the PSP's page (`psp_reference` is the PSP's
    /// id of it). Idempotent for the charge: capturing twice never takes the money twice.
    async fn capture(
        &self,
        _psp_reference: &str,
        _charge_id: Uuid,
    ) -> Result<AuthorizeOutcome, ConnectorError> {
        Err(ConnectorError::Refused(format!(
            "{} payments need no separate capture here",
            self.name()
        )))
    }

    /// Refunds (part of) a payment.
    async fn refund(&self, request: &RefundRequest<'_>) -> Result<RefundOutcome, ConnectorError>;

    /// Exchanges card details for a payment method token in the PSP's vault.
    async fn tokenize_card(&self, _card: &CardDetails) -> Result<CardToken, ConnectorError> {
        Err(ConnectorError::Refused(format!(
            "{} does not take card details here",
            self.name()
        )))
    }

    /// Whether [`Connector::create_checkout`] is offered; routing skips connectors without it.
    fn hosted_checkout(&self) -> bool {
        false
    }

    /// Opens a hosted payment page; its result arrives by webhook. Moves no money by itself.
    async fn create_checkout(
        &self,
        _request: &CheckoutRequest<'_>,
    ) -> Result<HostedCheckout, ConnectorError> {
        Err(ConnectorError::Refused(format!(
            "{} has no hosted checkout here",
            self.name()
        )))
    }

    /// Where the checkout `psp_reference` stands. Asked only once the page's `expires_at` has
    /// passed, to settle charges whose events were lost and to cancel abandoned pages.
    async fn checkout_state(&self, _psp_reference: &str) -> Result<CheckoutState, ConnectorError> {
        Err(ConnectorError::Refused(format!(
            "{} has no hosted checkout here",
            self.name()
        )))
    }

    /// Verifies a webhook's signature before reading anything from it, then reads the event.
    async fn verify_webhook(
        &self,
        headers: &Headers,
        body: &[u8],
    ) -> Result<WebhookEvent, WebhookError>;
}
