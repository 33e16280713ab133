//! The program: its settings, its earn rules, the return windows of its sources.

use super::earning::{BonusRule, EarnPolicy, Rounding};
use super::points::MAX_POINTS;
use super::tiers::Tier;
use chrono::{DateTime, Months, Utc};
use kernel::money::Currency;
use kernel::text::TextRule;
use std::collections::HashMap;

/// A field of a request that broke a rule, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidField {
    pub field: &'static str,
    pub message: String,
}

impl InvalidField {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Members hear about expiring points, and about a coming tier downgrade, this many days ahead.
pub const EXPIRY_WARNING_DAYS: i32 = 30;

/// Free text of the program's own records.
pub const REASON: TextRule = TextRule::line(500);
pub const DESCRIPTION: TextRule = TextRule::paragraph(500);
pub const REFERENCE: TextRule = TextRule::line(200);
pub const RULE_NAME: TextRule = TextRule::line(100);
pub const RULE_MATCH: TextRule = TextRule::line(200);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramSettings {
    /// Purchases earn in this currency only.
    pub currency: Currency,
    /// Points per whole unit of the currency, before multipliers.
    pub points_per_unit: i32,
    /// Months after earning that points expire.
    pub expiry_months: i32,
    pub cap_per_transaction: Option<i64>,
    pub cap_per_day: Option<i64>,
    pub rounding: Rounding,
    /// Whether a reversal may take a member below zero (their debt is repaid by later earns).
    pub allow_negative_balance: bool,
}

impl ProgramSettings {
    pub fn policy(&self) -> EarnPolicy {
        EarnPolicy {
            points_per_unit: self.points_per_unit,
            rounding: self.rounding,
            cap_per_transaction: self.cap_per_transaction,
            cap_per_day: self.cap_per_day,
        }
    }

    /// When points that became available at `from` expire.
    pub fn expiry(&self, from: DateTime<Utc>) -> DateTime<Utc> {
        u32::try_from(self.expiry_months)
            .ok()
            .and_then(|months| from.checked_add_months(Months::new(months)))
            .unwrap_or(from)
    }

    /// The bounds of every numeric setting, all of them reported at once.
    pub fn invalid_fields(&self) -> Vec<InvalidField> {
        let mut errors = Vec::new();
        if !(0..=1000).contains(&self.points_per_unit) {
            errors.push(InvalidField::new(
                "points_per_unit",
                "must be between 0 and 1000",
            ));
        }
        if !(1..=120).contains(&self.expiry_months) {
            errors.push(InvalidField::new(
                "expiry_months",
                "must be between 1 and 120",
            ));
        }
        if self.cap_per_transaction.is_none() {
            errors.push(InvalidField::new(
                "cap_per_transaction",
                "is required: a program caps what one purchase can earn",
            ));
        }
        for (field, cap) in [
            ("cap_per_transaction", self.cap_per_transaction),
            ("cap_per_day", self.cap_per_day),
        ] {
            if cap.is_some_and(|c| !(1..=MAX_POINTS).contains(&c)) {
                errors.push(InvalidField::new(
                    field,
                    format!("must be between 1 and {MAX_POINTS}"),
                ));
            }
        }
        errors
    }
}

/// Everything an earn or a balance read needs to know about the program, read at one moment:
/// kept in memory by each process and dropped when staff change any part of it.
#[derive(Debug, Clone)]
pub struct Program {
    pub settings: ProgramSettings,
    /// Lowest rank first; there is always at least the entry tier.
    pub tiers: Vec<Tier>,
    /// The rules not retired, oldest first (each checks its own dates).
    pub rules: Vec<BonusRule>,
    /// Return windows by source; a source not listed has none.
    pub pending_days: HashMap<String, i32>,
}

impl Program {
    /// Days points from `source` stay pending (0: active at once).
    pub fn pending_days(&self, source: &str) -> i32 {
        self.pending_days.get(source).copied().unwrap_or(0)
    }
}

/// A bonus rule as an admin defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRule {
    pub name: String,
    pub multiplier_bp: i32,
    pub bonus_points: i64,
    pub source: Option<String>,
    pub store_id: Option<String>,
    pub category: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
}

impl NewRule {
    /// The rule's own bounds (its texts are parsed before).
    pub fn invalid_fields(&self) -> Vec<InvalidField> {
        let mut errors = Vec::new();
        if !(100..=10000).contains(&self.multiplier_bp) {
            errors.push(InvalidField::new(
                "multiplier_bp",
                "must be between 100 (no bonus) and 10000 (100x)",
            ));
        }
        if !(0..=1_000_000).contains(&self.bonus_points) {
            errors.push(InvalidField::new(
                "bonus_points",
                "must be between 0 and 1000000",
            ));
        }
        if self.multiplier_bp == 100 && self.bonus_points == 0 {
            errors.push(InvalidField::new(
                "multiplier_bp",
                "a rule must give a multiplier or bonus points",
            ));
        }
        if let (Some(start), Some(end)) = (self.starts_at, self.ends_at) {
            if end <= start {
                errors.push(InvalidField::new("ends_at", "must be after starts_at"));
            }
        }
        errors
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be between 0 and 365")]
pub struct PendingDaysError;

/// Days points from a source stay pending: its return window (0: active at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingDays(i32);

impl PendingDays {
    pub fn parse(raw: i32) -> Result<Self, PendingDaysError> {
        if (0..=365).contains(&raw) {
            Ok(Self(raw))
        } else {
            Err(PendingDaysError)
        }
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

/// An admin's tier override: a tier held regardless of spend, with a reason, until it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierOverride {
    pub tier: String,
    pub reason: String,
    pub expires_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ProgramSettings {
        ProgramSettings {
            currency: Currency::parse("AUD").unwrap(),
            points_per_unit: 1,
            expiry_months: 12,
            cap_per_transaction: Some(100_000),
            cap_per_day: None,
            rounding: Rounding::Down,
            allow_negative_balance: false,
        }
    }

    #[test]
    fn settings_are_bounded() {
        assert!(settings().invalid_fields().is_empty());
        let bad = ProgramSettings {
            points_per_unit: -1,
            expiry_months: 0,
            cap_per_day: Some(0),
            ..settings()
        };
        let fields: Vec<&str> = bad.invalid_fields().iter().map(|f| f.field).collect();
        assert_eq!(fields, ["points_per_unit", "expiry_months", "cap_per_day"]);
        let uncapped = ProgramSettings {
            cap_per_transaction: None,
            ..settings()
        };
        let fields: Vec<&str> = uncapped.invalid_fields().iter().map(|f| f.field).collect();
        assert_eq!(
            fields,
            ["cap_per_transaction"],
            "every program caps one purchase"
        );
    }

    #[test]
    fn a_rule_must_give_something_and_end_after_it_starts() {
        let rule = NewRule {
            name: "x".into(),
            multiplier_bp: 100,
            bonus_points: 0,
            source: None,
            store_id: None,
            category: None,
            starts_at: Some("2026-06-02T00:00:00Z".parse().unwrap()),
            ends_at: Some("2026-06-01T00:00:00Z".parse().unwrap()),
        };
        let fields: Vec<&str> = rule.invalid_fields().iter().map(|f| f.field).collect();
        assert_eq!(fields, ["multiplier_bp", "ends_at"]);
    }

    #[test]
    fn expiry_adds_months() {
        let from: DateTime<Utc> = "2026-01-31T00:00:00Z".parse().unwrap();
        assert_eq!(
            settings().expiry(from),
            "2027-01-31T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }
}
