//! Staff accounts: created by administrators (or seeded for local runs), never self-registered.

use super::context::Context;
use super::passwords;
use crate::domain::{NewUser, PiiCipher, StaffRole, User};
use crate::events::publishes;
use crate::storage;
use crate::storage::users::Inserted;
use auth::Role;
use platform::ApiError;
use sqlx::PgPool;
use uuid::Uuid;

/// Creates a staff account with `role` on behalf of `created_by`.
pub async fn create(
    ctx: &Context,
    new_user: NewUser,
    role: StaffRole,
    created_by: Uuid,
) -> Result<User, ApiError> {
    let role = role.role();
    let hash = passwords::hash(&new_user.password).await?;
    let id = Uuid::now_v7();
    let mut tx = ctx.pool.begin().await?;
    let inserted = storage::users::insert(
        &mut tx,
        &ctx.pii,
        id,
        &new_user,
        &hash,
        role,
        Some(created_by),
    )
    .await?;
    if inserted == Inserted::EmailTaken {
        return Err(ApiError::Conflict {
            slug: "email-taken",
            detail: "an account with this email already exists".into(),
        });
    }
    events::outbox::enqueue(&mut tx, &publishes::user_registered(id, role, false)).await?;
    let user = storage::users::find_by_id(&mut tx, &ctx.pii, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the staff account just created is missing"))?;
    tx.commit().await?;
    tracing::info!(user_id = %id, role = role.as_str(), %created_by, "staff account created");
    Ok(user)
}

/// Creates an account with `role` unless its email is taken (the seeding of demo and first
/// accounts, safe to run at every start). Returns whether it was created.
pub async fn seed_account(
    pool: &PgPool,
    pii: &PiiCipher,
    new_user: NewUser,
    role: Role,
) -> anyhow::Result<bool> {
    let hash = passwords::hash(&new_user.password).await?;
    let id = Uuid::now_v7();
    let mut tx = pool.begin().await?;
    match storage::users::insert(&mut tx, pii, id, &new_user, &hash, role, None).await? {
        Inserted::EmailTaken => Ok(false),
        Inserted::Created => {
            events::outbox::enqueue(&mut tx, &publishes::user_registered(id, role, false)).await?;
            tx.commit().await?;
            Ok(true)
        }
    }
}
