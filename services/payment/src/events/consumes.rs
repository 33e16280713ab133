//! The topics the payment service consumes.

use crate::core;
use events::proto::UserErased;
use events::{topics, EventHandler, HandlerError, ReceivedEvent};
use sqlx::PgConnection;
use uuid::Uuid;

/// `user.erased`: erased members keep their payment records without the free text they wrote.
pub struct PaymentEvents;

#[async_trait::async_trait]
impl EventHandler for PaymentEvents {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        event: &ReceivedEvent,
    ) -> Result<(), HandlerError> {
        if event.event_type != topics::USER_ERASED {
            return Ok(());
        }
        let erased: UserErased = event.decode()?;
        let member_id = Uuid::parse_str(&erased.user_id).map_err(|e| {
            HandlerError::Permanent(anyhow::anyhow!(
                "user_id {:?} is not a UUID: {e}",
                erased.user_id
            ))
        })?;
        core::erasure::erase_member(conn, member_id).await?;
        Ok(())
    }
}
