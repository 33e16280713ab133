//! Free text from outside (names, descriptions, reasons, references): trimmed, bounded in
//! characters, and free of control characters. Postgres refuses a NUL byte in `text`, so one
//! that got through would fail a write half-way; refusing it here gives the client a field error.

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

/// Rules for one kind of text field.
#[derive(Debug, Clone, Copy)]
pub struct TextRule {
    pub max_chars: usize,
    /// Line breaks and tabs are allowed (descriptions); everything else below U+0020 and DEL
    /// never is.
    pub multiline: bool,
}

impl TextRule {
    /// A one-line label: names, references, reasons.
    pub const fn line(max_chars: usize) -> Self {
        Self {
            max_chars,
            multiline: false,
        }
    }

    /// A longer text that may span lines: descriptions.
    pub const fn paragraph(max_chars: usize) -> Self {
        Self {
            max_chars,
            multiline: true,
        }
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
        let allowed = |c: char| self.multiline && matches!(c, '\n' | '\r' | '\t');
        if value.chars().any(|c| c.is_control() && !allowed(c)) {
            return Err(TextError::ControlCharacter);
        }
        Ok(value.to_owned())
    }

    /// An optional value: absent or blank is `None`.
    pub fn parse_optional(&self, raw: Option<&str>) -> Result<Option<String>, TextError> {
        match raw {
            Some(raw) if !raw.trim().is_empty() => self.parse(raw).map(Some),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds_in_characters_not_bytes() {
        let rule = TextRule::line(3);
        assert_eq!(rule.parse("  äöü ").unwrap(), "äöü");
        assert_eq!(rule.parse("abcd"), Err(TextError::TooLong { max_chars: 3 }));
        assert_eq!(rule.parse("   "), Err(TextError::Empty));
    }

    #[test]
    fn refuses_nul_and_control_characters() {
        let line = TextRule::line(100);
        assert_eq!(line.parse("a\0b"), Err(TextError::ControlCharacter));
        assert_eq!(line.parse("a\nb"), Err(TextError::ControlCharacter));
        assert_eq!(line.parse("a\u{7f}b"), Err(TextError::ControlCharacter));
        let paragraph = TextRule::paragraph(100);
        assert_eq!(
            paragraph.parse("line one\nline two").unwrap(),
            "line one\nline two"
        );
        assert_eq!(paragraph.parse("a\0b"), Err(TextError::ControlCharacter));
    }

    #[test]
    fn optional_text_treats_blank_as_absent() {
        let rule = TextRule::line(10);
        assert_eq!(rule.parse_optional(None), Ok(None));
        assert_eq!(rule.parse_optional(Some("  ")), Ok(None));
        assert_eq!(rule.parse_optional(Some(" x ")), Ok(Some("x".into())));
        assert!(rule.parse_optional(Some("x\0")).is_err());
    }
}
