//! Builders of the events the point service publishes. They go to the outbox in the transaction
//! of the change they announce.

use crate::domain::Earned;
use crate::storage::stamps::{IssueRecord, RewardRecord};
use chrono::{DateTime, Utc};
use events::proto::{
    PointsAdjusted, PointsEarned, PointsExpired, PointsExpiring, PointsHeld, PointsHoldRefused,
    PointsRedeemed, PointsReversed, StampCardCompleted, StampsIssued, StampsVoided, TierChanged,
};
use events::{proto_timestamp, topics, OutgoingEvent};
use uuid::Uuid;

pub const PUBLISHES: &[&str] = &[
    topics::POINTS_EARNED,
    topics::POINTS_REDEEMED,
    topics::POINTS_REVERSED,
    topics::POINTS_EXPIRED,
    topics::POINTS_EXPIRING,
    topics::POINTS_ADJUSTED,
    topics::TIER_UPGRADED,
    topics::TIER_DOWNGRADED,
    topics::TIER_DOWNGRADE_WARNING,
    topics::STAMPS_ISSUED,
    topics::STAMPS_VOIDED,
    topics::STAMP_CARD_COMPLETED,
    topics::POINTS_HELD,
    topics::POINTS_HOLD_REFUSED,
];

fn event(topic: &'static str, member_id: Uuid, payload: &impl prost::Message) -> OutgoingEvent {
    OutgoingEvent::new("point", topic, member_id, payload)
}

pub fn points_earned(
    member_id: Uuid,
    earned: &Earned,
    source: &str,
    reference_id: &str,
) -> OutgoingEvent {
    event(
        topics::POINTS_EARNED,
        member_id,
        &PointsEarned {
            transaction_id: earned.transaction_id.to_string(),
            member_id: member_id.to_string(),
            points: earned.points,
            source: source.to_owned(),
            reference_id: reference_id.to_owned(),
            balance_after: earned.balance_after,
            tier: earned.tier.clone(),
            pending: earned.pending,
        },
    )
}

pub fn points_redeemed(
    member_id: Uuid,
    transaction_id: Uuid,
    points: i64,
    reference_id: &str,
    balance_after: i64,
) -> OutgoingEvent {
    event(
        topics::POINTS_REDEEMED,
        member_id,
        &PointsRedeemed {
            transaction_id: transaction_id.to_string(),
            member_id: member_id.to_string(),
            points,
            reference_id: reference_id.to_owned(),
            balance_after,
        },
    )
}

pub fn points_reversed(
    member_id: Uuid,
    transaction_id: Uuid,
    points: i64,
    reference_id: &str,
    balance_after: i64,
) -> OutgoingEvent {
    event(
        topics::POINTS_REVERSED,
        member_id,
        &PointsReversed {
            transaction_id: transaction_id.to_string(),
            member_id: member_id.to_string(),
            points,
            reference_id: reference_id.to_owned(),
            balance_after,
        },
    )
}

pub fn points_expired(
    member_id: Uuid,
    transaction_id: Uuid,
    points: i64,
    balance_after: i64,
) -> OutgoingEvent {
    event(
        topics::POINTS_EXPIRED,
        member_id,
        &PointsExpired {
            transaction_id: transaction_id.to_string(),
            member_id: member_id.to_string(),
            points,
            balance_after,
        },
    )
}

pub fn points_expiring(
    member_id: Uuid,
    lot_id: Uuid,
    points: i64,
    expires_at: DateTime<Utc>,
) -> OutgoingEvent {
    event(
        topics::POINTS_EXPIRING,
        member_id,
        &PointsExpiring {
            member_id: member_id.to_string(),
            points,
            expires_on: expires_at.date_naive().to_string(),
            lot_id: lot_id.to_string(),
        },
    )
}

pub fn points_adjusted(
    member_id: Uuid,
    transaction_id: Uuid,
    points: i64,
    reason: &str,
    actor: &str,
    balance_after: i64,
) -> OutgoingEvent {
    event(
        topics::POINTS_ADJUSTED,
        member_id,
        &PointsAdjusted {
            transaction_id: transaction_id.to_string(),
            member_id: member_id.to_string(),
            points,
            reason: reason.to_owned(),
            adjusted_by: actor.to_owned(),
            balance_after,
        },
    )
}

pub fn tier_changed(
    member_id: Uuid,
    from: &str,
    to: &str,
    reason: &str,
    upgrade: bool,
) -> OutgoingEvent {
    let topic = if upgrade {
        topics::TIER_UPGRADED
    } else {
        topics::TIER_DOWNGRADED
    };
    event(
        topic,
        member_id,
        &TierChanged {
            member_id: member_id.to_string(),
            from_tier: from.to_owned(),
            to_tier: to.to_owned(),
            reason: reason.to_owned(),
        },
    )
}

/// Notice, ahead of the period's end, that the member's spend so far qualifies for a lower tier.
pub fn tier_downgrade_warning(
    member_id: Uuid,
    from: &str,
    to: &str,
    period_ends_at: DateTime<Utc>,
) -> OutgoingEvent {
    event(
        topics::TIER_DOWNGRADE_WARNING,
        member_id,
        &TierChanged {
            member_id: member_id.to_string(),
            from_tier: from.to_owned(),
            to_tier: to.to_owned(),
            reason: format!(
                "qualification period ends on {}",
                period_ends_at.date_naive()
            ),
        },
    )
}

/// Stamp events state facts that happen once (an issue, its void, a filled card): their ids
/// derive from the row's id, so nothing can ever publish one twice under two ids.
fn stamp_fact(
    topic: &'static str,
    fact: Uuid,
    business_id: Uuid,
    member_id: Uuid,
    payload: &impl prost::Message,
) -> OutgoingEvent {
    OutgoingEvent::of_fact("point", topic, &fact.to_string(), member_id, payload)
        .in_business(business_id)
}

pub fn stamps_issued(issue: &IssueRecord) -> OutgoingEvent {
    stamp_fact(
        topics::STAMPS_ISSUED,
        issue.id,
        issue.business_id,
        issue.member_id,
        &StampsIssued {
            issue_id: issue.id.to_string(),
            business_id: issue.business_id.to_string(),
            store_id: issue.store_id.to_string(),
            member_id: issue.member_id.to_string(),
            program_id: issue.program_id.to_string(),
            stamps: issue.stamps,
            transaction_id: issue.transaction_id.clone(),
            issued_at: Some(proto_timestamp(issue.issued_at)),
        },
    )
}

/// `issue` as its void left it.
pub fn stamps_voided(issue: &IssueRecord) -> OutgoingEvent {
    stamp_fact(
        topics::STAMPS_VOIDED,
        issue.id,
        issue.business_id,
        issue.member_id,
        &StampsVoided {
            issue_id: issue.id.to_string(),
            business_id: issue.business_id.to_string(),
            store_id: issue.store_id.to_string(),
            member_id: issue.member_id.to_string(),
            program_id: issue.program_id.to_string(),
            stamps: issue.stamps,
            voided_at: issue.voided_at.map(proto_timestamp),
        },
    )
}

/// One filled card: keyed on the reward, so one reward is one event.
pub fn stamp_card_completed(reward: &RewardRecord, reward_text: &str) -> OutgoingEvent {
    stamp_fact(
        topics::STAMP_CARD_COMPLETED,
        reward.id,
        reward.business_id,
        reward.member_id,
        &StampCardCompleted {
            card_reward_id: reward.id.to_string(),
            business_id: reward.business_id.to_string(),
            member_id: reward.member_id.to_string(),
            program_id: reward.program_id.to_string(),
            reward: reward_text.to_owned(),
            completed_at: Some(proto_timestamp(reward.created_at)),
        },
    )
}

/// The answer to a redemption happens once per redemption: its id is derived from it.
fn redemption_answer(
    topic: &'static str,
    redemption_id: Uuid,
    member_id: Uuid,
    payload: &impl prost::Message,
) -> OutgoingEvent {
    OutgoingEvent::of_fact(
        "point",
        topic,
        &redemption_id.to_string(),
        member_id,
        payload,
    )
}

pub fn points_held(
    redemption_id: Uuid,
    member_id: Uuid,
    hold_id: Uuid,
    points: i64,
    available_after: i64,
) -> OutgoingEvent {
    redemption_answer(
        topics::POINTS_HELD,
        redemption_id,
        member_id,
        &PointsHeld {
            redemption_id: redemption_id.to_string(),
            member_id: member_id.to_string(),
            hold_id: hold_id.to_string(),
            points,
            available_after,
        },
    )
}

pub fn points_hold_refused(
    redemption_id: Uuid,
    member_id: Uuid,
    points: i64,
    min_tier: Option<&str>,
    refusal: &crate::core::holds::RedemptionRefusal,
) -> OutgoingEvent {
    use crate::core::holds::RedemptionRefusal;
    let mut payload = PointsHoldRefused {
        redemption_id: redemption_id.to_string(),
        member_id: member_id.to_string(),
        points,
        ..Default::default()
    };
    match refusal {
        RedemptionRefusal::InsufficientPoints { available } => {
            payload.reason = "insufficient_points".into();
            payload.available = *available;
        }
        RedemptionRefusal::TierTooLow { member_tier } => {
            payload.reason = "tier_too_low".into();
            payload.member_tier = member_tier.clone();
            payload.needed_tier = min_tier.unwrap_or_default().to_owned();
        }
        RedemptionRefusal::NoAccount => payload.reason = "no_account".into(),
    }
    redemption_answer(
        topics::POINTS_HOLD_REFUSED,
        redemption_id,
        member_id,
        &payload,
    )
}
