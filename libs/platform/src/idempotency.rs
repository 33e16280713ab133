//! Idempotency keys for retryable writes, in the service's own schema.
//!
//! A client sends `Idempotency-Key` with a write. The first request with a key claims it; the
//! response is stored when the work is done, and a retry with the same key and body gets that
//! response back. The same key with a different body is refused (422), and a retry while the first
//! request is still running is refused (409) rather than doing the work twice. Keys live 24 hours.
//!
//! A claim that never got its response (the process died mid-request) is not in flight forever:
//! once it is older than [`IN_FLIGHT_LEASE_SECS`], a retry with the same body takes it over and
//! is told so ([`ClaimedKey::resumed`]). Where the response is recorded in the transaction of the
//! work, no response means no work, and a resumed request simply does it. Where the work commits
//! first (a PSP call comes in between), the use case looks for its work under the key before
//! doing it again. Each claim is fenced by the time it was made: a request whose claim was taken
//! over can neither record its response nor release the key.

use crate::problem::ApiError;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

pub const HEADER: &str = "Idempotency-Key";
/// Set on a response that replays a stored one.
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";

/// How long a claim without a response is left to the request that made it. Longer than any
/// request takes: the slowest, a payment's, makes at most about five PSP calls one after the
/// other, each limited to 10 seconds by default (`PAYMENT__STRIPE__TIMEOUT_MS`,
/// `PAYMENT__PAYPAL__TIMEOUT_MS`). After it, the claim counts as abandoned (its process died)
/// and a retry takes it over.
pub const IN_FLIGHT_LEASE_SECS: i64 = 120;

/// The `idempotency_keys` table, migrated into every service's schema with its own migrations.
pub static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A validated key from the request header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(value: &str) -> Result<Self, ApiError> {
        let ok =
            !value.is_empty() && value.len() <= 255 && value.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(ApiError::validation(
                HEADER,
                "must be 1 to 255 printable ASCII characters",
            ))
        }
    }

    /// The header is required on this request.
    pub fn from_request(req: &HttpRequest) -> Result<Self, ApiError> {
        let value = req.headers().get(HEADER).ok_or_else(|| {
            ApiError::validation(HEADER, "this request requires an Idempotency-Key header")
        })?;
        Self::parse(
            value
                .to_str()
                .map_err(|_| ApiError::validation(HEADER, "must be ASCII"))?,
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A digest of what makes two requests "the same": method, path and body.
pub fn fingerprint(req: &HttpRequest, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str());
    hasher.update([0]);
    hasher.update(req.path());
    hasher.update([0]);
    hasher.update(body);
    hex::encode(hasher.finalize())
}

pub enum Outcome {
    /// This request owns the key: do the work, then `complete` (or `release` on failure).
    /// `resumed`: the key was taken over from an earlier request with the same body that never
    /// recorded its response; work that commits before its response may already exist.
    /// `claimed_at` fences the claim (see [`complete`]).
    Claimed {
        resumed: bool,
        claimed_at: DateTime<Utc>,
    },
    /// A previous request with this key finished: send its response again.
    Replay {
        status: u16,
        body: serde_json::Value,
    },
}

/// Claims `key` for `scope` (the caller: a member, a partner client). Runs in its own statement,
/// not in the caller's transaction, so a concurrent duplicate sees the claim at once.
pub async fn claim(
    pool: &PgPool,
    scope: &str,
    key: &IdempotencyKey,
    request_hash: &str,
) -> Result<Outcome, ApiError> {
    // An expired key (over 24 hours old) is taken over as if it were new.
    let claimed: Option<(DateTime<Utc>,)> = sqlx::query_as(
        "INSERT INTO idempotency_keys (scope, key, request_hash) VALUES ($1, $2, $3)
         ON CONFLICT (scope, key) DO UPDATE
            SET request_hash = EXCLUDED.request_hash, response_status = NULL,
                response_body = NULL, created_at = now()
          WHERE idempotency_keys.created_at < now() - interval '24 hours'
         RETURNING created_at",
    )
    .bind(scope)
    .bind(key.as_str())
    .bind(request_hash)
    .fetch_optional(pool)
    .await?;
    if let Some((claimed_at,)) = claimed {
        return Ok(Outcome::Claimed {
            resumed: false,
            claimed_at,
        });
    }
    // A claim of the same request abandoned without a response (its process died): taken over
    // by exactly one retry, since the row lock makes a concurrent one see the new time.
    let resumed: Option<(DateTime<Utc>,)> = sqlx::query_as(
        "UPDATE idempotency_keys SET created_at = now()
          WHERE scope = $1 AND key = $2 AND request_hash = $3 AND response_status IS NULL
            AND created_at < now() - make_interval(secs => $4)
         RETURNING created_at",
    )
    .bind(scope)
    .bind(key.as_str())
    .bind(request_hash)
    .bind(IN_FLIGHT_LEASE_SECS as f64)
    .fetch_optional(pool)
    .await?;
    if let Some((claimed_at,)) = resumed {
        tracing::warn!(%scope, "idempotency key resumed after its request was abandoned");
        return Ok(Outcome::Claimed {
            resumed: true,
            claimed_at,
        });
    }
    let existing: Option<(String, Option<i16>, Option<serde_json::Value>)> = sqlx::query_as(
        "SELECT request_hash, response_status, response_body FROM idempotency_keys WHERE scope = $1 AND key = $2",
    )
    .bind(scope)
    .bind(key.as_str())
    .fetch_optional(pool)
    .await?;
    match existing {
        // Released between our two statements: the client may simply retry.
        None => Err(in_flight()),
        Some((hash, _, _)) if hash != request_hash => Err(reused()),
        Some((_, Some(status), Some(body))) => Ok(Outcome::Replay {
            status: status as u16,
            body,
        }),
        Some(_) => Err(in_flight()),
    }
}

fn reused() -> ApiError {
    ApiError::Unprocessable {
        slug: "idempotency-key-reused",
        detail: "this Idempotency-Key was already used with a different request".into(),
    }
}

fn in_flight() -> ApiError {
    ApiError::Conflict {
        slug: "idempotency-key-in-use",
        detail: "a request with this Idempotency-Key is still being processed; retry later".into(),
    }
}

/// Stores the response for replays. Call it inside the transaction that commits the work, so the
/// work and its recorded response commit together. Refused with 409 if the claim made at
/// `claimed_at` is no longer this request's (a retry took it over after the in-flight lease):
/// the transaction then rolls back and the retry's outcome stands.
pub async fn complete(
    conn: &mut sqlx::PgConnection,
    scope: &str,
    key: &IdempotencyKey,
    claimed_at: DateTime<Utc>,
    status: u16,
    body: &serde_json::Value,
) -> Result<(), ApiError> {
    let done = sqlx::query(
        "UPDATE idempotency_keys SET response_status = $4, response_body = $5
          WHERE scope = $1 AND key = $2 AND created_at = $3 AND response_status IS NULL",
    )
    .bind(scope)
    .bind(key.as_str())
    .bind(claimed_at)
    .bind(status as i16)
    .bind(body)
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        tracing::warn!(%scope, "idempotency key was taken over before its response was recorded");
        return Err(in_flight());
    }
    Ok(())
}

/// Frees the key claimed at `claimed_at` after a failure that did no work, so the client can
/// retry it. A claim taken over by a retry is left alone.
pub async fn release(pool: &PgPool, scope: &str, key: &IdempotencyKey, claimed_at: DateTime<Utc>) {
    let result = sqlx::query(
        "DELETE FROM idempotency_keys
          WHERE scope = $1 AND key = $2 AND created_at = $3 AND response_status IS NULL",
    )
    .bind(scope)
    .bind(key.as_str())
    .bind(claimed_at)
    .execute(pool)
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not release an idempotency key; it expires in 24 hours");
    }
}

/// Deletes keys past their 24 hours; run periodically.
pub async fn purge_expired(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let done =
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours'")
            .execute(pool)
            .await?;
    Ok(done.rows_affected())
}

/// Stored responses mirrored in Redis, so that retries (a client's network hiccup, a double
/// click) are answered without a database round trip. Postgres stays the record of truth: a
/// miss, or Redis being down, falls through to [`claim`].
#[derive(Clone)]
pub struct ResponseCache {
    redis: crate::redis::RedisPool,
    namespace: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CachedResponse {
    request_hash: String,
    status: u16,
    body: serde_json::Value,
}

/// How long keys are kept, in Redis as in Postgres.
const KEPT_SECS: u64 = 24 * 60 * 60;

impl ResponseCache {
    pub fn new(redis: crate::redis::RedisPool, namespace: String) -> Self {
        Self { redis, namespace }
    }

    fn redis_key(&self, scope: &str, key: &IdempotencyKey) -> String {
        let mut hasher = Sha256::new();
        hasher.update(scope);
        hasher.update([0]);
        hasher.update(key.as_str());
        format!(
            "{}:idempotency:{}",
            self.namespace,
            hex::encode(hasher.finalize())
        )
    }

    /// A finished request with this key: its response to replay, or 422 if the body differs.
    pub async fn lookup(
        &self,
        scope: &str,
        key: &IdempotencyKey,
        request_hash: &str,
    ) -> Option<Result<Outcome, ApiError>> {
        use deadpool_redis::redis::AsyncCommands;
        let mut conn = self.redis.get().await.ok()?;
        let raw: Option<String> = conn
            .get(self.redis_key(scope, key))
            .await
            .inspect_err(|e| tracing::warn!(error = %e, "idempotency cache unavailable"))
            .ok()?;
        let cached: CachedResponse = serde_json::from_str(&raw?).ok()?;
        Some(if cached.request_hash == request_hash {
            Ok(Outcome::Replay {
                status: cached.status,
                body: cached.body,
            })
        } else {
            Err(reused())
        })
    }

    /// Mirrors a response that has been committed to Postgres.
    pub async fn store(
        &self,
        scope: &str,
        key: &IdempotencyKey,
        request_hash: &str,
        status: u16,
        body: &serde_json::Value,
    ) {
        use deadpool_redis::redis::AsyncCommands;
        let value = CachedResponse {
            request_hash: request_hash.to_owned(),
            status,
            body: body.clone(),
        };
        let Ok(value) = serde_json::to_string(&value) else {
            return;
        };
        let stored: Result<(), String> = async {
            let mut conn = self.redis.get().await.map_err(|e| e.to_string())?;
            conn.set_ex::<_, _, ()>(self.redis_key(scope, key), value, KEPT_SECS)
                .await
                .map_err(|e| e.to_string())
        }
        .await;
        if let Err(e) = stored {
            tracing::warn!(error = %e, "could not cache an idempotent response");
        }
    }
}

/// Where a service keeps its idempotency keys: the table in its schema, mirrored in Redis.
#[derive(Clone)]
pub struct IdempotencyStore {
    pool: PgPool,
    cache: ResponseCache,
}

impl IdempotencyStore {
    pub fn new(pool: PgPool, cache: ResponseCache) -> Self {
        Self { pool, cache }
    }
}

/// The idempotency key a request holds, with what the use case needs to record its response in
/// the transaction that does the work.
#[derive(Debug, Clone, Copy)]
pub struct ClaimedKey<'a> {
    pub scope: &'a str,
    pub key: &'a IdempotencyKey,
    /// Taken over from an earlier request with the same body that never recorded its response
    /// (see [`Outcome::Claimed`]): a use case whose work commits before its response looks for
    /// that work under the key first.
    pub resumed: bool,
    /// When this request claimed the key: the fence of [`complete`] and [`release`].
    pub claimed_at: DateTime<Utc>,
}

impl ClaimedKey<'_> {
    /// Stores the response inside the caller's transaction (see [`complete`]).
    pub async fn complete(
        &self,
        conn: &mut sqlx::PgConnection,
        status: u16,
        body: &serde_json::Value,
    ) -> Result<(), ApiError> {
        complete(conn, self.scope, self.key, self.claimed_at, status, body).await
    }

    /// Frees the key after a failure that did no work (see [`release`]).
    pub async fn release(&self, pool: &PgPool) {
        release(pool, self.scope, self.key, self.claimed_at).await
    }

    /// Passes a use case's outcome through, freeing the key when it failed: the work rolled
    /// back, so a retry with the same key must be able to do it.
    pub async fn release_on_error<T>(
        &self,
        pool: &PgPool,
        outcome: Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        if outcome.is_err() {
            self.release(pool).await;
        }
        outcome
    }
}

/// An idempotent write in progress, as a route handler sees it: [`IdempotentWrite::begin`]
/// claims the request's key or answers a retry with the stored response; the use case records
/// its response with [`IdempotentWrite::claimed`] in its own transaction; [`IdempotentWrite::finish`]
/// mirrors it to Redis and sends it.
pub struct IdempotentWrite {
    scope: String,
    key: IdempotencyKey,
    request_hash: String,
    resumed: bool,
    claimed_at: DateTime<Utc>,
}

impl IdempotentWrite {
    /// Claims the key of `req` for `scope` (the caller: a member, a partner client), or returns
    /// the response to send instead: the stored one for a retry, an error for a reused or
    /// in-flight key. `body` is the request body as received (or a redacted form of it, for
    /// requests that carry secrets).
    pub async fn begin(
        store: &IdempotencyStore,
        req: &HttpRequest,
        scope: String,
        body: &[u8],
    ) -> Result<Result<Self, HttpResponse>, ApiError> {
        let key = IdempotencyKey::from_request(req)?;
        let request_hash = fingerprint(req, body);
        let outcome = match store.cache.lookup(&scope, &key, &request_hash).await {
            Some(cached) => cached?,
            None => claim(&store.pool, &scope, &key, &request_hash).await?,
        };
        Ok(match outcome {
            Outcome::Claimed {
                resumed,
                claimed_at,
            } => Ok(Self {
                scope,
                key,
                request_hash,
                resumed,
                claimed_at,
            }),
            Outcome::Replay { status, body } => Err(json_response(status, &body, true)?),
        })
    }

    pub fn claimed(&self) -> ClaimedKey<'_> {
        ClaimedKey {
            scope: &self.scope,
            key: &self.key,
            resumed: self.resumed,
            claimed_at: self.claimed_at,
        }
    }

    /// Whether the key was taken over from an abandoned request (see [`ClaimedKey::resumed`]).
    pub fn resumed(&self) -> bool {
        self.resumed
    }

    /// The response, once Postgres holds it: mirrored to the cache, then sent.
    pub async fn finish(
        self,
        store: &IdempotencyStore,
        (status, body): (u16, serde_json::Value),
    ) -> Result<HttpResponse, ApiError> {
        store
            .cache
            .store(&self.scope, &self.key, &self.request_hash, status, &body)
            .await;
        json_response(status, &body, false)
    }

    /// Gives the key up after a failure that did no work, so the client can retry it.
    pub async fn release(self, store: &IdempotencyStore) {
        release(&store.pool, &self.scope, &self.key, self.claimed_at).await
    }
}

fn json_response(
    status: u16,
    body: &serde_json::Value,
    replayed: bool,
) -> Result<HttpResponse, ApiError> {
    let status = StatusCode::from_u16(status).map_err(|e| ApiError::Internal(e.into()))?;
    let mut response = HttpResponse::build(status);
    if replayed {
        response.insert_header((REPLAYED_HEADER, "true"));
    }
    Ok(response.json(body))
}
