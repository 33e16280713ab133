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

/// A password that meets the rules: 12 to 128 characters, not a well-known one.
#[derive(Debug)]
pub struct Password(SecretString);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let length = raw.chars().count();
        if length < 12 {
            return Err("must be at least 12 characters".into());
        }
        if length > 128 {
            return Err("must be at most 128 characters".into());
        }
        if COMMON_PASSWORDS.contains(&raw.to_lowercase().as_str()) {
            return Err("is too common; choose another".into());
        }
        Ok(Self(SecretString::from(raw.to_owned())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

fn hasher() -> Argon2<'static> {
    // OWASP's argon2id recommendation: 19 MiB, 2 iterations, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes on the blocking pool: argon2 takes tens of milliseconds of CPU by design.
pub async fn hash_password(password: SecretString) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
    })
    .await?
}

/// A valid-looking hash to verify against when the account does not exist, so that a login for
/// an unknown email takes as long as one for a known email.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Qh0x1bS1lZ1kM7Y4fKkq3u3Hq4bq2k7uMZb6yJm0r1Q";

pub async fn verify_password(
    password: SecretString,
    stored_hash: Option<String>,
) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let known = stored_hash.is_some();
        let hash = stored_hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let parsed = PasswordHash::new(&hash)
            .map_err(|e| anyhow::anyhow!("stored password hash is malformed: {e}"))?;
        let matches = hasher()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok();
        Ok(known && matches)
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules() {
        assert!(Password::parse("short").is_err());
        assert!(
            Password::parse("Password1234").is_err(),
            "common passwords are refused case-insensitively"
        );
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert!(Password::parse("correct horse battery").is_ok());
    }

    #[tokio::test]
    async fn hashes_verify_only_the_right_password() {
        let hash = hash_password("correct horse battery".to_owned().into())
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(
            "correct horse battery".to_owned().into(),
            Some(hash.clone())
        )
        .await
        .unwrap());
        assert!(
            !verify_password("wrong horse battery".to_owned().into(), Some(hash))
                .await
                .unwrap()
        );
        assert!(!verify_password("anything at all".to_owned().into(), None)
            .await
            .unwrap());
    }
}
