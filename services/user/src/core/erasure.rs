//! Erasure (GDPR): personal data is removed here and `user.erased` tells every other service to
//! anonymise what it holds, in one transaction.

use super::context::Context;
use super::{passwords, profile};
use crate::domain::sessions::RevokeReason;
use crate::events::publishes;
use crate::storage;
use platform::ApiError;
use secrecy::SecretString;
use uuid::Uuid;

/// A member erases their own account, confirming with their password. Staff accounts are
/// closed by an administrator instead.
pub async fn erase_own_account(
    ctx: &Context,
    user_id: Uuid,
    password: SecretString,
) -> Result<(), ApiError> {
    let user = profile::own(ctx, user_id).await?;
    if user.role.is_staff() {
        return Err(ApiError::Forbidden(
            "staff accounts are closed by an administrator, not erased by themselves".into(),
        ));
    }
    passwords::confirm(ctx, &user, password).await?;
    erase(ctx, user.id, user.id).await?;
    Ok(())
}

/// Staff erase an account on the user's behalf; a staff account only when `may_erase_staff`.
pub async fn erase_on_request(
    ctx: &Context,
    user_id: Uuid,
    requested_by: Uuid,
    may_erase_staff: bool,
) -> Result<(), ApiError> {
    let user = profile::load(ctx, user_id, "no such user, or already erased").await?;
    if user.role.is_staff() && !may_erase_staff {
        return Err(ApiError::Forbidden("your role does not allow this".into()));
    }
    erase(ctx, user.id, requested_by).await?;
    Ok(())
}

/// Returns false when there was nothing left to erase.
async fn erase(ctx: &Context, user_id: Uuid, requested_by: Uuid) -> anyhow::Result<bool> {
    let mut tx = ctx.pool.begin().await?;
    if !storage::users::erase(&mut tx, user_id).await? {
        return Ok(false);
    }
    storage::sessions::revoke_all(&mut tx, user_id, RevokeReason::Erased).await?;
    storage::codes::delete_for_user(&mut tx, user_id).await?;
    storage::identities::delete_for_user(&mut tx, user_id).await?;
    storage::messages::delete_for_user(&mut tx, user_id).await?;
    storage::notifications::delete_for_user(&mut tx, user_id).await?;
    events::outbox::enqueue(&mut tx, &publishes::user_erased(user_id)).await?;
    // Before the commit: if the member's tokens cannot be revoked, nothing is erased yet and
    // the request can be retried.
    auth::revocation::revoke(&ctx.redis, auth::Revoked::Subject(user_id)).await?;
    tx.commit().await?;
    tracing::info!(%user_id, %requested_by, "user erased");
    Ok(true)
}
