use crate::claims::{Access, Claims, PrincipalKind, Role, AUDIENCE, ISSUER};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An Ed25519 key pair the user service signs access tokens with.
pub struct SigningKey {
    pub kid: String,
    pkcs8: Vec<u8>,
    public: Vec<u8>,
    encoding: EncodingKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    pub fn generate() -> anyhow::Result<Self> {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| anyhow::anyhow!("generating an Ed25519 key failed"))?;
        Self::from_pkcs8(&Uuid::now_v7().simple().to_string(), pkcs8.as_ref())
    }

    pub fn from_pkcs8(kid: &str, pkcs8: &[u8]) -> anyhow::Result<Self> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
            .map_err(|e| anyhow::anyhow!("invalid Ed25519 key: {e}"))?;
        Ok(Self {
            kid: kid.to_owned(),
            pkcs8: pkcs8.to_vec(),
            public: pair.public_key().as_ref().to_vec(),
            encoding: EncodingKey::from_ed_der(pkcs8),
        })
    }

    /// The private key, for storing it. Handle with care.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    pub fn jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            alg: "EdDSA".into(),
            key_use: "sig".into(),
            kid: self.kid.clone(),
            x: URL_SAFE_NO_PAD.encode(&self.public),
        }
    }

    /// Signs an access token for a user (member or staff) or a partner client that acts in no
    /// business: members and super admins (staff and partners: [`Self::issue_with`]).
    pub fn issue(
        &self,
        subject: Uuid,
        kind: PrincipalKind,
        role: Option<Role>,
        scopes: Vec<String>,
        ttl_secs: i64,
    ) -> anyhow::Result<String> {
        let access = Access {
            role,
            scopes,
            ..Access::default()
        };
        self.sign(subject, kind, access, None, ttl_secs)
    }

    /// Signs an access token carrying `access` (role, scopes, business, stores).
    pub fn issue_with(
        &self,
        subject: Uuid,
        kind: PrincipalKind,
        access: Access,
        ttl_secs: i64,
    ) -> anyhow::Result<String> {
        self.sign(subject, kind, access, None, ttl_secs)
    }

    /// A member's or staff user's token for one login (`sid`: the refresh-token family), which
    /// a logout revokes.
    pub fn issue_for_session(
        &self,
        subject: Uuid,
        access: Access,
        sid: Uuid,
        ttl_secs: i64,
    ) -> anyhow::Result<String> {
        self.sign(subject, PrincipalKind::User, access, Some(sid), ttl_secs)
    }

    fn sign(
        &self,
        subject: Uuid,
        kind: PrincipalKind,
        access: Access,
        sid: Option<Uuid>,
        ttl_secs: i64,
    ) -> anyhow::Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: subject,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            exp: now + ttl_secs,
            jti: Uuid::new_v4(),
            kind,
            role: access.role,
            scopes: access.scopes,
            sid,
            biz: access.business,
            stores: access.stores,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, &claims, &self.encoding)?)
    }
}

/// One public key, as RFC 8037 writes an Ed25519 key.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub key_use: String,
    pub kid: String,
    pub x: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}
