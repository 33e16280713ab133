//! Notification preferences, devices, per-business templates, and the record of what was queued
//! per event and channel.

use crate::domain::notifications::{
    DevicePlatform, DeviceToken, NotificationChannel, NotificationKind, MAX_DEVICES_PER_MEMBER,
};
use crate::domain::PiiCipher;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// What a notification needs to know about its member; `None` for an unknown or erased member.
pub struct Recipient {
    pub email_ciphertext: Option<Vec<u8>>,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub first_name: String,
    pub marketing_consent: bool,
    pub email_enabled: bool,
    pub push_enabled: bool,
}

pub async fn recipient(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<Option<Recipient>, sqlx::Error> {
    sqlx::query_as!(
        Recipient,
        r#"SELECT u.email_ciphertext, u.email_verified_at, u.first_name, u.marketing_consent,
                  COALESCE(p.email_enabled, true) AS "email_enabled!",
                  COALESCE(p.push_enabled, true) AS "push_enabled!"
             FROM users u LEFT JOIN notification_preferences p ON p.user_id = u.id
            WHERE u.id = $1 AND u.erased_at IS NULL"#,
        user_id,
    )
    .fetch_optional(conn)
    .await
}

/// A member's switches and consent.
pub struct PreferencesRow {
    pub email_enabled: bool,
    pub push_enabled: bool,
    pub marketing_consent: bool,
    pub marketing_consent_updated_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

pub async fn preferences(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<Option<PreferencesRow>, sqlx::Error> {
    sqlx::query_as!(
        PreferencesRow,
        r#"SELECT COALESCE(p.email_enabled, true) AS "email_enabled!",
                  COALESCE(p.push_enabled, true) AS "push_enabled!",
                  u.marketing_consent, u.marketing_consent_updated_at,
                  p.updated_at AS "updated_at?"
             FROM users u LEFT JOIN notification_preferences p ON p.user_id = u.id
            WHERE u.id = $1 AND u.erased_at IS NULL"#,
        user_id,
    )
    .fetch_optional(conn)
    .await
}

pub async fn set_switches(
    conn: &mut PgConnection,
    user_id: Uuid,
    email: bool,
    push: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO notification_preferences (user_id, email_enabled, push_enabled)
         VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE
            SET email_enabled = EXCLUDED.email_enabled, push_enabled = EXCLUDED.push_enabled,
                updated_at = now()
          WHERE notification_preferences.email_enabled IS DISTINCT FROM EXCLUDED.email_enabled
             OR notification_preferences.push_enabled IS DISTINCT FROM EXCLUDED.push_enabled",
        user_id,
        email,
        push,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records that the notification of `event_id` on `channel` is queued; false when it already
/// was (the event came again).
pub async fn claim(
    conn: &mut PgConnection,
    event_id: Uuid,
    channel: NotificationChannel,
    user_id: Uuid,
    business_id: Uuid,
    kind: NotificationKind,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "INSERT INTO notifications (event_id, channel, user_id, business_id, kind)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (event_id, channel) DO NOTHING",
        event_id,
        channel.as_str(),
        user_id,
        business_id,
        kind.as_str(),
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub struct TemplateRow {
    pub kind: String,
    pub channel: String,
    pub subject: String,
    pub body: String,
    pub updated_by: Uuid,
    pub updated_at: DateTime<Utc>,
}

/// The business's own template of `kind` on `channel`, if it has one.
pub async fn template(
    conn: &mut PgConnection,
    business_id: Uuid,
    kind: NotificationKind,
    channel: NotificationChannel,
) -> Result<Option<TemplateRow>, sqlx::Error> {
    sqlx::query_as!(
        TemplateRow,
        "SELECT kind, channel, subject, body, updated_by, updated_at
           FROM notification_templates
          WHERE business_id = $1 AND kind = $2 AND channel = $3",
        business_id,
        kind.as_str(),
        channel.as_str(),
    )
    .fetch_optional(conn)
    .await
}

pub async fn templates(
    conn: &mut PgConnection,
    business_id: Uuid,
) -> Result<Vec<TemplateRow>, sqlx::Error> {
    sqlx::query_as!(
        TemplateRow,
        "SELECT kind, channel, subject, body, updated_by, updated_at
           FROM notification_templates WHERE business_id = $1",
        business_id,
    )
    .fetch_all(conn)
    .await
}

pub async fn put_template(
    conn: &mut PgConnection,
    business_id: Uuid,
    kind: NotificationKind,
    channel: NotificationChannel,
    subject: &str,
    body: &str,
    updated_by: Uuid,
) -> Result<TemplateRow, sqlx::Error> {
    sqlx::query_as!(
        TemplateRow,
        "INSERT INTO notification_templates (business_id, kind, channel, subject, body, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (business_id, kind, channel) DO UPDATE
            SET subject = EXCLUDED.subject, body = EXCLUDED.body,
                updated_by = EXCLUDED.updated_by, updated_at = now()
         RETURNING kind, channel, subject, body, updated_by, updated_at",
        business_id,
        kind.as_str(),
        channel.as_str(),
        subject,
        body,
        updated_by,
    )
    .fetch_one(conn)
    .await
}

pub async fn delete_template(
    conn: &mut PgConnection,
    business_id: Uuid,
    kind: NotificationKind,
    channel: NotificationChannel,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "DELETE FROM notification_templates
          WHERE business_id = $1 AND kind = $2 AND channel = $3",
        business_id,
        kind.as_str(),
        channel.as_str(),
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub struct DeviceRow {
    pub id: Uuid,
    pub platform: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn token_hash(pii: &PiiCipher, token: &DeviceToken) -> Vec<u8> {
    pii.lookup_hash("device", token.as_str())
}

/// What registering a token did.
pub enum Registered {
    /// A new device of the member, or the member's device with its platform brought up to date.
    Device { device: DeviceRow, created: bool },
    /// Another member's registration of the same token was committing at the same moment.
    Contended,
}

/// Registers `token` for `user_id`. A token names one app install: registered by another member
/// before (the device changed hands), it is taken from them, with what was queued for it.
pub async fn register_device(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    user_id: Uuid,
    token: &DeviceToken,
    platform: DevicePlatform,
) -> anyhow::Result<Registered> {
    let hash = token_hash(pii, token);
    sqlx::query!(
        "DELETE FROM devices WHERE token_hash = $1 AND user_id <> $2",
        hash,
        user_id,
    )
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query!(
        r#"INSERT INTO devices (id, user_id, platform, token_hash, token_ciphertext)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (token_hash) DO UPDATE SET platform = EXCLUDED.platform, updated_at = now()
            WHERE devices.user_id = EXCLUDED.user_id
           RETURNING id, platform, created_at, updated_at, (xmax = 0) AS "created!""#,
        Uuid::now_v7(),
        user_id,
        platform.as_str(),
        hash,
        pii.encrypt(token.as_str())?,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(Registered::Contended);
    };
    sqlx::query!(
        "DELETE FROM devices WHERE user_id = $1 AND id NOT IN (
            SELECT id FROM devices WHERE user_id = $1
             ORDER BY updated_at DESC, id DESC LIMIT $2)",
        user_id,
        MAX_DEVICES_PER_MEMBER,
    )
    .execute(&mut *conn)
    .await?;
    Ok(Registered::Device {
        device: DeviceRow {
            id: row.id,
            platform: row.platform,
            created_at: row.created_at,
            updated_at: row.updated_at,
        },
        created: row.created,
    })
}

pub async fn devices(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<Vec<DeviceRow>, sqlx::Error> {
    sqlx::query_as!(
        DeviceRow,
        "SELECT id, platform, created_at, updated_at FROM devices
          WHERE user_id = $1 ORDER BY created_at, id",
        user_id,
    )
    .fetch_all(conn)
    .await
}

/// A device to push to, its token decrypted.
pub struct PushTarget {
    pub id: Uuid,
    pub token: String,
}

pub async fn push_targets(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    user_id: Uuid,
) -> anyhow::Result<Vec<PushTarget>> {
    let rows = sqlx::query!(
        "SELECT id, token_ciphertext FROM devices WHERE user_id = $1 ORDER BY created_at, id",
        user_id,
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(PushTarget {
                id: r.id,
                token: pii.decrypt(&r.token_ciphertext)?,
            })
        })
        .collect()
}

/// Removes a member's device; false when they have no such device.
pub async fn delete_device(
    conn: &mut PgConnection,
    user_id: Uuid,
    device_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "DELETE FROM devices WHERE id = $1 AND user_id = $2",
        device_id,
        user_id,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a device the push provider no longer knows (the app was uninstalled).
pub async fn forget_device(conn: &mut PgConnection, device_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM devices WHERE id = $1", device_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Erasure: the member's devices, switches and notification records go.
pub async fn delete_for_user(conn: &mut PgConnection, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM devices WHERE user_id = $1", user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "DELETE FROM notification_preferences WHERE user_id = $1",
        user_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("DELETE FROM notifications WHERE user_id = $1", user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
