//! RFC 9457 problem details. Every error a client sees is `application/problem+json` with a
//! stable `type` URI; internal details are logged with the request id, never sent.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;

pub const TYPE_PREFIX: &str = "urn:tessera:problem:";

/// One invalid field in a request, named the way the client sent it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(thiserror::Error)]
pub enum ApiError {
    /// The body could not be read at all (malformed JSON, wrong content type).
    #[error("malformed request: {0}")]
    MalformedRequest(String),
    /// The body was read but a field is invalid.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("authentication required: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Refused by a rule about the caller that a client can act on (e.g. a tier too low), with
    /// its own problem type.
    #[error("denied: {detail}")]
    Denied { slug: &'static str, detail: String },
    #[error("not found: {0}")]
    NotFound(String),
    /// A conflict with the current state (e.g. a request with this idempotency key is in flight).
    #[error("conflict: {detail}")]
    Conflict { slug: &'static str, detail: String },
    /// The request is well-formed but breaks a business rule.
    #[error("unprocessable: {detail}")]
    Unprocessable { slug: &'static str, detail: String },
    /// The body is larger than the endpoint accepts.
    #[error("payload too large")]
    PayloadTooLarge { max_bytes: usize },
    /// The path exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn slug(&self) -> &'static str {
        match self {
            ApiError::MalformedRequest(_) => "malformed-request",
            ApiError::Validation(_) => "validation-error",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::Conflict { slug, .. }
            | ApiError::Unprocessable { slug, .. }
            | ApiError::Denied { slug, .. } => slug,
            ApiError::PayloadTooLarge { .. } => "payload-too-large",
            ApiError::MethodNotAllowed => "method-not-allowed",
            ApiError::TooManyRequests { .. } => "rate-limited",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal-error",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::MalformedRequest(_) => "Malformed request",
            ApiError::Validation(_) => "Invalid request",
            ApiError::Unauthorized(_) => "Authentication required",
            ApiError::Forbidden(_) | ApiError::Denied { .. } => "Forbidden",
            ApiError::NotFound(_) => "Not found",
            ApiError::Conflict { .. } => "Conflict",
            ApiError::Unprocessable { .. } => "Request cannot be processed",
            ApiError::PayloadTooLarge { .. } => "Payload too large",
            ApiError::MethodNotAllowed => "Method not allowed",
            ApiError::TooManyRequests { .. } => "Too many requests",
            ApiError::Unavailable(_) => "Service unavailable",
            ApiError::Internal(_) => "Internal error",
        }
    }

    /// What the client may read. Internal errors say nothing about their cause.
    fn detail(&self) -> String {
        match self {
            ApiError::Validation(errors) => match errors.as_slice() {
                [one] => format!("{}: {}", one.field, one.message),
                _ => "several fields are invalid".to_owned(),
            },
            ApiError::Internal(_) => "an unexpected error occurred; it has been logged".to_owned(),
            ApiError::TooManyRequests { retry_after_secs } => {
                format!("retry after {retry_after_secs} seconds")
            }
            ApiError::PayloadTooLarge { max_bytes } => {
                format!("the body must be at most {max_bytes} bytes")
            }
            ApiError::MethodNotAllowed => "this path does not take this method".to_owned(),
            ApiError::MalformedRequest(d)
            | ApiError::Unauthorized(d)
            | ApiError::Forbidden(d)
            | ApiError::NotFound(d)
            | ApiError::Unavailable(d) => d.clone(),
            ApiError::Conflict { detail, .. }
            | ApiError::Unprocessable { detail, .. }
            | ApiError::Denied { detail, .. } => detail.clone(),
        }
    }
}

/// Walks the whole `source()` chain so logs show the root cause.
impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{self}")?;
        if let ApiError::Internal(e) = self {
            for cause in e.chain().skip(1) {
                writeln!(f, "  caused by: {cause}")?;
            }
        }
        Ok(())
    }
}

/// The body of a problem response (RFC 9457), with our `errors` extension for field errors.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProblemDetails {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::MalformedRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Validation(_) | ApiError::Unprocessable { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::Denied { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(error = ?self, "request failed");
        } else {
            tracing::debug!(error = %self, "request refused");
        }
        let body = ProblemDetails {
            problem_type: format!("{TYPE_PREFIX}{}", self.slug()),
            title: self.title().to_owned(),
            status: status.as_u16(),
            detail: self.detail(),
            errors: match self {
                ApiError::Validation(errors) => errors.clone(),
                _ => Vec::new(),
            },
        };
        let mut response = HttpResponse::build(status);
        response.content_type("application/problem+json");
        match self {
            ApiError::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            ApiError::TooManyRequests { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            ApiError::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
        response.json(body)
    }
}

impl From<sqlx::Error> for ApiError {
    /// A database that cannot be reached (down, restarting, its connection lost mid-request) is
    /// a 503 the client may retry, not a 500: the crash test saw a request whose backend died
    /// with Postgres answer 500.
    fn from(e: sqlx::Error) -> Self {
        if database_unavailable(&e) {
            tracing::warn!(error = %e, "the database is unavailable");
            return ApiError::Unavailable(
                "the database is unavailable; try again in a moment".into(),
            );
        }
        ApiError::Internal(anyhow::Error::new(e).context("database error"))
    }
}

/// Connection failures, and the SQLSTATEs of a server going away: class 08 (connection
/// exception) and 57P01-57P03 (shut down, crashed, not accepting connections yet).
fn database_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod database_errors {
    use super::*;
    use actix_web::ResponseError;

    #[test]
    fn a_database_that_is_down_is_a_503_to_retry_and_other_failures_stay_500() {
        for down in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
        ] {
            let error = ApiError::from(down);
            assert_eq!(error.status_code(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(
                error
                    .error_response()
                    .headers()
                    .get(header::RETRY_AFTER)
                    .unwrap(),
                "1"
            );
        }
        let other = ApiError::from(sqlx::Error::RowNotFound);
        assert_eq!(other.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
