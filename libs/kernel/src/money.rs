//! Money is an integer amount of minor units plus an ISO 4217 currency; never a float.

use serde::{Deserialize, Serialize};
use std::fmt;

/// ISO 4217 currencies we accept, with their minor-unit exponent.
const CURRENCIES: &[(&str, u32)] = &[
    ("AED", 2),
    ("AUD", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("MXN", 2),
    ("MYR", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PHP", 2),
    ("PLN", 2),
    ("RON", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TRY", 2),
    ("TWD", 2),
    ("USD", 2),
    ("VND", 0),
    ("ZAR", 2),
];

/// A currency we know the minor units of. Parse, don't validate: holding one means it is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    exponent: u32,
}

impl Currency {
    /// Accepts the code in any case (`aud`, `AUD`).
    pub fn parse(code: &str) -> Result<Self, String> {
        let upper = code.trim().to_ascii_uppercase();
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == upper)
            .map(|&(code, exponent)| Currency { code, exponent })
            .ok_or_else(|| format!("{code:?} is not a supported ISO 4217 currency"))
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Minor units in one major unit: 100 for AUD, 1 for JPY, 1000 for KWD.
    pub fn minor_per_major(&self) -> i64 {
        10_i64.pow(self.exponent)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Currency::parse(&code).map_err(serde::de::Error::custom)
    }
}

/// A positive amount of money in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: Currency,
}

/// The largest single amount we accept: 10^12 minor units (ten billion in a 2-decimal currency).
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000;

impl Money {
    pub fn positive(amount_minor: i64, currency: Currency) -> Result<Self, String> {
        if amount_minor <= 0 {
            return Err("must be a positive integer number of minor units".into());
        }
        if amount_minor > MAX_AMOUNT_MINOR {
            return Err(format!("must not exceed {MAX_AMOUNT_MINOR} minor units"));
        }
        Ok(Money {
            amount_minor,
            currency,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_parse_case_insensitively_with_their_exponent() {
        assert_eq!(Currency::parse("aud").unwrap().minor_per_major(), 100);
        assert_eq!(Currency::parse("JPY").unwrap().minor_per_major(), 1);
        assert_eq!(Currency::parse("KWD").unwrap().minor_per_major(), 1000);
        assert!(Currency::parse("XXX").is_err());
        assert!(Currency::parse("").is_err());
    }

    #[test]
    fn money_must_be_positive_and_bounded() {
        let aud = Currency::parse("AUD").unwrap();
        assert!(Money::positive(0, aud).is_err());
        assert!(Money::positive(-5, aud).is_err());
        assert!(Money::positive(MAX_AMOUNT_MINOR + 1, aud).is_err());
        assert_eq!(Money::positive(12345, aud).unwrap().amount_minor, 12345);
    }
}
