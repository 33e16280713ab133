//! A member registers: the account, a confirmation code for each contact detail, and
//! `user.registered`, in one transaction.

use super::context::Context;
use super::{codes, passwords};
use crate::domain::messages::account_exists_message;
use crate::domain::{CodePurpose, NewUser};
use crate::events::publishes;
use crate::storage;
use crate::storage::messages::NewMessage;
use crate::storage::users::Inserted;
use auth::Role;
use platform::ApiError;
use uuid::Uuid;

/// Registers a member account; returns its id. For an email that already has an account,
/// nothing is created and a fresh id that names no account is returned, while the owner is told
/// by email.
pub async fn register(ctx: &Context, client_ip: &str, new_user: NewUser) -> Result<Uuid, ApiError> {
    ctx.limits.admit(client_ip, None).await?;
    let hash = passwords::hash(&new_user.password).await?;
    let user_id = Uuid::now_v7();
    let mut tx = ctx.pool.begin().await?;
    let inserted = storage::users::insert(
        &mut tx,
        &ctx.pii,
        user_id,
        &new_user,
        &hash,
        Role::Customer,
        None,
    )
    .await?;
    if inserted == Inserted::EmailTaken {
        // Answer as for a new address (the password was hashed either way, so the timing
        // matches too) and tell the address's owner instead: registration must not reveal
        // who has an account, as login and password reset do not.
        notify_existing_owner(&mut tx, ctx, &new_user).await?;
        tx.commit().await?;
        return Ok(user_id);
    }
    codes::send(
        &mut tx,
        ctx,
        user_id,
        CodePurpose::VerifyEmail,
        new_user.email.as_str(),
    )
    .await?;
    if let Some(phone) = &new_user.phone_number {
        codes::send(
            &mut tx,
            ctx,
            user_id,
            CodePurpose::VerifyPhone,
            phone.as_str(),
        )
        .await?;
    }
    let event = publishes::user_registered(user_id, Role::Customer, new_user.marketing_consent);
    events::outbox::enqueue(&mut tx, &event).await?;
    tx.commit().await?;
    tracing::info!(%user_id, "member registered");
    Ok(user_id)
}

/// Queues the "someone tried to register with your address" email to an existing account.
async fn notify_existing_owner(
    conn: &mut sqlx::PgConnection,
    ctx: &Context,
    new_user: &NewUser,
) -> Result<(), ApiError> {
    // Gone if the account was erased between the insert and here: nobody to tell.
    let Some(owner) = storage::users::find_by_email(conn, &ctx.pii, &new_user.email).await? else {
        return Ok(());
    };
    let message = account_exists_message();
    storage::messages::enqueue(
        conn,
        NewMessage {
            channel: message.channel,
            recipient: &owner.email,
            subject: message.subject,
            body: &message.body,
            user_id: owner.id,
            device_id: None,
            data: None,
        },
    )
    .await?;
    Ok(())
}
