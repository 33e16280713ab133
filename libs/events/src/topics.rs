//! Topic names. Each event type has its own topic, named as the event type.

pub const USER_REGISTERED: &str = "user.registered";
pub const USER_ERASED: &str = "user.erased";

pub const CHARGE_SUCCEEDED: &str = "charge.succeeded";
pub const CHARGE_FAILED: &str = "charge.failed";
pub const CHARGE_REFUNDED: &str = "charge.refunded";
pub const WITHDRAWAL_RECORDED: &str = "withdrawal.recorded";
pub const ORDER_COMPLETED: &str = "order.completed";

pub const POINTS_EARNED: &str = "points.earned";
pub const POINTS_REDEEMED: &str = "points.redeemed";
pub const POINTS_REVERSED: &str = "points.reversed";
pub const POINTS_EXPIRED: &str = "points.expired";
pub const POINTS_ADJUSTED: &str = "points.adjusted";
pub const POINTS_EXPIRING: &str = "points.expiring";
pub const TIER_UPGRADED: &str = "tier.upgraded";
pub const TIER_DOWNGRADED: &str = "tier.downgraded";
/// A member will drop a tier when the qualification period ends unless they spend more.
pub const TIER_DOWNGRADE_WARNING: &str = "tier.downgrade_warning";

pub const BUSINESS_CREATED: &str = "business.created";
pub const STORE_CREATED: &str = "store.created";
pub const STAMPS_ISSUED: &str = "stamps.issued";
pub const STAMPS_VOIDED: &str = "stamps.voided";
pub const STAMP_CARD_COMPLETED: &str = "stamp_card.completed";

/// The redemption saga (proto/tessera/v1/rewards.proto).
pub const REWARD_REDEMPTION_REQUESTED: &str = "reward.redemption_requested";
pub const POINTS_HELD: &str = "points.held";
pub const POINTS_HOLD_REFUSED: &str = "points.hold_refused";
pub const REWARD_REDEEMED: &str = "reward.redeemed";
pub const REWARD_USED: &str = "reward.used";
pub const REWARD_CANCELLED: &str = "reward.cancelled";
pub const CAMPAIGN_GOAL_ACHIEVED: &str = "campaign.goal_achieved";
pub const CAMPAIGN_REWARD_DUE: &str = "campaign.reward_due";
pub const CAMPAIGN_DISQUALIFIED: &str = "campaign.disqualified";
pub const CAMPAIGN_WINDOW_ENDING: &str = "campaign.window_ending";
pub const CAMPAIGN_COMPLETED: &str = "campaign.completed";
/// A bonus-window campaign was published or ended early: the point service's earn rule for it.
pub const CAMPAIGN_BONUS_WINDOW_CHANGED: &str = "campaign.bonus_window_changed";

/// Every topic of the platform, for creating them up front.
pub const ALL: &[&str] = &[
    USER_REGISTERED,
    USER_ERASED,
    CHARGE_SUCCEEDED,
    CHARGE_FAILED,
    CHARGE_REFUNDED,
    WITHDRAWAL_RECORDED,
    ORDER_COMPLETED,
    POINTS_EARNED,
    POINTS_REDEEMED,
    POINTS_REVERSED,
    POINTS_EXPIRED,
    POINTS_ADJUSTED,
    POINTS_EXPIRING,
    TIER_UPGRADED,
    TIER_DOWNGRADED,
    TIER_DOWNGRADE_WARNING,
    BUSINESS_CREATED,
    STORE_CREATED,
    STAMPS_ISSUED,
    STAMPS_VOIDED,
    STAMP_CARD_COMPLETED,
    REWARD_REDEMPTION_REQUESTED,
    POINTS_HELD,
    POINTS_HOLD_REFUSED,
    REWARD_REDEEMED,
    REWARD_USED,
    REWARD_CANCELLED,
    CAMPAIGN_GOAL_ACHIEVED,
    CAMPAIGN_REWARD_DUE,
    CAMPAIGN_DISQUALIFIED,
    CAMPAIGN_WINDOW_ENDING,
    CAMPAIGN_COMPLETED,
    CAMPAIGN_BONUS_WINDOW_CHANGED,
];

/// Where `consumer` parks the messages of `topic` it cannot process.
pub fn dead_letter(topic: &str, consumer: &str) -> String {
    format!("{topic}.dlq.{consumer}")
}
