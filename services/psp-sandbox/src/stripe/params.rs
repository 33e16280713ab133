//! Stripe's form-encoded parameters (`a=1&metadata[k]=v`), validated the way Stripe does:
//! unknown parameters are refused, an empty value means "not given", and every error names the
//! offending `param`.

use super::error::StripeError;
use super::types::Metadata;

// Stripe's documented metadata limits.
const METADATA_MAX_KEYS: usize = 50;
const METADATA_KEY_MAX_CHARS: usize = 40;
const METADATA_VALUE_MAX_CHARS: usize = 500;

/// Stripe refuses amounts above eight digits (99,999,999 minor units).
pub const MAX_AMOUNT: i64 = 99_999_999;

#[derive(Debug, Clone, Default)]
pub struct FormParams {
    pairs: Vec<(String, String)>,
}

impl FormParams {
    /// Parses a request body or a query string.
    pub fn parse(raw: &[u8]) -> Result<Self, StripeError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(raw).map_err(|_| {
            StripeError::invalid_request(
                "Invalid request body: expected application/x-www-form-urlencoded parameters.",
            )
        })?;
        Ok(Self { pairs })
    }

    /// The parameters in a canonical order, so two requests that differ only in parameter order
    /// count as the same request for idempotency.
    pub fn fingerprint(&self) -> Vec<(String, String)> {
        let mut pairs = self.pairs.clone();
        pairs.sort();
        pairs
    }

    /// Refuses any parameter outside `allowed` (and outside `metadata[...]` when `metadata`).
    pub fn allow_only(&self, allowed: &[&str], metadata: bool) -> Result<(), StripeError> {
        for (name, _) in &self.pairs {
            let known =
                allowed.contains(&name.as_str()) || (metadata && name.starts_with("metadata["));
            if !known {
                return Err(StripeError::invalid_param(
                    name,
                    format!("Received unknown parameter: {name}"),
                )
                .with_code("parameter_unknown"));
            }
        }
        Ok(())
    }

    /// The value of a scalar parameter; an empty value counts as absent, as in Stripe.
    pub fn str(&self, name: &str) -> Result<Option<&str>, StripeError> {
        let mut values = self
            .pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(StripeError::invalid_param(
                name,
                format!("Received the parameter {name} more than once."),
            ));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }

    pub fn required_str(&self, name: &str) -> Result<&str, StripeError> {
        self.str(name)?
            .ok_or_else(|| StripeError::missing_param(name))
    }

    pub fn i64(&self, name: &str) -> Result<Option<i64>, StripeError> {
        self.str(name)?
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    StripeError::invalid_param(name, format!("Invalid integer: {v}"))
                        .with_code("parameter_invalid_integer")
                })
            })
            .transpose()
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, StripeError> {
        self.str(name)?
            .map(|v| match v {
                "true" => Ok(true),
                "false" => Ok(false),
                other => Err(StripeError::invalid_param(
                    name,
                    format!("Invalid boolean: {other}"),
                )),
            })
            .transpose()
    }

    /// A positive amount in minor units, no larger than Stripe's maximum.
    pub fn amount(&self, name: &str) -> Result<Option<i64>, StripeError> {
        let Some(amount) = self.i64(name)? else {
            return Ok(None);
        };
        if amount < 1 {
            return Err(StripeError::invalid_param(
                name,
                "This value must be greater than or equal to 1.",
            )
            .with_code("amount_too_small"));
        }
        if amount > MAX_AMOUNT {
            return Err(StripeError::invalid_param(
                name,
                format!("This value must be less than or equal to {MAX_AMOUNT}."),
            )
            .with_code("amount_too_large"));
        }
        Ok(Some(amount))
    }

    /// A three-letter ISO currency code, answered in lowercase as Stripe does.
    pub fn currency(&self, name: &str) -> Result<String, StripeError> {
        let value = self.required_str(name)?;
        if value.len() == 3 && value.bytes().all(|b| b.is_ascii_alphabetic()) {
            Ok(value.to_ascii_lowercase())
        } else {
            Err(StripeError::invalid_param(
                name,
                format!("Invalid currency: {value}. Currencies are three-letter ISO codes such as 'usd'."),
            ))
        }
    }

    /// Collects `metadata[key]=value` pairs; empty values unset a key, as in Stripe.
    pub fn metadata(&self) -> Result<Metadata, StripeError> {
        let mut metadata = Metadata::new();
        for (name, value) in &self.pairs {
            let Some(rest) = name.strip_prefix("metadata[") else {
                continue;
            };
            let key = rest
                .strip_suffix(']')
                .filter(|k| !k.is_empty() && !k.contains(['[', ']']))
                .ok_or_else(|| {
                    StripeError::invalid_param(
                        name,
                        "Invalid metadata key: use metadata[key]=value.",
                    )
                })?;
            if key.chars().count() > METADATA_KEY_MAX_CHARS {
                return Err(StripeError::invalid_param(
                    name,
                    format!(
                        "Metadata keys can be at most {METADATA_KEY_MAX_CHARS} characters long."
                    ),
                ));
            }
            if value.chars().count() > METADATA_VALUE_MAX_CHARS {
                return Err(StripeError::invalid_param(
                    name,
                    format!(
                        "Metadata values can be at most {METADATA_VALUE_MAX_CHARS} characters long."
                    ),
                ));
            }
            if value.is_empty() {
                metadata.remove(key);
            } else {
                metadata.insert(key.to_owned(), value.clone());
            }
        }
        if metadata.len() > METADATA_MAX_KEYS {
            return Err(StripeError::invalid_param(
                "metadata",
                format!("Metadata can have at most {METADATA_MAX_KEYS} keys."),
            ));
        }
        Ok(metadata)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(raw: &str) -> FormParams {
        FormParams::parse(raw.as_bytes()).expect("valid form")
    }

    #[test]
    fn reads_scalars_and_metadata() {
        let p =
            params("amount=1000&currency=EUR&confirm=true&metadata%5Border%5D=o-1&metadata[x]=");
        assert_eq!(p.amount("amount").unwrap(), Some(1000));
        assert_eq!(p.currency("currency").unwrap(), "eur");
        assert_eq!(p.bool("confirm").unwrap(), Some(true));
        let metadata = p.metadata().unwrap();
        assert_eq!(metadata.len(), 1);
        assert_eq!(metadata["order"], "o-1");
    }

    #[test]
    fn errors_name_the_param() {
        let p = params("amount=ten&currency=eu&confirm=yes&foo=1&metadata[a][b]=1");
        let param = |e: StripeError| e.body().error.param.unwrap();
        assert_eq!(param(p.amount("amount").unwrap_err()), "amount");
        assert_eq!(param(p.currency("currency").unwrap_err()), "currency");
        assert_eq!(param(p.bool("confirm").unwrap_err()), "confirm");
        assert_eq!(
            param(
                p.allow_only(&["amount", "currency", "confirm"], true)
                    .unwrap_err()
            ),
            "foo"
        );
        assert_eq!(param(p.metadata().unwrap_err()), "metadata[a][b]");
        assert_eq!(
            param(params("amount=0").amount("amount").unwrap_err()),
            "amount"
        );
        assert_eq!(
            param(params("").currency("currency").unwrap_err()),
            "currency"
        );
    }

    #[test]
    fn fingerprint_ignores_order() {
        assert_eq!(
            params("a=1&b=2").fingerprint(),
            params("b=2&a=1").fingerprint()
        );
        assert_ne!(
            params("a=1&b=2").fingerprint(),
            params("a=1&b=3").fingerprint()
        );
    }
}
