//! What the rewards service publishes: the redemption saga's steps (proto/tessera/v1/rewards.proto)
//! and what happens to campaign enrolments (proto/tessera/v1/campaigns.proto).

use crate::domain::campaigns::{BonusTerms, DisqualifiedReason};
use crate::storage::campaigns::{Campaign, Enrolment};
use crate::storage::redemptions::Redemption;
use crate::storage::referrals::Referral;
use chrono::{DateTime, Utc};
use events::proto::{
    CampaignBonusWindowChanged, CampaignCompleted, CampaignDisqualified, CampaignGoalAchieved,
    CampaignRewardDue, CampaignWindowEnding, RedemptionRequested, RewardCancelled, RewardRedeemed,
    RewardUsed,
};
use events::{proto_timestamp, topics, OutgoingEvent};
use uuid::Uuid;

pub const PUBLISHES: &[&str] = &[
    topics::REWARD_REDEMPTION_REQUESTED,
    topics::REWARD_REDEEMED,
    topics::REWARD_USED,
    topics::REWARD_CANCELLED,
    topics::CAMPAIGN_GOAL_ACHIEVED,
    topics::CAMPAIGN_REWARD_DUE,
    topics::CAMPAIGN_DISQUALIFIED,
    topics::CAMPAIGN_WINDOW_ENDING,
    topics::CAMPAIGN_COMPLETED,
    topics::CAMPAIGN_BONUS_WINDOW_CHANGED,
];

const PRODUCER: &str = "rewards-service";

/// Each step happens once per redemption, so each event's id is derived from the redemption:
/// a step written again (a retried consumer transaction) is the same event.
fn step(
    event_type: &'static str,
    redemption: Uuid,
    member: Uuid,
    business: Uuid,
    payload: &impl prost::Message,
) -> OutgoingEvent {
    OutgoingEvent::of_fact(
        PRODUCER,
        event_type,
        &redemption.to_string(),
        member,
        payload,
    )
    .in_business(business)
}

pub struct Requested<'a> {
    pub redemption_id: Uuid,
    pub business_id: Uuid,
    pub member_id: Uuid,
    pub reward_id: Uuid,
    pub reward_name: &'a str,
    pub points: i64,
    pub min_tier: Option<&'a str>,
}

pub fn redemption_requested(r: &Requested<'_>) -> OutgoingEvent {
    step(
        topics::REWARD_REDEMPTION_REQUESTED,
        r.redemption_id,
        r.member_id,
        r.business_id,
        &RedemptionRequested {
            redemption_id: r.redemption_id.to_string(),
            member_id: r.member_id.to_string(),
            reward_id: r.reward_id.to_string(),
            reward_name: r.reward_name.to_owned(),
            points: r.points,
            min_tier: r.min_tier.unwrap_or_default().to_owned(),
            requested_at: Some(proto_timestamp(Utc::now())),
        },
    )
}

pub fn reward_redeemed(
    redemption: &Redemption,
    member: Uuid,
    hold_id: Uuid,
    code: &str,
    code_expires_at: DateTime<Utc>,
) -> OutgoingEvent {
    step(
        topics::REWARD_REDEEMED,
        redemption.id,
        member,
        redemption.business_id,
        &RewardRedeemed {
            redemption_id: redemption.id.to_string(),
            member_id: member.to_string(),
            reward_id: redemption.reward_id.to_string(),
            reward_name: redemption.reward_name.clone(),
            points: redemption.points,
            hold_id: hold_id.to_string(),
            code: code.to_owned(),
            code_expires_at: Some(proto_timestamp(code_expires_at)),
            fulfilment: redemption.fulfilment.clone(),
            redeemed_at: Some(proto_timestamp(Utc::now())),
        },
    )
}

pub fn reward_used(
    redemption: &Redemption,
    member: Uuid,
    used_by: &str,
    store: Option<Uuid>,
) -> OutgoingEvent {
    step(
        topics::REWARD_USED,
        redemption.id,
        member,
        redemption.business_id,
        &RewardUsed {
            redemption_id: redemption.id.to_string(),
            member_id: member.to_string(),
            reward_id: redemption.reward_id.to_string(),
            used_by: used_by.to_owned(),
            store_id: store.map(|s| s.to_string()).unwrap_or_default(),
            used_at: Some(proto_timestamp(Utc::now())),
        },
    )
}

/// The points of a redemption go back: `hold_id` is empty when no hold was placed.
pub fn reward_cancelled(
    redemption: &Redemption,
    member: Uuid,
    hold_id: Option<Uuid>,
    reason: &str,
) -> OutgoingEvent {
    step(
        topics::REWARD_CANCELLED,
        redemption.id,
        member,
        redemption.business_id,
        &RewardCancelled {
            redemption_id: redemption.id.to_string(),
            member_id: member.to_string(),
            reward_id: redemption.reward_id.to_string(),
            points: redemption.points,
            hold_id: hold_id.map(|h| h.to_string()).unwrap_or_default(),
            reason: reason.to_owned(),
            cancelled_at: Some(proto_timestamp(Utc::now())),
        },
    )
}

/// Each campaign event states one fact about an enrolment (`fact`: what and, for repeated
/// facts such as reward requests, which one), so its id is derived from it.
fn campaign_event(
    event_type: &'static str,
    enrolment: &Enrolment,
    fact: &str,
    payload: &impl prost::Message,
) -> OutgoingEvent {
    OutgoingEvent::of_fact(
        PRODUCER,
        event_type,
        &format!("{}/{fact}", enrolment.id),
        enrolment.member_id,
        payload,
    )
    .in_business(enrolment.business_id)
}

pub fn goal_achieved(enrolment: &Enrolment, total: i64, at: DateTime<Utc>) -> OutgoingEvent {
    campaign_event(
        topics::CAMPAIGN_GOAL_ACHIEVED,
        enrolment,
        "goal",
        &CampaignGoalAchieved {
            campaign_id: enrolment.campaign_id.to_string(),
            enrolment_id: enrolment.id.to_string(),
            member_id: enrolment.member_id.to_string(),
            campaign_name: enrolment.campaign_name.clone(),
            total,
            target: enrolment.target_amount,
            currency: enrolment.currency.clone(),
            reward_points: enrolment.reward_points,
            window_ends_at: Some(proto_timestamp(enrolment.window_ends_at)),
            achieved_at: Some(proto_timestamp(at)),
        },
    )
}

/// A request to the point service to pay the campaign's points; request `number` of the
/// enrolment (retries are new events; the point service pays once per enrolment).
pub fn reward_due(enrolment: &Enrolment, number: i32) -> OutgoingEvent {
    campaign_event(
        topics::CAMPAIGN_REWARD_DUE,
        enrolment,
        &format!("reward/{number}"),
        &CampaignRewardDue {
            campaign_id: enrolment.campaign_id.to_string(),
            window_id: enrolment.id.to_string(),
            member_id: enrolment.member_id.to_string(),
            points: enrolment.reward_points,
            reason: enrolment.campaign_name.clone(),
        },
    )
}

pub fn disqualified(
    enrolment: &Enrolment,
    reason: DisqualifiedReason,
    total: i64,
    at: DateTime<Utc>,
) -> OutgoingEvent {
    // A reward that failed may fail again after an admin's retry: each time is its own fact.
    let fact = format!(
        "disqualified/{}/{}",
        reason.as_str(),
        enrolment.reward_requests
    );
    campaign_event(
        topics::CAMPAIGN_DISQUALIFIED,
        enrolment,
        &fact,
        &CampaignDisqualified {
            campaign_id: enrolment.campaign_id.to_string(),
            enrolment_id: enrolment.id.to_string(),
            member_id: enrolment.member_id.to_string(),
            campaign_name: enrolment.campaign_name.clone(),
            reason: reason.as_str().to_owned(),
            total,
            target: enrolment.target_amount,
            currency: enrolment.currency.clone(),
            disqualified_at: Some(proto_timestamp(at)),
        },
    )
}

pub fn window_ending(enrolment: &Enrolment, total: i64) -> OutgoingEvent {
    campaign_event(
        topics::CAMPAIGN_WINDOW_ENDING,
        enrolment,
        "window_ending",
        &CampaignWindowEnding {
            campaign_id: enrolment.campaign_id.to_string(),
            enrolment_id: enrolment.id.to_string(),
            member_id: enrolment.member_id.to_string(),
            campaign_name: enrolment.campaign_name.clone(),
            total,
            target: enrolment.target_amount,
            currency: enrolment.currency.clone(),
            window_ends_at: Some(proto_timestamp(enrolment.window_ends_at)),
        },
    )
}

pub fn completed(enrolment: &Enrolment, transaction_id: &str, at: DateTime<Utc>) -> OutgoingEvent {
    campaign_event(
        topics::CAMPAIGN_COMPLETED,
        enrolment,
        "completed",
        &CampaignCompleted {
            campaign_id: enrolment.campaign_id.to_string(),
            enrolment_id: enrolment.id.to_string(),
            member_id: enrolment.member_id.to_string(),
            campaign_name: enrolment.campaign_name.clone(),
            points: enrolment.reward_points,
            transaction_id: transaction_id.to_owned(),
            completed_at: Some(proto_timestamp(at)),
        },
    )
}

/// A bonus window for the point service's earn rules. Its subject is the campaign, so its
/// revisions share a partition; the point service also keeps the newest it has seen.
pub fn bonus_window_changed(
    campaign: &Campaign,
    bonus: &BonusTerms,
    ends_at: DateTime<Utc>,
    revision: i64,
) -> OutgoingEvent {
    OutgoingEvent::of_fact(
        PRODUCER,
        topics::CAMPAIGN_BONUS_WINDOW_CHANGED,
        &format!("{}/bonus/{revision}", campaign.id),
        campaign.id,
        &CampaignBonusWindowChanged {
            campaign_id: campaign.id.to_string(),
            campaign_name: campaign.name.clone(),
            multiplier_bp: bonus.multiplier_bp,
            bonus_points: bonus.bonus_points,
            store_id: bonus.store_id.clone().unwrap_or_default(),
            category: bonus.category.clone().unwrap_or_default(),
            starts_at: Some(proto_timestamp(campaign.enrol_from)),
            ends_at: Some(proto_timestamp(ends_at)),
            revision,
        },
    )
    .in_business(campaign.business_id)
}

/// The two members a referral pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferralSide {
    Referrer,
    Referee,
}

/// A request to the point service to pay one side of a referral; request `reward_requests` of
/// the referral. The referral is the campaign window: the point service pays once per referral
/// and member.
pub fn referral_reward_due(referral: &Referral, side: ReferralSide) -> OutgoingEvent {
    let (member, points, role) = match side {
        ReferralSide::Referrer => (referral.referrer_id, referral.referrer_points, "referrer"),
        ReferralSide::Referee => (referral.referee_id, referral.referee_points, "referee"),
    };
    OutgoingEvent::of_fact(
        PRODUCER,
        topics::CAMPAIGN_REWARD_DUE,
        &format!("{}/reward/{role}/{}", referral.id, referral.reward_requests),
        member,
        &CampaignRewardDue {
            campaign_id: referral.campaign_id.to_string(),
            window_id: referral.id.to_string(),
            member_id: member.to_string(),
            points,
            reason: format!("{} ({role})", referral.campaign_name),
        },
    )
    .in_business(referral.business_id)
}
