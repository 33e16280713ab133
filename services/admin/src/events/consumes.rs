//! What the admin service does with the events it consumes: it projects other services' events
//! into its read model.

use crate::core::projection;
use crate::domain;
use events::proto::{ChargeSucceeded, PointsEarned, UserErased, UserRegistered};
use events::{topics, EventHandler, HandlerError, ReceivedEvent};
use sqlx::PgConnection;

pub const CONSUMES: &[&str] = &[
    topics::USER_REGISTERED,
    topics::USER_ERASED,
    topics::CHARGE_SUCCEEDED,
    topics::POINTS_EARNED,
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

fn permanent(message: String) -> HandlerError {
    HandlerError::Permanent(anyhow::anyhow!(message))
}
