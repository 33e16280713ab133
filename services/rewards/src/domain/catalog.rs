//! Catalog rules, free of I/O.

use chrono::{DateTime, Utc};
use kernel::text::TextRule;
use serde::{Deserialize, Serialize};

pub const NAME_MAX_CHARS: usize = 200;
pub const DESCRIPTION_MAX_CHARS: usize = 2_000;
pub const CATEGORY_MAX_CHARS: usize = 50;
pub const IMAGE_URL_MAX_CHARS: usize = 2_000;
pub const TIER_MAX_CHARS: usize = 32;
pub const POINTS_COST_MAX: i64 = 10_000_000;
pub const INVENTORY_MAX: i64 = 1_000_000;
pub const MEMBER_LIMIT_MAX: i64 = 1_000;
pub const CODE_VALID_DAYS_MAX: i64 = 3_650;
pub const CODE_VALID_DAYS_DEFAULT: i32 = 30;
/// Thirty days.
pub const CANCEL_WINDOW_MAX_SECS: i64 = 2_592_000;
pub const CANCEL_WINDOW_DEFAULT_SECS: i32 = 86_400;

const NAME: TextRule = TextRule::line(NAME_MAX_CHARS);
const DESCRIPTION: TextRule = TextRule::paragraph(DESCRIPTION_MAX_CHARS);
const CATEGORY: TextRule = TextRule::line(CATEGORY_MAX_CHARS);

/// A field of a request that broke a rule, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidField {
    pub field: &'static str,
    pub message: String,
}

/// How often the per-member limit resets (calendar periods in UTC), or never.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LimitPeriod {
    Day,
    Week,
    Month,
    Year,
    #[default]
    Lifetime,
}

impl LimitPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitPeriod::Day => "day",
            LimitPeriod::Week => "week",
            LimitPeriod::Month => "month",
            LimitPeriod::Year => "year",
            LimitPeriod::Lifetime => "lifetime",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            Self::Day,
            Self::Week,
            Self::Month,
            Self::Year,
            Self::Lifetime,
        ]
        .into_iter()
        .find(|p| p.as_str() == raw)
    }

    /// Where the period holding `now` began (`None`: the limit never resets).
    pub fn start(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        use chrono::{Datelike, NaiveDate, TimeZone};
        let date = now.date_naive();
        let first = match self {
            LimitPeriod::Day => date,
            LimitPeriod::Week => {
                date - chrono::Days::new(u64::from(date.weekday().num_days_from_monday()))
            }
            LimitPeriod::Month => NaiveDate::from_ymd_opt(date.year(), date.month(), 1)?,
            LimitPeriod::Year => NaiveDate::from_ymd_opt(date.year(), 1, 1)?,
            LimitPeriod::Lifetime => return None,
        };
        Some(Utc.from_utc_datetime(&first.and_hms_opt(0, 0, 0)?))
    }
}

/// How a member gets what they redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Fulfilment {
    /// The member shows the code (a voucher); anyone of the business may mark it used.
    #[default]
    ShowCode,
    /// Store staff take the code at the counter.
    StoreCode,
    /// A partner fulfils it (a partner with `rewards:fulfil` uses the code).
    Partner,
}

impl Fulfilment {
    pub fn as_str(self) -> &'static str {
        match self {
            Fulfilment::ShowCode => "show_code",
            Fulfilment::StoreCode => "store_code",
            Fulfilment::Partner => "partner",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::ShowCode, Self::StoreCode, Self::Partner]
            .into_iter()
            .find(|f| f.as_str() == raw)
    }
}

/// A reward as an admin sends it (create, and full replacement on update).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReward {
    /// 1 to 200 characters once trimmed.
    pub name: String,
    /// Up to 2,000 characters; blank is the same as absent.
    #[serde(default)]
    pub description: Option<String>,
    /// Up to 50 characters, e.g. "drinks".
    #[serde(default)]
    pub category: Option<String>,
    /// An http(s) URL of the reward's picture.
    #[serde(default)]
    pub image_url: Option<String>,
    /// 1 to 10,000,000 points.
    pub points_cost: i64,
    /// Units available, 0 to 1,000,000; absent means unlimited.
    #[serde(default)]
    pub inventory: Option<i64>,
    /// Redeemable from this moment (absent: at once).
    #[serde(default)]
    pub valid_from: Option<DateTime<Utc>>,
    /// Redeemable until this moment (absent: no end).
    #[serde(default)]
    pub valid_until: Option<DateTime<Utc>>,
    /// The lowest tier (its code, e.g. "GOLD") that may redeem; absent: every tier.
    #[serde(default)]
    pub min_tier: Option<String>,
    /// At most this many redemptions per member per `member_limit_period` (1 to 1,000).
    #[serde(default)]
    pub member_limit: Option<i64>,
    #[serde(default)]
    pub member_limit_period: Option<LimitPeriod>,
    #[serde(default)]
    pub fulfilment: Option<Fulfilment>,
    /// Days a redemption's code stays usable (1 to 3,650; default 30).
    #[serde(default)]
    pub code_valid_days: Option<i64>,
    /// Seconds after redeeming in which a member may cancel an unused redemption and get the
    /// points back (0 to 2,592,000; default 86,400; 0: never).
    #[serde(default)]
    pub cancel_window_secs: Option<i64>,
    /// The business the reward belongs to: required of platform operators, else the caller's.
    #[serde(default)]
    pub business_id: Option<uuid::Uuid>,
}

/// A catalog item that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReward {
    pub name: String,
    pub description: Option<String>,
    pub category: Option<String>,
    pub image_url: Option<String>,
    pub points_cost: i64,
    /// `None` is unlimited.
    pub inventory: Option<i32>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub min_tier: Option<String>,
    pub member_limit: Option<i32>,
    pub member_limit_period: LimitPeriod,
    pub fulfilment: Fulfilment,
    pub code_valid_days: i32,
    pub cancel_window_secs: i32,
}

/// Collects every field error of a request.
#[derive(Default)]
pub(crate) struct Fields(pub(crate) Vec<InvalidField>);

impl Fields {
    pub(crate) fn take<T>(&mut self, field: &'static str, parsed: Result<T, String>) -> Option<T> {
        parsed
            .map_err(|message| self.0.push(InvalidField { field, message }))
            .ok()
    }
}

impl TryFrom<CreateReward> for NewReward {
    type Error = Vec<InvalidField>;

    /// Checks every field and reports all that are wrong, not just the first.
    fn try_from(request: CreateReward) -> Result<Self, Self::Error> {
        let mut f = Fields::default();
        let name = f.take("name", parse_name(&request.name));
        let description = f.take(
            "description",
            request
                .description
                .as_deref()
                .map(parse_description)
                .transpose()
                .map(Option::flatten),
        );
        let category = f.take(
            "category",
            request
                .category
                .as_deref()
                .map(parse_category)
                .transpose()
                .map(Option::flatten),
        );
        let image_url = f.take(
            "image_url",
            request
                .image_url
                .as_deref()
                .map(parse_image_url)
                .transpose(),
        );
        let points_cost = f.take("points_cost", parse_points_cost(request.points_cost));
        let inventory = f.take(
            "inventory",
            request.inventory.map(parse_inventory).transpose(),
        );
        let window = f.take(
            "valid_until",
            check_window(request.valid_from, request.valid_until),
        );
        let min_tier = f.take(
            "min_tier",
            request.min_tier.as_deref().map(parse_tier).transpose(),
        );
        let member_limit = f.take(
            "member_limit",
            request
                .member_limit
                .map(|n| bounded(n, 1, MEMBER_LIMIT_MAX))
                .transpose(),
        );
        let code_valid_days = f.take(
            "code_valid_days",
            bounded(
                request
                    .code_valid_days
                    .unwrap_or(CODE_VALID_DAYS_DEFAULT.into()),
                1,
                CODE_VALID_DAYS_MAX,
            ),
        );
        let cancel_window_secs = f.take(
            "cancel_window_secs",
            bounded(
                request
                    .cancel_window_secs
                    .unwrap_or(CANCEL_WINDOW_DEFAULT_SECS.into()),
                0,
                CANCEL_WINDOW_MAX_SECS,
            ),
        );
        match (
            name,
            description,
            category,
            image_url,
            points_cost,
            inventory,
            window,
            min_tier,
            member_limit,
            code_valid_days,
            cancel_window_secs,
        ) {
            (
                Some(name),
                Some(description),
                Some(category),
                Some(image_url),
                Some(points_cost),
                Some(inventory),
                Some(()),
                Some(min_tier),
                Some(member_limit),
                Some(code_valid_days),
                Some(cancel_window_secs),
            ) if f.0.is_empty() => Ok(NewReward {
                name,
                description,
                category,
                image_url,
                points_cost,
                inventory,
                valid_from: request.valid_from,
                valid_until: request.valid_until,
                min_tier,
                member_limit,
                member_limit_period: request.member_limit_period.unwrap_or_default(),
                fulfilment: request.fulfilment.unwrap_or_default(),
                code_valid_days,
                cancel_window_secs,
            }),
            _ => Err(f.0),
        }
    }
}

/// Trimmed, 1 to 200 characters, no control characters.
pub fn parse_name(raw: &str) -> Result<String, String> {
    NAME.parse(raw).map_err(|e| e.to_string())
}

/// Trimmed; blank becomes `None`. Line breaks and tabs are allowed, other control characters not.
pub fn parse_description(raw: &str) -> Result<Option<String>, String> {
    DESCRIPTION
        .parse_optional(Some(raw))
        .map_err(|e| e.to_string())
}

/// Trimmed and lower-cased (so "Drinks" and "drinks" are one category); blank is absent.
pub fn parse_category(raw: &str) -> Result<Option<String>, String> {
    CATEGORY
        .parse_optional(Some(raw))
        .map(|c| c.map(|c| c.to_lowercase()))
        .map_err(|e| e.to_string())
}

/// An absolute http(s) URL without spaces or control characters.
pub fn parse_image_url(raw: &str) -> Result<String, String> {
    let url = raw.trim();
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    let host_ok = url
        .split_once("://")
        .is_some_and(|(_, rest)| !rest.is_empty() && !rest.starts_with('/'));
    if !scheme_ok
        || !host_ok
        || url.chars().count() > IMAGE_URL_MAX_CHARS
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "must be an http(s) URL of at most {IMAGE_URL_MAX_CHARS} characters"
        ));
    }
    Ok(url.to_owned())
}

/// A tier code as the point service names tiers: 1 to 32 of A-Z, 0-9 and `_` (upper-cased).
pub fn parse_tier(raw: &str) -> Result<String, String> {
    let code = raw.trim().to_uppercase();
    if code.is_empty()
        || code.len() > TIER_MAX_CHARS
        || !code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(format!(
            "must be a tier code of 1 to {TIER_MAX_CHARS} letters, digits or underscores"
        ));
    }
    Ok(code)
}

fn check_window(from: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> Result<(), String> {
    match (from, until) {
        (Some(from), Some(until)) if until <= from => Err("must be after valid_from".into()),
        _ => Ok(()),
    }
}

fn bounded(value: i64, min: i64, max: i64) -> Result<i32, String> {
    if (min..=max).contains(&value) {
        // Every bound used here fits an i32 (the columns' type).
        Ok(value as i32)
    } else {
        Err(format!("must be between {min} and {max}"))
    }
}

pub fn parse_points_cost(points: i64) -> Result<i64, String> {
    if (1..=POINTS_COST_MAX).contains(&points) {
        Ok(points)
    } else {
        Err(format!("must be between 1 and {POINTS_COST_MAX} points"))
    }
}

pub fn parse_inventory(units: i64) -> Result<i32, String> {
    if (0..=INVENTORY_MAX).contains(&units) {
        // INVENTORY_MAX fits an i32 (the column's type).
        Ok(units as i32)
    } else {
        Err(format!(
            "must be between 0 and {INVENTORY_MAX}, or absent for unlimited"
        ))
    }
}

/// Whether an item can be redeemed now as far as stock goes: unlimited, or some left.
pub fn is_available(inventory: Option<i32>) -> bool {
    inventory.is_none_or(|units| units > 0)
}

/// Why a reward cannot be redeemed now, before anyone's points are looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    Archived,
    NotYet(DateTime<Utc>),
    Ended(DateTime<Utc>),
    OutOfStock,
    LimitReached { limit: i32, period: LimitPeriod },
}

impl Unavailable {
    pub fn slug(&self) -> &'static str {
        match self {
            Unavailable::Archived => "reward-inactive",
            Unavailable::NotYet(_) | Unavailable::Ended(_) => "reward-not-in-window",
            Unavailable::OutOfStock => "reward-out-of-stock",
            Unavailable::LimitReached { .. } => "redemption-limit-reached",
        }
    }

    pub fn detail(&self) -> String {
        match self {
            Unavailable::Archived => "the reward is no longer offered".into(),
            Unavailable::NotYet(from) => format!("the reward can be redeemed from {from}"),
            Unavailable::Ended(until) => format!("the reward could be redeemed until {until}"),
            Unavailable::OutOfStock => "the reward is out of stock".into(),
            Unavailable::LimitReached { limit, period } => format!(
                "you have redeemed this reward {limit} time(s) already, the most allowed per {}",
                period.as_str()
            ),
        }
    }
}

/// The checks on a reward itself at `now`: offered, inside its window, in stock.
pub fn check_offered(
    active: bool,
    valid_from: Option<DateTime<Utc>>,
    valid_until: Option<DateTime<Utc>>,
    inventory: Option<i32>,
    now: DateTime<Utc>,
) -> Result<(), Unavailable> {
    if !active {
        return Err(Unavailable::Archived);
    }
    if let Some(from) = valid_from.filter(|from| now < *from) {
        return Err(Unavailable::NotYet(from));
    }
    if let Some(until) = valid_until.filter(|until| now >= *until) {
        return Err(Unavailable::Ended(until));
    }
    if !is_available(inventory) {
        return Err(Unavailable::OutOfStock);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str, points_cost: i64) -> CreateReward {
        CreateReward {
            name: name.into(),
            points_cost,
            ..Default::default()
        }
    }

    fn fields(result: Result<NewReward, Vec<InvalidField>>) -> Vec<&'static str> {
        result.unwrap_err().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_valid_reward_is_trimmed() {
        let reward = NewReward::try_from(CreateReward {
            name: "  Coffee voucher ".into(),
            description: Some(" One flat white.\nAny size. ".into()),
            category: Some(" Drinks ".into()),
            points_cost: 500,
            inventory: Some(20),
            min_tier: Some("gold".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            reward,
            NewReward {
                name: "Coffee voucher".into(),
                description: Some("One flat white.\nAny size.".into()),
                category: Some("drinks".into()),
                image_url: None,
                points_cost: 500,
                inventory: Some(20),
                valid_from: None,
                valid_until: None,
                min_tier: Some("GOLD".into()),
                member_limit: None,
                member_limit_period: LimitPeriod::Lifetime,
                fulfilment: Fulfilment::ShowCode,
                code_valid_days: 30,
                cancel_window_secs: 86_400,
            }
        );
    }

    #[test]
    fn names_are_1_to_200_characters_after_trimming() {
        assert_eq!(fields(NewReward::try_from(request("   ", 10))), ["name"]);
        assert_eq!(fields(NewReward::try_from(request("", 10))), ["name"]);
        assert!(
            NewReward::try_from(request(&"é".repeat(NAME_MAX_CHARS), 10)).is_ok(),
            "characters, not bytes"
        );
        assert!(
            NewReward::try_from(request(&format!("  {}  ", "x".repeat(NAME_MAX_CHARS)), 10))
                .is_ok()
        );
        assert_eq!(
            fields(NewReward::try_from(request(
                &"x".repeat(NAME_MAX_CHARS + 1),
                10
            ))),
            ["name"]
        );
        assert_eq!(
            fields(NewReward::try_from(request("Mug\u{0}", 10))),
            ["name"]
        );
    }

    #[test]
    fn points_cost_bounds() {
        assert!(NewReward::try_from(request("Mug", 1)).is_ok());
        assert!(NewReward::try_from(request("Mug", POINTS_COST_MAX)).is_ok());
        for bad in [0, -1, POINTS_COST_MAX + 1, i64::MIN, i64::MAX] {
            assert_eq!(
                fields(NewReward::try_from(request("Mug", bad))),
                ["points_cost"],
                "{bad}"
            );
        }
    }

    #[test]
    fn inventory_bounds_and_unlimited() {
        let with = |inventory| {
            NewReward::try_from(CreateReward {
                inventory,
                ..request("Mug", 10)
            })
        };
        assert_eq!(with(None).unwrap().inventory, None);
        assert_eq!(with(Some(0)).unwrap().inventory, Some(0));
        assert_eq!(
            with(Some(INVENTORY_MAX)).unwrap().inventory,
            Some(1_000_000)
        );
        for bad in [-1, INVENTORY_MAX + 1, i64::from(i32::MAX) + 1] {
            assert_eq!(fields(with(Some(bad))), ["inventory"], "{bad}");
        }
    }

    #[test]
    fn descriptions() {
        let with = |description: &str| {
            NewReward::try_from(CreateReward {
                description: Some(description.into()),
                ..request("Mug", 10)
            })
        };
        assert_eq!(with("   ").unwrap().description, None, "blank is absent");
        assert!(with(&"d".repeat(DESCRIPTION_MAX_CHARS)).is_ok());
        assert_eq!(
            fields(with(&"d".repeat(DESCRIPTION_MAX_CHARS + 1))),
            ["description"]
        );
        assert_eq!(fields(with("bell\u{7}")), ["description"]);
    }

    #[test]
    fn every_bad_field_is_reported() {
        let now = Utc::now();
        let bad = CreateReward {
            name: " ".into(),
            description: Some("\u{0}".into()),
            category: Some("x".repeat(CATEGORY_MAX_CHARS + 1)),
            image_url: Some("javascript:alert(1)".into()),
            points_cost: 0,
            inventory: Some(-3),
            valid_from: Some(now),
            valid_until: Some(now),
            min_tier: Some("gold tier".into()),
            member_limit: Some(0),
            code_valid_days: Some(0),
            cancel_window_secs: Some(-1),
            ..Default::default()
        };
        assert_eq!(
            fields(NewReward::try_from(bad)),
            [
                "name",
                "description",
                "category",
                "image_url",
                "points_cost",
                "inventory",
                "valid_until",
                "min_tier",
                "member_limit",
                "code_valid_days",
                "cancel_window_secs"
            ]
        );
    }

    #[test]
    fn the_request_body_refuses_unknown_fields_and_allows_optional_ones_to_be_absent() {
        let minimal: CreateReward =
            serde_json::from_str(r#"{"name":"Mug","points_cost":10}"#).unwrap();
        assert_eq!((minimal.description, minimal.inventory), (None, None));
        let nulls: CreateReward = serde_json::from_str(
            r#"{"name":"Mug","points_cost":10,"description":null,"inventory":null}"#,
        )
        .unwrap();
        assert_eq!((nulls.description, nulls.inventory), (None, None));
        assert!(serde_json::from_str::<CreateReward>(
            r#"{"name":"Mug","points_cost":10,"active":false}"#
        )
        .is_err());
    }

    #[test]
    fn limit_periods_start_at_calendar_boundaries_in_utc() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        // A Wednesday.
        let now = at("2026-12-09T15:30:00Z");
        assert_eq!(
            LimitPeriod::Day.start(now),
            Some(at("2026-12-09T00:00:00Z"))
        );
        assert_eq!(
            LimitPeriod::Week.start(now),
            Some(at("2026-12-07T00:00:00Z"))
        );
        assert_eq!(
            LimitPeriod::Month.start(now),
            Some(at("2026-12-01T00:00:00Z"))
        );
        assert_eq!(
            LimitPeriod::Year.start(now),
            Some(at("2026-01-01T00:00:00Z"))
        );
        assert_eq!(LimitPeriod::Lifetime.start(now), None);
    }

    #[test]
    fn a_reward_is_offered_inside_its_window_with_stock() {
        let now = Utc::now();
        let hour = chrono::Duration::hours(1);
        assert_eq!(check_offered(true, None, None, None, now), Ok(()));
        assert_eq!(
            check_offered(false, None, None, None, now),
            Err(Unavailable::Archived)
        );
        assert_eq!(
            check_offered(true, Some(now + hour), None, None, now),
            Err(Unavailable::NotYet(now + hour))
        );
        assert_eq!(
            check_offered(true, None, Some(now), None, now),
            Err(Unavailable::Ended(now)),
            "the end is exclusive"
        );
        assert_eq!(
            check_offered(true, None, None, Some(0), now),
            Err(Unavailable::OutOfStock)
        );
        assert_eq!(
            check_offered(true, Some(now - hour), Some(now + hour), Some(1), now),
            Ok(())
        );
    }

    #[test]
    fn image_urls_must_be_absolute_http() {
        assert!(parse_image_url("https://cdn.example.com/mug.png").is_ok());
        for bad in [
            "ftp://x/y",
            "https://",
            "https:///path",
            "/mug.png",
            "https://a b",
            "data:image/png;base64,xx",
        ] {
            assert!(parse_image_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn availability() {
        assert!(is_available(None), "unlimited");
        assert!(is_available(Some(3)));
        assert!(!is_available(Some(0)));
    }
}
