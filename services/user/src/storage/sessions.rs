use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

/// Creates a refresh token for a new login (a new family) and returns it. Only its digest is stored.
pub async fn start(pool: &PgPool, user_id: Uuid, ttl_secs: i64) -> Result<String, sqlx::Error> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!("rt_{}", URL_SAFE_NO_PAD.encode(bytes));
    sqlx::query(
        "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
    )
    .bind(Uuid::now_v7())
    .bind(user_id)
    .bind(Uuid::now_v7())
    .bind(digest(&token))
    .bind(ttl_secs as f64)
    .execute(pool)
    .await?;
    Ok(token)
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
