//! A signed-in user's own account: reading and changing the profile, the password, and the
//! data export. Also the staff read of any account.

use super::context::Context;
use super::{codes, passwords, sessions};
use crate::domain::sessions::{RevokeReason, SessionSummary};
use crate::domain::{Channel, Email, Password, PhoneNumber, PiiCipher, ProfileChange, User};
use crate::storage;
use platform::ApiError;
use secrecy::SecretString;
use sqlx::PgPool;
use uuid::Uuid;

/// The account `user_id`, or 404 with `missing` when it does not exist (any more).
pub(super) async fn load(ctx: &Context, user_id: Uuid, missing: &str) -> Result<User, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    storage::users::find_by_id(&mut conn, &ctx.pii, user_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(missing.into()))
}

/// The signed-in user's own account.
pub async fn own(ctx: &Context, user_id: Uuid) -> Result<User, ApiError> {
    load(ctx, user_id, "this account no longer exists").await
}

/// Any account, for staff (or a member reading themselves).
pub async fn by_id(ctx: &Context, user_id: Uuid) -> Result<User, ApiError> {
    load(ctx, user_id, "no such user").await
}

/// Applies a profile change; a new phone number gets a confirmation code.
pub async fn update(ctx: &Context, user_id: Uuid, change: ProfileChange) -> Result<User, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    storage::users::update_profile(&mut tx, &ctx.pii, user_id, &change).await?;
    let user = storage::users::find_by_id(&mut tx, &ctx.pii, user_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("this account no longer exists".into()))?;
    if change.sets_phone_number() {
        codes::send_pending_verification(&mut tx, ctx, &user, Channel::Phone).await?;
    }
    tx.commit().await?;
    Ok(user)
}

/// Changes the password after checking the current one; every other session is signed out and
/// a fresh session is returned for the device that made the change.
pub async fn change_password(
    ctx: &Context,
    user_id: Uuid,
    current: SecretString,
    new_password: &Password,
) -> Result<sessions::Session, ApiError> {
    let user = own(ctx, user_id).await?;
    passwords::confirm(ctx, &user, current).await?;
    let hash = passwords::hash(new_password).await?;
    let mut tx = ctx.pool.begin().await?;
    storage::users::set_password(&mut tx, user.id, &hash).await?;
    sessions::sign_out_everywhere(&mut tx, ctx, user.id, RevokeReason::PasswordChanged).await?;
    let session = sessions::start(&mut tx, ctx, user).await?;
    tx.commit().await?;
    Ok(session)
}

/// Everything the service holds about a user.
pub struct Export {
    pub user: User,
    /// Every login, oldest first.
    pub sessions: Vec<SessionSummary>,
    pub notifications: super::notifications::NotificationPreferences,
    /// The devices registered for push (their tokens are not exported).
    pub devices: Vec<storage::notifications::DeviceRow>,
}

pub async fn export(ctx: &Context, user_id: Uuid) -> Result<Export, ApiError> {
    let user = own(ctx, user_id).await?;
    let notifications = super::notifications::preferences(ctx, user.id).await?;
    let devices = super::notifications::devices(ctx, user.id).await?;
    let mut conn = ctx.pool.acquire().await?;
    let sessions = storage::sessions::summaries(&mut conn, user.id).await?;
    Ok(Export {
        user,
        sessions,
        notifications,
        devices,
    })
}

/// Encrypts contact details stored before encryption at rest, then clears their plaintext.
/// Returns how many accounts it encrypted.
pub async fn encrypt_legacy_contacts(pool: &PgPool, pii: &PiiCipher) -> anyhow::Result<u64> {
    let mut tx = pool.begin().await?;
    let rows = storage::users::plaintext_contacts(&mut tx).await?;
    for row in &rows {
        let id = row.id;
        let email =
            Email::parse(&row.email).map_err(|e| anyhow::anyhow!("user {id}: email {e}"))?;
        let phone = row
            .phone_number
            .as_deref()
            .map(PhoneNumber::parse)
            .transpose()
            .map_err(|e| anyhow::anyhow!("user {id}: phone {e}"))?;
        storage::users::encrypt_contacts(&mut tx, pii, id, &email, phone.as_ref()).await?;
    }
    tx.commit().await?;
    Ok(rows.len() as u64)
}
