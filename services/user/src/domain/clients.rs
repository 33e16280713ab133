//! Partner clients and their secret keys.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use platform::FieldError;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Every secret key starts with this, so a leaked key is recognisable (secret scanners, logs).
pub const SECRET_PREFIX: &str = "tsk_";

/// A new secret key: the prefix and 256 random bits.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

pub fn secret_digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// What the dashboard shows of a key: enough to tell keys apart, not to use one.
pub fn secret_hint(secret: &str) -> String {
    format!("{}...", &secret[..SECRET_PREFIX.len() + 6])
}

/// A client's name and scopes, checked: 1 to 100 characters, at least one scope, every scope
/// from the fixed list, no duplicates.
pub fn validate_client(
    name: &str,
    scopes: &[String],
) -> Result<(String, Vec<String>), Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError::new("name", "must be 1 to 100 characters"));
    }
    if scopes.is_empty() {
        errors.push(FieldError::new("scopes", "must name at least one scope"));
    }
    let mut checked: Vec<String> = Vec::new();
    for scope in scopes {
        if !auth::scopes::is_known(scope) {
            errors.push(FieldError::new(
                "scopes",
                format!(
                    "`{scope}` is not a scope; known scopes: {}",
                    auth::scopes::ALL.join(", ")
                ),
            ));
        } else if !checked.contains(scope) {
            checked.push(scope.clone());
        }
    }
    if errors.is_empty() {
        Ok((name.to_owned(), checked))
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_and_hinted() {
        let a = generate_secret();
        assert!(a.starts_with("tsk_") && a.len() > 40);
        assert_ne!(a, generate_secret());
        assert!(secret_hint(&a).starts_with(&a[..10]));
        assert!(!secret_hint(&a).contains(&a[12..]));
    }

    #[test]
    fn scopes_come_from_the_list() {
        assert!(validate_client("Shop", &["points:earn".into()]).is_ok());
        assert!(validate_client("Shop", &["points:everything".into()]).is_err());
        assert!(validate_client("Shop", &[]).is_err());
        assert!(validate_client(" ", &["points:earn".into()]).is_err());
    }
}
