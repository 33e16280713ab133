//! Finding a member at a store's counter: by the counter token their app shows as a QR code,
//! or by the email address or confirmed phone number they tell the cashier (matched on the
//! keyed hash; contact details are never decrypted to search).

use super::context::Context;
use crate::domain::counter_token::{CounterToken, CounterTokenError};
use crate::domain::{Email, PhoneNumber, User};
use crate::storage;
use auth::Role;
use chrono::{DateTime, Utc};
use deadpool_redis::redis;
use platform::ApiError;
use uuid::Uuid;

/// How the cashier names the member.
pub enum MemberKey {
    CounterToken(String),
    Email(Email),
    Phone(PhoneNumber),
}

/// A counter token for the member to show at `business`'s counters.
pub async fn issue(
    ctx: &Context,
    member: Uuid,
    business: Uuid,
) -> Result<(String, DateTime<Utc>), ApiError> {
    let user = super::profile::own(ctx, member).await?;
    if user.role != Role::Customer {
        return Err(ApiError::Forbidden(
            "counter tokens are for members; staff accounts collect no points".into(),
        ));
    }
    let token = CounterToken::new(member, business, Utc::now())?;
    Ok((token.encode(&ctx.pii), token.expires_at))
}

/// The member `key` names, for staff or a partner acting in `business`.
pub async fn identify(ctx: &Context, business: Uuid, key: MemberKey) -> Result<User, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    let found = match key {
        MemberKey::CounterToken(raw) => {
            let token = CounterToken::verify(&raw, &ctx.pii, business, Utc::now())
                .map_err(refused_token)?;
            take_once(ctx, &token).await?;
            storage::users::find_by_id(&mut conn, &ctx.pii, token.member).await?
        }
        MemberKey::Email(email) => {
            storage::users::find_by_email(&mut conn, &ctx.pii, &email).await?
        }
        MemberKey::Phone(phone) => {
            let mut matches =
                storage::users::members_by_confirmed_phone(&mut conn, &ctx.pii, &phone).await?;
            if matches.len() > 1 {
                return Err(ApiError::Conflict {
                    slug: "ambiguous-phone-number",
                    detail: "more than one member confirmed this phone number; identify the member by their counter token or email address".into(),
                });
            }
            matches.pop()
        }
    };
    found
        .filter(|user| user.role == Role::Customer)
        .ok_or_else(|| ApiError::NotFound("no member matches".into()))
}

fn refused_token(e: CounterTokenError) -> ApiError {
    let slug = match e {
        CounterTokenError::Invalid => "counter-token-invalid",
        CounterTokenError::Expired(_) => "counter-token-expired",
        CounterTokenError::OtherBusiness => "counter-token-other-business",
    };
    ApiError::Unprocessable {
        slug,
        detail: e.to_string(),
    }
}

/// Accepts a token once: its nonce is remembered until the token would have expired anyway, so a
/// photo of the member's screen cannot be used after the member was served.
async fn take_once(ctx: &Context, token: &CounterToken) -> Result<(), ApiError> {
    let key = format!(
        "{}:counter-token:{}",
        ctx.settings.service.redis_namespace("users"),
        token.nonce_hex()
    );
    let ttl_secs = (token.expires_at - Utc::now()).num_seconds().max(1);
    let mut conn = ctx.redis.get().await.map_err(unavailable)?;
    let first: Option<String> = redis::cmd("SET")
        .arg(&key)
        .arg(1)
        .arg("NX")
        .arg("EX")
        .arg(ttl_secs)
        .query_async(&mut conn)
        .await
        .map_err(unavailable)?;
    if first.is_none() {
        return Err(ApiError::Conflict {
            slug: "counter-token-used",
            detail: "this counter token was already used; ask the member to show a fresh one"
                .into(),
        });
    }
    Ok(())
}

fn unavailable(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "Redis error: counter token use");
    ApiError::Unavailable("identifying by QR code is unavailable; try again in a moment".into())
}
