use super::credentials::Password;
use kernel::text::TextRule;

/// One field of a request that breaks a rule, named the way the client sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {message}")]
pub struct InvalidField {
    pub field: &'static str,
    pub message: String,
}

impl InvalidField {
    pub fn new(field: &'static str, message: impl ToString) -> Self {
        Self {
            field,
            message: message.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a valid email address")]
pub struct InvalidEmail;

/// An email address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
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
            Err(InvalidEmail)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A first or last name: 1 to 100 characters, no control characters.
#[derive(Debug, Clone)]
pub struct PersonName(String);

const NAME: TextRule = TextRule::line(100);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, kernel::text::TextError> {
        NAME.parse(raw).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be an international number such as +61412345678")]
pub struct InvalidPhoneNumber;

/// A phone number in E.164 form: `+` and 7 to 15 digits.
#[derive(Debug, Clone)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, InvalidPhoneNumber> {
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
            Err(InvalidPhoneNumber)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The fields of a new account as they arrived.
#[derive(Debug, Clone, Copy)]
pub struct Registration<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub phone_number: Option<&'a str>,
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

impl NewUser {
    /// Checks every field and reports all that are wrong, not just the first.
    pub fn parse(fields: Registration<'_>) -> Result<Self, Vec<InvalidField>> {
        let mut errors = Vec::new();
        let mut check = |field: &'static str, result: Result<(), String>| {
            if let Err(message) = result {
                errors.push(InvalidField::new(field, message));
            }
        };
        let email = Email::parse(fields.email);
        check("email", outcome(&email));
        let password = Password::parse(fields.password);
        check("password", outcome(&password));
        let first_name = PersonName::parse(fields.first_name);
        check("first_name", outcome(&first_name));
        let last_name = PersonName::parse(fields.last_name);
        check("last_name", outcome(&last_name));
        let phone = fields.phone_number.map(PhoneNumber::parse).transpose();
        check("phone_number", outcome(&phone));
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
                    marketing_consent: fields.marketing_consent,
                })
            }
            _ => Err(errors),
        }
    }
}

fn outcome<T, E: ToString>(result: &Result<T, E>) -> Result<(), String> {
    result.as_ref().map(|_| ()).map_err(ToString::to_string)
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
    fn names_refuse_nul_and_control_characters() {
        assert!(PersonName::parse("Ada\0").is_err());
        assert!(PersonName::parse("A\u{1b}da").is_err());
        assert_eq!(PersonName::parse(" Ada ").unwrap().as_str(), "Ada");
    }

    #[test]
    fn every_bad_field_is_reported() {
        let fields: Vec<&str> = NewUser::parse(Registration {
            email: "nope",
            password: "short",
            first_name: " ",
            last_name: "Lovelace",
            phone_number: Some("12"),
            marketing_consent: false,
        })
        .unwrap_err()
        .into_iter()
        .map(|e| e.field)
        .collect();
        assert_eq!(fields, ["email", "password", "first_name", "phone_number"]);
    }
}
