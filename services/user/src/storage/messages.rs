//! Outgoing email and SMS, queued in the same transaction as the change that causes them and
//! delivered by the worker in `crate::messages`.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageChannel {
    Email,
    Sms,
}

impl MessageChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageChannel::Email => "email",
            MessageChannel::Sms => "sms",
        }
    }
}

pub struct NewMessage<'a> {
    pub channel: MessageChannel,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body: String,
    pub user_id: Uuid,
}

pub async fn enqueue(conn: &mut PgConnection, message: NewMessage<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbound_messages (id, channel, recipient, subject, body, user_id)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7())
    .bind(message.channel.as_str())
    .bind(message.recipient)
    .bind(message.subject)
    .bind(message.body)
    .bind(message.user_id)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
pub struct QueuedMessage {
    pub id: Uuid,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub attempts: i32,
}

/// Takes up to `limit` due messages, leasing them for a minute so parallel workers skip them.
pub async fn lease_due(pool: &PgPool, limit: i64) -> Result<Vec<QueuedMessage>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE outbound_messages SET next_attempt_at = now() + interval '1 minute'
          WHERE id IN (SELECT id FROM outbound_messages WHERE next_attempt_at <= now()
                        ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
          RETURNING id, channel, recipient, subject, body, attempts",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// A delivered message is deleted: its recipient and text (codes included) are not kept.
pub async fn delivered(pool: &PgPool, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM outbound_messages WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn failed(
    pool: &PgPool,
    id: Uuid,
    error: &str,
    retry_in_secs: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outbound_messages SET attempts = attempts + 1, last_error = $2,
                next_attempt_at = now() + make_interval(secs => $3)
          WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .bind(retry_in_secs as f64)
    .execute(pool)
    .await?;
    Ok(())
}
