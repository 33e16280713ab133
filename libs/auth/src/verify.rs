use crate::claims::{Access, Claims, AUDIENCE, ISSUER};
use crate::principal::Principal;
use crate::revocation::{self, RevocationList};
use crate::signing::Jwks;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use platform::redis::RedisPool;
use platform::ApiError;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use uuid::Uuid;

/// How often an unknown key id may trigger a JWKS refetch: a flood of tokens with made-up key
/// ids must not turn into a flood of requests to the user service.
const REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// How many verified tokens a verifier remembers; when full it starts again from empty.
const VERIFIED_CAPACITY: usize = 20_000;

/// Verifies access tokens against the user service's published keys, fetched once and cached;
/// a token signed with a key not yet seen (after a rotation) triggers a refetch.
///
/// A token whose signature checked out is remembered until it expires, so a member's app
/// calling again with the same token costs a map lookup instead of an Ed25519 verification;
/// expiry, revocation and that its key is still published are checked on every request.
pub struct JwtVerifier {
    keys: Arc<KeyCache>,
    revocations: RwLock<RevocationList>,
    validation: Validation,
    verified: RwLock<HashMap<String, Verified>>,
}

/// What a verified token said, kept until it expires.
#[derive(Clone)]
struct Verified {
    principal: Principal,
    session: Option<Uuid>,
    expires_at: i64,
    /// The key that signed it.
    kid: String,
}

/// The keys and how to fetch them, shared with the fetch task so that the fetch finishes (and
/// installs what it got) even when the request that started it is dropped half-way: a request
/// that fails on its body must not leave the key id stamped as fetched but never installed.
struct KeyCache {
    source: KeySource,
    keys: RwLock<HashMap<String, DecodingKey>>,
    last_fetch: Mutex<Option<Instant>>,
}

enum KeySource {
    Url { url: String, http: reqwest::Client },
    Static,
}

impl JwtVerifier {
    pub fn from_url(jwks_url: impl Into<String>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("a reqwest client with a timeout always builds");
        Self::new(KeySource::Url {
            url: jwks_url.into(),
            http,
        })
    }

    /// For the user service itself, which holds its keys already.
    pub fn from_jwks(jwks: &Jwks) -> Self {
        let verifier = Self::new(KeySource::Static);
        verifier.install(jwks);
        verifier
    }

    fn new(source: KeySource) -> Self {
        // Only EdDSA: a token claiming `none`, HS256 or anything else is refused before any key is used.
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        Self {
            keys: Arc::new(KeyCache {
                source,
                keys: RwLock::new(HashMap::new()),
                last_fetch: Mutex::new(None),
            }),
            revocations: RwLock::new(RevocationList::default()),
            validation,
            verified: RwLock::new(HashMap::new()),
        }
    }

    pub fn install(&self, jwks: &Jwks) {
        self.keys.install(jwks)
    }

    pub async fn verify(&self, token: &str) -> Result<Principal, ApiError> {
        let invalid = |why: &str| ApiError::Unauthorized(format!("invalid access token: {why}"));
        let known = self
            .verified
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(token)
            .cloned();
        // A key that left the set (rotated out, however the set was refreshed) stops vouching
        // for the tokens it signed: those go through the full check again, and fail it.
        let known = known.filter(|verified| self.keys.has(&verified.kid));
        let verified = match known {
            Some(verified) => {
                if chrono::Utc::now().timestamp()
                    > verified.expires_at + self.validation.leeway as i64
                {
                    return Err(invalid("expired"));
                }
                verified
            }
            None => {
                let verified = self.verify_signature(token).await?;
                let mut cache = self.verified.write().unwrap_or_else(|p| p.into_inner());
                if cache.len() >= VERIFIED_CAPACITY {
                    cache.clear();
                }
                cache.insert(token.to_owned(), verified.clone());
                verified
            }
        };
        let revoked = self
            .revocations
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .refuses(verified.principal.subject, verified.session);
        if revoked {
            return Err(invalid("revoked"));
        }
        Ok(verified.principal)
    }

    /// The full check of a token not seen before: algorithm, key, signature, issuer, audience,
    /// expiry.
    async fn verify_signature(&self, token: &str) -> Result<Verified, ApiError> {
        let invalid = |why: &str| ApiError::Unauthorized(format!("invalid access token: {why}"));
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("malformed"))?;
        if header.alg != Algorithm::EdDSA {
            return Err(invalid("unsupported algorithm"));
        }
        let kid = header.kid.ok_or_else(|| invalid("no key id"))?;
        if !self.keys.has(&kid) {
            self.refresh().await;
        }
        let keys = self.keys.keys.read().unwrap_or_else(|p| p.into_inner());
        let key = keys
            .get(&kid)
            .ok_or_else(|| invalid("unknown signing key"))?;
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => invalid("expired"),
                _ => invalid("signature or claims rejected"),
            }
        })?;
        let claims = data.claims;
        Ok(Verified {
            principal: Principal::from_access(
                claims.sub,
                claims.kind,
                Access {
                    role: claims.role,
                    scopes: claims.scopes,
                    business: claims.biz,
                    stores: claims.stores,
                },
            ),
            session: claims.sid,
            expires_at: claims.exp,
            kid,
        })
    }

    /// Fetches the JWKS unless a fetch happened in the last [`REFETCH_INTERVAL`]. The fetch runs
    /// as a task of its own: dropping this future does not stop it.
    async fn refresh(&self) {
        let keys = Arc::clone(&self.keys);
        if let Err(e) = tokio::spawn(async move { keys.refresh().await }).await {
            tracing::warn!(error = %e, "the JWKS fetch task failed");
        }
    }

    /// Copies revocations recorded since the last call from Redis (see [`crate::revocation`]).
    pub async fn sync_revocations(&self, redis: &RedisPool) -> anyhow::Result<()> {
        let from = self
            .revocations
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .read_from();
        let read = revocation::read(redis, from).await?;
        self.revocations
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .add(read);
        Ok(())
    }

    /// Whether any signing key is known: a service is not ready to serve before it can verify.
    pub fn has_keys(&self) -> bool {
        !self
            .keys
            .keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
    }

    /// Readiness: ready once the keys are fetched (the first check fetches them).
    pub fn readiness(verifier: Arc<JwtVerifier>) -> KeysReadiness {
        KeysReadiness(verifier)
    }
}

impl KeyCache {
    fn has(&self, kid: &str) -> bool {
        self.keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(kid)
    }

    fn install(&self, jwks: &Jwks) {
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        keys.clear();
        for jwk in &jwks.keys {
            if jwk.kty == "OKP" && jwk.crv == "Ed25519" {
                match DecodingKey::from_ed_components(&jwk.x) {
                    Ok(key) => {
                        keys.insert(jwk.kid.clone(), key);
                    }
                    Err(e) => {
                        tracing::warn!(kid = %jwk.kid, error = %e, "ignoring an unusable JWK")
                    }
                }
            }
        }
    }

    async fn refresh(&self) {
        let KeySource::Url { url, http } = &self.source else {
            return;
        };
        let mut last = self.last_fetch.lock().await;
        if last.is_some_and(|t| t.elapsed() < REFETCH_INTERVAL) {
            return;
        }
        let fetched = async {
            let response = http.get(url).send().await?.error_for_status()?;
            response.json::<Jwks>().await
        }
        .await;
        match fetched {
            Ok(jwks) => {
                self.install(&jwks);
                *last = Some(Instant::now());
            }
            // A failed fetch is stamped too, so an outage of the user service is not answered
            // with a fetch per request; it is retried after the interval.
            Err(e) => {
                *last = Some(Instant::now());
                tracing::warn!(error = %e, %url, "could not fetch the JWKS");
            }
        }
    }
}

/// `/health/ready` waits for the first JWKS: before it, every token would be refused.
pub struct KeysReadiness(Arc<JwtVerifier>);

impl platform::health::ReadinessCheck for KeysReadiness {
    fn name(&self) -> &'static str {
        "jwks"
    }

    fn check(&self) -> futures::future::BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            if !self.0.has_keys() {
                self.0.refresh().await;
            }
            anyhow::ensure!(self.0.has_keys(), "no token signing keys fetched yet");
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::{Access, PrincipalKind, Role};
    use crate::signing::SigningKey;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use uuid::Uuid;

    fn setup() -> (SigningKey, JwtVerifier) {
        let key = SigningKey::generate().unwrap();
        let verifier = JwtVerifier::from_jwks(&Jwks {
            keys: vec![key.jwk()],
        });
        (key, verifier)
    }

    #[tokio::test]
    async fn a_token_signed_by_a_published_key_verifies() {
        let (key, verifier) = setup();
        let member = Uuid::new_v4();
        let token = key
            .issue(
                member,
                PrincipalKind::User,
                Some(Role::Customer),
                vec![],
                900,
            )
            .unwrap();
        let principal = verifier.verify(&token).await.unwrap();
        assert!(principal.is_member(member));
        assert!(!principal.is_staff());
    }

    #[tokio::test]
    async fn a_staff_token_carries_its_business_and_stores() {
        let (key, verifier) = setup();
        let (business, store) = (Uuid::now_v7(), Uuid::now_v7());
        let token = key
            .issue_with(
                Uuid::now_v7(),
                PrincipalKind::User,
                Access::staff(Role::Cashier, Some(business), vec![store]),
                900,
            )
            .unwrap();
        let principal = verifier.verify(&token).await.unwrap();
        assert_eq!(principal.business, Some(business));
        assert_eq!(principal.stores, vec![store]);
        assert!(principal.has_role_at_store(business, store, &[Role::Cashier]));
        assert!(!principal.has_role_in(Uuid::now_v7(), &[Role::Cashier]));
    }

    #[tokio::test]
    async fn expired_tampered_and_foreign_tokens_are_refused() {
        let (key, verifier) = setup();
        let member = Uuid::new_v4();
        let expired = key
            .issue(
                member,
                PrincipalKind::User,
                Some(Role::Customer),
                vec![],
                -120,
            )
            .unwrap();
        assert!(verifier.verify(&expired).await.is_err());

        // Change the payload to claim the admin role: the signature no longer matches.
        let token = key
            .issue(
                member,
                PrincipalKind::User,
                Some(Role::Customer),
                vec![],
                900,
            )
            .unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["role"] = "admin".into();
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            parts[2]
        );
        assert!(verifier.verify(&forged).await.is_err());

        // `alg: none` with no signature.
        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        assert!(verifier
            .verify(&format!("{none_header}.{}.", parts[1]))
            .await
            .is_err());

        // Signed by a key the user service never published.
        let stranger = SigningKey::generate().unwrap();
        let foreign = stranger
            .issue(member, PrincipalKind::User, Some(Role::Admin), vec![], 900)
            .unwrap();
        assert!(verifier.verify(&foreign).await.is_err());
    }

    /// Serves `jwks` after `delay`, counting requests.
    async fn slow_jwks_server(
        jwks: Jwks,
        delay: Duration,
    ) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use actix_web::{web, App, HttpResponse, HttpServer};
        let served = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = served.clone();
        let jwks = web::Data::new(jwks);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            let counter = counter.clone();
            App::new().app_data(jwks.clone()).route(
                "/jwks.json",
                web::get().to(move |jwks: web::Data<Jwks>| {
                    let counter = counter.clone();
                    async move {
                        tokio::time::sleep(delay).await;
                        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        HttpResponse::Ok().json(jwks.get_ref())
                    }
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        (format!("http://127.0.0.1:{port}/jwks.json"), served)
    }

    #[tokio::test]
    async fn a_request_dropped_during_the_key_fetch_does_not_lock_its_key_out() {
        let key = SigningKey::generate().unwrap();
        let (url, served) = slow_jwks_server(
            Jwks {
                keys: vec![key.jwk()],
            },
            Duration::from_millis(300),
        )
        .await;
        let verifier = JwtVerifier::from_url(url);
        let token = key
            .issue(
                Uuid::new_v4(),
                PrincipalKind::User,
                Some(Role::Customer),
                vec![],
                900,
            )
            .unwrap();
        // The request that started the fetch goes away before the keys arrive (as actix drops a
        // handler whose body failed to parse).
        let dropped =
            tokio::time::timeout(Duration::from_millis(50), verifier.verify(&token)).await;
        assert!(dropped.is_err(), "the first verification was cut short");
        tokio::time::sleep(Duration::from_millis(600)).await;
        // Within the refetch interval, so no new fetch: the first one must have installed the key.
        assert!(verifier.verify(&token).await.is_ok());
        assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn readiness_waits_for_the_first_keys() {
        use platform::health::ReadinessCheck;
        let key = SigningKey::generate().unwrap();
        let verifier = Arc::new(JwtVerifier::from_url("http://127.0.0.1:9/unreachable"));
        assert!(JwtVerifier::readiness(verifier.clone())
            .check()
            .await
            .is_err());
        let (url, _) = slow_jwks_server(
            Jwks {
                keys: vec![key.jwk()],
            },
            Duration::ZERO,
        )
        .await;
        let verifier = Arc::new(JwtVerifier::from_url(url));
        assert!(!verifier.has_keys());
        assert!(JwtVerifier::readiness(verifier.clone())
            .check()
            .await
            .is_ok());
        assert!(verifier.has_keys());
    }

    #[tokio::test]
    async fn revoked_sessions_and_subjects_are_refused_once_synced() {
        use crate::revocation::{revoke, Revoked};
        let redis_url =
            std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let redis = platform::redis::connect(&redis_url.into()).unwrap();
        let (key, verifier) = setup();
        let member = Uuid::now_v7();
        let (phone, laptop) = (Uuid::now_v7(), Uuid::now_v7());
        let on_phone = key
            .issue_for_session(member, Access::member(), phone, 900)
            .unwrap();
        let on_laptop = key
            .issue_for_session(member, Access::member(), laptop, 900)
            .unwrap();
        verifier.sync_revocations(&redis).await.unwrap();
        assert!(verifier.verify(&on_phone).await.is_ok());

        // Logging out on the phone: that login's token stops working, the laptop's does not.
        revoke(&redis, Revoked::Session(phone)).await.unwrap();
        assert!(verifier.verify(&on_phone).await.is_ok(), "not synced yet");
        verifier.sync_revocations(&redis).await.unwrap();
        let refused = verifier.verify(&on_phone).await.unwrap_err();
        assert!(format!("{refused}").contains("revoked"), "{refused}");
        assert!(verifier.verify(&on_laptop).await.is_ok());

        // Erasure: every token of the member, whatever login it came from.
        revoke(&redis, Revoked::Subject(member)).await.unwrap();
        verifier.sync_revocations(&redis).await.unwrap();
        assert!(verifier.verify(&on_laptop).await.is_err());
        let someone_else = key
            .issue_for_session(Uuid::now_v7(), Access::member(), Uuid::now_v7(), 900)
            .unwrap();
        assert!(verifier.verify(&someone_else).await.is_ok());
    }

    #[tokio::test]
    async fn a_remembered_token_is_refused_once_it_expires() {
        let (key, verifier) = setup();
        // Two seconds of life left, counting the leeway for clock skew.
        let ttl = 2 - verifier.validation.leeway as i64;
        let token = key
            .issue(
                Uuid::now_v7(),
                PrincipalKind::User,
                Some(Role::Customer),
                vec![],
                ttl,
            )
            .unwrap();
        assert!(verifier.verify(&token).await.is_ok());
        assert!(verifier.verify(&token).await.is_ok(), "remembered");
        tokio::time::sleep(Duration::from_millis(3_100)).await;
        let refused = verifier.verify(&token).await.unwrap_err();
        assert!(format!("{refused}").contains("expired"), "{refused}");
    }

    #[tokio::test]
    async fn a_remembered_token_stops_working_when_its_key_leaves_the_set() {
        let (old, verifier) = setup();
        let token = old
            .issue(
                Uuid::now_v7(),
                PrincipalKind::User,
                Some(Role::Customer),
                vec![],
                900,
            )
            .unwrap();
        assert!(verifier.verify(&token).await.is_ok());
        // The user service rotated and retired the old key.
        let new = SigningKey::generate().unwrap();
        verifier.install(&Jwks {
            keys: vec![new.jwk()],
        });
        assert!(verifier.verify(&token).await.is_err());
    }

    #[tokio::test]
    async fn an_hs256_token_keyed_with_the_public_key_is_refused() {
        let (key, verifier) = setup();
        let public = URL_SAFE_NO_PAD.decode(key.jwk().x).unwrap();
        let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
        header.kid = Some(key.kid.clone());
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: Uuid::new_v4(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            exp: now + 900,
            jti: Uuid::new_v4(),
            kind: PrincipalKind::User,
            role: Some(Role::SuperAdmin),
            scopes: vec![],
            sid: None,
            biz: None,
            stores: vec![],
        };
        let token = jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&public),
        )
        .unwrap();
        assert!(verifier.verify(&token).await.is_err());
    }
}
