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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be the 6 digits that were sent")]
pub struct MalformedCode;

/// A submitted code of the right shape; anything else is refused before a lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code(String);

impl Code {
    pub fn parse(raw: &str) -> Result<Self, MalformedCode> {
        let code = raw.trim();
        if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(code.to_owned()))
        } else {
            Err(MalformedCode)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a submitted code does to the open code it is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// Right: the code is consumed.
    Accepted,
    /// Wrong: the guess counts against the code.
    Wrong,
    /// Out of guesses: refused without a look at the digest.
    Unusable,
}

impl CodeCheck {
    /// Compares the digests in time that does not depend on where they differ.
    pub fn of(attempts: i32, max_attempts: i32, presented: &[u8], expected: &[u8]) -> Self {
        if attempts >= max_attempts {
            return CodeCheck::Unusable;
        }
        let same = presented.len() == expected.len()
            && presented
                .iter()
                .zip(expected)
                .fold(0u8, |acc, (x, y)| acc | (x ^ y))
                == 0;
        if same {
            CodeCheck::Accepted
        } else {
            CodeCheck::Wrong
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            let code = generate_code();
            assert!(Code::parse(&code).is_ok(), "{code}");
        }
        assert_eq!(Code::parse(" 123456 ").unwrap().as_str(), "123456");
        assert!(Code::parse("12345").is_err());
        assert!(Code::parse("12345a").is_err());
    }

    #[test]
    fn a_code_is_accepted_once_right_and_refused_when_out_of_guesses() {
        assert_eq!(CodeCheck::of(0, 5, b"abc", b"abc"), CodeCheck::Accepted);
        assert_eq!(CodeCheck::of(4, 5, b"abd", b"abc"), CodeCheck::Wrong);
        assert_eq!(CodeCheck::of(5, 5, b"abc", b"abc"), CodeCheck::Unusable);
        assert_eq!(CodeCheck::of(0, 5, b"ab", b"abc"), CodeCheck::Wrong);
    }
}
