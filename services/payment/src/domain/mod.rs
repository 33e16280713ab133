//! Charges: what a valid request is and how a charge's status may move. No I/O.

mod card;
mod charge;
mod checkout;

pub use card::CardCharge;
pub use charge::{CardSummary, ChargeKind, ChargeStatus, CreateChargeRequest, NewCharge};
pub use checkout::{CreateCheckoutSessionRequest, NewCheckout, HOSTED_CHECKOUT_METHOD};

const MAX_URL_CHARS: usize = 2048;

/// An absolute http(s) URL with a host, for sending a customer's browser somewhere. The text
/// is kept as given (a PSP may fill in templates such as `{CHECKOUT_SESSION_ID}`), so it must
/// also be plain visible ASCII.
fn check_url(field: &str, url: &str, errors: &mut Vec<platform::FieldError>) {
    let parsed = reqwest::Url::parse(url).ok();
    let ok = url.len() <= MAX_URL_CHARS
        && url.chars().all(|c| c.is_ascii_graphic())
        && parsed.is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
    if !ok {
        errors.push(platform::FieldError::new(
            field,
            format!("must be an absolute http(s) URL of at most {MAX_URL_CHARS} characters"),
        ));
    }
}
