//! The server-to-server card path: a charge request carrying card details. The card is checked,
//! sent to the PSP's vault and forgotten; nothing here ever echoes or formats the number.

use super::{CreateChargeRequest, NewCharge};
use crate::connectors::CardDetails;
use auth::{Principal, PrincipalKind};
use chrono::Datelike;
use platform::{ApiError, FieldError};
use secrecy::SecretString;
use serde_json::Value;

/// A valid card charge: the charge (its payment method filled in once the card is tokenised),
/// the card, and the request with the card replaced by its last four digits, for idempotency.
pub struct CardCharge {
    pub charge: NewCharge,
    pub card: CardDetails,
    pub redacted_body: Vec<u8>,
}

/// Placeholder until the PSP's token replaces it; never stored.
const PENDING_TOKEN: &str = "pm_pending_card";

impl CardCharge {
    pub fn parse(
        body: &[u8],
        principal: &Principal,
        today: chrono::NaiveDate,
    ) -> Result<Self, ApiError> {
        if principal.kind != PrincipalKind::Partner {
            return Err(ApiError::Forbidden(
                "card details are accepted from merchant servers only; apps use a payment method token".into(),
            ));
        }
        // Parse errors from serde may quote the offending value: report none of them.
        let mut value: Value = serde_json::from_slice(body)
            .map_err(|_| ApiError::MalformedRequest("the body is not valid JSON".into()))?;
        let object = value
            .as_object_mut()
            .ok_or_else(|| ApiError::MalformedRequest("the body must be a JSON object".into()))?;
        let card = object
            .remove("card")
            .ok_or_else(|| ApiError::validation("card", "is required"))?;
        if object.contains_key("payment_method") {
            return Err(ApiError::validation(
                "payment_method",
                "send either card details here or a payment method token to /charges",
            ));
        }
        let card = read_card(&card, today)?;
        object.insert("payment_method".into(), Value::String(PENDING_TOKEN.into()));
        let request: CreateChargeRequest =
            platform::http::parse_json(value.to_string().as_bytes())?;
        let charge = NewCharge::parse(request, principal)?;

        let mut redacted = value;
        if let Some(object) = redacted.as_object_mut() {
            object.remove("payment_method");
            object.insert(
                "card".into(),
                serde_json::json!({ "last4": last4(&card), "exp_month": card.exp_month, "exp_year": card.exp_year }),
            );
        }
        Ok(CardCharge {
            charge,
            card,
            redacted_body: redacted.to_string().into_bytes(),
        })
    }
}

fn last4(card: &CardDetails) -> String {
    use secrecy::ExposeSecret;
    let number = card.number.expose_secret();
    number[number.len().saturating_sub(4)..].to_owned()
}

fn read_card(card: &Value, today: chrono::NaiveDate) -> Result<CardDetails, ApiError> {
    let mut errors = Vec::new();
    let digits: String = card["number"]
        .as_str()
        .unwrap_or_default()
        .chars()
        .filter(|c| *c != ' ')
        .collect();
    let number_ok = (12..=19).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && luhn_valid(&digits);
    if !number_ok {
        errors.push(FieldError::new("card.number", "is not a valid card number"));
    }
    let exp_month = card["exp_month"].as_u64().filter(|m| (1..=12).contains(m));
    let exp_year = card["exp_year"]
        .as_i64()
        .filter(|y| (2000..=2100).contains(y));
    match (exp_month, exp_year) {
        (Some(month), Some(year)) => {
            let expired = (year as i32, month as u32) < (today.year(), today.month());
            if expired {
                errors.push(FieldError::new("card.exp_year", "the card has expired"));
            }
        }
        _ => errors.push(FieldError::new(
            "card.exp_month",
            "exp_month (1-12) and a four-digit exp_year are required",
        )),
    }
    let cvc = card["cvc"].as_str().unwrap_or_default();
    if !((3..=4).contains(&cvc.len()) && cvc.bytes().all(|b| b.is_ascii_digit())) {
        errors.push(FieldError::new("card.cvc", "must be 3 or 4 digits"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(CardDetails {
        number: SecretString::from(digits),
        exp_month: exp_month.unwrap_or_default() as u32,
        exp_year: exp_year.unwrap_or_default() as i32,
        cvc: SecretString::from(cvc.to_owned()),
    })
}

/// The Luhn checksum every card number carries.
fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use uuid::Uuid;

    fn partner() -> Principal {
        Principal {
            subject: Uuid::new_v4(),
            kind: PrincipalKind::Partner,
            role: None,
            scopes: vec!["payments:write".into()],
        }
    }

    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    fn body(card: Value) -> Vec<u8> {
        json!({"amount": 100, "currency": "AUD", "member_id": Uuid::new_v4(), "card": card})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn luhn_tells_typos_from_card_numbers() {
        assert!(luhn_valid("4242424242424242"));
        assert!(luhn_valid("378282246310005"));
        assert!(!luhn_valid("4242424242424241"));
    }

    #[test]
    fn a_valid_card_is_redacted_for_the_idempotency_record() {
        let parsed = CardCharge::parse(
            &body(json!({"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2030, "cvc": "123"})),
            &partner(),
            today(),
        )
        .unwrap();
        let redacted = String::from_utf8(parsed.redacted_body).unwrap();
        assert!(!redacted.contains("42424242"), "{redacted}");
        assert!(!redacted.contains("123\""), "{redacted}");
        assert!(redacted.contains("\"last4\":\"4242\""));
        assert!(!format!("{:?}", parsed.card).contains("42424242"));
    }

    #[test]
    fn bad_cards_name_the_field_and_never_the_number() {
        for (card, field) in [
            (
                json!({"number": "4242424242424241", "exp_month": 12, "exp_year": 2030, "cvc": "123"}),
                "card.number",
            ),
            (
                json!({"number": "4242424242424242", "exp_month": 10, "exp_year": 2026, "cvc": "123"}),
                "card.exp_year",
            ),
            (
                json!({"number": "4242424242424242", "exp_month": 13, "exp_year": 2030, "cvc": "123"}),
                "card.exp_month",
            ),
            (
                json!({"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "12"}),
                "card.cvc",
            ),
        ] {
            match CardCharge::parse(&body(card), &partner(), today()) {
                Err(ApiError::Validation(errors)) => {
                    assert_eq!(errors[0].field, field);
                    assert!(!format!("{errors:?}").contains("424242"));
                }
                _ => panic!("expected a validation error for {field}"),
            }
        }
    }
}
