//! One-time codes sent by email or SMS: six digits, short-lived, single use, few guesses.

use rand::Rng;
use serde::Deserialize;

/// Where a code was sent, which is also what it proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Phone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    VerifyEmail,
    VerifyPhone,
    PasswordReset,
}

impl CodePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            CodePurpose::VerifyEmail => "verify_email",
            CodePurpose::VerifyPhone => "verify_phone",
            CodePurpose::PasswordReset => "password_reset",
        }
    }

    pub fn verifying(channel: Channel) -> Self {
        match channel {
            Channel::Email => CodePurpose::VerifyEmail,
            Channel::Phone => CodePurpose::VerifyPhone,
        }
    }
}

/// A fresh six-digit code, uniformly random (leading zeros included).
pub fn generate_code() -> String {
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000))
}

/// Whether a submitted code has the right shape; anything else is refused before a lookup.
pub fn looks_like_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            let code = generate_code();
            assert!(looks_like_code(&code), "{code}");
        }
        assert!(!looks_like_code("12345"));
        assert!(!looks_like_code("12345a"));
    }
}
