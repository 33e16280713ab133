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
                "must be a staff role (owner, admin, support, store_manager, cashier or \
                 super_admin); members register themselves",
            ))
        }
    }

    pub fn role(self) -> Role {
        self.0
    }

    /// Which role the creator must hold: super admins are made by super admins only; owners
    /// and admins by the business's owners (or super admins); every other role by its admins
    /// (an owner satisfies admin).
    pub fn creator_roles(self) -> &'static [Role] {
        match self.0 {
            Role::SuperAdmin => &[Role::SuperAdmin],
            Role::Owner | Role::Admin => &[Role::Owner, Role::SuperAdmin],
            _ => &[Role::Admin, Role::SuperAdmin],
        }
    }
}

/// Where a staff account works: one business, and for store-level roles some of its stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffPosition {
    pub business_id: Uuid,
    pub store_ids: Vec<Uuid>,
}

/// Most stores one store-level account may work at.
pub const MAX_STORES_PER_STAFF: usize = 50;

impl StaffPosition {
    /// Checks that a role and its stores go together: store-level roles name 1 to
    /// [`MAX_STORES_PER_STAFF`] stores, business-level roles none.
    pub fn parse(
        role: StaffRole,
        business_id: Uuid,
        stores: &[Uuid],
    ) -> Result<Self, InvalidField> {
        let mut store_ids = stores.to_vec();
        store_ids.sort_unstable();
        store_ids.dedup();
        if role.0.is_store_level() {
            if store_ids.is_empty() || store_ids.len() > MAX_STORES_PER_STAFF {
                return Err(InvalidField::new(
                    "store_ids",
                    "a store manager or cashier works at 1 to 50 stores of the business",
                ));
            }
        } else if !store_ids.is_empty() {
            return Err(InvalidField::new(
                "store_ids",
                "only store managers and cashiers work at particular stores",
            ));
        }
        Ok(Self {
            business_id,
            store_ids,
        })
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
    fn only_staff_roles_make_staff_and_admins_are_made_by_owners() {
        assert!(StaffRole::parse(Role::Customer).is_err());
        let creators = |role| StaffRole::parse(role).unwrap().creator_roles();
        assert!(creators(Role::Cashier).contains(&Role::Admin));
        assert!(!creators(Role::Admin).contains(&Role::Admin));
        assert!(creators(Role::Admin).contains(&Role::Owner));
        assert_eq!(creators(Role::SuperAdmin), [Role::SuperAdmin]);
    }

    #[test]
    fn store_level_roles_name_stores_and_business_level_roles_none() {
        let business = Uuid::now_v7();
        let store = Uuid::now_v7();
        let cashier = StaffRole::parse(Role::Cashier).unwrap();
        let admin = StaffRole::parse(Role::Admin).unwrap();
        assert!(StaffPosition::parse(cashier, business, &[]).is_err());
        assert_eq!(
            StaffPosition::parse(cashier, business, &[store, store])
                .unwrap()
                .store_ids,
            [store]
        );
        assert!(StaffPosition::parse(admin, business, &[store]).is_err());
        let too_many: Vec<Uuid> = (0..51).map(|_| Uuid::now_v7()).collect();
        assert!(StaffPosition::parse(cashier, business, &too_many).is_err());
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
