//! The admin service's rules, free of I/O: the business directory ([`directory`]), and what the
//! back office makes of other services' events: each event is parsed into a fact about one
//! member, or refused with the reason it can never be applied.

pub mod directory;

use auth::Role;
use chrono::{DateTime, Utc};
use kernel::money::{Currency, Money};
use uuid::Uuid;

/// A member (or staff) account came to exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub member_id: Uuid,
    pub role: Role,
    pub registered_at: DateTime<Utc>,
}

impl Registration {
    /// `registered_at` is the payload's `(seconds, nanos)`; when the payload has none, the
    /// envelope's `occurred_at` stands in for it.
    pub fn parse(
        user_id: &str,
        role: &str,
        registered_at: Option<(i64, i32)>,
        occurred_at: DateTime<Utc>,
    ) -> Result<Self, String> {
        let member_id = parse_member_id(user_id)?;
        let role = Role::parse(role).ok_or_else(|| format!("role {role:?} is not a known role"))?;
        let registered_at = match registered_at {
            Some((seconds, nanos)) => {
                timestamp(seconds, nanos).map_err(|e| format!("registered_at: {e}"))?
            }
            None => occurred_at,
        };
        Ok(Self {
            member_id,
            role,
            registered_at,
        })
    }
}

/// Points a member earned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointsEarned {
    pub member_id: Uuid,
    pub points: i64,
}

impl PointsEarned {
    pub fn parse(member_id: &str, points: i64) -> Result<Self, String> {
        let member_id = parse_member_id(member_id)?;
        if points <= 0 {
            return Err(format!("points must be positive, got {points}"));
        }
        Ok(Self { member_id, points })
    }
}

/// A charge to a member that succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeSucceeded {
    pub member_id: Uuid,
    pub amount: Money,
}

impl ChargeSucceeded {
    /// Every successful charge counts, card loads (seed 000) included: the back office reports
    /// the money that moved, not only the purchases that earn points.
    pub fn parse(member_id: &str, amount: i64, currency: &str) -> Result<Self, String> {
        let member_id = parse_member_id(member_id)?;
        let currency = Currency::parse(currency).map_err(|e| format!("currency: {e}"))?;
        let amount = Money::positive(amount, currency).map_err(|e| format!("amount: {e}"))?;
        Ok(Self { member_id, amount })
    }
}

pub fn parse_member_id(id: &str) -> Result<Uuid, String> {
    Uuid::parse_str(id).map_err(|_| format!("member id {id:?} is not a UUID"))
}

/// A protobuf timestamp: nanos must lie in `0..1_000_000_000`.
pub fn timestamp(seconds: i64, nanos: i32) -> Result<DateTime<Utc>, String> {
    let nanos = u32::try_from(nanos)
        .ok()
        .filter(|n| *n < 1_000_000_000)
        .ok_or_else(|| format!("nanos {nanos} out of range"))?;
    DateTime::from_timestamp(seconds, nanos)
        .ok_or_else(|| format!("{seconds} seconds is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMBER: &str = "0192a5d4-7e0b-7c3a-9f10-3b5e2d1c4a77";

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    #[test]
    fn registrations_take_the_payload_time_or_else_the_envelope_time() {
        let registered =
            Registration::parse(MEMBER, "customer", Some((1_800_000_000, 5)), at(1)).unwrap();
        assert_eq!(registered.member_id, Uuid::parse_str(MEMBER).unwrap());
        assert_eq!(registered.role, Role::Customer);
        assert_eq!(
            registered.registered_at,
            DateTime::from_timestamp(1_800_000_000, 5).unwrap()
        );

        let without_time = Registration::parse(MEMBER, "super_admin", None, at(42)).unwrap();
        assert_eq!(without_time.role, Role::SuperAdmin);
        assert_eq!(without_time.registered_at, at(42));
    }

    #[test]
    fn malformed_registrations_are_refused() {
        assert!(Registration::parse("not-a-uuid", "customer", None, at(1)).is_err());
        assert!(Registration::parse(MEMBER, "Customer", None, at(1)).is_err());
        assert!(Registration::parse(MEMBER, "", None, at(1)).is_err());
        assert!(Registration::parse(MEMBER, "customer", Some((1, -1)), at(1)).is_err());
        assert!(Registration::parse(MEMBER, "customer", Some((1, 1_000_000_000)), at(1)).is_err());
        assert!(Registration::parse(MEMBER, "customer", Some((i64::MAX, 0)), at(1)).is_err());
    }

    #[test]
    fn earned_points_must_be_positive() {
        assert_eq!(PointsEarned::parse(MEMBER, 120).unwrap().points, 120);
        assert!(PointsEarned::parse(MEMBER, 0).is_err());
        assert!(PointsEarned::parse(MEMBER, -5).is_err());
        assert!(PointsEarned::parse("", 5).is_err());
    }

    #[test]
    fn charges_need_a_known_currency_and_a_positive_amount() {
        let charge = ChargeSucceeded::parse(MEMBER, 12_345, "aud").unwrap();
        assert_eq!(charge.amount.amount_minor, 12_345);
        assert_eq!(
            charge.amount.currency.code(),
            "AUD",
            "currencies are stored in upper case"
        );
        assert!(ChargeSucceeded::parse(MEMBER, 0, "AUD").is_err());
        assert!(ChargeSucceeded::parse(MEMBER, -1, "AUD").is_err());
        assert!(
            ChargeSucceeded::parse(MEMBER, kernel::money::MAX_AMOUNT_MINOR + 1, "AUD").is_err()
        );
        assert!(ChargeSucceeded::parse(MEMBER, 100, "XXX").is_err());
        assert!(ChargeSucceeded::parse("42", 100, "AUD").is_err());
    }
}
