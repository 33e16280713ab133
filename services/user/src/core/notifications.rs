//! Member notifications: queuing them for the events consumed (in the consumer's transaction),
//! and the member's preferences and devices and the businesses' templates they are made with.

use super::context::Context;
use super::profile;
use crate::domain::messages::MessageChannel;
use crate::domain::notifications::{
    route, DevicePlatform, DeviceToken, NotificationChannel, NotificationKind, Preferences,
};
use crate::domain::templates::{self, Template};
use crate::domain::{PiiCipher, ProfileChange};
use crate::storage;
use crate::storage::messages::NewMessage;
use crate::storage::notifications::{DeviceRow, Registered};
use chrono::{DateTime, Utc};
use platform::ApiError;
use sqlx::PgConnection;
use std::sync::Arc;
use uuid::Uuid;

/// What queuing notifications runs with.
pub struct Notifier {
    pub pii: Arc<PiiCipher>,
    /// Whether push messages are delivered at all (a provider or the console); if not, none
    /// are queued.
    pub push_delivered: bool,
}

/// A notification an event asks for.
#[derive(Debug, Clone)]
pub struct Notification {
    pub event_id: Uuid,
    pub business_id: Uuid,
    pub member_id: Uuid,
    pub kind: NotificationKind,
    /// The kind's placeholders but `first_name`, which comes from the account.
    pub values: Vec<(&'static str, String)>,
}

/// What was queued for one event.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Queued {
    pub email: bool,
    pub push_devices: usize,
}

/// Queues the notification's messages in the caller's transaction: an email when the rule
/// allows it and the member has a confirmed address, a push to each of their devices when the
/// rule allows it. Each (event, channel) is queued once, however often the event comes. An
/// unknown or erased member gets nothing.
pub async fn notify_in(
    conn: &mut PgConnection,
    notifier: &Notifier,
    notification: &Notification,
) -> anyhow::Result<Queued> {
    let mut queued = Queued::default();
    let Some(recipient) = storage::notifications::recipient(conn, notification.member_id).await?
    else {
        return Ok(queued);
    };
    let route = route(
        notification.kind.category(),
        &Preferences {
            email: recipient.email_enabled,
            push: recipient.push_enabled,
            marketing_consent: recipient.marketing_consent,
        },
    );
    let first_name = match recipient.first_name.trim() {
        "" => "there".to_owned(),
        name => name.to_owned(),
    };
    let mut values = notification.values.clone();
    values.push(("first_name", first_name));

    let confirmed_email = recipient
        .email_ciphertext
        .as_deref()
        .filter(|_| recipient.email_verified_at.is_some());
    if let (true, Some(ciphertext)) = (route.email, confirmed_email) {
        if claim(conn, notification, NotificationChannel::Email).await? {
            let address = notifier.pii.decrypt(ciphertext)?;
            let rendered = render(conn, notification, NotificationChannel::Email, &values).await?;
            storage::messages::enqueue(
                conn,
                NewMessage {
                    channel: MessageChannel::Email,
                    recipient: &address,
                    subject: &rendered.subject,
                    body: &rendered.body,
                    user_id: notification.member_id,
                    device_id: None,
                    data: None,
                },
            )
            .await?;
            queued.email = true;
        }
    }

    if route.push && notifier.push_delivered {
        let targets =
            storage::notifications::push_targets(conn, &notifier.pii, notification.member_id)
                .await?;
        if !targets.is_empty() && claim(conn, notification, NotificationChannel::Push).await? {
            let rendered = render(conn, notification, NotificationChannel::Push, &values).await?;
            let data = push_data(notification);
            for target in &targets {
                storage::messages::enqueue(
                    conn,
                    NewMessage {
                        channel: MessageChannel::Push,
                        recipient: &target.token,
                        subject: &rendered.subject,
                        body: &rendered.body,
                        user_id: notification.member_id,
                        device_id: Some(target.id),
                        data: Some(data.clone()),
                    },
                )
                .await?;
            }
            queued.push_devices = targets.len();
        }
    }
    Ok(queued)
}

async fn claim(
    conn: &mut PgConnection,
    notification: &Notification,
    channel: NotificationChannel,
) -> Result<bool, sqlx::Error> {
    storage::notifications::claim(
        conn,
        notification.event_id,
        channel,
        notification.member_id,
        notification.business_id,
        notification.kind,
    )
    .await
}

/// The business's template, or the default when it has none (or its own no longer fits).
async fn render(
    conn: &mut PgConnection,
    notification: &Notification,
    channel: NotificationChannel,
    values: &[(&str, String)],
) -> Result<templates::Rendered, sqlx::Error> {
    let template = effective(conn, notification.business_id, notification.kind, channel)
        .await?
        .template;
    Ok(templates::render(&template, values))
}

/// What the app receives with a push, besides its text: FCM data values are strings.
fn push_data(notification: &Notification) -> serde_json::Value {
    let mut data = serde_json::Map::new();
    data.insert("kind".into(), notification.kind.as_str().into());
    data.insert(
        "business_id".into(),
        notification.business_id.to_string().into(),
    );
    for (key, value) in &notification.values {
        data.insert((*key).to_owned(), value.clone().into());
    }
    serde_json::Value::Object(data)
}

/// A template in force for a business, and whether it is the business's own.
pub struct EffectiveTemplate {
    pub kind: NotificationKind,
    pub channel: NotificationChannel,
    pub template: Template,
    /// Who last set the business's own template, and when; `None` for the default.
    pub custom: Option<(Uuid, DateTime<Utc>)>,
}

async fn effective(
    conn: &mut PgConnection,
    business_id: Uuid,
    kind: NotificationKind,
    channel: NotificationChannel,
) -> Result<EffectiveTemplate, sqlx::Error> {
    let own = storage::notifications::template(conn, business_id, kind, channel).await?;
    Ok(resolve(kind, channel, own))
}

fn resolve(
    kind: NotificationKind,
    channel: NotificationChannel,
    own: Option<storage::notifications::TemplateRow>,
) -> EffectiveTemplate {
    let own = own.and_then(|row| {
        let template = templates::stored(kind, channel, &row.subject, &row.body);
        if template.is_none() {
            tracing::warn!(
                kind = kind.as_str(),
                channel = channel.as_str(),
                "a stored template no longer fits its kind: the default is used"
            );
        }
        template.map(|t| (t, row.updated_by, row.updated_at))
    });
    match own {
        Some((template, by, at)) => EffectiveTemplate {
            kind,
            channel,
            template,
            custom: Some((by, at)),
        },
        None => EffectiveTemplate {
            kind,
            channel,
            template: templates::default_template(kind, channel),
            custom: None,
        },
    }
}

/// Every kind and channel's template in force for `business_id`.
pub async fn templates(
    ctx: &Context,
    business_id: Uuid,
) -> Result<Vec<EffectiveTemplate>, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    let mut own = storage::notifications::templates(&mut conn, business_id).await?;
    let mut out = Vec::new();
    for kind in NotificationKind::ALL {
        for channel in NotificationChannel::ALL {
            let row = own
                .iter()
                .position(|r| r.kind == kind.as_str() && r.channel == channel.as_str())
                .map(|i| own.swap_remove(i));
            out.push(resolve(kind, channel, row));
        }
    }
    Ok(out)
}

/// Sets the business's own template of `kind` on `channel`.
pub async fn set_template(
    ctx: &Context,
    business_id: Uuid,
    kind: NotificationKind,
    channel: NotificationChannel,
    template: &Template,
    set_by: Uuid,
) -> Result<EffectiveTemplate, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    let row = storage::notifications::put_template(
        &mut conn,
        business_id,
        kind,
        channel,
        &template.subject,
        &template.body,
        set_by,
    )
    .await?;
    tracing::info!(%business_id, kind = kind.as_str(), channel = channel.as_str(), %set_by, "notification template set");
    Ok(resolve(kind, channel, Some(row)))
}

/// Goes back to the default template (nothing to do when the business has none of its own).
pub async fn reset_template(
    ctx: &Context,
    business_id: Uuid,
    kind: NotificationKind,
    channel: NotificationChannel,
) -> Result<EffectiveTemplate, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    storage::notifications::delete_template(&mut conn, business_id, kind, channel).await?;
    Ok(resolve(kind, channel, None))
}

/// A member's notification settings.
pub struct NotificationPreferences {
    pub email: bool,
    pub push: bool,
    pub marketing_consent: bool,
    pub marketing_consent_updated_at: Option<DateTime<Utc>>,
}

async fn read_preferences(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<NotificationPreferences, ApiError> {
    let row = storage::notifications::preferences(conn, user_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("this account no longer exists".into()))?;
    Ok(NotificationPreferences {
        email: row.email_enabled,
        push: row.push_enabled,
        marketing_consent: row.marketing_consent,
        marketing_consent_updated_at: row.marketing_consent_updated_at,
    })
}

pub async fn preferences(
    ctx: &Context,
    user_id: Uuid,
) -> Result<NotificationPreferences, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    read_preferences(&mut conn, user_id).await
}

/// Sets the channel switches and marketing consent (the account's own consent record, which
/// the profile shows too; the time of a change is recorded).
pub async fn set_preferences(
    ctx: &Context,
    user_id: Uuid,
    wanted: Preferences,
) -> Result<NotificationPreferences, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    // Refuses an erased account before anything is written.
    read_preferences(&mut tx, user_id).await?;
    storage::notifications::set_switches(&mut tx, user_id, wanted.email, wanted.push).await?;
    let consent = ProfileChange {
        marketing_consent: Some(wanted.marketing_consent),
        ..ProfileChange::default()
    };
    storage::users::update_profile(&mut tx, &ctx.pii, user_id, &consent).await?;
    let now = read_preferences(&mut tx, user_id).await?;
    tx.commit().await?;
    Ok(now)
}

/// Registers a device for push; `true` when it is new to the member.
pub async fn register_device(
    ctx: &Context,
    user_id: Uuid,
    token: &DeviceToken,
    platform: DevicePlatform,
) -> Result<(DeviceRow, bool), ApiError> {
    profile::own(ctx, user_id).await?;
    let mut tx = ctx.pool.begin().await?;
    let registered =
        storage::notifications::register_device(&mut tx, &ctx.pii, user_id, token, platform)
            .await?;
    match registered {
        Registered::Device { device, created } => {
            tx.commit().await?;
            Ok((device, created))
        }
        Registered::Contended => Err(ApiError::Conflict {
            slug: "device-registration-in-flight",
            detail: "this token is being registered by another request; try again".into(),
        }),
    }
}

pub async fn devices(ctx: &Context, user_id: Uuid) -> Result<Vec<DeviceRow>, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    Ok(storage::notifications::devices(&mut conn, user_id).await?)
}

/// Removes one of the member's devices, with what was queued for it.
pub async fn remove_device(ctx: &Context, user_id: Uuid, device_id: Uuid) -> Result<(), ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    if storage::notifications::delete_device(&mut conn, user_id, device_id).await? {
        Ok(())
    } else {
        Err(ApiError::NotFound("you have no such device".into()))
    }
}
