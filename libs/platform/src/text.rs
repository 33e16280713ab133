//! Free text from a request, checked by the shared kernel's rules and refused as a field error.

use crate::problem::ApiError;
use kernel::text::TextRule;

/// A required text field.
pub fn required(field: &str, rule: TextRule, raw: &str) -> Result<String, ApiError> {
    rule.parse(raw)
        .map_err(|e| ApiError::validation(field, e.to_string()))
}

/// An optional text field: absent or blank is `None`.
pub fn optional(
    field: &str,
    rule: TextRule,
    raw: Option<&str>,
) -> Result<Option<String>, ApiError> {
    rule.parse_optional(raw)
        .map_err(|e| ApiError::validation(field, e.to_string()))
}
