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
        if let Some(counts) = reward_counts(event)? {
            // Counted whoever the member is: the figures name no one.
            return Ok(crate::core::rewards::record(conn, &counts.as_counts()).await?);
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

/// What a reward event adds to the rewards read model (`None`: not a reward event).
struct Counted {
    business_id: uuid::Uuid,
    reward_id: uuid::Uuid,
    day: chrono::NaiveDate,
    reward_name: String,
    redeemed: i64,
    used: i64,
    cancelled: i64,
    points: i64,
}

impl Counted {
    fn as_counts(&self) -> RewardCounts<'_> {
        RewardCounts {
            business_id: self.business_id,
            reward_id: self.reward_id,
            day: self.day,
            reward_name: &self.reward_name,
            redeemed: self.redeemed,
            used: self.used,
            cancelled: self.cancelled,
            points: self.points,
        }
    }
}

fn reward_counts(event: &ReceivedEvent) -> Result<Option<Counted>, HandlerError> {
    let reward_id = |raw: &str| {
        raw.parse::<uuid::Uuid>()
            .map_err(|_| permanent(format!("reward id {raw:?} is not a UUID")))
    };
    let base = |reward: uuid::Uuid| Counted {
        business_id: event.business_id,
        reward_id: reward,
        day: event.occurred_at.date_naive(),
        reward_name: String::new(),
        redeemed: 0,
        used: 0,
        cancelled: 0,
        points: 0,
    };
    Ok(Some(match event.event_type.as_str() {
        topics::REWARD_REDEEMED => {
            let redeemed: RewardRedeemed = event.decode()?;
            Counted {
                reward_name: redeemed.reward_name,
                redeemed: 1,
                points: redeemed.points,
                ..base(reward_id(&redeemed.reward_id)?)
            }
        }
        topics::REWARD_USED => {
            let used: RewardUsed = event.decode()?;
            Counted {
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
            Counted {
                cancelled: 1,
                points: -cancelled.points.max(0),
                ..base(reward_id(&cancelled.reward_id)?)
            }
        }
        _ => return Ok(None),
    }))
}

fn permanent(message: String) -> HandlerError {
    HandlerError::Permanent(anyhow::anyhow!(message))
}
