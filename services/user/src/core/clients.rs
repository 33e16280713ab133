//! Partner clients: staff create them with fixed scopes; the partner exchanges its secret key
//! for a short-lived access token carrying those scopes (OAuth 2.0 client credentials).

use super::context::Context;
use crate::domain::clients::{
    generate_secret, grant_scopes, secret_digest, secret_hint, ClientStatus, NewClient,
    PartnerClient, RotationOverlap, SecretHint,
};
use crate::storage;
use auth::{Access, PrincipalKind};
use platform::pagination::{Cursor, PageRequest};
use platform::ApiError;
use uuid::Uuid;

/// A client with a secret key that is shown this once.
pub struct IssuedSecret {
    pub client: PartnerClient,
    pub secret: String,
}

pub async fn create(
    ctx: &Context,
    business_id: Uuid,
    new_client: NewClient,
    created_by: Uuid,
) -> Result<IssuedSecret, ApiError> {
    let client_id = Uuid::now_v7();
    let secret = generate_secret();
    let mut tx = ctx.pool.begin().await?;
    let client = storage::clients::insert(
        &mut tx,
        client_id,
        business_id,
        &new_client.name,
        &new_client.scopes,
        created_by,
    )
    .await?;
    storage::clients::add_secret(
        &mut tx,
        client_id,
        &secret_digest(&secret),
        &secret_hint(&secret),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(%client_id, %business_id, %created_by, "partner client created");
    Ok(IssuedSecret { client, secret })
}

/// Makes a client the platform itself uses (the reconciler) exist, with the secret key its
/// settings give, so the service that uses it and this one agree without anyone creating it by
/// hand. A changed secret replaces the old one at once; the same secret at the next start
/// changes nothing.
pub async fn provision_internal(
    pool: &sqlx::PgPool,
    client: &auth::internal::InternalClient,
    secret: &str,
) -> Result<(), ApiError> {
    let scopes: Vec<String> = client.scopes.iter().map(|s| (*s).to_owned()).collect();
    let digest = secret_digest(secret);
    let mut tx = pool.begin().await?;
    storage::clients::upsert_internal(&mut tx, client.id, client.name, &scopes).await?;
    if storage::clients::authenticate(&mut tx, client.id, &digest)
        .await?
        .is_none()
    {
        storage::clients::expire_current_secrets(&mut tx, client.id, 0).await?;
        storage::clients::add_secret(&mut tx, client.id, &digest, &secret_hint(secret)).await?;
        tracing::info!(client_id = %client.id, name = client.name, "internal client's key set");
    }
    tx.commit().await?;
    Ok(())
}

/// One page of clients, newest first, each with its live keys.
pub struct ClientPage {
    pub clients: Vec<(PartnerClient, Vec<SecretHint>)>,
    pub next_cursor: Option<String>,
}

pub async fn list(
    ctx: &Context,
    business_id: Uuid,
    page: PageRequest,
) -> Result<ClientPage, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    let rows = storage::clients::page(
        &mut conn,
        business_id,
        page.after_time(),
        page.after_id(),
        page.fetch_limit(),
    )
    .await?;
    let (clients, next_cursor) = page.finish(rows, |c| Cursor {
        created_at: c.created_at,
        id: c.id,
    });
    let ids: Vec<Uuid> = clients.iter().map(|c| c.id).collect();
    let mut secrets = storage::clients::live_secrets(&mut conn, &ids).await?;
    let clients = clients
        .into_iter()
        .map(|client| {
            let (own, rest) = secrets.drain(..).partition(|s| s.client_id == client.id);
            secrets = rest;
            (client, own)
        })
        .collect();
    Ok(ClientPage {
        clients,
        next_cursor,
    })
}

/// Issues a new secret key; the current ones keep working for the overlap (the configured
/// default when none is given).
/// `within`: the business the client must belong to (`None`: any, for super admins); another
/// business's client is reported as unknown, its existence is not ours to tell.
pub async fn rotate_secret(
    ctx: &Context,
    within: Option<Uuid>,
    client_id: Uuid,
    overlap: Option<RotationOverlap>,
) -> Result<IssuedSecret, ApiError> {
    let overlap_secs = overlap.map_or(ctx.settings.secret_rotation_overlap_secs, |o| o.secs());
    let mut tx = ctx.pool.begin().await?;
    let client = storage::clients::lock(&mut tx, client_id)
        .await?
        .filter(|c| within.is_none_or(|b| c.business_id == b))
        .filter(|c| c.status() == ClientStatus::Active)
        .ok_or_else(|| ApiError::NotFound("no such active partner client".into()))?;
    storage::clients::expire_current_secrets(&mut tx, client.id, overlap_secs).await?;
    let secret = generate_secret();
    storage::clients::add_secret(
        &mut tx,
        client.id,
        &secret_digest(&secret),
        &secret_hint(&secret),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(client_id = %client.id, overlap_secs, "partner key rotated");
    Ok(IssuedSecret { client, secret })
}

/// Revokes a client: every key stops working at once, and its access tokens within seconds.
/// `within` as for [`rotate_secret`].
pub async fn revoke(
    ctx: &Context,
    within: Option<Uuid>,
    client_id: Uuid,
    revoked_by: Uuid,
) -> Result<(), ApiError> {
    let mut tx = ctx.pool.begin().await?;
    let client = storage::clients::lock(&mut tx, client_id)
        .await?
        .filter(|c| within.is_none_or(|b| c.business_id == b))
        .ok_or_else(|| ApiError::NotFound("no such partner client".into()))?;
    storage::clients::revoke(&mut tx, client.id).await?;
    auth::revocation::revoke(&ctx.redis, auth::Revoked::Subject(client.id))
        .await
        .map_err(|e| {
            ApiError::Unavailable(format!("cannot revoke the client's tokens now: {e}"))
        })?;
    tx.commit().await?;
    tracing::info!(client_id = %client.id, %revoked_by, "partner client revoked");
    Ok(())
}

/// An access token for a partner.
pub struct ClientToken {
    pub access_token: String,
    pub expires_in: i64,
    pub scopes: Vec<String>,
}

/// What a token request comes to.
pub enum TokenGrant {
    Issued(ClientToken),
    /// Unknown client, wrong or expired key, or revoked client.
    InvalidClient,
    /// The request asked for a scope the client does not have.
    InvalidScope(String),
}

/// Exchanges a client's id and secret key for a token with its scopes, or the narrower set in
/// `scope`.
pub async fn issue_token(
    ctx: &Context,
    client_ip: &str,
    client_id: Option<Uuid>,
    secret: &str,
    scope: Option<&str>,
) -> Result<TokenGrant, ApiError> {
    ctx.limits.admit(client_ip, None).await?;
    let client = match client_id {
        Some(id) => {
            let mut conn = ctx.pool.acquire().await?;
            storage::clients::authenticate(&mut conn, id, &secret_digest(secret)).await?
        }
        None => None,
    };
    let Some(client) = client else {
        return Ok(TokenGrant::InvalidClient);
    };
    let scopes = match grant_scopes(&client.scopes, scope) {
        Ok(scopes) => scopes,
        Err(refused) => return Ok(TokenGrant::InvalidScope(refused.to_string())),
    };
    let ttl = ctx.settings.client_token_ttl_secs;
    let access = Access {
        scopes: scopes.clone(),
        business: Some(client.business_id),
        ..Access::default()
    };
    let access_token =
        ctx.keys
            .signer()
            .issue_with(client.id, PrincipalKind::Partner, access, ttl)?;
    Ok(TokenGrant::Issued(ClientToken {
        access_token,
        expires_in: ttl,
        scopes,
    }))
}
