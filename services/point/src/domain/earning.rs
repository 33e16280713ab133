//! Earning: what a purchase is worth under the program's rules, and what an earn is.

use super::points::{Points, MAX_POINTS};
use chrono::{DateTime, Duration, Months, Utc};
use kernel::money::Money;

/// A tier's earn multiplier in basis points: 100 is 1.00x, 125 is 1.25x.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Multiplier(i32);

impl Multiplier {
    pub fn from_basis_points(bp: i32) -> Self {
        Self(bp)
    }

    pub fn basis_points(&self) -> i32 {
        self.0
    }

    /// For display only (`1.25`); arithmetic stays in basis points.
    pub fn as_decimal(&self) -> f64 {
        f64::from(self.0) / 100.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    Down,
    Nearest,
}

impl Rounding {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "down" => Some(Rounding::Down),
            "nearest" => Some(Rounding::Nearest),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Rounding::Down => "down",
            Rounding::Nearest => "nearest",
        }
    }

    fn divide(&self, numerator: i128, denominator: i128) -> i128 {
        match self {
            Rounding::Down => numerator / denominator,
            Rounding::Nearest => (numerator + denominator / 2) / denominator,
        }
    }
}

/// The program settings that shape an earn.
#[derive(Debug, Clone)]
pub struct EarnPolicy {
    pub points_per_unit: i32,
    pub rounding: Rounding,
    pub cap_per_transaction: Option<i64>,
    pub cap_per_day: Option<i64>,
}

/// A bonus rule as it applies to one purchase.
#[derive(Debug, Clone)]
pub struct BonusRule {
    pub id: uuid::Uuid,
    pub multiplier_bp: i32,
    pub bonus_points: i64,
    pub source: Option<String>,
    pub store_id: Option<String>,
    pub category: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
}

/// What a purchase is, for matching rules.
#[derive(Debug, Clone)]
pub struct Purchase<'a> {
    pub amount: Money,
    pub source: &'a str,
    pub store_id: Option<&'a str>,
    pub category: Option<&'a str>,
    pub occurred_at: DateTime<Utc>,
}

impl BonusRule {
    pub fn applies_to(&self, purchase: &Purchase<'_>) -> bool {
        let matches = |rule: &Option<String>, actual: Option<&str>| {
            rule.as_deref().is_none_or(|wanted| Some(wanted) == actual)
        };
        matches(&self.source, Some(purchase.source))
            && matches(&self.store_id, purchase.store_id)
            && matches(&self.category, purchase.category)
            && self.starts_at.is_none_or(|t| purchase.occurred_at >= t)
            && self.ends_at.is_none_or(|t| purchase.occurred_at < t)
    }
}

/// The outcome of the earn rules for one purchase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarnQuote {
    pub points: i64,
    /// The bonus rules that applied.
    pub rule_ids: Vec<uuid::Uuid>,
    /// Points the caps took away.
    pub capped: i64,
}

/// Points for a purchase: `points_per_unit` per unit of currency, times the tier multiplier and
/// the best matching bonus multiplier, rounded once at the end, plus the best matching fixed
/// bonus; then the per-transaction cap and what is left of the day's cap (`earned_today`).
pub fn quote(
    purchase: &Purchase<'_>,
    policy: &EarnPolicy,
    tier: Multiplier,
    rules: &[BonusRule],
    earned_today: i64,
) -> EarnQuote {
    let applying: Vec<&BonusRule> = rules.iter().filter(|r| r.applies_to(purchase)).collect();
    // Bonuses do not stack (as in most programs' promotions): the best multiplier and the best
    // fixed bonus apply, however many rules match, so adding rules can never multiply a payout.
    let bonus_bp = applying
        .iter()
        .map(|r| r.multiplier_bp)
        .max()
        .unwrap_or(100);
    let fixed = applying.iter().map(|r| r.bonus_points).max().unwrap_or(0);
    let numerator = i128::from(purchase.amount.amount_minor)
        * i128::from(policy.points_per_unit)
        * i128::from(tier.0)
        * i128::from(bonus_bp);
    let denominator = i128::from(purchase.amount.currency.minor_per_major()) * 100 * 100;
    let base = i64::try_from(policy.rounding.divide(numerator, denominator)).unwrap_or(MAX_POINTS);
    let uncapped = base.saturating_add(fixed).min(MAX_POINTS);
    let mut points = uncapped;
    if let Some(cap) = policy.cap_per_transaction {
        points = points.min(cap);
    }
    if let Some(cap) = policy.cap_per_day {
        points = points.min(cap.saturating_sub(earned_today).max(0));
    }
    EarnQuote {
        points,
        rule_ids: applying.iter().map(|r| r.id).collect(),
        capped: uncapped - points,
    }
}

/// Points for a purchase at the plain rate, without rules or caps (the tier multiplier only).
pub fn points_for_purchase(amount: Money, points_per_unit: i32, multiplier: Multiplier) -> i64 {
    let policy = EarnPolicy {
        points_per_unit,
        rounding: Rounding::Down,
        cap_per_transaction: None,
        cap_per_day: None,
    };
    let purchase = Purchase {
        amount,
        source: "",
        store_id: None,
        category: None,
        occurred_at: Utc::now(),
    };
    quote(&purchase, &policy, multiplier, &[], 0).points
}

/// A charge's refund state: how much of it has been refunded so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChargeRefund {
    pub total_refunded: i64,
    pub charge_amount: i64,
}

/// How many of `earned` points a refund takes back in total: proportional to the share of the
/// charge refunded so far, rounded down, so partial refunds add up to the whole when the charge
/// is fully refunded.
pub fn points_to_reverse(earned: i64, charge_amount: i64, total_refunded: i64) -> i64 {
    if charge_amount <= 0 {
        return 0;
    }
    let refunded = total_refunded.clamp(0, charge_amount);
    i64::try_from(i128::from(earned) * i128::from(refunded) / i128::from(charge_amount))
        .unwrap_or(earned)
}

/// What is being earned for.
#[derive(Debug, Clone)]
pub enum EarnBasis<'a> {
    /// Money spent: the earn rules decide the points.
    Purchase {
        amount: Money,
        store_id: Option<&'a str>,
        category: Option<&'a str>,
    },
    /// A fixed number of points (a campaign bonus, a partner's own calculation).
    Points(Points),
}

/// The outcome of an earn that added points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Earned {
    pub transaction_id: uuid::Uuid,
    pub points: i64,
    /// True while the points wait out the source's return window.
    pub pending: bool,
    pub balance_after: i64,
    pub tier: String,
    /// Points the program's caps held back.
    pub capped: i64,
}

/// Sources the platform itself earns from; partners may not use them, so a partner's request
/// can never collide with (and block) the earn for a real charge or campaign.
pub const RESERVED_SOURCES: &[&str] = &[
    "charge",
    "campaign",
    "refund",
    "hold",
    "adjustment",
    "expiry",
    "pending",
    "pos",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("must be 1 to 40 of a-z, 0-9, - and _")]
    Malformed,
    #[error("is reserved for the platform's own earns")]
    Reserved,
}

/// Where a partner's earn comes from (`shop`, `order`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerSource(String);

impl PartnerSource {
    pub fn parse(raw: &str) -> Result<Self, SourceError> {
        let well_formed = !raw.is_empty()
            && raw.len() <= 40
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !well_formed {
            Err(SourceError::Malformed)
        } else if RESERVED_SOURCES.contains(&raw) {
            Err(SourceError::Reserved)
        } else {
            Ok(Self(raw.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OccurredAtError {
    #[error("must not be in the future")]
    Future,
    #[error("must be within the last year")]
    TooOld,
}

/// When a reported purchase happened: absent is now; a little clock skew is allowed, more than
/// 12 months back (the qualifying-spend window) is not.
pub fn occurred_at(
    reported: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, OccurredAtError> {
    match reported {
        Some(t) if t > now + Duration::minutes(5) => Err(OccurredAtError::Future),
        Some(t)
            if now
                .checked_sub_months(Months::new(12))
                .is_some_and(|year_ago| t <= year_ago) =>
        {
            Err(OccurredAtError::TooOld)
        }
        Some(t) => Ok(t),
        None => Ok(now),
    }
}

/// The kinds of ledger transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionKind {
    Earn,
    /// Earned, waiting out the source's return window.
    EarnPending,
    /// Pending points whose window closed.
    Activate,
    /// Pending points a refund took back.
    CancelPending,
    Redeem,
    Reverse,
    Expire,
    Adjust,
}

impl TransactionKind {
    pub const ALL: [TransactionKind; 8] = [
        TransactionKind::Earn,
        TransactionKind::EarnPending,
        TransactionKind::Activate,
        TransactionKind::CancelPending,
        TransactionKind::Redeem,
        TransactionKind::Reverse,
        TransactionKind::Expire,
        TransactionKind::Adjust,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TransactionKind::Earn => "earn",
            TransactionKind::EarnPending => "earn_pending",
            TransactionKind::Activate => "activate",
            TransactionKind::CancelPending => "cancel_pending",
            TransactionKind::Redeem => "redeem",
            TransactionKind::Reverse => "reverse",
            TransactionKind::Expire => "expire",
            TransactionKind::Adjust => "adjust",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::money::Currency;

    fn money(amount: i64, currency: &str) -> Money {
        Money::positive(amount, Currency::parse(currency).unwrap()).unwrap()
    }

    fn plain() -> EarnPolicy {
        EarnPolicy {
            points_per_unit: 1,
            rounding: Rounding::Down,
            cap_per_transaction: None,
            cap_per_day: None,
        }
    }

    fn purchase(amount: i64) -> Purchase<'static> {
        Purchase {
            amount: money(amount, "AUD"),
            source: "order",
            store_id: Some("store-7"),
            category: Some("coffee"),
            occurred_at: "2026-06-15T10:00:00Z".parse().unwrap(),
        }
    }

    fn rule(multiplier_bp: i32, bonus_points: i64) -> BonusRule {
        BonusRule {
            id: uuid::Uuid::new_v4(),
            multiplier_bp,
            bonus_points,
            source: None,
            store_id: None,
            category: None,
            starts_at: None,
            ends_at: None,
        }
    }

    #[test]
    fn one_point_per_whole_unit_rounded_down() {
        let x1 = Multiplier::from_basis_points(100);
        assert_eq!(points_for_purchase(money(12345, "AUD"), 1, x1), 123);
        assert_eq!(points_for_purchase(money(99, "AUD"), 1, x1), 0);
        assert_eq!(points_for_purchase(money(1500, "JPY"), 1, x1), 1500);
        assert_eq!(points_for_purchase(money(1500, "KWD"), 1, x1), 1);
    }

    #[test]
    fn tier_and_bonus_multipliers_apply_before_rounding() {
        // 123.45 AUD at 1.25x is 154.31 points, so 154; with a double-points bonus, 308.
        let gold = Multiplier::from_basis_points(125);
        assert_eq!(quote(&purchase(12345), &plain(), gold, &[], 0).points, 154);
        let q = quote(
            &purchase(12345),
            &plain(),
            gold,
            &[rule(200, 0), rule(150, 5)],
            0,
        );
        assert_eq!(
            q.points,
            308 + 5,
            "the best multiplier and the best fixed bonus"
        );
        assert_eq!(q.rule_ids.len(), 2);
        let nearest = EarnPolicy {
            rounding: Rounding::Nearest,
            ..plain()
        };
        assert_eq!(
            quote(
                &purchase(12399),
                &nearest,
                Multiplier::from_basis_points(100),
                &[],
                0
            )
            .points,
            124
        );
    }

    #[test]
    fn rules_match_source_store_category_and_dates() {
        let p = purchase(1000);
        let mut r = rule(200, 0);
        r.store_id = Some("store-7".into());
        r.category = Some("coffee".into());
        assert!(r.applies_to(&p));
        r.source = Some("charge".into());
        assert!(!r.applies_to(&p));
        let mut dated = rule(200, 0);
        dated.starts_at = Some("2026-07-01T00:00:00Z".parse().unwrap());
        assert!(!dated.applies_to(&p), "not started yet");
        dated.starts_at = Some("2026-06-01T00:00:00Z".parse().unwrap());
        dated.ends_at = Some("2026-06-15T10:00:00Z".parse().unwrap());
        assert!(!dated.applies_to(&p), "the end is exclusive");
    }

    #[test]
    fn many_matching_rules_pay_no_more_than_the_best_one() {
        // 228 rules matching one 10 AUD purchase once earned 396,366 points between them.
        let rules: Vec<BonusRule> = (0..228).map(|n| rule(10_000, 1_000 + n)).collect();
        let x1 = Multiplier::from_basis_points(100);
        let q = quote(&purchase(1000), &plain(), x1, &rules, 0);
        assert_eq!(
            q.points,
            10 * 100 + 1_227,
            "100x of 10 points, plus the largest bonus"
        );
        assert_eq!(
            q.rule_ids.len(),
            228,
            "every matching rule is still recorded"
        );
    }

    #[test]
    fn caps_per_transaction_and_per_day() {
        let capped = EarnPolicy {
            cap_per_transaction: Some(100),
            cap_per_day: Some(150),
            ..plain()
        };
        let x1 = Multiplier::from_basis_points(100);
        let q = quote(&purchase(50000), &capped, x1, &[], 0);
        assert_eq!((q.points, q.capped), (100, 400));
        assert_eq!(quote(&purchase(50000), &capped, x1, &[], 120).points, 30);
        assert_eq!(quote(&purchase(50000), &capped, x1, &[], 200).points, 0);
    }

    #[test]
    fn partial_refunds_reverse_proportionally_and_add_up() {
        assert_eq!(points_to_reverse(123, 12345, 0), 0);
        assert_eq!(points_to_reverse(123, 12345, 6000), 59);
        assert_eq!(points_to_reverse(123, 12345, 12345), 123);
        assert_eq!(
            points_to_reverse(123, 12345, 99999),
            123,
            "never more than earned"
        );
    }

    #[test]
    fn partner_sources_are_plain_and_never_the_platform_s_own() {
        assert!(PartnerSource::parse("shop").is_ok());
        assert_eq!(PartnerSource::parse("charge"), Err(SourceError::Reserved));
        assert_eq!(
            PartnerSource::parse("Shop Name!"),
            Err(SourceError::Malformed)
        );
        assert_eq!(PartnerSource::parse(""), Err(SourceError::Malformed));
    }

    #[test]
    fn transaction_kinds_round_trip() {
        for kind in TransactionKind::ALL {
            assert_eq!(TransactionKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(TransactionKind::parse("gift"), None);
    }
}
