use super::credentials::Password;
use platform::FieldError;
use serde::Deserialize;

/// An email address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim().to_lowercase();
        let valid = email.len() <= 254
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && match email.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && local.len() <= 64
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                        && !domain.contains("..")
                }
                None => false,
            };
        if valid {
            Ok(Self(email))
        } else {
            Err("is not a valid email address".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A first or last name: 1 to 100 characters, no control characters.
#[derive(Debug, Clone)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("must not be empty".into());
        }
        if name.chars().count() > 100 {
            return Err("must be at most 100 characters".into());
        }
        if name.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number in E.164 form: `+` and 7 to 15 digits.
#[derive(Debug, Clone)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let compact: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        let digits = compact.strip_prefix('+').unwrap_or("");
        let valid = (7..=15).contains(&digits.len())
            && digits.chars().all(|c| c.is_ascii_digit())
            && !digits.starts_with('0');
        if valid {
            Ok(Self(compact))
        } else {
            Err("must be an international number such as +61412345678".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationRequest {
    pub email: String,
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    pub phone_number: Option<String>,
    #[serde(default)]
    pub marketing_consent: bool,
}

/// A registration that passed every rule.
#[derive(Debug)]
pub struct NewUser {
    pub email: Email,
    pub password: Password,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub phone_number: Option<PhoneNumber>,
    pub marketing_consent: bool,
}

impl TryFrom<RegistrationRequest> for NewUser {
    type Error = Vec<FieldError>;

    /// Checks every field and reports all that are wrong, not just the first.
    fn try_from(request: RegistrationRequest) -> Result<Self, Self::Error> {
        let mut errors = Vec::new();
        let mut check = |field: &str, result: Result<(), String>| {
            if let Err(message) = result {
                errors.push(FieldError::new(field, message));
            }
        };
        let email = Email::parse(&request.email);
        check("email", email.as_ref().map(|_| ()).map_err(Clone::clone));
        let password = Password::parse(&request.password);
        check(
            "password",
            password.as_ref().map(|_| ()).map_err(Clone::clone),
        );
        let first_name = PersonName::parse(&request.first_name);
        check(
            "first_name",
            first_name.as_ref().map(|_| ()).map_err(Clone::clone),
        );
        let last_name = PersonName::parse(&request.last_name);
        check(
            "last_name",
            last_name.as_ref().map(|_| ()).map_err(Clone::clone),
        );
        let phone = request
            .phone_number
            .as_deref()
            .map(PhoneNumber::parse)
            .transpose();
        check(
            "phone_number",
            phone.as_ref().map(|_| ()).map_err(Clone::clone),
        );
        match (email, password, first_name, last_name, phone) {
            (Ok(email), Ok(password), Ok(first_name), Ok(last_name), Ok(phone_number))
                if errors.is_empty() =>
            {
                Ok(NewUser {
                    email,
                    password,
                    first_name,
                    last_name,
                    phone_number,
                    marketing_consent: request.marketing_consent,
                })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "ada@@example.com",
            "ada@.example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn phone_numbers() {
        assert_eq!(
            PhoneNumber::parse("+61 412 345 678").unwrap().as_str(),
            "+61412345678"
        );
        for bad in ["0412345678", "+0412345678", "+61abc", "+123", ""] {
            assert!(
                PhoneNumber::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn every_bad_field_is_reported() {
        let request = RegistrationRequest {
            email: "nope".into(),
            password: "short".into(),
            first_name: " ".into(),
            last_name: "Lovelace".into(),
            phone_number: Some("12".into()),
            marketing_consent: false,
        };
        let fields: Vec<String> = NewUser::try_from(request)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["email", "password", "first_name", "phone_number"]);
    }
}
