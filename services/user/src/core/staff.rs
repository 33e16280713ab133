//! Staff accounts: created by administrators (or seeded for local runs), never self-registered.

use super::context::Context;
use super::passwords;
use crate::domain::{NewUser, PiiCipher, StaffPosition, StaffRole, User};
use crate::events::publishes;
use crate::storage;
use crate::storage::users::Inserted;
use auth::Role;
use platform::ApiError;
use sqlx::PgPool;
use uuid::Uuid;

/// Creates a staff account with `role` on behalf of `created_by`, working where `position` says
/// (`None` only for super admins, who work for the platform).
pub async fn create(
    ctx: &Context,
    new_user: NewUser,
    role: StaffRole,
    position: Option<StaffPosition>,
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
    if let Some(position) = &position {
        storage::staff::insert(&mut tx, id, position, created_by).await?;
    }
    events::outbox::enqueue(&mut tx, &publishes::user_registered(id, role, false)).await?;
    let user = storage::users::find_by_id(&mut tx, &ctx.pii, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the staff account just created is missing"))?;
    tx.commit().await?;
    let business_id = position.map(|p| p.business_id);
    tracing::info!(user_id = %id, role = role.as_str(), ?business_id, %created_by, "staff account created");
    Ok(user)
}

/// Creates an account with `role` unless its email is taken (the seeding of demo and first
/// accounts, safe to run at every start), staff working where `position` says. Returns whether
/// it was created.
pub async fn seed_account(
    pool: &PgPool,
    pii: &PiiCipher,
    new_user: NewUser,
    role: Role,
    position: Option<StaffPosition>,
) -> anyhow::Result<bool> {
    let hash = passwords::hash(&new_user.password).await?;
    let id = Uuid::now_v7();
    let mut tx = pool.begin().await?;
    match storage::users::insert(&mut tx, pii, id, &new_user, &hash, role, None).await? {
        Inserted::EmailTaken => Ok(false),
        Inserted::Created => {
            if let Some(position) = &position {
                storage::staff::insert(&mut tx, id, position, id).await?;
            }
            events::outbox::enqueue(&mut tx, &publishes::user_registered(id, role, false)).await?;
            tx.commit().await?;
            Ok(true)
        }
    }
}
