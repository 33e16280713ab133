//! Passwords: the rules a new one meets, and argon2id hashing. Hashing takes tens of
//! milliseconds of CPU by design; callers run it off the async threads.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};

/// The most common passwords of at least 12 characters; a password on this list is refused.
const COMMON_PASSWORDS: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456789abc",
    "1q2w3e4r5t6y",
    "password1234",
    "password12345",
    "passw0rd1234",
    "qwertyuiop12",
    "qwertyuiopas",
    "qwerty123456",
    "iloveyou1234",
    "111111111111",
    "000000000000",
    "aaaaaaaaaaaa",
    "abcdefghijkl",
    "abc123456789",
    "letmein12345",
    "welcome12345",
    "administrator",
    "changeme1234",
    "football1234",
    "baseball1234",
    "trustno11234",
    "passwordpassword",
    "qwertyqwerty",
    "asdfghjkl123",
    "zaq12wsxcde3",
    "1qaz2wsx3edc",
];

/// Why a new password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("must be at least 12 characters")]
    TooShort,
    #[error("must be at most 128 characters")]
    TooLong,
    #[error("is too common; choose another")]
    TooCommon,
}

/// A password that meets the rules: 12 to 128 characters, not a well-known one.
#[derive(Debug)]
pub struct Password(SecretString);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, PasswordError> {
        let length = raw.chars().count();
        if length < 12 {
            return Err(PasswordError::TooShort);
        }
        if length > 128 {
            return Err(PasswordError::TooLong);
        }
        if COMMON_PASSWORDS.contains(&raw.to_lowercase().as_str()) {
            return Err(PasswordError::TooCommon);
        }
        Ok(Self(SecretString::from(raw.to_owned())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("hashing a password: {0}")]
    Hashing(String),
    #[error("stored password hash is malformed: {0}")]
    MalformedHash(String),
}

fn hasher() -> Argon2<'static> {
    // OWASP's argon2id recommendation: 19 MiB, 2 iterations, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The argon2id hash of a password, with a fresh salt.
pub fn hash(password: &SecretString) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Hashing(e.to_string()))
}

/// A valid-looking hash to verify against when the account does not exist, so that a login for
/// an unknown email takes as long as one for a known email.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Qh0x1bS1lZ1kM7Y4fKkq3u3Hq4bq2k7uMZb6yJm0r1Q";

/// Whether `password` matches `stored_hash`; with no hash (unknown account) it spends the same
/// time and answers false.
pub fn verify(password: &SecretString, stored_hash: Option<&str>) -> Result<bool, HashError> {
    let known = stored_hash.is_some();
    let parsed = PasswordHash::new(stored_hash.unwrap_or(DUMMY_HASH))
        .map_err(|e| HashError::MalformedHash(e.to_string()))?;
    let matches = hasher()
        .verify_password(password.expose_secret().as_bytes(), &parsed)
        .is_ok();
    Ok(known && matches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules() {
        assert_eq!(
            Password::parse("short").unwrap_err(),
            PasswordError::TooShort
        );
        assert_eq!(
            Password::parse("Password1234").unwrap_err(),
            PasswordError::TooCommon,
            "common passwords are refused case-insensitively"
        );
        assert_eq!(
            Password::parse(&"x".repeat(129)).unwrap_err(),
            PasswordError::TooLong
        );
        assert!(Password::parse("correct horse battery").is_ok());
    }

    #[test]
    fn hashes_verify_only_the_right_password() {
        let secret = |s: &str| SecretString::from(s.to_owned());
        let hash = hash(&secret("correct horse battery")).unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify(&secret("correct horse battery"), Some(&hash)).unwrap());
        assert!(!verify(&secret("wrong horse battery"), Some(&hash)).unwrap());
        assert!(!verify(&secret("anything at all"), None).unwrap());
    }
}
