//! What the user service does with the events it consumes: it owns the members' contact
//! details, so it turns what happened to a member elsewhere into notifications, queued in the
//! consumer's transaction next to the inbox record.

use crate::core::notifications::{self, Notification, Notifier};
use crate::domain::notifications::{disqualification_reason, format_money, NotificationKind};
use events::proto::{
    CampaignCompleted, CampaignDisqualified, CampaignGoalAchieved, CampaignWindowEnding,
    PointsExpiring, RewardCancelled, RewardRedeemed, StampCardCompleted, TierChanged,
};
use events::{topics, EventHandler, HandlerError, ReceivedEvent};
use sqlx::PgConnection;
use uuid::Uuid;

/// The event types members are told about. Not `campaign.reward_due`: it asks the point
/// service to pay, and `campaign.completed` tells the member once it has.
pub const CONSUMES: &[&str] = &[
    topics::TIER_UPGRADED,
    topics::TIER_DOWNGRADED,
    topics::POINTS_EXPIRING,
    topics::REWARD_REDEEMED,
    topics::REWARD_CANCELLED,
    topics::STAMP_CARD_COMPLETED,
    topics::CAMPAIGN_GOAL_ACHIEVED,
    topics::CAMPAIGN_WINDOW_ENDING,
    topics::CAMPAIGN_DISQUALIFIED,
    topics::CAMPAIGN_COMPLETED,
];

pub struct UserEvents {
    pub notifier: Notifier,
}

#[async_trait::async_trait]
impl EventHandler for UserEvents {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        event: &ReceivedEvent,
    ) -> Result<(), HandlerError> {
        let (kind, member, values) = match event.event_type.as_str() {
            topics::TIER_UPGRADED | topics::TIER_DOWNGRADED => {
                let changed: TierChanged = event.decode()?;
                let kind = if event.event_type == topics::TIER_UPGRADED {
                    NotificationKind::TierUpgraded
                } else {
                    NotificationKind::TierDowngraded
                };
                (
                    kind,
                    changed.member_id,
                    vec![
                        ("from_tier", changed.from_tier),
                        ("to_tier", changed.to_tier),
                    ],
                )
            }
            topics::POINTS_EXPIRING => {
                let expiring: PointsExpiring = event.decode()?;
                (
                    NotificationKind::PointsExpiring,
                    expiring.member_id,
                    vec![
                        ("points", expiring.points.to_string()),
                        ("expires_on", expiring.expires_on),
                    ],
                )
            }
            topics::REWARD_REDEEMED => {
                let redeemed: RewardRedeemed = event.decode()?;
                let expires = utc_time(redeemed.code_expires_at.map(|t| t.seconds))
                    .unwrap_or_else(|| "no expiry date".to_owned());
                (
                    NotificationKind::RewardRedeemed,
                    redeemed.member_id,
                    vec![
                        ("reward_name", redeemed.reward_name),
                        ("code", redeemed.code),
                        ("code_expires_at", expires),
                        ("points", redeemed.points.to_string()),
                    ],
                )
            }
            topics::REWARD_CANCELLED => {
                let cancelled: RewardCancelled = event.decode()?;
                // Only a cancellation the member or staff made; the saga giving back a hold of a
                // redemption that never issued a code is nothing the member asked about.
                if cancelled.reason != "cancelled" {
                    return Ok(());
                }
                (
                    NotificationKind::RewardCancelled,
                    cancelled.member_id,
                    vec![
                        ("points", cancelled.points.to_string()),
                        ("reason", cancelled.reason),
                    ],
                )
            }
            topics::STAMP_CARD_COMPLETED => {
                let completed: StampCardCompleted = event.decode()?;
                (
                    NotificationKind::StampCardCompleted,
                    completed.member_id,
                    vec![("reward", completed.reward)],
                )
            }
            topics::CAMPAIGN_GOAL_ACHIEVED => {
                let achieved: CampaignGoalAchieved = event.decode()?;
                let amount = |minor| money(event, minor, &achieved.currency);
                let (total, target) = (amount(achieved.total)?, amount(achieved.target)?);
                (
                    NotificationKind::CampaignGoalAchieved,
                    achieved.member_id,
                    vec![
                        ("campaign_name", campaign_name(achieved.campaign_name)),
                        ("total", total),
                        ("target", target),
                        ("reward_points", achieved.reward_points.to_string()),
                        (
                            "window_ends_at",
                            window_end(achieved.window_ends_at.map(|t| t.seconds)),
                        ),
                    ],
                )
            }
            topics::CAMPAIGN_WINDOW_ENDING => {
                let ending: CampaignWindowEnding = event.decode()?;
                let amount = |minor| money(event, minor, &ending.currency);
                let remaining = ending.target.saturating_sub(ending.total).max(0);
                (
                    NotificationKind::CampaignWindowEnding,
                    ending.member_id,
                    vec![
                        ("campaign_name", campaign_name(ending.campaign_name)),
                        ("total", amount(ending.total)?),
                        ("target", amount(ending.target)?),
                        ("remaining", amount(remaining)?),
                        (
                            "window_ends_at",
                            window_end(ending.window_ends_at.map(|t| t.seconds)),
                        ),
                    ],
                )
            }
            topics::CAMPAIGN_DISQUALIFIED => {
                let disqualified: CampaignDisqualified = event.decode()?;
                let amount = |minor| money(event, minor, &disqualified.currency);
                (
                    NotificationKind::CampaignDisqualified,
                    disqualified.member_id,
                    vec![
                        ("campaign_name", campaign_name(disqualified.campaign_name)),
                        (
                            "reason",
                            disqualification_reason(&disqualified.reason).to_owned(),
                        ),
                        ("total", amount(disqualified.total)?),
                        ("target", amount(disqualified.target)?),
                    ],
                )
            }
            topics::CAMPAIGN_COMPLETED => {
                let completed: CampaignCompleted = event.decode()?;
                (
                    NotificationKind::CampaignCompleted,
                    completed.member_id,
                    vec![
                        ("campaign_name", campaign_name(completed.campaign_name)),
                        ("points", completed.points.to_string()),
                    ],
                )
            }
            other => {
                return Err(HandlerError::Permanent(anyhow::anyhow!(
                    "the user service does not handle {other}"
                )))
            }
        };
        let notification = Notification {
            event_id: event.event_id,
            business_id: event.business_id,
            member_id: member_of(event, &member)?,
            kind,
            values,
        };
        let queued = notifications::notify_in(conn, &self.notifier, &notification)
            .await
            .map_err(|e| {
                // The database may come back; anything else (a contact detail that does not
                // decrypt) will fail the same way every time.
                if e.downcast_ref::<sqlx::Error>().is_some() {
                    HandlerError::Transient(e)
                } else {
                    HandlerError::Permanent(e)
                }
            })?;
        tracing::debug!(event_id = %event.event_id, kind = kind.as_str(), email = queued.email, push_devices = queued.push_devices, "notification queued");
        Ok(())
    }
}

/// A time as messages show it (UTC, to the minute).
fn utc_time(seconds: Option<i64>) -> Option<String> {
    seconds
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
}

/// When a campaign's window closes, as the sentences of its templates read it ("closes on
/// ...").
fn window_end(seconds: Option<i64>) -> String {
    utc_time(seconds).unwrap_or_else(|| "the campaign's last day".to_owned())
}

/// The campaign's name as messages show it, for a campaign saved without one too.
fn campaign_name(name: String) -> String {
    match name.trim() {
        "" => "your campaign".to_owned(),
        name => name.to_owned(),
    }
}

/// An amount of the event's currency as the member reads it. A currency whose minor units the
/// service does not know cannot be shown truthfully, so the event is dead-lettered.
fn money(event: &ReceivedEvent, amount_minor: i64, currency: &str) -> Result<String, HandlerError> {
    format_money(amount_minor, currency).ok_or_else(|| {
        HandlerError::Permanent(anyhow::anyhow!(
            "{} is in {currency:?}, not a currency the service knows",
            event.event_type
        ))
    })
}

/// The member an event is about: the envelope's subject, which must agree with the payload's
/// member when that names one.
fn member_of(event: &ReceivedEvent, payload_member: &str) -> Result<Uuid, HandlerError> {
    let parse = |id: &str| {
        Uuid::parse_str(id).map_err(|_| {
            HandlerError::Permanent(anyhow::anyhow!(
                "{} names member {id:?}, not a UUID",
                event.event_type
            ))
        })
    };
    let subject = Some(event.subject_id.as_str()).filter(|s| !s.is_empty());
    let payload = Some(payload_member).filter(|s| !s.is_empty());
    match (subject, payload) {
        (Some(subject), Some(payload)) => {
            let (subject, payload) = (parse(subject)?, parse(payload)?);
            if subject != payload {
                return Err(HandlerError::Permanent(anyhow::anyhow!(
                    "{} is about member {subject} but its payload names {payload}",
                    event.event_type
                )));
            }
            Ok(subject)
        }
        (Some(id), None) | (None, Some(id)) => parse(id),
        (None, None) => Err(HandlerError::Permanent(anyhow::anyhow!(
            "{} names no member",
            event.event_type
        ))),
    }
}
