//! Stripe-shaped API errors: `{"error": {"type": ..., "code": ..., "message": ..., "param": ...}}`.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use super::types::{ApiError, ErrorResponse, ErrorType};

#[derive(Debug, Clone)]
pub struct StripeError {
    status: StatusCode,
    error: ApiError,
}

impl StripeError {
    pub fn new(status: StatusCode, kind: ErrorType, message: impl Into<String>) -> Self {
        Self {
            status,
            error: ApiError {
                kind,
                code: None,
                decline_code: None,
                message: message.into(),
                param: None,
                payment_intent: None,
            },
        }
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::InvalidRequestError,
            message,
        )
    }

    /// 400 for a parameter that is present but unacceptable.
    pub fn invalid_param(param: &str, message: impl Into<String>) -> Self {
        Self::invalid_request(message).with_param(param)
    }

    pub fn missing_param(param: &str) -> Self {
        Self::invalid_request(format!("Missing required param: {param}."))
            .with_code("parameter_missing")
            .with_param(param)
    }

    /// `No such <kind>: '<id>'`. Stripe answers 404 when the path names a missing object and 400
    /// when a body parameter does, hence the explicit status.
    pub fn resource_missing(status: StatusCode, kind: &str, id: &str, param: &str) -> Self {
        Self::new(
            status,
            ErrorType::InvalidRequestError,
            format!("No such {kind}: '{id}'"),
        )
        .with_code("resource_missing")
        .with_param(param)
    }

    pub fn unexpected_state(message: impl Into<String>) -> Self {
        Self::invalid_request(message).with_code("payment_intent_unexpected_state")
    }

    pub fn api_error(status: StatusCode, message: impl Into<String>) -> Self {
        Self::new(status, ErrorType::ApiError, message)
    }

    pub fn unrecognized_url(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorType::InvalidRequestError,
            format!(
                "Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs \
                 or we can help at https://support.stripe.com/."
            ),
        )
    }

    pub fn with_code(mut self, code: &str) -> Self {
        self.error.code = Some(code.to_owned());
        self
    }

    pub fn with_param(mut self, param: &str) -> Self {
        self.error.param = Some(param.to_owned());
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn into_http(self) -> HttpResponse {
        self.error_response()
    }

    pub fn body(&self) -> ErrorResponse {
        ErrorResponse {
            error: self.error.clone(),
        }
    }
}

impl fmt::Display for StripeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.error.message)
    }
}

impl ResponseError for StripeError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(self.body())
    }
}
