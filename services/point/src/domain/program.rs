//! The program: its settings, its earn rules, the return windows of its sources.

use super::earning::{BonusRule, EarnPolicy, Rounding};
use super::points::MAX_POINTS;
use super::tiers::Tier;
use chrono::{DateTime, Months, Utc};
use kernel::money::Currency;
use kernel::text::TextRule;
use std::collections::HashMap;
use uuid::Uuid;

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

/// One revision of a campaign: the campaign that owns a rule, and the revision of its event
/// the rule was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CampaignRevision {
    pub campaign_id: Uuid,
    pub revision: i64,
}

impl CampaignRevision {
    /// Whether this revision comes after every one already applied: one that does not is a
    /// redelivery, or older news that arrived late.
    pub fn supersedes(&self, applied: impl IntoIterator<Item = i64>) -> bool {
        applied.into_iter().all(|earlier| earlier < self.revision)
    }
}

/// A bonus window as the rewards service announces it (`campaign.bonus_window_changed`), not
/// yet checked. Empty filters match every store / category.
#[derive(Debug, Clone)]
pub struct BonusWindow<'a> {
    pub campaign_id: &'a str,
    pub campaign_name: &'a str,
    pub multiplier_bp: i32,
    pub bonus_points: i64,
    pub store_id: &'a str,
    pub category: &'a str,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub revision: i64,
}

/// The earn rule a campaign's bonus window becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignRule {
    pub campaign: CampaignRevision,
    pub rule: NewRule,
}

impl BonusWindow<'_> {
    /// A campaign ended before its window began: the window is empty, and the campaign's rule
    /// (if any) goes without a replacement.
    pub fn never_opens(&self) -> bool {
        matches!((self.starts_at, self.ends_at), (Some(starts), Some(ends)) if ends <= starts)
    }

    /// The rule, under the same bounds as staff's rules, or every field that breaks them. A
    /// window always has both ends.
    pub fn rule(&self) -> Result<CampaignRule, Vec<InvalidField>> {
        let mut errors = Vec::new();
        let campaign_id = Uuid::parse_str(self.campaign_id)
            .map_err(|_| errors.push(InvalidField::new("campaign_id", "must be a UUID")))
            .ok();
        // Campaign names may be longer than rule names: the rule keeps the start of it.
        let name: String = self
            .campaign_name
            .trim()
            .chars()
            .take(RULE_NAME.max_chars)
            .collect();
        let name = RULE_NAME
            .parse(&name)
            .map_err(|e| errors.push(InvalidField::new("campaign_name", e.to_string())))
            .ok();
        let mut filter = |field: &'static str, raw: &str| {
            RULE_MATCH
                .parse_optional(Some(raw))
                .map_err(|e| errors.push(InvalidField::new(field, e.to_string())))
                .ok()
        };
        let store_id = filter("store_id", self.store_id);
        let category = filter("category", self.category);
        for (field, at) in [("starts_at", self.starts_at), ("ends_at", self.ends_at)] {
            if at.is_none() {
                errors.push(InvalidField::new(field, "is required"));
            }
        }
        let rule = NewRule {
            name: name.unwrap_or_default(),
            multiplier_bp: self.multiplier_bp,
            bonus_points: self.bonus_points,
            source: None,
            store_id: store_id.flatten(),
            category: category.flatten(),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
        };
        errors.extend(rule.invalid_fields());
        match campaign_id {
            Some(campaign_id) if errors.is_empty() => Ok(CampaignRule {
                campaign: CampaignRevision {
                    campaign_id,
                    revision: self.revision,
                },
                rule,
            }),
            _ => Err(errors),
        }
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

    fn window<'a>() -> BonusWindow<'a> {
        BonusWindow {
            campaign_id: "0193a1b2-0000-7000-8000-000000000042",
            campaign_name: "Double points on coffee",
            multiplier_bp: 200,
            bonus_points: 0,
            store_id: "",
            category: "coffee",
            starts_at: Some("2026-06-01T00:00:00Z".parse().unwrap()),
            ends_at: Some("2026-06-30T00:00:00Z".parse().unwrap()),
            revision: 3,
        }
    }

    fn refused(window: BonusWindow<'_>) -> Vec<&'static str> {
        window
            .rule()
            .expect_err("the window is refused")
            .iter()
            .map(|f| f.field)
            .collect()
    }

    #[test]
    fn a_bonus_window_becomes_a_rule_of_its_campaign_and_revision() {
        let made = window().rule().unwrap();
        assert_eq!(
            made.campaign,
            CampaignRevision {
                campaign_id: "0193a1b2-0000-7000-8000-000000000042".parse().unwrap(),
                revision: 3,
            }
        );
        assert_eq!(
            made.rule,
            NewRule {
                name: "Double points on coffee".into(),
                multiplier_bp: 200,
                bonus_points: 0,
                source: None,
                store_id: None,
                category: Some("coffee".into()),
                starts_at: window().starts_at,
                ends_at: window().ends_at,
            },
            "an empty filter matches everything"
        );
        let long_name = "x".repeat(RULE_NAME.max_chars + 50);
        let named = BonusWindow {
            campaign_name: &long_name,
            ..window()
        };
        assert_eq!(
            named.rule().unwrap().rule.name.chars().count(),
            RULE_NAME.max_chars,
            "a long campaign name is cut, not refused"
        );
    }

    #[test]
    fn a_bonus_window_breaking_the_rule_bounds_is_refused() {
        assert_eq!(
            refused(BonusWindow {
                campaign_id: "summer",
                ..window()
            }),
            ["campaign_id"]
        );
        assert_eq!(
            refused(BonusWindow {
                multiplier_bp: 50,
                ..window()
            }),
            ["multiplier_bp"]
        );
        assert_eq!(
            refused(BonusWindow {
                bonus_points: -1,
                ..window()
            }),
            ["bonus_points"]
        );
        assert_eq!(
            refused(BonusWindow {
                bonus_points: 1_000_001,
                ..window()
            }),
            ["bonus_points"]
        );
        assert_eq!(
            refused(BonusWindow {
                ends_at: window().starts_at,
                ..window()
            }),
            ["ends_at"]
        );
        assert_eq!(
            refused(BonusWindow {
                starts_at: None,
                ends_at: None,
                ..window()
            }),
            ["starts_at", "ends_at"],
            "a window has both ends"
        );
        assert_eq!(
            refused(BonusWindow {
                campaign_name: " ",
                store_id: "a\0b",
                ..window()
            }),
            ["campaign_name", "store_id"]
        );
    }

    #[test]
    fn only_a_later_revision_supersedes_what_was_applied() {
        let revision = |revision| CampaignRevision {
            campaign_id: Uuid::nil(),
            revision,
        };
        assert!(revision(1).supersedes([]), "the campaign's first rule");
        assert!(revision(3).supersedes([1, 2]));
        assert!(!revision(2).supersedes([1, 2]), "a redelivery");
        assert!(!revision(1).supersedes([2]), "older news arriving late");
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
