//! What the rewards service does with the events it consumes: the point service's answers in the
//! redemption saga, and erasures. Each runs in the consumer's transaction, next to its inbox
//! record, so an event delivered twice has its effect once.

use crate::core::redemptions;
use crate::domain::redemptions::HoldRefusal;
use events::proto::{PointsHeld, PointsHoldRefused, UserErased};
use events::{topics, EventHandler, HandlerError, ReceivedEvent};
use sqlx::PgConnection;
use uuid::Uuid;

pub const CONSUMES: &[&str] = &[
    topics::POINTS_HELD,
    topics::POINTS_HOLD_REFUSED,
    topics::USER_ERASED,
];

pub struct RewardsEvents;

fn id(field: &str, raw: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(raw)
        .map_err(|_| HandlerError::Permanent(anyhow::anyhow!("{field} {raw:?} is not a UUID")))
}

/// A database error may pass (try again); anything else is about the event itself (dead-letter).
fn classify(e: anyhow::Error) -> HandlerError {
    if e.downcast_ref::<sqlx::Error>().is_some() {
        HandlerError::Transient(e)
    } else {
        HandlerError::Permanent(e)
    }
}

#[async_trait::async_trait]
impl EventHandler for RewardsEvents {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        event: &ReceivedEvent,
    ) -> Result<(), HandlerError> {
        match event.event_type.as_str() {
            topics::POINTS_HELD => {
                let held: PointsHeld = event.decode()?;
                let redemption = id("redemption_id", &held.redemption_id)?;
                let hold = id("hold_id", &held.hold_id)?;
                redemptions::points_held(conn, redemption, hold)
                    .await
                    .map_err(classify)
            }
            topics::POINTS_HOLD_REFUSED => {
                let refused: PointsHoldRefused = event.decode()?;
                let redemption = id("redemption_id", &refused.redemption_id)?;
                let refusal = HoldRefusal::from_event(
                    &refused.reason,
                    refused.points,
                    refused.available,
                    &refused.member_tier,
                    &refused.needed_tier,
                );
                redemptions::hold_refused(conn, redemption, &refusal)
                    .await
                    .map_err(classify)
            }
            topics::USER_ERASED => {
                let erased: UserErased = event.decode()?;
                redemptions::forget_member(conn, id("user_id", &erased.user_id)?)
                    .await
                    .map_err(classify)
            }
            other => Err(HandlerError::Permanent(anyhow::anyhow!(
                "the rewards service does not handle {other}"
            ))),
        }
    }
}
