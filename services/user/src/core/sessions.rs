//! Logging in, refreshing and logging out. A session is a short-lived access token and a
//! refresh token of one family (one login).

use super::context::Context;
use super::passwords;
use crate::domain::sessions::{
    new_refresh_token, refresh_token_digest, RefreshTokenStatus, RevokeReason,
};
use crate::domain::{Email, User};
use crate::storage;
use auth::{Access, Role};
use platform::ApiError;
use secrecy::SecretString;
use sqlx::PgConnection;
use uuid::Uuid;

/// A signed-in session.
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub user: User,
}

/// Logs in with email and password. Unknown emails, malformed ones and wrong passwords take the
/// same time and get the same answer; failures count towards the account's lockout.
pub async fn login(
    ctx: &Context,
    client_ip: &str,
    email: &str,
    password: SecretString,
) -> Result<Session, ApiError> {
    let account = ctx.limits.admit_account(&ctx.pii, client_ip, email).await?;
    ctx.limits.check_lockout(&account).await?;
    let user = match Email::parse(email) {
        Ok(email) => {
            let mut conn = ctx.pool.acquire().await?;
            storage::users::find_by_email(&mut conn, &ctx.pii, &email).await?
        }
        Err(_) => None,
    };
    let matches =
        passwords::verify(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let user = match (matches, user) {
        (true, Some(user)) => user,
        _ => {
            ctx.limits.record_failure(&account).await;
            return Err(ApiError::Unauthorized("invalid email or password".into()));
        }
    };
    ctx.limits.record_success(&account).await;
    let mut conn = ctx.pool.acquire().await?;
    Ok(start(&mut conn, ctx, user).await?)
}

/// Starts a session of a new family for `user`, on the caller's connection.
pub(super) async fn start(
    conn: &mut PgConnection,
    ctx: &Context,
    user: User,
) -> anyhow::Result<Session> {
    let refresh_token = new_refresh_token();
    let family_id = Uuid::now_v7();
    storage::sessions::insert(
        conn,
        user.id,
        family_id,
        &refresh_token_digest(&refresh_token),
        ctx.settings.refresh_token_ttl_secs,
    )
    .await?;
    session(conn, ctx, user, family_id, refresh_token).await
}

/// The access token names its login (`family_id`), so that a logout revokes it, and what the
/// user may act on: a staff account's business and stores.
async fn session(
    conn: &mut PgConnection,
    ctx: &Context,
    user: User,
    family_id: Uuid,
    refresh_token: String,
) -> anyhow::Result<Session> {
    let access = access_of(conn, &user).await?;
    let ttl = ctx.settings.access_token_ttl_secs;
    let access_token = ctx
        .keys
        .signer()
        .issue_for_session(user.id, access, family_id, ttl)?;
    Ok(Session {
        access_token,
        refresh_token,
        expires_in: ttl,
        user,
    })
}

/// Exchanges a refresh token for a new session of the same family. The old token is spent:
/// presenting it again revokes the family.
pub async fn refresh(ctx: &Context, client_ip: &str, presented: &str) -> Result<Session, ApiError> {
    ctx.limits.admit(client_ip, None).await?;
    let mut tx = ctx.pool.begin().await?;
    let Some(token) = storage::sessions::lock(&mut tx, &refresh_token_digest(presented)).await?
    else {
        return Err(unknown_refresh_token());
    };
    let status = RefreshTokenStatus::of(
        token.used_at,
        token.revoked_at,
        token.expires_at,
        chrono::Utc::now(),
    );
    match status {
        RefreshTokenStatus::Expired => Err(unknown_refresh_token()),
        RefreshTokenStatus::Spent => {
            storage::sessions::revoke_family(&mut tx, token.family_id, RevokeReason::ReuseDetected)
                .await?;
            tx.commit().await?;
            tracing::warn!(user_id = %token.user_id, family_id = %token.family_id, "refresh token reuse: family revoked");
            Err(ApiError::Unauthorized(
                "this refresh token was already used; every session of this login has been signed out"
                    .into(),
            ))
        }
        RefreshTokenStatus::Live => {
            storage::sessions::mark_used(&mut tx, token.id).await?;
            let refresh_token = new_refresh_token();
            storage::sessions::insert(
                &mut tx,
                token.user_id,
                token.family_id,
                &refresh_token_digest(&refresh_token),
                ctx.settings.refresh_token_ttl_secs,
            )
            .await?;
            tx.commit().await?;
            let mut conn = ctx.pool.acquire().await?;
            let user = storage::users::find_by_id(&mut conn, &ctx.pii, token.user_id)
                .await?
                .ok_or_else(|| ApiError::Unauthorized("this account no longer exists".into()))?;
            Ok(session(&mut conn, ctx, user, token.family_id, refresh_token).await?)
        }
    }
}

/// Members act on their own account, super admins on the platform, other staff where their
/// position says. A staff account without a position (which creation never leaves) gets no
/// business and so reaches nothing.
async fn access_of(conn: &mut PgConnection, user: &User) -> anyhow::Result<Access> {
    Ok(match user.role {
        Role::Customer => Access::member(),
        Role::SuperAdmin => Access::staff(Role::SuperAdmin, None, Vec::new()),
        role => match storage::staff::find(conn, user.id).await? {
            Some(position) => Access::staff(role, Some(position.business_id), position.store_ids),
            None => {
                tracing::warn!(user_id = %user.id, "a staff account without a position signed in");
                Access::staff(role, None, Vec::new())
            }
        },
    })
}

fn unknown_refresh_token() -> ApiError {
    ApiError::Unauthorized("the refresh token is unknown or expired; log in again".into())
}

/// Signs the user out of every login (password change or reset): the refresh tokens in the
/// caller's transaction, the access tokens in every service within seconds. Call it before the
/// commit, so that a revocation that cannot be recorded fails the whole change.
pub(super) async fn sign_out_everywhere(
    conn: &mut PgConnection,
    ctx: &Context,
    user_id: Uuid,
    reason: RevokeReason,
) -> Result<(), ApiError> {
    for family_id in storage::sessions::revoke_all(conn, user_id, reason).await? {
        auth::revocation::revoke(&ctx.redis, auth::Revoked::Session(family_id))
            .await
            .map_err(|e| ApiError::Unavailable(format!("cannot sign the sessions out now: {e}")))?;
    }
    Ok(())
}

/// Logs out the session a refresh token belongs to; an unknown token changes nothing. The
/// session's access tokens stop working in every service within seconds; if that cannot be
/// recorded, the logout fails as a whole and can be retried.
pub async fn logout(ctx: &Context, presented: &str) -> Result<(), ApiError> {
    let mut tx = ctx.pool.begin().await?;
    if let Some(family_id) =
        storage::sessions::family_of(&mut tx, &refresh_token_digest(presented)).await?
    {
        storage::sessions::revoke_family(&mut tx, family_id, RevokeReason::Logout).await?;
        auth::revocation::revoke(&ctx.redis, auth::Revoked::Session(family_id))
            .await
            .map_err(|e| ApiError::Unavailable(format!("cannot sign the session out now: {e}")))?;
    }
    tx.commit().await?;
    Ok(())
}
