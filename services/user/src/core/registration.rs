//! A member registers: the account, a confirmation code for each contact detail, and
//! `user.registered`, in one transaction.

use super::context::Context;
use super::{codes, passwords};
use crate::domain::{CodePurpose, NewUser};
use crate::events::publishes;
use crate::storage;
use crate::storage::users::Inserted;
use auth::Role;
use platform::ApiError;
use uuid::Uuid;

/// Registers a member account; returns its id.
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
        return Err(ApiError::Conflict {
            slug: "email-taken",
            detail: "an account with this email already exists; log in or reset the password"
                .into(),
        });
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
