//! Delivers queued email, SMS and push: email through SMTP (`smtp_url`) or else the provider's
//! JSON webhook (`message_webhook_url`), SMS through the webhook, push through an FCM HTTP v1
//! provider (`push.*`); development can print any of them instead (`message_console`). Failed
//! deliveries retry with backoff. A delivered message is deleted, and so is one that can never
//! be delivered (an address the mail server refuses for good); a device the push provider no
//! longer knows is removed.

use crate::domain::messages::{retry_backoff_secs, MessageChannel};
use crate::storage;
use crate::storage::messages::QueuedMessage;
use crate::Settings;
use anyhow::Context as _;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use platform::CancellationToken;
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;

const POLL_INTERVAL: Duration = Duration::from_millis(500);
const BATCH: i64 = 20;
/// Shorter than the minute a leased message is reserved for, so a slow server cannot make a
/// second worker send it again.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// How each channel is delivered, as configured.
pub struct Deliveries {
    smtp: Option<Smtp>,
    webhook: Option<Webhook>,
    push: Option<Push>,
    console: bool,
}

struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

struct Webhook {
    url: String,
    http: reqwest::Client,
}

struct Push {
    /// `{url}/v1/projects/{project}/messages:send`
    endpoint: String,
    bearer_token: SecretString,
    http: reqwest::Client,
}

/// What one delivery attempt came to.
enum Outcome {
    Delivered,
    /// Worth trying again later (the server is down, busy or misconfigured).
    Retry(String),
    /// Never deliverable: the message is dropped.
    Undeliverable(String),
    /// The push provider no longer knows the device.
    DeviceGone,
}

impl Deliveries {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let http = || {
            reqwest::Client::builder()
                .timeout(SEND_TIMEOUT)
                .build()
                .context("building the HTTP client for message delivery")
        };
        let smtp = match settings
            .smtp_url
            .as_ref()
            .filter(|u| !u.expose_secret().trim().is_empty())
        {
            Some(url) => {
                let from: Mailbox = settings.mail_from.parse().map_err(|e| {
                    anyhow::anyhow!(
                        "USER__MAIL_FROM {:?} is not an address: {e}",
                        settings.mail_from
                    )
                })?;
                // The URL carries the password: its errors never quote it.
                let transport =
                    AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret().trim())
                        .map_err(|e| anyhow::anyhow!("USER__SMTP_URL is not usable: {e}"))?
                        .timeout(Some(SEND_TIMEOUT))
                        .build();
                Some(Smtp { transport, from })
            }
            None => None,
        };
        let webhook = match settings
            .message_webhook_url
            .as_deref()
            .filter(|u| !u.is_empty())
        {
            Some(url) => Some(Webhook {
                url: url.to_owned(),
                http: http()?,
            }),
            None => None,
        };
        let push = match settings.push.configured() {
            Some((url, project, token)) => Some(Push {
                endpoint: format!(
                    "{}/v1/projects/{project}/messages:send",
                    url.trim_end_matches('/')
                ),
                bearer_token: token.clone(),
                http: http()?,
            }),
            None => None,
        };
        Ok(Self {
            smtp,
            webhook,
            push,
            console: settings.message_console,
        })
    }

    /// Whether anything delivers messages on `channel`.
    pub fn delivers(&self, channel: MessageChannel) -> bool {
        match channel {
            MessageChannel::Email => self.smtp.is_some() || self.webhook.is_some() || self.console,
            MessageChannel::Sms => self.webhook.is_some() || self.console,
            MessageChannel::Push => self.push.is_some() || self.console,
        }
    }

    fn channels(&self) -> Vec<String> {
        [
            MessageChannel::Email,
            MessageChannel::Sms,
            MessageChannel::Push,
        ]
        .into_iter()
        .filter(|c| self.delivers(*c))
        .map(|c| c.as_str().to_owned())
        .collect()
    }

    async fn deliver(&self, message: &QueuedMessage) -> Outcome {
        match message.channel.as_str() {
            "email" => {
                if let Some(smtp) = &self.smtp {
                    smtp.send(message).await
                } else if let Some(webhook) = &self.webhook {
                    webhook.send(message).await
                } else {
                    print(message)
                }
            }
            "sms" => match &self.webhook {
                Some(webhook) => webhook.send(message).await,
                None => print(message),
            },
            "push" => match &self.push {
                Some(push) => push.send(message).await,
                None => print(message),
            },
            other => Outcome::Undeliverable(format!("unknown channel {other}")),
        }
    }
}

impl Smtp {
    async fn send(&self, message: &QueuedMessage) -> Outcome {
        let to: Mailbox = match message.recipient.parse() {
            Ok(to) => to,
            Err(e) => {
                return Outcome::Undeliverable(format!("the recipient is not an address: {e}"))
            }
        };
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.as_str())
            .header(ContentType::TEXT_PLAIN)
            .body(message.body.clone());
        let email = match email {
            Ok(email) => email,
            Err(e) => return Outcome::Undeliverable(format!("building the email: {e}")),
        };
        match self.transport.send(email).await {
            Ok(_) => Outcome::Delivered,
            // 550-554: the mailbox or the message is refused for good. Other permanent codes
            // (530/535 authentication, 5xx syntax) say the configuration is wrong: keep it.
            Err(e)
                if e.is_permanent()
                    && e.status()
                        .is_some_and(|c| (550..=554).contains(&u16::from(c))) =>
            {
                Outcome::Undeliverable(e.to_string())
            }
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }
}

impl Webhook {
    async fn send(&self, message: &QueuedMessage) -> Outcome {
        let sent = self
            .http
            .post(&self.url)
            .json(&serde_json::json!({
                "channel": message.channel,
                "to": message.recipient,
                "subject": message.subject,
                "text": message.body,
            }))
            .send()
            .await
            .and_then(|r| r.error_for_status());
        match sent {
            Ok(_) => Outcome::Delivered,
            Err(e) => Outcome::Retry(e.without_url().to_string()),
        }
    }
}

impl Push {
    async fn send(&self, message: &QueuedMessage) -> Outcome {
        let data = message
            .data
            .clone()
            .unwrap_or_else(|| serde_json::json!({}));
        let sent = self
            .http
            .post(&self.endpoint)
            .bearer_auth(self.bearer_token.expose_secret())
            .json(&serde_json::json!({
                "message": {
                    "token": message.recipient,
                    "notification": {"title": message.subject, "body": message.body},
                    "data": data,
                }
            }))
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => return Outcome::Retry(e.without_url().to_string()),
        };
        let status = response.status();
        if status.is_success() {
            return Outcome::Delivered;
        }
        let body = response.text().await.unwrap_or_default();
        push_failure(status.as_u16(), &body)
    }
}

/// FCM's answers: 404 or `UNREGISTERED` (the app is gone from the device), 400 (a malformed
/// message or token: sending it again changes nothing); everything else may pass.
fn push_failure(status: u16, body: &str) -> Outcome {
    let error_code = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v["error"]["details"].as_array().and_then(|details| {
                details
                    .iter()
                    .find_map(|d| d["errorCode"].as_str().map(str::to_owned))
            })
        });
    match (status, error_code.as_deref()) {
        (404, _) | (_, Some("UNREGISTERED")) => Outcome::DeviceGone,
        (400, code) => Outcome::Undeliverable(format!(
            "the push provider refused the message: {}",
            code.unwrap_or("400")
        )),
        (status, code) => Outcome::Retry(format!(
            "the push provider answered {status}{}",
            code.map(|c| format!(" {c}")).unwrap_or_default()
        )),
    }
}

fn print(message: &QueuedMessage) -> Outcome {
    match (message.channel.as_str(), message.device_id) {
        ("push", Some(device)) => println!(
            "[push to device {device}] {}\n{}\n",
            message.subject, message.body
        ),
        (channel, _) => println!(
            "[{channel} to {}] {}\n{}\n",
            message.recipient, message.subject, message.body
        ),
    }
    Outcome::Delivered
}

pub async fn run(
    pool: PgPool,
    deliveries: Arc<Deliveries>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let channels = deliveries.channels();
    if !deliveries.delivers(MessageChannel::Email) {
        tracing::warn!("no email delivery configured (USER__SMTP_URL, USER__MESSAGE_WEBHOOK_URL): verification and reset codes and email notifications stay queued");
    }
    if channels.is_empty() {
        shutdown.cancelled().await;
        return Ok(());
    }
    loop {
        match lease_due(&pool, &channels).await {
            Ok(batch) => {
                for message in batch {
                    deliver(&pool, &deliveries, message).await;
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

async fn lease_due(pool: &PgPool, channels: &[String]) -> Result<Vec<QueuedMessage>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    storage::messages::lease_due(&mut conn, BATCH, channels).await
}

async fn deliver(pool: &PgPool, deliveries: &Deliveries, message: QueuedMessage) {
    let outcome = deliveries.deliver(&message).await;
    if let Err(e) = record(pool, &message, outcome).await {
        tracing::error!(error = %e, "recording a message delivery");
    }
}

/// Deletes a delivered or undeliverable message (or the device that is gone, and with it what
/// was queued for it), or records a failure with when to retry.
async fn record(
    pool: &PgPool,
    message: &QueuedMessage,
    outcome: Outcome,
) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    match outcome {
        Outcome::Delivered => storage::messages::delivered(&mut conn, message.id).await,
        Outcome::Undeliverable(error) => {
            tracing::warn!(message_id = %message.id, channel = %message.channel, %error, "message dropped: it can never be delivered");
            storage::messages::delivered(&mut conn, message.id).await
        }
        Outcome::DeviceGone => {
            tracing::info!(message_id = %message.id, device_id = ?message.device_id, "push device unregistered: removed");
            match message.device_id {
                Some(device) => storage::notifications::forget_device(&mut conn, device).await,
                None => storage::messages::delivered(&mut conn, message.id).await,
            }
        }
        Outcome::Retry(error) => {
            let backoff = retry_backoff_secs(message.attempts);
            tracing::warn!(message_id = %message.id, channel = %message.channel, %error, retry_in_secs = backoff, "message delivery failed");
            storage::messages::failed(&mut conn, message.id, &error, backoff).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fcm_answers_are_told_apart() {
        let unregistered = r#"{"error":{"code":404,"status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}"#;
        assert!(matches!(
            push_failure(404, unregistered),
            Outcome::DeviceGone
        ));
        assert!(matches!(push_failure(404, ""), Outcome::DeviceGone));
        let invalid = r#"{"error":{"code":400,"status":"INVALID_ARGUMENT","details":[{"errorCode":"INVALID_ARGUMENT"}]}}"#;
        assert!(matches!(
            push_failure(400, invalid),
            Outcome::Undeliverable(_)
        ));
        assert!(matches!(push_failure(503, ""), Outcome::Retry(_)));
        assert!(matches!(push_failure(401, ""), Outcome::Retry(_)));
        assert!(matches!(push_failure(429, "{}"), Outcome::Retry(_)));
    }
}
