//! Stripe API v1 objects, shaped exactly as they appear on the wire.
//!
//! Only the fields the sandbox models are present; every type also deserializes so that tests and
//! other crates can read the sandbox's answers with the same definitions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Stripe metadata: string keys to string values, serialized in a stable order.
pub type Metadata = BTreeMap<String, String>;

/// The API version stamped on every event, as a Stripe account pinned to it would send.
pub const API_VERSION: &str = "2024-06-20";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentIntentStatus {
    RequiresPaymentMethod,
    RequiresConfirmation,
    RequiresAction,
    Processing,
    RequiresCapture,
    Canceled,
    Succeeded,
}

impl PaymentIntentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RequiresPaymentMethod => "requires_payment_method",
            Self::RequiresConfirmation => "requires_confirmation",
            Self::RequiresAction => "requires_action",
            Self::Processing => "processing",
            Self::RequiresCapture => "requires_capture",
            Self::Canceled => "canceled",
            Self::Succeeded => "succeeded",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureMethod {
    Automatic,
    AutomaticAsync,
    Manual,
}

impl CaptureMethod {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "automatic" => Some(Self::Automatic),
            "automatic_async" => Some(Self::AutomaticAsync),
            "manual" => Some(Self::Manual),
            _ => None,
        }
    }
}

/// The `type` of an API error, also used for `last_payment_error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    ApiError,
    CardError,
    IdempotencyError,
    InvalidRequestError,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub object: String,
    pub amount: i64,
    pub amount_capturable: i64,
    pub amount_received: i64,
    pub currency: String,
    pub status: PaymentIntentStatus,
    pub payment_method: Option<String>,
    pub capture_method: CaptureMethod,
    pub created: i64,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub latest_charge: Option<String>,
    pub last_payment_error: Option<PaymentError>,
    pub next_action: Option<NextAction>,
    pub canceled_at: Option<i64>,
    pub cancellation_reason: Option<String>,
    pub livemode: bool,
}

/// `last_payment_error` of a PaymentIntent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentError {
    #[serde(rename = "type")]
    pub kind: ErrorType,
    pub code: Option<String>,
    pub decline_code: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextAction {
    /// Always `redirect_to_url` in the sandbox.
    #[serde(rename = "type")]
    pub kind: String,
    pub redirect_to_url: RedirectToUrl,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectToUrl {
    pub url: String,
    pub return_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatus {
    Succeeded,
    Pending,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    pub id: String,
    pub object: String,
    pub amount: i64,
    pub amount_captured: i64,
    pub amount_refunded: i64,
    pub captured: bool,
    pub refunded: bool,
    pub paid: bool,
    pub currency: String,
    pub payment_intent: String,
    pub payment_method: Option<String>,
    pub status: ChargeStatus,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub created: i64,
    pub metadata: Metadata,
    pub livemode: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundReason {
    Duplicate,
    Fraudulent,
    RequestedByCustomer,
}

impl RefundReason {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "duplicate" => Some(Self::Duplicate),
            "fraudulent" => Some(Self::Fraudulent),
            "requested_by_customer" => Some(Self::RequestedByCustomer),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub id: String,
    pub object: String,
    pub amount: i64,
    pub currency: String,
    pub charge: String,
    pub payment_intent: String,
    /// Always `succeeded`: the sandbox settles refunds synchronously.
    pub status: String,
    pub reason: Option<RefundReason>,
    pub created: i64,
    pub metadata: Metadata,
}

/// A webhook event. `data.object` is the resource in its state right after the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub object: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub created: i64,
    pub data: EventData,
    pub livemode: bool,
    pub api_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventData {
    pub object: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResult<T> {
    pub object: String,
    pub data: Vec<T>,
    pub has_more: bool,
    pub next_page: Option<String>,
    pub url: String,
}

/// The body of every non-2xx answer: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub error: ApiError,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    #[serde(rename = "type")]
    pub kind: ErrorType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_code: Option<String>,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// Card errors carry the PaymentIntent in its failed state, like Stripe's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_intent: Option<Box<PaymentIntent>>,
}
