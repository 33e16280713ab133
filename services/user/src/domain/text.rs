//! Free text from outside (names, labels): trimmed, bounded in characters, free of control
//! characters. Postgres refuses a NUL byte in `text`, so one that got through would fail a write
//! half-way; refusing it here gives the client a field error instead.
//!
//! The same rule as `kernel::text::TextRule`, kept here while this crate does not depend on
//! the kernel crate.

use std::fmt;

/// Why a text was refused; `Display` is the message for the field error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextError {
    Empty,
    TooLong { max_chars: usize },
    ControlCharacter,
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextError::Empty => f.write_str("must not be empty"),
            TextError::TooLong { max_chars } => write!(f, "must be at most {max_chars} characters"),
            TextError::ControlCharacter => f.write_str("must not contain control characters"),
        }
    }
}

impl std::error::Error for TextError {}

/// The rule for a one-line text field.
#[derive(Debug, Clone, Copy)]
pub struct TextRule {
    pub max_chars: usize,
}

impl TextRule {
    pub const fn line(max_chars: usize) -> Self {
        Self { max_chars }
    }

    /// A required value, trimmed.
    pub fn parse(&self, raw: &str) -> Result<String, TextError> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(TextError::Empty);
        }
        if value.chars().count() > self.max_chars {
            return Err(TextError::TooLong {
                max_chars: self.max_chars,
            });
        }
        if value.chars().any(char::is_control) {
            return Err(TextError::ControlCharacter);
        }
        Ok(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_bounds_in_characters_and_refuses_control_characters() {
        let rule = TextRule::line(3);
        assert_eq!(rule.parse("  äöü ").unwrap(), "äöü");
        assert_eq!(rule.parse("abcd"), Err(TextError::TooLong { max_chars: 3 }));
        assert_eq!(rule.parse("   "), Err(TextError::Empty));
        assert_eq!(rule.parse("a\0b"), Err(TextError::ControlCharacter));
        assert_eq!(rule.parse("a\nb"), Err(TextError::ControlCharacter));
    }
}
