//! Password hashing off the async threads, and the check of a signed-in user's password.

use super::context::Context;
use crate::domain::{credentials, limits, Password, User};
use platform::ApiError;
use secrecy::SecretString;

/// Hashes on the blocking pool: argon2 takes tens of milliseconds of CPU by design.
pub async fn hash(password: &Password) -> anyhow::Result<String> {
    let secret = SecretString::from(password.expose().to_owned());
    Ok(tokio::task::spawn_blocking(move || credentials::hash(&secret)).await??)
}

/// The hash of a random password nobody is told: an account that signs in only through an
/// identity provider, or whose password was taken away, has no password that works until its
/// owner sets one by password reset.
pub async fn unusable() -> anyhow::Result<String> {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = SecretString::from(hex::encode(bytes));
    Ok(tokio::task::spawn_blocking(move || credentials::hash(&secret)).await??)
}

pub async fn verify(password: SecretString, stored_hash: Option<String>) -> anyhow::Result<bool> {
    Ok(
        tokio::task::spawn_blocking(move || credentials::verify(&password, stored_hash.as_deref()))
            .await??,
    )
}

/// Checks a signed-in user's password before a sensitive change, under the same lockout as
/// logins, so a stolen access token alone cannot guess it.
pub async fn confirm(ctx: &Context, user: &User, password: SecretString) -> Result<(), ApiError> {
    let account = limits::account_key(&ctx.pii, &user.email);
    ctx.limits.check_lockout(&account).await?;
    if verify(password, Some(user.password_hash.clone())).await? {
        Ok(())
    } else {
        ctx.limits.record_failure(&account).await;
        Err(ApiError::Unauthorized(
            "the current password is wrong".into(),
        ))
    }
}
