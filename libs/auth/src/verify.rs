use crate::claims::{Claims, AUDIENCE, ISSUER};
use crate::principal::Principal;
use crate::signing::Jwks;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use platform::ApiError;
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How often an unknown key id may trigger a JWKS refetch: a flood of tokens with made-up key
/// ids must not turn into a flood of requests to the user service.
const REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// Verifies access tokens against the user service's published keys, fetched once and cached;
/// a token signed with a key not yet seen (after a rotation) triggers a refetch.
pub struct JwtVerifier {
    source: KeySource,
    keys: RwLock<HashMap<String, DecodingKey>>,
    last_fetch: Mutex<Option<Instant>>,
    validation: Validation,
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
            source,
            keys: RwLock::new(HashMap::new()),
            last_fetch: Mutex::new(None),
            validation,
        }
    }

    pub fn install(&self, jwks: &Jwks) {
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

    pub async fn verify(&self, token: &str) -> Result<Principal, ApiError> {
        let invalid = |why: &str| ApiError::Unauthorized(format!("invalid access token: {why}"));
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("malformed"))?;
        if header.alg != Algorithm::EdDSA {
            return Err(invalid("unsupported algorithm"));
        }
        let kid = header.kid.ok_or_else(|| invalid("no key id"))?;
        if !self.has_key(&kid) {
            self.refresh().await;
        }
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
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
        Ok(Principal {
            subject: claims.sub,
            kind: claims.kind,
            role: claims.role,
            scopes: claims.scopes,
        })
    }

    fn has_key(&self, kid: &str) -> bool {
        self.keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(kid)
    }

    async fn refresh(&self) {
        let KeySource::Url { url, http } = &self.source else {
            return;
        };
        let mut last = self.last_fetch.lock().await;
        if last.is_some_and(|t| t.elapsed() < REFETCH_INTERVAL) {
            return;
        }
        *last = Some(Instant::now());
        let fetched = async {
            let response = http.get(url).send().await?.error_for_status()?;
            response.json::<Jwks>().await
        }
        .await;
        match fetched {
            Ok(jwks) => self.install(&jwks),
            Err(e) => tracing::warn!(error = %e, %url, "could not fetch the JWKS"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::{PrincipalKind, Role};
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
