//! Accounts: what the service knows about a user once contact details are decrypted, the staff
//! roles, and a checked profile change.

use super::registration::{InvalidField, PersonName, PhoneNumber};
use auth::Role;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
    pub phone_number: Option<String>,
    pub role: Role,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub phone_verified_at: Option<DateTime<Utc>>,
    pub marketing_consent: bool,
    pub marketing_consent_updated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A role a staff account may be created with: anything but `customer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaffRole(Role);

impl StaffRole {
    pub fn parse(role: Role) -> Result<Self, InvalidField> {
        if role.is_staff() {
            Ok(Self(role))
        } else {
            Err(InvalidField::new(
                "role",
                "must be support, admin or super_admin; members register themselves",
            ))
        }
    }

    pub fn role(self) -> Role {
        self.0
    }

    /// Admins create support staff; only a super admin creates admins and super admins.
    pub fn needs_super_admin(self) -> bool {
        matches!(self.0, Role::Admin | Role::SuperAdmin)
    }
}

/// A checked profile change; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct ProfileChange {
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
    /// `Some(None)` removes the phone number; a new one has to be confirmed again.
    pub phone_number: Option<Option<PhoneNumber>>,
    pub marketing_consent: Option<bool>,
}

impl ProfileChange {
    pub fn parse(
        first_name: Option<&str>,
        last_name: Option<&str>,
        phone_number: Option<Option<&str>>,
        marketing_consent: Option<bool>,
    ) -> Result<Self, Vec<InvalidField>> {
        let mut errors = Vec::new();
        let mut name = |field: &'static str, raw: Option<&str>| {
            raw.and_then(|raw| {
                PersonName::parse(raw)
                    .map_err(|e| errors.push(InvalidField::new(field, e)))
                    .ok()
            })
        };
        let first_name = name("first_name", first_name);
        let last_name = name("last_name", last_name);
        let phone_number = match phone_number {
            Some(Some(raw)) => match PhoneNumber::parse(raw) {
                Ok(phone) => Some(Some(phone)),
                Err(e) => {
                    errors.push(InvalidField::new("phone_number", e));
                    None
                }
            },
            Some(None) => Some(None),
            None => None,
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            first_name,
            last_name,
            phone_number,
            marketing_consent,
        })
    }

    /// Whether the change sets a (possibly new) phone number, which then needs confirming.
    pub fn sets_phone_number(&self) -> bool {
        matches!(self.phone_number, Some(Some(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_staff_roles_make_staff() {
        assert!(StaffRole::parse(Role::Customer).is_err());
        assert!(!StaffRole::parse(Role::Support).unwrap().needs_super_admin());
        assert!(StaffRole::parse(Role::Admin).unwrap().needs_super_admin());
    }

    #[test]
    fn a_profile_change_reports_every_bad_field() {
        let errors =
            ProfileChange::parse(Some(""), Some("L\0"), Some(Some("12")), None).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["first_name", "last_name", "phone_number"]);
        let removal = ProfileChange::parse(None, None, Some(None), Some(true)).unwrap();
        assert!(!removal.sets_phone_number());
        assert!(matches!(removal.phone_number, Some(None)));
    }
}
