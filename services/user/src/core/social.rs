//! Signing in with Google or Apple: OpenID Connect's authorization code flow with PKCE.
//!
//! `start` discovers the provider, keeps a fresh state, nonce and PKCE verifier in Redis (single
//! use, short-lived) and returns the provider's authorization URL. `callback` takes that state
//! back, exchanges the code (with the client secret and the verifier), verifies the ID token in
//! full (signature from the provider's JWKS, issuer, audience, expiry, nonce), then signs the
//! member in: the account tied to the provider's subject, else the account with the verified
//! email (tied to it now), else a new member account. Sessions are the same as a password
//! login's.

use super::context::Context;
use super::{passwords, sessions};
use crate::configuration::{OidcProviderSettings, Settings};
use crate::domain::sessions::RevokeReason;
use crate::domain::social::{plausible_state, EmailRefusal, PendingSignIn, VerifiedIdentity};
use crate::domain::{Channel, User};
use crate::events::publishes;
use crate::storage;
use crate::storage::users::Inserted;
use auth::Role;
use deadpool_redis::redis::AsyncCommands;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreProviderMetadata,
};
use openidconnect::{
    AuthType, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, TokenResponse,
};
use platform::ApiError;
use secrecy::ExposeSecret;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use uuid::Uuid;

pub use crate::domain::social::SocialProvider;

/// How long a provider's discovery document and keys are used before they are read again. A
/// token signed with a key we do not know yet makes us read them again at once.
const METADATA_TTL: Duration = Duration::from_secs(3600);

/// The providers this deployment is configured for.
pub struct Providers {
    http: reqwest::Client,
    google: Option<ProviderClient>,
    apple: Option<ProviderClient>,
}

struct ProviderClient {
    provider: SocialProvider,
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: Option<ClientSecret>,
    redirect: RedirectUrl,
    metadata: Mutex<Option<(Instant, CoreProviderMetadata)>>,
}

type DiscoveredClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

impl Providers {
    /// The configured providers; a malformed issuer or redirect URL stops the service at start.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let client = |provider: SocialProvider, settings: &OidcProviderSettings| {
            let any_set = settings.issuer_url.is_some()
                || settings.client_id.is_some()
                || settings.client_secret.is_some()
                || settings.redirect_url.is_some();
            if any_set && settings.configured().is_none() {
                tracing::warn!(
                    provider = provider.as_str(),
                    "social sign-in is off: its issuer_url, client_id and redirect_url must all be set"
                );
            }
            settings
                .configured()
                .map(|p| {
                    anyhow::Ok(ProviderClient {
                        provider,
                        issuer: IssuerUrl::new(p.issuer_url.trim().to_owned()).map_err(|e| {
                            anyhow::anyhow!("{}.issuer_url is not a URL: {e}", provider.as_str())
                        })?,
                        client_id: ClientId::new(p.client_id.trim().to_owned()),
                        client_secret: p
                            .client_secret
                            .map(|s| ClientSecret::new(s.expose_secret().to_owned())),
                        redirect: RedirectUrl::new(p.redirect_url.trim().to_owned()).map_err(
                            |e| {
                                anyhow::anyhow!(
                                    "{}.redirect_url is not a URL: {e}",
                                    provider.as_str()
                                )
                            },
                        )?,
                        metadata: Mutex::new(None),
                    })
                })
                .transpose()
        };
        Ok(Self {
            // Never follow redirects: a provider's endpoints answer themselves (and following
            // them would let a redirect point our requests anywhere).
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()?,
            google: client(SocialProvider::Google, &settings.google)?,
            apple: client(SocialProvider::Apple, &settings.apple)?,
        })
    }

    /// The providers members can sign in with here.
    pub fn configured(&self) -> Vec<SocialProvider> {
        [&self.google, &self.apple]
            .into_iter()
            .flatten()
            .map(|p| p.provider)
            .collect()
    }

    fn get(&self, provider: SocialProvider) -> Result<&ProviderClient, ApiError> {
        match provider {
            SocialProvider::Google => self.google.as_ref(),
            SocialProvider::Apple => self.apple.as_ref(),
        }
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "signing in with {} is not configured",
                provider.as_str()
            ))
        })
    }
}

impl ProviderClient {
    /// A client from the provider's discovery document and keys, read again when `refresh` or
    /// when they are older than [`METADATA_TTL`].
    async fn client(
        &self,
        http: &reqwest::Client,
        refresh: bool,
    ) -> Result<DiscoveredClient, ApiError> {
        let mut cached = self.metadata.lock().await;
        let fresh = cached
            .as_ref()
            .is_some_and(|(read, _)| !refresh && read.elapsed() < METADATA_TTL);
        if !fresh {
            let metadata = CoreProviderMetadata::discover_async(self.issuer.clone(), http)
                .await
                .map_err(|e| {
                    tracing::warn!(provider = self.provider.as_str(), error = %e, "OpenID Connect discovery failed");
                    ApiError::Unavailable(format!(
                        "{} cannot be reached; try again in a moment",
                        self.provider.as_str()
                    ))
                })?;
            *cached = Some((Instant::now(), metadata));
        }
        let metadata = cached.as_ref().map(|(_, m)| m.clone()).expect("just read");
        drop(cached);
        // The secret goes in the Authorization header unless the provider takes it in the
        // body only (Apple).
        let basic = metadata
            .token_endpoint_auth_methods_supported()
            .is_none_or(|methods| methods.contains(&CoreClientAuthMethod::ClientSecretBasic));
        let auth_type = if basic {
            AuthType::BasicAuth
        } else {
            AuthType::RequestBody
        };
        Ok(CoreClient::from_provider_metadata(
            metadata,
            self.client_id.clone(),
            self.client_secret.clone(),
        )
        .set_redirect_uri(self.redirect.clone())
        .set_auth_type(auth_type))
    }
}

/// A sign-in just started: where to send the member, and the state the provider will echo back.
pub struct Started {
    pub authorization_url: String,
    pub state: String,
    pub expires_in: u64,
}

/// Starts signing in with `provider`.
pub async fn start(
    ctx: &Context,
    client_ip: &str,
    provider: SocialProvider,
) -> Result<Started, ApiError> {
    ctx.limits.admit(client_ip, None).await?;
    let configured = ctx.social.get(provider)?;
    let client = configured.client(&ctx.social.http, false).await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for scope in provider.scopes() {
        request = request.add_scope(Scope::new((*scope).to_owned()));
    }
    if let Some(mode) = provider.response_mode() {
        request = request.add_extra_param("response_mode", mode);
    }
    let (url, state, nonce) = request.url();
    let pending = PendingSignIn {
        provider,
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
    };
    let ttl = ctx.settings.social_login_ttl_secs.max(1);
    let mut redis = redis(ctx).await?;
    let _: () = redis
        .set_ex(
            pending_key(ctx, state.secret()),
            serde_json::to_string(&pending).map_err(anyhow::Error::from)?,
            ttl,
        )
        .await
        .map_err(unavailable)?;
    Ok(Started {
        authorization_url: url.to_string(),
        state: state.secret().clone(),
        expires_in: ttl,
    })
}

/// Finishes signing in with `provider`: `code` and `state` are what the provider sent back.
pub async fn callback(
    ctx: &Context,
    client_ip: &str,
    provider: SocialProvider,
    code: &str,
    state: &str,
) -> Result<sessions::Session, ApiError> {
    ctx.limits.admit(client_ip, None).await?;
    let configured = ctx.social.get(provider)?;
    let pending = take_pending(ctx, state)
        .await?
        .filter(|p| p.provider == provider)
        .ok_or_else(|| ApiError::Unprocessable {
            slug: "social-login-state-invalid",
            detail: "this sign-in is unknown, expired or already finished; start again".into(),
        })?;
    let identity = verify(ctx, configured, code, pending).await?;
    sign_in(ctx, provider, identity).await
}

async fn redis(ctx: &Context) -> Result<deadpool_redis::Connection, ApiError> {
    ctx.redis.get().await.map_err(|e| {
        tracing::error!(error = %e, "Redis unavailable: social sign-in cannot keep its state");
        ApiError::Unavailable("signing in is unavailable; try again in a moment".into())
    })
}

fn unavailable(e: deadpool_redis::redis::RedisError) -> ApiError {
    tracing::error!(error = %e, "Redis error: social sign-in state");
    ApiError::Unavailable("signing in is unavailable; try again in a moment".into())
}

fn pending_key(ctx: &Context, state: &str) -> String {
    format!(
        "{}:social:{state}",
        ctx.settings.service.redis_namespace("users")
    )
}

/// Takes the sign-in kept under `state`: a second callback with the same state finds nothing.
async fn take_pending(ctx: &Context, state: &str) -> Result<Option<PendingSignIn>, ApiError> {
    if !plausible_state(state) {
        return Ok(None);
    }
    let mut redis = redis(ctx).await?;
    let stored: Option<String> = deadpool_redis::redis::cmd("GETDEL")
        .arg(pending_key(ctx, state))
        .query_async(&mut redis)
        .await
        .map_err(unavailable)?;
    Ok(stored.and_then(|s| serde_json::from_str(&s).ok()))
}

fn token_invalid(detail: String) -> ApiError {
    ApiError::Unprocessable {
        slug: "social-login-token-invalid",
        detail,
    }
}

/// Exchanges the code and verifies the ID token that comes with it.
async fn verify(
    ctx: &Context,
    configured: &ProviderClient,
    code: &str,
    pending: PendingSignIn,
) -> Result<VerifiedIdentity, ApiError> {
    let name = configured.provider.as_str();
    let client = configured.client(&ctx.social.http, false).await?;
    let response = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| anyhow::anyhow!("{name} has no token endpoint: {e}"))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
        .request_async(&ctx.social.http)
        .await
        .map_err(|e| match e {
            RequestTokenError::ServerResponse(refusal) => {
                tracing::info!(provider = name, error = %refusal.error(), "the provider refused the code");
                ApiError::Unprocessable {
                    slug: "social-login-code-rejected",
                    detail: format!(
                        "{name} refused the sign-in ({}); start again",
                        refusal.error()
                    ),
                }
            }
            other => {
                tracing::warn!(provider = name, error = %other, "exchanging the code failed");
                ApiError::Unavailable(format!("{name} cannot be reached; try again in a moment"))
            }
        })?;
    let id_token = response
        .id_token()
        .ok_or_else(|| token_invalid(format!("{name} sent no ID token")))?;
    let nonce = Nonce::new(pending.nonce);
    let verified = match id_token.claims(&client.id_token_verifier(), &nonce) {
        Ok(claims) => claims.clone(),
        // The provider may have rotated its keys since we read them: read them again, once.
        Err(ClaimsVerificationError::SignatureVerification(_)) => {
            let refreshed = configured.client(&ctx.social.http, true).await?;
            let verifier = refreshed.id_token_verifier();
            let claims = id_token
                .claims(&verifier, &nonce)
                .map_err(|e| refused(name, &e))?
                .clone();
            claims
        }
        Err(e) => return Err(refused(name, &e)),
    };
    Ok(VerifiedIdentity {
        issuer: verified.issuer().to_string(),
        subject: verified.subject().to_string(),
        email: verified.email().map(|e| e.to_string()),
        email_verified: verified.email_verified().unwrap_or(false),
        given_name: verified
            .given_name()
            .and_then(|c| c.get(None))
            .map(|n| n.to_string()),
        family_name: verified
            .family_name()
            .and_then(|c| c.get(None))
            .map(|n| n.to_string()),
    })
}

/// Why an ID token was refused, in words a member's app can show; the details are logged.
fn refused(provider: &str, error: &ClaimsVerificationError) -> ApiError {
    tracing::warn!(provider, error = %error, "ID token refused");
    let why = match error {
        ClaimsVerificationError::Expired(_) => "it has expired",
        ClaimsVerificationError::InvalidAudience(_) => "it was issued to another application",
        ClaimsVerificationError::InvalidIssuer(_) => "it was issued by someone else",
        ClaimsVerificationError::InvalidNonce(_) => "it belongs to another sign-in (nonce)",
        ClaimsVerificationError::SignatureVerification(_) => "its signature does not verify",
        _ => "it does not pass verification",
    };
    token_invalid(format!(
        "the identity token from {provider} was refused: {why}"
    ))
}

/// Signs in the member the verified identity names, finding, tying or creating the account.
async fn sign_in(
    ctx: &Context,
    provider: SocialProvider,
    identity: VerifiedIdentity,
) -> Result<sessions::Session, ApiError> {
    let mut tx = ctx.pool.begin().await?;
    // A member who signed in with this provider before, whatever their address there now.
    if let Some(user_id) =
        storage::identities::find_user(&mut tx, &identity.issuer, &identity.subject).await?
    {
        if let Some(user) = storage::users::find_by_id(&mut tx, &ctx.pii, user_id).await? {
            members_only(&user)?;
            let session = sessions::start(&mut tx, ctx, user).await?;
            tx.commit().await?;
            tracing::info!(%user_id, provider = provider.as_str(), "member signed in");
            return Ok(session);
        }
    }
    let email = identity.verified_email().map_err(|refusal| match refusal {
        EmailRefusal::Unverified | EmailRefusal::Missing => ApiError::Unprocessable {
            slug: "social-login-email-unverified",
            detail: format!(
                "{} cannot sign you in: {refusal}; sign in with your password or register",
                provider.as_str()
            ),
        },
        EmailRefusal::Invalid => token_invalid(refusal.to_string()),
    })?;
    let user = match storage::users::find_by_email(&mut tx, &ctx.pii, &email).await? {
        Some(user) => claim(&mut tx, ctx, user).await?,
        None => {
            let (first_name, last_name) = identity.names();
            let hash = passwords::unusable().await?;
            let id = Uuid::now_v7();
            match storage::users::insert_verified(
                &mut tx,
                &ctx.pii,
                id,
                &email,
                (&first_name, &last_name),
                &hash,
            )
            .await?
            {
                Inserted::Created => {
                    let event = publishes::user_registered(id, Role::Customer, false);
                    events::outbox::enqueue(&mut tx, &event).await?;
                    tracing::info!(user_id = %id, provider = provider.as_str(), "member registered");
                }
                // Registered by someone else a moment ago: the unique address decides, and
                // the next sign-in finds that account.
                Inserted::EmailTaken => {
                    return Err(ApiError::Conflict {
                        slug: "social-login-conflict",
                        detail: "this address was registered just now; sign in again".into(),
                    })
                }
            }
            storage::users::find_by_id(&mut tx, &ctx.pii, id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("the account just created is missing"))?
        }
    };
    storage::identities::link(&mut tx, &identity.issuer, &identity.subject, user.id).await?;
    let user_id = user.id;
    let session = sessions::start(&mut tx, ctx, user).await?;
    tx.commit().await?;
    tracing::info!(%user_id, provider = provider.as_str(), "member signed in");
    Ok(session)
}

/// Signing in with a provider is for members: staff accounts use their password.
fn members_only(user: &User) -> Result<(), ApiError> {
    if user.role.is_staff() {
        return Err(ApiError::Forbidden(
            "staff accounts sign in with their password".into(),
        ));
    }
    Ok(())
}

/// An existing member account the provider verified the address of. If its owner never
/// confirmed the address, whoever registered it may not be its owner: its password stops
/// working and its sessions end (the owner can set a password by password reset), and the
/// address counts as confirmed from now on.
async fn claim(
    conn: &mut sqlx::PgConnection,
    ctx: &Context,
    mut user: User,
) -> Result<User, ApiError> {
    members_only(&user)?;
    if user.email_verified_at.is_none() {
        let hash = passwords::unusable().await?;
        storage::users::set_password(conn, user.id, &hash).await?;
        sessions::sign_out_everywhere(conn, ctx, user.id, RevokeReason::AccountClaimed).await?;
        storage::users::mark_verified(conn, user.id, Channel::Email).await?;
        user.password_hash = hash;
        user.email_verified_at = Some(chrono::Utc::now());
        tracing::info!(user_id = %user.id, "unconfirmed account claimed by its verified owner");
    }
    Ok(user)
}
