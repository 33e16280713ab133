//! Member notifications: what kinds there are, which class each belongs to, the rule that
//! decides, from a member's switches and consent, which channels a notification goes by, and how
//! the values of campaign notifications read (amounts of money, why a campaign ended).

use super::registration::InvalidField;
use serde::{Deserialize, Serialize};

/// What a notification is about; one per consumed event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    TierUpgraded,
    TierDowngraded,
    PointsExpiring,
    RewardRedeemed,
    RewardCancelled,
    StampCardCompleted,
    CampaignGoalAchieved,
    CampaignWindowEnding,
    CampaignDisqualified,
    CampaignCompleted,
}

impl NotificationKind {
    pub const ALL: [NotificationKind; 10] = [
        NotificationKind::TierUpgraded,
        NotificationKind::TierDowngraded,
        NotificationKind::PointsExpiring,
        NotificationKind::RewardRedeemed,
        NotificationKind::RewardCancelled,
        NotificationKind::StampCardCompleted,
        NotificationKind::CampaignGoalAchieved,
        NotificationKind::CampaignWindowEnding,
        NotificationKind::CampaignDisqualified,
        NotificationKind::CampaignCompleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::TierUpgraded => "tier_upgraded",
            NotificationKind::TierDowngraded => "tier_downgraded",
            NotificationKind::PointsExpiring => "points_expiring",
            NotificationKind::RewardRedeemed => "reward_redeemed",
            NotificationKind::RewardCancelled => "reward_cancelled",
            NotificationKind::StampCardCompleted => "stamp_card_completed",
            NotificationKind::CampaignGoalAchieved => "campaign_goal_achieved",
            NotificationKind::CampaignWindowEnding => "campaign_window_ending",
            NotificationKind::CampaignDisqualified => "campaign_disqualified",
            NotificationKind::CampaignCompleted => "campaign_completed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }

    pub fn category(self) -> Category {
        match self {
            // The member needs what these carry (the code to show, the points given back).
            NotificationKind::RewardRedeemed | NotificationKind::RewardCancelled => {
                Category::Transactional
            }
            // A campaign the member chose to join: where they stand in it (goal reached, time
            // running out, out of it, paid) is about what they signed up for, not promotion.
            NotificationKind::CampaignGoalAchieved
            | NotificationKind::CampaignWindowEnding
            | NotificationKind::CampaignDisqualified
            | NotificationKind::CampaignCompleted => Category::Transactional,
            NotificationKind::TierUpgraded
            | NotificationKind::TierDowngraded
            | NotificationKind::PointsExpiring
            | NotificationKind::StampCardCompleted => Category::Notice,
        }
    }

    /// The placeholders its templates may use; every one has a value when it is rendered.
    pub fn placeholders(self) -> &'static [&'static str] {
        match self {
            NotificationKind::TierUpgraded | NotificationKind::TierDowngraded => {
                &["first_name", "from_tier", "to_tier"]
            }
            NotificationKind::PointsExpiring => &["first_name", "points", "expires_on"],
            NotificationKind::RewardRedeemed => &[
                "first_name",
                "reward_name",
                "code",
                "code_expires_at",
                "points",
            ],
            NotificationKind::RewardCancelled => &["first_name", "points", "reason"],
            NotificationKind::StampCardCompleted => &["first_name", "reward"],
            NotificationKind::CampaignGoalAchieved => &[
                "first_name",
                "campaign_name",
                "total",
                "target",
                "reward_points",
                "window_ends_at",
            ],
            NotificationKind::CampaignWindowEnding => &[
                "first_name",
                "campaign_name",
                "total",
                "target",
                "remaining",
                "window_ends_at",
            ],
            NotificationKind::CampaignDisqualified => {
                &["first_name", "campaign_name", "reason", "total", "target"]
            }
            NotificationKind::CampaignCompleted => &["first_name", "campaign_name", "points"],
        }
    }
}

/// An amount of minor units as a member reads it: the currency's decimals, thousands grouped,
/// then the code (`100000 AUD` is "1,000.00 AUD", `5000 JPY` is "5,000 JPY"). `None` for a
/// currency whose minor units are not known, since guessing them would misstate the amount.
pub fn format_money(amount_minor: i64, currency: &str) -> Option<String> {
    let currency = kernel::Currency::parse(currency).ok()?;
    let per_major = currency.minor_per_major().unsigned_abs();
    let decimals = per_major.to_string().len() - 1;
    let magnitude = amount_minor.unsigned_abs();
    let digits = (magnitude / per_major).to_string();
    let mut major = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            major.push(',');
        }
        major.push(digit);
    }
    let sign = if amount_minor < 0 { "-" } else { "" };
    let code = currency.code();
    Some(if decimals == 0 {
        format!("{sign}{major} {code}")
    } else {
        let minor = magnitude % per_major;
        format!("{sign}{major}.{minor:0decimals$} {code}")
    })
}

/// Why a member's campaign enrolment ended, as a sentence to them, from the reason
/// `campaign.disqualified` gives. A reward that could not be paid is no fault of the member's
/// and may still be paid (staff can retry it), so it says so instead of ending anything.
pub fn disqualification_reason(reason: &str) -> &'static str {
    match reason {
        "no_load" => {
            "Your campaign has ended without a reward: no money was loaded onto your card \
             during the campaign window."
        }
        "window_ended_short" => {
            "Your campaign has ended without a reward: the campaign window closed before your \
             loads reached the goal."
        }
        "withdrawal" => {
            "Your campaign has ended without a reward: money was taken off your card during \
             the campaign, and only money that stays on the card counts."
        }
        "settled_funds_short" => {
            "Your campaign has ended without a reward: some of your loads did not go through \
             in the end, and those that did fall short of the goal."
        }
        "reward_failed" => {
            "You reached the goal, but we could not pay your points yet; our team is on it."
        }
        _ => "Your campaign has ended without a reward.",
    }
}

/// How much say the member has over a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// About something the member did and needs to act on: always emailed.
    Transactional,
    /// About the member's account: follows the channel switches.
    Notice,
    /// Promotes the program: needs marketing consent as well as the switch.
    Marketing,
}

/// The channels a notification can go by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationChannel {
    Email,
    Push,
}

impl NotificationChannel {
    pub const ALL: [NotificationChannel; 2] =
        [NotificationChannel::Email, NotificationChannel::Push];

    pub fn as_str(self) -> &'static str {
        match self {
            NotificationChannel::Email => "email",
            NotificationChannel::Push => "push",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == value)
    }
}

/// What a member chose: a switch per channel and marketing consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preferences {
    pub email: bool,
    pub push: bool,
    pub marketing_consent: bool,
}

/// The channels a notification goes by, before asking whether the member can be reached there
/// (a confirmed address, a registered device).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub email: bool,
    pub push: bool,
}

/// The rule: transactional messages are always emailed (push follows its switch); notices follow
/// the switches; marketing needs consent and the switch.
pub fn route(category: Category, preferences: &Preferences) -> Route {
    match category {
        Category::Transactional => Route {
            email: true,
            push: preferences.push,
        },
        Category::Notice => Route {
            email: preferences.email,
            push: preferences.push,
        },
        Category::Marketing => Route {
            email: preferences.marketing_consent && preferences.email,
            push: preferences.marketing_consent && preferences.push,
        },
    }
}

/// The platforms a device registers as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DevicePlatform {
    Ios,
    Android,
    Web,
}

impl DevicePlatform {
    pub fn as_str(self) -> &'static str {
        match self {
            DevicePlatform::Ios => "ios",
            DevicePlatform::Android => "android",
            DevicePlatform::Web => "web",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            DevicePlatform::Ios,
            DevicePlatform::Android,
            DevicePlatform::Web,
        ]
        .into_iter()
        .find(|p| p.as_str() == value)
    }
}

/// A push provider's registration token for one app install (FCM tokens are about 160
/// characters of letters, digits and `-_:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceToken(String);

/// Longest token accepted.
const MAX_TOKEN_LEN: usize = 4096;

impl DeviceToken {
    pub fn parse(raw: &str) -> Result<Self, InvalidField> {
        let token = raw.trim();
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(InvalidField::new(
                "token",
                "must be the push provider's registration token, 1 to 4096 characters",
            ));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidField::new(
                "token",
                "must be printable ASCII without spaces",
            ));
        }
        Ok(Self(token.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The most devices one member keeps; registering another forgets the least recently
/// registered (an app reinstalled many times leaves stale tokens behind).
pub const MAX_DEVICES_PER_MEMBER: i64 = 20;

#[cfg(test)]
mod tests {
    use super::*;

    fn prefs(email: bool, push: bool, marketing_consent: bool) -> Preferences {
        Preferences {
            email,
            push,
            marketing_consent,
        }
    }

    #[test]
    fn transactional_messages_are_always_emailed_and_push_follows_its_switch() {
        for consent in [false, true] {
            let off = route(Category::Transactional, &prefs(false, false, consent));
            assert_eq!(
                off,
                Route {
                    email: true,
                    push: false
                }
            );
            let on = route(Category::Transactional, &prefs(false, true, consent));
            assert_eq!(
                on,
                Route {
                    email: true,
                    push: true
                }
            );
        }
    }

    #[test]
    fn notices_follow_the_switches_whatever_the_consent() {
        for consent in [false, true] {
            for email in [false, true] {
                for push in [false, true] {
                    assert_eq!(
                        route(Category::Notice, &prefs(email, push, consent)),
                        Route { email, push }
                    );
                }
            }
        }
    }

    #[test]
    fn marketing_needs_consent_and_the_switch() {
        for email in [false, true] {
            for push in [false, true] {
                assert_eq!(
                    route(Category::Marketing, &prefs(email, push, false)),
                    Route {
                        email: false,
                        push: false
                    }
                );
                assert_eq!(
                    route(Category::Marketing, &prefs(email, push, true)),
                    Route { email, push }
                );
            }
        }
    }

    #[test]
    fn kinds_are_classified() {
        assert_eq!(
            NotificationKind::RewardRedeemed.category(),
            Category::Transactional
        );
        assert_eq!(
            NotificationKind::RewardCancelled.category(),
            Category::Transactional
        );
        assert_eq!(NotificationKind::TierUpgraded.category(), Category::Notice);
        assert_eq!(
            NotificationKind::StampCardCompleted.category(),
            Category::Notice
        );
        for campaign in [
            NotificationKind::CampaignGoalAchieved,
            NotificationKind::CampaignWindowEnding,
            NotificationKind::CampaignDisqualified,
            NotificationKind::CampaignCompleted,
        ] {
            assert_eq!(campaign.category(), Category::Transactional, "{campaign:?}");
        }
        assert_eq!(NotificationKind::parse("campaign_reward_due"), None);
        for kind in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(kind.as_str()), Some(kind));
            assert!(kind.placeholders().contains(&"first_name"));
        }
        assert_eq!(NotificationKind::parse("newsletter"), None);
    }

    #[test]
    fn money_is_shown_in_the_currency_s_own_decimals_with_thousands_grouped() {
        assert_eq!(
            format_money(100_000, "AUD").as_deref(),
            Some("1,000.00 AUD")
        );
        assert_eq!(format_money(5, "aud").as_deref(), Some("0.05 AUD"));
        assert_eq!(format_money(0, "USD").as_deref(), Some("0.00 USD"));
        assert_eq!(
            format_money(123_456_789, "EUR").as_deref(),
            Some("1,234,567.89 EUR")
        );
        assert_eq!(format_money(99_999, "GBP").as_deref(), Some("999.99 GBP"));
        // No decimals: the minor unit is the yen.
        assert_eq!(format_money(5_000, "JPY").as_deref(), Some("5,000 JPY"));
        assert_eq!(format_money(999, "JPY").as_deref(), Some("999 JPY"));
        // Three decimals.
        assert_eq!(
            format_money(1_234_567, "KWD").as_deref(),
            Some("1,234.567 KWD")
        );
        assert_eq!(format_money(-25_050, "AUD").as_deref(), Some("-250.50 AUD"));
        assert_eq!(
            format_money(i64::MIN, "JPY").as_deref(),
            Some("-9,223,372,036,854,775,808 JPY")
        );
        assert_eq!(format_money(100, "XYZ"), None);
    }

    #[test]
    fn every_disqualification_reason_reads_as_a_sentence() {
        for reason in [
            "no_load",
            "window_ended_short",
            "withdrawal",
            "settled_funds_short",
            "reward_failed",
            "something_new",
        ] {
            let sentence = disqualification_reason(reason);
            assert!(sentence.ends_with('.'), "{reason}: {sentence}");
            assert!(!sentence.contains('_'), "{reason}: {sentence}");
        }
        assert!(disqualification_reason("withdrawal").contains("taken off your card"));
        // Not the member's doing, and not final.
        let failed = disqualification_reason("reward_failed");
        assert!(failed.contains("could not pay your points yet; our team is on it"));
        assert!(!failed.contains("ended"));
    }

    #[test]
    fn device_tokens_are_printable_and_bounded() {
        assert!(DeviceToken::parse("fcm-token_123:APA91b").is_ok());
        assert!(DeviceToken::parse("").is_err());
        assert!(DeviceToken::parse("two words").is_err());
        assert!(DeviceToken::parse("line\nbreak").is_err());
        assert!(DeviceToken::parse(&"x".repeat(4097)).is_err());
        assert_eq!(
            DevicePlatform::parse("android"),
            Some(DevicePlatform::Android)
        );
        assert_eq!(DevicePlatform::parse("blackberry"), None);
    }
}
