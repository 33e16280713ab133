//! Delivers queued email and SMS. Production posts each message as JSON to the provider's
//! webhook (`message_webhook_url`); development can print them instead (`message_console`).
//! Failed deliveries retry with backoff; a delivered message is deleted.

use crate::domain::messages::retry_backoff_secs;
use crate::storage::messages::{self, QueuedMessage};
use crate::Settings;
use platform::CancellationToken;
use sqlx::PgPool;
use std::time::Duration;

const POLL_INTERVAL: Duration = Duration::from_millis(500);
const BATCH: i64 = 20;

enum Delivery {
    Webhook {
        url: String,
        http: reqwest::Client,
    },
    Console,
    /// Nothing configured: messages wait in the queue until a delivery is configured.
    None,
}

pub async fn run(
    pool: PgPool,
    settings: Settings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let delivery = match (&settings.message_webhook_url, settings.message_console) {
        (Some(url), _) if !url.is_empty() => Delivery::Webhook {
            url: url.clone(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
        },
        (_, true) => Delivery::Console,
        _ => {
            tracing::warn!("no message delivery configured (USER__MESSAGE_WEBHOOK_URL): verification and reset codes stay queued");
            Delivery::None
        }
    };
    if matches!(delivery, Delivery::None) {
        shutdown.cancelled().await;
        return Ok(());
    }
    loop {
        match lease_due(&pool).await {
            Ok(batch) => {
                for message in batch {
                    deliver(&pool, &delivery, message).await;
                }
            }
            Err(e) => tracing::error!(error = %e, "reading the message queue"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
        }
    }
}

async fn lease_due(pool: &PgPool) -> Result<Vec<QueuedMessage>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    messages::lease_due(&mut conn, BATCH).await
}

async fn deliver(pool: &PgPool, delivery: &Delivery, message: QueuedMessage) {
    let result = match delivery {
        Delivery::Webhook { url, http } => http
            .post(url)
            .json(&serde_json::json!({
                "channel": message.channel,
                "to": message.recipient,
                "subject": message.subject,
                "text": message.body,
            }))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map(|_| ())
            .map_err(|e| e.without_url().to_string()),
        Delivery::Console => {
            println!(
                "[{} to {}] {}\n{}\n",
                message.channel, message.recipient, message.subject, message.body
            );
            Ok(())
        }
        Delivery::None => return,
    };
    let outcome = match result {
        Ok(()) => record(pool, message.id, None).await,
        Err(error) => {
            let backoff = retry_backoff_secs(message.attempts);
            tracing::warn!(message_id = %message.id, %error, retry_in_secs = backoff, "message delivery failed");
            record(pool, message.id, Some((&error, backoff))).await
        }
    };
    if let Err(e) = outcome {
        tracing::error!(error = %e, "recording a message delivery");
    }
}

/// Deletes a delivered message, or records a failure with when to retry.
async fn record(
    pool: &PgPool,
    id: uuid::Uuid,
    failure: Option<(&str, i64)>,
) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    match failure {
        None => messages::delivered(&mut conn, id).await,
        Some((error, retry_in_secs)) => messages::failed(&mut conn, id, error, retry_in_secs).await,
    }
}
