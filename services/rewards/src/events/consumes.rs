//! What the rewards service does with the events it consumes.

use events::{topics, EventHandler, HandlerError, ReceivedEvent};
use sqlx::PgConnection;

pub struct RewardsEvents;

#[async_trait::async_trait]
impl EventHandler for RewardsEvents {
    async fn handle(
        &self,
        _conn: &mut PgConnection,
        event: &ReceivedEvent,
    ) -> Result<(), HandlerError> {
        match event.event_type.as_str() {
            // The catalog holds no personal data yet (items are not tied to members), so there
            // is nothing to anonymise: acknowledge. Once redemptions are stored per member, this
            // must anonymise them.
            topics::USER_ERASED => Ok(()),
            other => Err(HandlerError::Permanent(anyhow::anyhow!(
                "the rewards service does not handle {other}"
            ))),
        }
    }
}
