//! The providers' signing keys: RSA keys shipped with the sandbox (they sign test tokens only,
//! so they are public by design), RS256 signatures, and the JWKS that publishes them.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::rand::SystemRandom;
use ring::rsa::PublicKeyComponents;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde_json::{json, Value};

pub const GOOGLE_PEM: &str = include_str!("keys/google.pem");
pub const APPLE_PEM: &str = include_str!("keys/apple.pem");
/// Signs the `+bad-signature` test users' tokens: published by no provider.
pub const ROGUE_PEM: &str = include_str!("keys/rogue.pem");

pub struct SigningKey {
    kid: String,
    pair: RsaKeyPair,
    rng: SystemRandom,
}

impl SigningKey {
    /// A PKCS#8 PEM private key, published under `kid`.
    pub fn from_pem(kid: &str, pem: &str) -> anyhow::Result<Self> {
        let body: String = pem
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect();
        let der = STANDARD.decode(body.trim())?;
        let pair = RsaKeyPair::from_pkcs8(&der)
            .map_err(|e| anyhow::anyhow!("the sandbox's RSA key does not load: {e}"))?;
        Ok(Self {
            kid: kid.to_owned(),
            pair,
            rng: SystemRandom::new(),
        })
    }

    /// A compact JWS (RS256) of `claims`.
    pub fn sign(&self, claims: &Value) -> anyhow::Result<String> {
        let header = json!({ "alg": "RS256", "kid": self.kid, "typ": "JWT" });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?)
        );
        let mut signature = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| anyhow::anyhow!("signing an ID token"))?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    /// The public half as a JWK (RFC 7517).
    pub fn jwk(&self) -> Value {
        let public: PublicKeyComponents<Vec<u8>> = self.pair.public().into();
        json!({
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(strip_leading_zeros(&public.n)),
            "e": URL_SAFE_NO_PAD.encode(strip_leading_zeros(&public.e)),
        })
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::RSA_PKCS1_2048_8192_SHA256;

    fn verifies(jwk: &Value, token: &str) -> bool {
        let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
        let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
        let (input, signature) = token.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        PublicKeyComponents { n, e }
            .verify(&RSA_PKCS1_2048_8192_SHA256, input.as_bytes(), &signature)
            .is_ok()
    }

    #[test]
    fn a_token_verifies_with_its_jwk_and_not_with_another() {
        let google = SigningKey::from_pem("g1", GOOGLE_PEM).unwrap();
        let rogue = SigningKey::from_pem("g1", ROGUE_PEM).unwrap();
        let token = google.sign(&json!({ "sub": "1" })).unwrap();
        assert!(verifies(&google.jwk(), &token));
        assert!(!verifies(&rogue.jwk(), &token));
        let forged = rogue.sign(&json!({ "sub": "1" })).unwrap();
        assert!(!verifies(&google.jwk(), &forged));
    }
}
