//! Partner clients and their secret keys (stored as digests only).

use crate::domain::clients::{PartnerClient, SecretHint};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    business_id: Uuid,
    name: &str,
    scopes: &[String],
    created_by: Uuid,
) -> Result<PartnerClient, sqlx::Error> {
    sqlx::query_as!(
        PartnerClient,
        "INSERT INTO partner_clients (id, business_id, name, scopes, created_by)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING id, business_id, name, scopes, created_by, created_at, revoked_at",
        id,
        business_id,
        name,
        scopes,
        created_by,
    )
    .fetch_one(conn)
    .await
}

/// Adds a key to a client, or makes it live again if the client had it before (an internal
/// client's configured secret set back to an earlier value).
pub async fn add_secret(
    conn: &mut PgConnection,
    client_id: Uuid,
    digest: &str,
    hint: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO partner_client_secrets (id, client_id, secret_hash, hint) VALUES ($1, $2, $3, $4)
         ON CONFLICT (secret_hash) DO UPDATE SET expires_at = NULL
          WHERE partner_client_secrets.client_id = $2",
        Uuid::now_v7(),
        client_id,
        digest,
        hint,
    )
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
    sqlx::query!(
        "UPDATE partner_client_secrets SET expires_at = now() + make_interval(secs => $2)
          WHERE client_id = $1 AND (expires_at IS NULL OR expires_at > now() + make_interval(secs => $2))",
        client_id,
        overlap_secs as f64,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Locks and returns a client, for changes to it.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<PartnerClient>, sqlx::Error> {
    sqlx::query_as!(
        PartnerClient,
        "SELECT id, business_id, name, scopes, created_by, created_at, revoked_at
           FROM partner_clients WHERE id = $1 FOR UPDATE",
        id,
    )
    .fetch_optional(conn)
    .await
}

pub async fn revoke(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE partner_clients SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1",
        id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Up to `limit` clients of a business created before the position (`after_time`, `after_id`),
/// newest first.
pub async fn page(
    conn: &mut PgConnection,
    business_id: Uuid,
    after_time: DateTime<Utc>,
    after_id: Uuid,
    limit: i64,
) -> Result<Vec<PartnerClient>, sqlx::Error> {
    sqlx::query_as!(
        PartnerClient,
        "SELECT id, business_id, name, scopes, created_by, created_at, revoked_at
           FROM partner_clients
          WHERE business_id = $4 AND (created_at, id) < ($1::timestamptz, $2::uuid)
          ORDER BY created_at DESC, id DESC
          LIMIT $3",
        after_time,
        after_id,
        limit,
        business_id,
    )
    .fetch_all(conn)
    .await
}

/// The keys of these clients that work now, newest first.
pub async fn live_secrets(
    conn: &mut PgConnection,
    client_ids: &[Uuid],
) -> Result<Vec<SecretHint>, sqlx::Error> {
    sqlx::query_as!(
        SecretHint,
        "SELECT id, client_id, hint, created_at, expires_at FROM partner_client_secrets
          WHERE client_id = ANY($1) AND (expires_at IS NULL OR expires_at > now())
          ORDER BY created_at DESC",
        client_ids,
    )
    .fetch_all(conn)
    .await
}

/// The client a presented key belongs to, if the key is live and the client not revoked.
pub async fn authenticate(
    conn: &mut PgConnection,
    client_id: Uuid,
    digest: &str,
) -> Result<Option<PartnerClient>, sqlx::Error> {
    sqlx::query_as!(
        PartnerClient,
        "SELECT c.id, c.business_id, c.name, c.scopes, c.created_by, c.created_at, c.revoked_at
           FROM partner_client_secrets s JOIN partner_clients c ON c.id = s.client_id
          WHERE s.secret_hash = $1 AND c.id = $2 AND c.revoked_at IS NULL
            AND (s.expires_at IS NULL OR s.expires_at > now())",
        digest,
        client_id,
    )
    .fetch_optional(conn)
    .await
}

/// Creates or restores a client the platform itself uses (fixed id, fixed scopes). Its calls are
/// about the resources of the demo business, the only ones not yet stored with their business.
pub async fn upsert_internal(
    conn: &mut PgConnection,
    id: Uuid,
    name: &str,
    scopes: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO partner_clients (id, business_id, name, scopes, created_by)
         VALUES ($1, $5, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET name = $2, scopes = $3, revoked_at = NULL",
        id,
        name,
        scopes,
        Uuid::nil(),
        kernel::DEMO_BUSINESS_ID,
    )
    .execute(conn)
    .await?;
    Ok(())
}
