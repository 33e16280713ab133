//! Domain parse errors as 422 answers.

use crate::domain::InvalidField;
use platform::{ApiError, FieldError};

/// A 422 naming every field that broke a rule.
pub fn invalid(fields: Vec<InvalidField>) -> ApiError {
    ApiError::Validation(
        fields
            .into_iter()
            .map(|f| FieldError::new(f.field, f.message))
            .collect(),
    )
}

/// A 422 for one field.
pub fn invalid_field(field: &str, problem: impl ToString) -> ApiError {
    ApiError::validation(field, problem.to_string())
}
