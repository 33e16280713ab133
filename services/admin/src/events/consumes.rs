//! What the admin service does with the events it consumes: it projects other services' events
//! into its read model.

use crate::core::projection;
use crate::domain;
use crate::storage::rewards::RewardCounts;
use events::proto::{
    ChargeSucceeded, PointsEarned, RewardCancelled, RewardRedeemed, RewardUsed, UserErased,
    UserRegistered,
};
use events::{topics, EventHandler, HandlerError, ReceivedEvent};
use sqlx::PgConnection;

pub const CONSUMES: &[&str] = &[
    topics::USER_REGISTERED,
    topics::USER_ERASED,
    topics::CHARGE_SUCCEEDED,
    topics::POINTS_EARNED,
    topics::REWARD_REDEEMED,
    topics::REWARD_USED,
    topics::REWARD_CANCELLED,
];

/// Keeps `member_activity` up to date. A payload that cannot be applied (a member id that is not
/// a UUID, an unknown role or currency) is dead-lettered; database errors are retried.
pub struct AdminEvents;

#[async_trait::async_trait]
impl EventHandler for AdminEvents {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        event: &ReceivedEvent,
    ) -> Result<(), HandlerError> {
        if event.event_type == topics::USER_ERASED {
            let erased: UserErased = event.decode()?;
            let member_id = domain::parse_member_id(&erased.user_id).map_err(permanent)?;
            projection::erased(conn, member_id, event.occurred_at).await?;
            return Ok(());
        }
        if REWARD_EVENTS.contains(&event.event_type.as_str()) {
            // Counted whoever the member is: the figures name no one.
            if let Some(counts) = reward_counts(event)? {
                crate::core::rewards::record(conn, &counts).await?;
            }
            return Ok(());
        }
        if let Ok(member_id) = domain::parse_member_id(&event.subject_id) {
            if projection::is_forgotten(conn, member_id).await? {
                return Ok(());
            }
        }
        match event.event_type.as_str() {
            topics::USER_REGISTERED => {
                let registered: UserRegistered = event.decode()?;
                let registration = domain::Registration::parse(
                    &registered.user_id,
                    &registered.role,
                    registered.registered_at.map(|t| (t.seconds, t.nanos)),
                    event.occurred_at,
                )
                .map_err(permanent)?;
                projection::registered(conn, &registration, event.occurred_at).await?;
                Ok(())
            }
            topics::POINTS_EARNED => {
                let earned: PointsEarned = event.decode()?;
                let earned = domain::PointsEarned::parse(&earned.member_id, earned.points)
                    .map_err(permanent)?;
                projection::points_earned(conn, &earned, event.occurred_at).await?;
                Ok(())
            }
            topics::CHARGE_SUCCEEDED => {
                let charge: ChargeSucceeded = event.decode()?;
                let charge = domain::ChargeSucceeded::parse(
                    &charge.member_id,
                    charge.amount,
                    &charge.currency,
                )
                .map_err(permanent)?;
                projection::charge_succeeded(conn, &charge, event.occurred_at).await?;
                Ok(())
            }
            other => Err(permanent(format!(
                "the admin service does not handle {other}"
            ))),
        }
    }
}

/// The events the rewards read model counts.
const REWARD_EVENTS: &[&str] = &[
    topics::REWARD_REDEEMED,
    topics::REWARD_USED,
    topics::REWARD_CANCELLED,
];

/// The most points one redemption can cost (the catalog's own limit is far lower): a count
/// beyond it is a bad event, dead-lettered rather than summed into an overflow.
const MAX_REDEMPTION_POINTS: i64 = 1_000_000_000;

/// What a reward event adds to the rewards read model (`None`: it counts nothing).
fn reward_counts(event: &ReceivedEvent) -> Result<Option<RewardCounts>, HandlerError> {
    let reward_id = |raw: &str| {
        raw.parse::<uuid::Uuid>()
            .map_err(|_| permanent(format!("reward id {raw:?} is not a UUID")))
    };
    let points = |points: i64| {
        if (0..=MAX_REDEMPTION_POINTS).contains(&points) {
            Ok(points)
        } else {
            Err(permanent(format!(
                "{points} points is not a redemption's cost"
            )))
        }
    };
    let base = |reward: uuid::Uuid| RewardCounts {
        business_id: event.business_id,
        reward_id: reward,
        day: event.occurred_at.date_naive(),
        ..Default::default()
    };
    Ok(Some(match event.event_type.as_str() {
        topics::REWARD_REDEEMED => {
            let redeemed: RewardRedeemed = event.decode()?;
            RewardCounts {
                redeemed: 1,
                points: points(redeemed.points)?,
                reward_name: redeemed.reward_name,
                ..base(reward_id(&redeemed.reward_id)?)
            }
        }
        topics::REWARD_USED => {
            let used: RewardUsed = event.decode()?;
            RewardCounts {
                used: 1,
                ..base(reward_id(&used.reward_id)?)
            }
        }
        topics::REWARD_CANCELLED => {
            let cancelled: RewardCancelled = event.decode()?;
            // Only a member's or staff's cancellation undoes an issued (counted) redemption; the
            // saga's own give-backs were never counted.
            if cancelled.reason != "cancelled" {
                return Ok(None);
            }
            RewardCounts {
                cancelled: 1,
                points: -points(cancelled.points)?,
                ..base(reward_id(&cancelled.reward_id)?)
            }
        }
        _ => return Ok(None),
    }))
}

fn permanent(message: String) -> HandlerError {
    HandlerError::Permanent(anyhow::anyhow!(message))
}
