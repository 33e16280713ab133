//! What the user service does with the events it consumes: it owns the members' contact
//! details, so it turns what happened to a member elsewhere into notifications, queued in the
//! consumer's transaction next to the inbox record.

use crate::core::notifications::{self, Notification, Notifier};
use crate::domain::notifications::NotificationKind;
use events::proto::{
    CampaignRewardDue, PointsExpiring, RewardCancelled, RewardRedeemed, StampCardCompleted,
    TierChanged,
};
use events::{topics, EventHandler, HandlerError, ReceivedEvent};
use sqlx::PgConnection;
use uuid::Uuid;

// campaign.goal_achieved and campaign.disqualified have no payload schema yet.
pub const CONSUMES: &[&str] = &[
    topics::TIER_UPGRADED,
    topics::TIER_DOWNGRADED,
    topics::POINTS_EXPIRING,
    topics::REWARD_REDEEMED,
    topics::REWARD_CANCELLED,
    topics::STAMP_CARD_COMPLETED,
    topics::CAMPAIGN_REWARD_DUE,
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
                let expires = redeemed
                    .code_expires_at
                    .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
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
            topics::CAMPAIGN_REWARD_DUE => {
                let due: CampaignRewardDue = event.decode()?;
                let reason = Some(due.reason)
                    .filter(|r| !r.trim().is_empty())
                    .unwrap_or_else(|| "campaign bonus".to_owned());
                (
                    NotificationKind::CampaignRewardDue,
                    due.member_id,
                    vec![("points", due.points.to_string()), ("reason", reason)],
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
