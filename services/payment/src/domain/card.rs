//! Card details sent server to server. The card is checked, sent to the PSP's vault and
//! forgotten; nothing here ever echoes or formats the number.

use super::{FieldProblem, InputError};
use chrono::Datelike;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// Card details on their way to the PSP's vault. Never stored, never logged: `Debug` shows only
/// the last four digits.
pub struct CardDetails {
    pub number: SecretString,
    pub exp_month: u32,
    pub exp_year: i32,
    pub cvc: SecretString,
}

impl CardDetails {
    /// What a receipt may show of the number.
    pub fn last4(&self) -> &str {
        let number = self.number.expose_secret();
        &number[number.len().saturating_sub(4)..]
    }
}

impl std::fmt::Debug for CardDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardDetails")
            .field("last4", &self.last4())
            .finish_non_exhaustive()
    }
}

/// Reads `{number, exp_month, exp_year, cvc}`: a Luhn-valid number, a month and year not past
/// `today`, a 3 or 4 digit CVC. Problems name the field, never the number.
pub fn read_card(card: &Value, today: chrono::NaiveDate) -> Result<CardDetails, InputError> {
    let mut problems = Vec::new();
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
        problems.push(FieldProblem::new(
            "card.number",
            "is not a valid card number",
        ));
    }
    let exp_month = card["exp_month"]
        .as_u64()
        .filter(|m| (1..=12).contains(m))
        .and_then(|m| u32::try_from(m).ok());
    let exp_year = card["exp_year"]
        .as_i64()
        .filter(|y| (2000..=2100).contains(y))
        .and_then(|y| i32::try_from(y).ok());
    match (exp_month, exp_year) {
        (Some(month), Some(year)) => {
            if (year, month) < (today.year(), today.month()) {
                problems.push(FieldProblem::new("card.exp_year", "the card has expired"));
            }
        }
        _ => problems.push(FieldProblem::new(
            "card.exp_month",
            "exp_month (1-12) and a four-digit exp_year are required",
        )),
    }
    let cvc = card["cvc"].as_str().unwrap_or_default();
    if !((3..=4).contains(&cvc.len()) && cvc.bytes().all(|b| b.is_ascii_digit())) {
        problems.push(FieldProblem::new("card.cvc", "must be 3 or 4 digits"));
    }
    match (exp_month, exp_year) {
        (Some(exp_month), Some(exp_year)) if problems.is_empty() => Ok(CardDetails {
            number: SecretString::from(digits),
            exp_month,
            exp_year,
            cvc: SecretString::from(cvc.to_owned()),
        }),
        _ => Err(InputError::Invalid(problems)),
    }
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

    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    #[test]
    fn luhn_tells_typos_from_card_numbers() {
        assert!(luhn_valid("4242424242424242"));
        assert!(luhn_valid("378282246310005"));
        assert!(!luhn_valid("4242424242424241"));
    }

    #[test]
    fn a_valid_card_shows_only_its_last_four_digits() {
        let card = read_card(
            &json!({"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}),
            today(),
        )
        .unwrap();
        assert_eq!(card.last4(), "4242");
        assert!(!format!("{card:?}").contains("42424242"));
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
            match read_card(&card, today()) {
                Err(InputError::Invalid(problems)) => {
                    assert_eq!(problems[0].field, field);
                    assert!(!format!("{problems:?}").contains("424242"));
                }
                _ => panic!("expected a validation error for {field}"),
            }
        }
    }
}
