//! Partner clients and their secret keys (stored as digests only).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ClientRecord {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SecretRecord {
    pub id: Uuid,
    pub hint: String,
    pub created_at: DateTime<Utc>,
    /// When a superseded key stops working; absent for the current key.
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    name: &str,
    scopes: &[String],
    created_by: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO partner_clients (id, name, scopes, created_by) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(name)
    .bind(scopes)
    .bind(created_by)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn add_secret(
    conn: &mut PgConnection,
    client_id: Uuid,
    digest: &str,
    hint: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO partner_client_secrets (id, client_id, secret_hash, hint) VALUES ($1, $2, $3, $4)",
    )
    .bind(Uuid::now_v7())
    .bind(client_id)
    .bind(digest)
    .bind(hint)
    .execute(conn)
    .await?;
    Ok(())
}

/// Makes every current key of the client expire after `overlap_secs` (a rotation).
pub async fn expire_current_secrets(
    conn: &mut PgConnection,
    client_id: Uuid,
    overlap_secs: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE partner_client_secrets SET expires_at = now() + make_interval(secs => $2)
          WHERE client_id = $1 AND (expires_at IS NULL OR expires_at > now() + make_interval(secs => $2))",
    )
    .bind(client_id)
    .bind(overlap_secs as f64)
    .execute(conn)
    .await?;
    Ok(())
}

/// Locks and returns a client, for changes to it.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<ClientRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name, scopes, created_by, created_at, revoked_at FROM partner_clients
          WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn revoke(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE partner_clients SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn list(pool: &PgPool) -> Result<Vec<ClientRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name, scopes, created_by, created_at, revoked_at FROM partner_clients
          ORDER BY created_at DESC",
    )
    .fetch_all(pool)
    .await
}

pub async fn live_secrets(
    pool: &PgPool,
    client_id: Uuid,
) -> Result<Vec<SecretRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, hint, created_at, expires_at FROM partner_client_secrets
          WHERE client_id = $1 AND (expires_at IS NULL OR expires_at > now())
          ORDER BY created_at DESC",
    )
    .bind(client_id)
    .fetch_all(pool)
    .await
}

/// The client a presented key belongs to, if the key is live and the client not revoked.
pub async fn authenticate(
    pool: &PgPool,
    client_id: Uuid,
    digest: &str,
) -> Result<Option<ClientRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.id, c.name, c.scopes, c.created_by, c.created_at, c.revoked_at
           FROM partner_client_secrets s JOIN partner_clients c ON c.id = s.client_id
          WHERE s.secret_hash = $1 AND c.id = $2 AND c.revoked_at IS NULL
            AND (s.expires_at IS NULL OR s.expires_at > now())",
    )
    .bind(digest)
    .bind(client_id)
    .fetch_optional(pool)
    .await
}
