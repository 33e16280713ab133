//! Outgoing email, SMS and push, queued in the same transaction as the change (or the event)
//! that causes them and delivered by the worker in `core::messages`.

use crate::domain::messages::MessageChannel;
use sqlx::PgConnection;
use uuid::Uuid;

pub struct NewMessage<'a> {
    pub channel: MessageChannel,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub user_id: Uuid,
    /// Push: the device the recipient token belongs to.
    pub device_id: Option<Uuid>,
    /// Push: the key-value data sent with the notification.
    pub data: Option<serde_json::Value>,
}

pub async fn enqueue(conn: &mut PgConnection, message: NewMessage<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO outbound_messages (id, channel, recipient, subject, body, user_id,
                                        device_id, data)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        Uuid::now_v7(),
        message.channel.as_str(),
        message.recipient,
        message.subject,
        message.body,
        message.user_id,
        message.device_id,
        message.data,
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug)]
pub struct QueuedMessage {
    pub id: Uuid,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub attempts: i32,
    pub device_id: Option<Uuid>,
    pub data: Option<serde_json::Value>,
}

/// Takes up to `limit` due messages on `channels` (those something delivers), leasing them for
/// a minute so parallel workers skip them. They come in the order they were queued (ids are
/// time-ordered), so a member's messages arrive in the order they were written.
pub async fn lease_due(
    conn: &mut PgConnection,
    limit: i64,
    channels: &[String],
) -> Result<Vec<QueuedMessage>, sqlx::Error> {
    let mut leased = sqlx::query_as!(
        QueuedMessage,
        "UPDATE outbound_messages SET next_attempt_at = now() + interval '1 minute'
          WHERE id IN (SELECT id FROM outbound_messages
                        WHERE next_attempt_at <= now() AND channel = ANY($2)
                        ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
          RETURNING id, channel, recipient, subject, body, attempts, device_id, data",
        limit,
        channels,
    )
    .fetch_all(conn)
    .await?;
    // RETURNING follows no ORDER BY.
    leased.sort_by_key(|m| m.id);
    Ok(leased)
}

/// A delivered message is deleted: its recipient and text (codes included) are not kept. So is
/// one that can never be delivered (the address is refused for good).
pub async fn delivered(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM outbound_messages WHERE id = $1", id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn failed(
    conn: &mut PgConnection,
    id: Uuid,
    error: &str,
    retry_in_secs: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE outbound_messages SET attempts = attempts + 1, last_error = $2,
                next_attempt_at = now() + make_interval(secs => $3)
          WHERE id = $1",
        id,
        error,
        retry_in_secs as f64,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_for_user(conn: &mut PgConnection, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM outbound_messages WHERE user_id = $1", user_id)
        .execute(conn)
        .await?;
    Ok(())
}
