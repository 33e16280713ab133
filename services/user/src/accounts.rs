//! Account operations shared by several endpoints: sending codes, starting sessions, erasing.

use crate::domain::{generate_code, Channel, CodePurpose};
use crate::routes::{AppState, LoginResponse, UserView};
use crate::storage::messages::{MessageChannel, NewMessage};
use crate::storage::{self, users::UserRecord};
use sqlx::PgConnection;
use uuid::Uuid;

/// Issues a one-time code for `purpose` and queues it to `recipient`, in the caller's transaction.
pub async fn send_code(
    conn: &mut PgConnection,
    state: &AppState,
    user_id: Uuid,
    purpose: CodePurpose,
    recipient: &str,
) -> anyhow::Result<()> {
    let code = generate_code();
    storage::codes::issue(
        conn,
        &state.pii,
        user_id,
        purpose,
        &code,
        state.settings.code_ttl_secs,
    )
    .await?;
    let minutes = state.settings.code_ttl_secs / 60;
    let (channel, subject, body) = match purpose {
        CodePurpose::VerifyEmail => (
            MessageChannel::Email,
            "Confirm your email address",
            format!("Your confirmation code is {code}. It expires in {minutes} minutes."),
        ),
        CodePurpose::VerifyPhone => (
            MessageChannel::Sms,
            "Confirm your phone number",
            format!("Your confirmation code is {code}. It expires in {minutes} minutes."),
        ),
        CodePurpose::PasswordReset => (
            MessageChannel::Email,
            "Reset your password",
            format!(
                "Your password reset code is {code}. It expires in {minutes} minutes. \
                 If you did not ask to reset your password, ignore this message."
            ),
        ),
    };
    storage::messages::enqueue(
        conn,
        NewMessage {
            channel,
            recipient,
            subject,
            body,
            user_id,
        },
    )
    .await?;
    Ok(())
}

/// Sends verification codes for the contact details that are not verified yet.
pub async fn send_pending_verifications(
    conn: &mut PgConnection,
    state: &AppState,
    user: &UserRecord,
    channel: Channel,
) -> anyhow::Result<()> {
    match channel {
        Channel::Email if user.email_verified_at.is_none() => {
            send_code(conn, state, user.id, CodePurpose::VerifyEmail, &user.email).await
        }
        Channel::Phone if user.phone_verified_at.is_none() => match &user.phone_number {
            Some(phone) => send_code(conn, state, user.id, CodePurpose::VerifyPhone, phone).await,
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Starts a session: a short-lived access token and a refresh token of a new family.
pub async fn start_session(state: &AppState, user: UserRecord) -> anyhow::Result<LoginResponse> {
    let mut conn = state.pool.acquire().await?;
    let refresh_token =
        storage::sessions::start(&mut conn, user.id, state.settings.refresh_token_ttl_secs).await?;
    session_response(state, user, refresh_token)
}

pub fn session_response(
    state: &AppState,
    user: UserRecord,
    refresh_token: String,
) -> anyhow::Result<LoginResponse> {
    let ttl = state.settings.access_token_ttl_secs;
    let access_token = state.keys.signer().issue(
        user.id,
        auth::PrincipalKind::User,
        Some(user.role),
        Vec::new(),
        ttl,
    )?;
    Ok(LoginResponse {
        access_token,
        refresh_token,
        token_type: "Bearer",
        expires_in: ttl,
        user: UserView::from(user),
    })
}

/// Erases a user and announces it (`user.erased`) so every service forgets them too. Returns
/// false when there was nothing left to erase.
pub async fn erase(state: &AppState, user_id: Uuid, requested_by: Uuid) -> anyhow::Result<bool> {
    let mut tx = state.pool.begin().await?;
    if !storage::users::erase(&mut tx, user_id).await? {
        return Ok(false);
    }
    storage::sessions::revoke_all(&mut tx, user_id, "erased").await?;
    sqlx::query("DELETE FROM one_time_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM outbound_messages WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    events::outbox::enqueue(&mut tx, &crate::events::user_erased(user_id)).await?;
    tx.commit().await?;
    tracing::info!(%user_id, %requested_by, "user erased");
    Ok(true)
}
