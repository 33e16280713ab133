//! Member notifications: what kinds there are, which class each belongs to, and the rule that
//! decides, from a member's switches and consent, which channels a notification goes by.

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
    CampaignRewardDue,
}

impl NotificationKind {
    pub const ALL: [NotificationKind; 7] = [
        NotificationKind::TierUpgraded,
        NotificationKind::TierDowngraded,
        NotificationKind::PointsExpiring,
        NotificationKind::RewardRedeemed,
        NotificationKind::RewardCancelled,
        NotificationKind::StampCardCompleted,
        NotificationKind::CampaignRewardDue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::TierUpgraded => "tier_upgraded",
            NotificationKind::TierDowngraded => "tier_downgraded",
            NotificationKind::PointsExpiring => "points_expiring",
            NotificationKind::RewardRedeemed => "reward_redeemed",
            NotificationKind::RewardCancelled => "reward_cancelled",
            NotificationKind::StampCardCompleted => "stamp_card_completed",
            NotificationKind::CampaignRewardDue => "campaign_reward_due",
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
            NotificationKind::TierUpgraded
            | NotificationKind::TierDowngraded
            | NotificationKind::PointsExpiring
            | NotificationKind::StampCardCompleted => Category::Notice,
            // A campaign promotes the program: telling about it is marketing.
            NotificationKind::CampaignRewardDue => Category::Marketing,
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
            NotificationKind::CampaignRewardDue => &["first_name", "points", "reason"],
        }
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
        assert_eq!(
            NotificationKind::CampaignRewardDue.category(),
            Category::Marketing
        );
        for kind in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(kind.as_str()), Some(kind));
            assert!(kind.placeholders().contains(&"first_name"));
        }
        assert_eq!(NotificationKind::parse("newsletter"), None);
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
