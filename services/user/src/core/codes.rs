//! One-time codes: sending them, and the changes they confirm (an email address, a phone
//! number, a password reset). Answers never reveal whether an account exists.

use super::context::Context;
use super::passwords;
use crate::domain::messages::code_message;
use crate::domain::sessions::RevokeReason;
use crate::domain::{generate_code, Channel, Code, CodeCheck, CodePurpose, Email, Password, User};
use crate::storage;
use crate::storage::messages::NewMessage;
use platform::ApiError;
use sqlx::{PgConnection, Postgres, Transaction};
use uuid::Uuid;

/// Issues a one-time code for `purpose` and queues it to `recipient`, in the caller's transaction.
pub(super) async fn send(
    conn: &mut PgConnection,
    ctx: &Context,
    user_id: Uuid,
    purpose: CodePurpose,
    recipient: &str,
) -> anyhow::Result<()> {
    let code = generate_code();
    let ttl = ctx.settings.code_ttl_secs;
    let code_hash = ctx.pii.code_hash(user_id, purpose.as_str(), &code);
    storage::codes::issue(conn, user_id, purpose, &code_hash, ttl).await?;
    let message = code_message(purpose, &code, ttl);
    storage::messages::enqueue(
        conn,
        NewMessage {
            channel: message.channel,
            recipient,
            subject: message.subject,
            body: &message.body,
            user_id,
            device_id: None,
            data: None,
        },
    )
    .await?;
    Ok(())
}

/// Sends a verification code for the contact detail on `channel`, unless it is confirmed.
pub(super) async fn send_pending_verification(
    conn: &mut PgConnection,
    ctx: &Context,
    user: &User,
    channel: Channel,
) -> anyhow::Result<()> {
    match channel {
        Channel::Email if user.email_verified_at.is_none() => {
            send(conn, ctx, user.id, CodePurpose::VerifyEmail, &user.email).await
        }
        Channel::Phone if user.phone_verified_at.is_none() => match &user.phone_number {
            Some(phone) => send(conn, ctx, user.id, CodePurpose::VerifyPhone, phone).await,
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

fn code_refused() -> ApiError {
    ApiError::Unprocessable {
        slug: "code-invalid",
        detail: "the code is wrong, expired or already used; request a new one".into(),
    }
}

/// The account an email names; `None` for malformed or unknown emails, which callers answer
/// exactly like wrong codes so the endpoint does not reveal who has an account.
async fn account_by_email(ctx: &Context, email: &str) -> Result<Option<User>, ApiError> {
    match Email::parse(email) {
        Ok(email) => {
            let mut conn = ctx.pool.acquire().await?;
            Ok(storage::users::find_by_email(&mut conn, &ctx.pii, &email).await?)
        }
        Err(_) => Ok(None),
    }
}

/// Spends a one-time code and returns the open transaction to finish the change in, so the code
/// is used up only if the change commits. A wrong guess is committed (it counts against the
/// code) and refused.
async fn spend(
    ctx: &Context,
    user_id: Uuid,
    purpose: CodePurpose,
    code: &Code,
) -> Result<Transaction<'static, Postgres>, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let check = match storage::codes::lock_open(&mut tx, user_id, purpose).await? {
        None => CodeCheck::Unusable,
        Some(open) => {
            let presented = ctx.pii.code_hash(user_id, purpose.as_str(), code.as_str());
            let check = CodeCheck::of(
                open.attempts,
                ctx.settings.code_max_attempts,
                &presented,
                &open.code_hash,
            );
            match check {
                CodeCheck::Accepted => storage::codes::consume(&mut tx, open.id).await?,
                CodeCheck::Wrong => storage::codes::count_wrong_guess(&mut tx, open.id).await?,
                CodeCheck::Unusable => {}
            }
            check
        }
    };
    if check != CodeCheck::Accepted {
        tx.commit().await?;
        return Err(code_refused());
    }
    Ok(tx)
}

/// Confirms an email address or phone number with the code sent to it.
pub async fn verify_contact(
    ctx: &Context,
    client_ip: &str,
    email: &str,
    channel: Channel,
    code: &Code,
) -> Result<User, ApiError> {
    ctx.limits.admit_account(&ctx.pii, client_ip, email).await?;
    let user = account_by_email(ctx, email)
        .await?
        .ok_or_else(code_refused)?;
    let mut tx = spend(ctx, user.id, CodePurpose::verifying(channel), code).await?;
    storage::users::mark_verified(&mut tx, user.id, channel).await?;
    let user = storage::users::find_by_id(&mut tx, &ctx.pii, user.id)
        .await?
        .ok_or_else(code_refused)?;
    tx.commit().await?;
    Ok(user)
}

/// Sends a new confirmation code if there is anything to confirm.
pub async fn resend_verification(
    ctx: &Context,
    client_ip: &str,
    email: &str,
    channel: Channel,
) -> Result<(), ApiError> {
    ctx.limits.admit_account(&ctx.pii, client_ip, email).await?;
    if let Some(user) = account_by_email(ctx, email).await? {
        let mut tx = ctx.pool.begin().await?;
        send_pending_verification(&mut tx, ctx, &user, channel).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Emails a password reset code if the account exists.
pub async fn request_password_reset(
    ctx: &Context,
    client_ip: &str,
    email: &str,
) -> Result<(), ApiError> {
    ctx.limits.admit_account(&ctx.pii, client_ip, email).await?;
    if let Some(user) = account_by_email(ctx, email).await? {
        let mut tx = ctx.pool.begin().await?;
        send(
            &mut tx,
            ctx,
            user.id,
            CodePurpose::PasswordReset,
            &user.email,
        )
        .await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Sets a new password with the emailed code; every session of the account is signed out.
pub async fn reset_password(
    ctx: &Context,
    client_ip: &str,
    email: &str,
    code: &Code,
    new_password: &Password,
) -> Result<(), ApiError> {
    let account = ctx.limits.admit_account(&ctx.pii, client_ip, email).await?;
    let user = account_by_email(ctx, email)
        .await?
        .ok_or_else(code_refused)?;
    let hash = passwords::hash(new_password).await?;
    let mut tx = spend(ctx, user.id, CodePurpose::PasswordReset, code).await?;
    storage::users::set_password(&mut tx, user.id, &hash).await?;
    super::sessions::sign_out_everywhere(&mut tx, ctx, user.id, RevokeReason::PasswordReset)
        .await?;
    tx.commit().await?;
    ctx.limits.record_success(&account).await;
    Ok(())
}
