//! The payment service's rules and types: what a valid request is, how a charge, a refund and a
//! PSP job may move. No I/O, nothing of HTTP or the database.

mod card;
mod charge;
mod checkout;
mod job;
mod refund;
mod withdrawal;

pub use card::{read_card, CardDetails};
pub use charge::{
    CardSummary, Charge, ChargeFilter, ChargeInput, ChargeKind, ChargeStatus, NewCharge, Payer,
    Transition, Visibility,
};
pub use checkout::{CheckoutInput, CheckoutSession, NewCheckout, HOSTED_CHECKOUT_METHOD};
pub use job::{Job, JobKind, JobStatus};
pub use refund::{refund_amount, NewRefund, Refund, RefundError, RefundStatus};
pub use withdrawal::{NewWithdrawal, Withdrawal, WithdrawalInput};

/// One field of a request that broke a rule, and the rule in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

impl FieldProblem {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why a request was refused before anything happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The caller may not ask for this at all.
    #[error("{0}")]
    Forbidden(String),
    /// Fields that break the rules, every one of them.
    #[error("{} invalid field(s)", .0.len())]
    Invalid(Vec<FieldProblem>),
}

impl InputError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        InputError::Invalid(vec![FieldProblem::new(field, message)])
    }
}

const MAX_URL_CHARS: usize = 2048;

/// An absolute http(s) URL with a host, for sending a customer's browser somewhere. The text
/// is kept as given (a PSP may fill in templates such as `{CHECKOUT_SESSION_ID}`), so it must
/// also be plain visible ASCII.
fn check_url(field: &str, url: &str, problems: &mut Vec<FieldProblem>) {
    let parsed = reqwest::Url::parse(url).ok();
    let ok = url.len() <= MAX_URL_CHARS
        && url.chars().all(|c| c.is_ascii_graphic())
        && parsed.is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
    if !ok {
        problems.push(FieldProblem::new(
            field,
            format!("must be an absolute http(s) URL of at most {MAX_URL_CHARS} characters"),
        ));
    }
}
