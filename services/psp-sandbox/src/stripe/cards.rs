//! The test payment methods and what confirming a PaymentIntent with each of them does.

/// How a card behaves when a PaymentIntent is confirmed with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Authorized (and captured, unless `capture_method=manual`).
    Approve,
    /// Declined by the issuer: HTTP 402 and `payment_intent.payment_failed`.
    Decline(Decline),
    /// Needs 3-D Secure: `requires_action` with a redirect to the sandbox's own challenge page.
    RequireAction,
    /// Approved at once, but the HTTP answer only comes after [`TIMEOUT_DELAY`].
    Timeout,
    /// HTTP 500 `api_error`; nothing is created or changed.
    ServerError,
    /// HTTP 503 on the first attempt for an `Idempotency-Key`, approved on the next.
    Flaky,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decline {
    pub decline_code: &'static str,
    pub message: &'static str,
}

/// Long enough for any sensible client timeout to fire first.
pub const TIMEOUT_DELAY: std::time::Duration = std::time::Duration::from_secs(30);

/// Every test payment method the sandbox knows, with its behaviour.
pub const TEST_PAYMENT_METHODS: &[(&str, Behaviour)] = &[
    ("pm_card_visa", Behaviour::Approve),
    ("pm_card_mastercard", Behaviour::Approve),
    ("pm_card_amex", Behaviour::Approve),
    (
        "pm_card_chargeDeclined",
        Behaviour::Decline(Decline {
            decline_code: "generic_decline",
            message: "Your card was declined.",
        }),
    ),
    (
        "pm_card_chargeDeclinedInsufficientFunds",
        Behaviour::Decline(Decline {
            decline_code: "insufficient_funds",
            message: "Your card has insufficient funds.",
        }),
    ),
    (
        "pm_card_chargeDeclinedFraudulent",
        Behaviour::Decline(Decline {
            decline_code: "fraudulent",
            message: "Your card was declined.",
        }),
    ),
    ("pm_card_threeDSecureRequired", Behaviour::RequireAction),
    ("pm_card_timeout", Behaviour::Timeout),
    ("pm_card_error500", Behaviour::ServerError),
    ("pm_card_flaky", Behaviour::Flaky),
];

pub fn behaviour(payment_method: &str) -> Option<Behaviour> {
    TEST_PAYMENT_METHODS
        .iter()
        .find(|(name, _)| *name == payment_method)
        .map(|(_, behaviour)| *behaviour)
}

/// Stripe's test card numbers and the test payment method each behaves as, with its brand.
/// `POST /v1/payment_methods` turns one of these into a payment method token.
pub const TEST_CARD_NUMBERS: &[(&str, &str, &str)] = &[
    ("4242424242424242", "pm_card_visa", "visa"),
    ("5555555555554444", "pm_card_mastercard", "mastercard"),
    ("378282246310005", "pm_card_amex", "amex"),
    ("4000000000000002", "pm_card_chargeDeclined", "visa"),
    (
        "4000000000009995",
        "pm_card_chargeDeclinedInsufficientFunds",
        "visa",
    ),
    (
        "4100000000000019",
        "pm_card_chargeDeclinedFraudulent",
        "visa",
    ),
    ("4000002760003184", "pm_card_threeDSecureRequired", "visa"),
];
