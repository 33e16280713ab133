//! Secret-key authentication, as Stripe does it: `Authorization: Bearer <key>` (or HTTP Basic with
//! the key as the user name, which is what `curl -u sk_test_...:` sends).

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest};
use base64::Engine as _;

use super::error::StripeError;
use super::types::ErrorType;
use super::StripeState;

/// Extractor that admits only requests carrying the configured secret key. Put it first in a
/// handler's arguments so authentication is checked before the body is looked at.
pub struct Authenticated;

impl FromRequest for Authenticated {
    type Error = StripeError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

/// Extractor that admits the secret key or the publishable key: for the few calls a browser
/// makes with the key a merchant's page shows (tokenising a card).
pub struct PublishableOrSecret;

impl FromRequest for PublishableOrSecret {
    type Error = StripeError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(check_key(req, true).map(|_| PublishableOrSecret))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Authenticated, StripeError> {
    check_key(req, false).map(|_| Authenticated)
}

fn check_key(req: &HttpRequest, publishable_allowed: bool) -> Result<(), StripeError> {
    let state = req.app_data::<web::Data<StripeState>>().ok_or_else(|| {
        StripeError::api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The Stripe sandbox is not configured.",
        )
    })?;
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(no_key());
    };
    let Ok(value) = value.to_str() else {
        return Err(invalid_key("****"));
    };
    let provided = bearer(value).or_else(|| basic(value)).ok_or_else(no_key)?;
    let publishable = publishable_allowed
        && constant_time_eq(provided.as_bytes(), state.publishable_key.as_bytes());
    if publishable || constant_time_eq(provided.as_bytes(), state.secret_key.as_bytes()) {
        Ok(())
    } else {
        Err(invalid_key(&mask(&provided)))
    }
}

fn bearer(value: &str) -> Option<String> {
    let (scheme, key) = value.split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then(|| key.to_owned())
}

fn basic(value: &str) -> Option<String> {
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    // The key is the user name; the password is empty.
    let key = decoded.split(':').next().unwrap_or_default();
    (!key.is_empty()).then(|| key.to_owned())
}

fn no_key() -> StripeError {
    StripeError::new(
        StatusCode::UNAUTHORIZED,
        ErrorType::InvalidRequestError,
        "You did not provide an API key. You need to provide your API key in the Authorization \
         header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
    )
}

fn invalid_key(masked: &str) -> StripeError {
    StripeError::new(
        StatusCode::UNAUTHORIZED,
        ErrorType::InvalidRequestError,
        format!("Invalid API Key provided: {masked}"),
    )
}

/// Replaces all but the last four characters with `*`; keys of four characters or fewer are
/// masked entirely so that a short key is never echoed back whole.
pub(crate) fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let visible = if chars.len() > 4 { 4 } else { 0 };
    let hidden = chars.len() - visible;
    let mut masked = "*".repeat(hidden);
    masked.extend(&chars[hidden..]);
    masked
}

/// Whether `key` is the publishable key (the card fields check it before showing anything).
pub(crate) fn is_publishable_key(state: &StripeState, key: &str) -> bool {
    constant_time_eq(key.as_bytes(), state.publishable_key.as_bytes())
}

/// Compares without an early exit so response timing does not reveal how much of a guessed key
/// was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_all_but_the_last_four() {
        assert_eq!(mask("sk_test_abcd1234"), "************1234");
        assert_eq!(mask("abcd"), "****");
        assert_eq!(mask(""), "");
    }

    #[test]
    fn reads_bearer_and_basic() {
        assert_eq!(bearer("Bearer sk_test_x").as_deref(), Some("sk_test_x"));
        assert_eq!(bearer("Bearer "), None);
        // "sk_test_x:" in base64
        assert_eq!(
            basic("Basic c2tfdGVzdF94Og==").as_deref(),
            Some("sk_test_x")
        );
        assert_eq!(basic("Bearer sk_test_x"), None);
    }
}
