//! Counter tokens: what a member's app shows as a QR code at a store's counter, so the cashier
//! can find the member without asking for contact details. A token names one member and one
//! business, lives for a minute, is signed with a key derived from the PII key, and is accepted
//! once (the nonce is remembered until the token expires; see `core::counter`).
//!
//! Wire form: `ct1.<payload>.<signature>`, both parts unpadded base64url; the payload is the
//! business id, the member id (16 bytes each), the expiry in Unix seconds (8 bytes, big endian)
//! and a 12-byte random nonce. About 120 characters: a small QR code.

use super::PiiCipher;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use ring::rand::{SecureRandom, SystemRandom};
use uuid::Uuid;

const PREFIX: &str = "ct1";
const NONCE_LEN: usize = 12;
const PAYLOAD_LEN: usize = 16 + 16 + 8 + NONCE_LEN;
/// How long a token is accepted. The app asks for a new one before it runs out, so a screenshot
/// or a photo of the screen is of no use a minute later.
pub const LIFETIME: Duration = Duration::seconds(60);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterToken {
    pub business: Uuid,
    pub member: Uuid,
    pub expires_at: DateTime<Utc>,
    pub nonce: [u8; NONCE_LEN],
}

/// Why a presented token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CounterTokenError {
    #[error("this is not a counter token, or it was altered")]
    Invalid,
    #[error("this counter token expired at {0}; ask the member to show a fresh one")]
    Expired(DateTime<Utc>),
    #[error("this counter token was issued for another business")]
    OtherBusiness,
}

impl CounterToken {
    /// A fresh token for `member` at `business`, valid for [`LIFETIME`] from `now`.
    pub fn new(member: Uuid, business: Uuid, now: DateTime<Utc>) -> anyhow::Result<Self> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| anyhow::anyhow!("no randomness for a counter token"))?;
        Ok(Self {
            business,
            member,
            // Whole seconds: the wire form carries no fraction.
            expires_at: DateTime::from_timestamp((now + LIFETIME).timestamp(), 0)
                .unwrap_or(now + LIFETIME),
            nonce,
        })
    }

    pub fn encode(&self, keys: &PiiCipher) -> String {
        let mut payload = Vec::with_capacity(PAYLOAD_LEN);
        payload.extend_from_slice(self.business.as_bytes());
        payload.extend_from_slice(self.member.as_bytes());
        payload.extend_from_slice(&self.expires_at.timestamp().to_be_bytes());
        payload.extend_from_slice(&self.nonce);
        let signature = keys.sign_counter_token(&payload);
        format!(
            "{PREFIX}.{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    /// The token `raw` if it is genuine, unexpired at `now` and issued for `business`.
    pub fn verify(
        raw: &str,
        keys: &PiiCipher,
        business: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Self, CounterTokenError> {
        let token = Self::decode(raw, keys).ok_or(CounterTokenError::Invalid)?;
        if token.business != business {
            return Err(CounterTokenError::OtherBusiness);
        }
        if now >= token.expires_at {
            return Err(CounterTokenError::Expired(token.expires_at));
        }
        Ok(token)
    }

    /// Checks the signature before reading anything out of the payload.
    fn decode(raw: &str, keys: &PiiCipher) -> Option<Self> {
        let mut parts = raw.trim().split('.');
        let (prefix, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if prefix != PREFIX || parts.next().is_some() {
            return None;
        }
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        if payload.len() != PAYLOAD_LEN || !keys.verify_counter_token(&payload, &signature) {
            return None;
        }
        let (business, rest) = payload.split_at(16);
        let (member, rest) = rest.split_at(16);
        let (expiry, nonce) = rest.split_at(8);
        Some(Self {
            business: Uuid::from_slice(business).ok()?,
            member: Uuid::from_slice(member).ok()?,
            expires_at: DateTime::from_timestamp(i64::from_be_bytes(expiry.try_into().ok()?), 0)?,
            nonce: nonce.try_into().ok()?,
        })
    }

    /// What the single-use record is kept under.
    pub fn nonce_hex(&self) -> String {
        self.nonce.iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> PiiCipher {
        PiiCipher::from_base64(&PiiCipher::generate_key()).unwrap()
    }

    #[test]
    fn a_token_verifies_for_its_business_until_it_expires() {
        let keys = keys();
        let (member, business, now) = (Uuid::now_v7(), Uuid::now_v7(), Utc::now());
        let token = CounterToken::new(member, business, now).unwrap();
        let raw = token.encode(&keys);
        assert!(raw.len() < 140, "{raw} is too long for a small QR code");
        let read = CounterToken::verify(&raw, &keys, business, now).unwrap();
        assert_eq!(read, token);
        assert_eq!(
            CounterToken::verify(&raw, &keys, business, now + LIFETIME + Duration::seconds(1)),
            Err(CounterTokenError::Expired(token.expires_at))
        );
        assert_eq!(
            CounterToken::verify(&raw, &keys, Uuid::now_v7(), now),
            Err(CounterTokenError::OtherBusiness)
        );
    }

    #[test]
    fn an_altered_or_foreign_token_is_invalid() {
        let keys = keys();
        let business = Uuid::now_v7();
        let now = Utc::now();
        let raw = CounterToken::new(Uuid::now_v7(), business, now)
            .unwrap()
            .encode(&keys);
        // Another member's id put into the payload: the signature no longer matches.
        let (head, signature) = raw.rsplit_once('.').unwrap();
        let mut payload = URL_SAFE_NO_PAD
            .decode(head.split_once('.').unwrap().1)
            .unwrap();
        payload[20] ^= 1;
        let altered = format!("ct1.{}.{signature}", URL_SAFE_NO_PAD.encode(&payload));
        for bad in [
            altered.as_str(),
            "ct1.AAAA.BBBB",
            "",
            "ct1..",
            &raw.replacen("ct1", "ct2", 1),
            &format!("{raw}.extra"),
        ] {
            assert_eq!(
                CounterToken::verify(bad, &keys, business, now),
                Err(CounterTokenError::Invalid),
                "{bad}"
            );
        }
        // Signed with another deployment's key.
        assert_eq!(
            CounterToken::verify(&raw, &self::keys(), business, now),
            Err(CounterTokenError::Invalid)
        );
    }
}
