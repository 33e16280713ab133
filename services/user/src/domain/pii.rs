//! Encryption of personal data at rest. Email addresses and phone numbers are stored encrypted
//! (AES-256-GCM with a random nonce) and found through a keyed hash (HMAC-SHA256), both derived
//! from one 32-byte key held in configuration, never in the database.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// The first byte of every ciphertext: which key version wrote it, so keys can be rotated later.
const FORMAT_VERSION: u8 = 1;

pub struct PiiCipher {
    encryption: LessSafeKey,
    lookup: hmac::Key,
    /// Signs members' counter tokens (`domain::counter_token`).
    counter: hmac::Key,
    rng: SystemRandom,
}

impl std::fmt::Debug for PiiCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PiiCipher(..)")
    }
}

impl PiiCipher {
    /// `key_base64`: 32 random bytes, base64 (`openssl rand -base64 32`).
    pub fn from_base64(key_base64: &str) -> anyhow::Result<Self> {
        let master = STANDARD
            .decode(key_base64.trim())
            .map_err(|_| anyhow::anyhow!("the PII key is not valid base64"))?;
        anyhow::ensure!(master.len() == 32, "the PII key must be 32 bytes");
        let master = hmac::Key::new(hmac::HMAC_SHA256, &master);
        let derive = |label: &[u8]| hmac::sign(&master, label);
        let encryption_key = derive(b"tessera/pii/encryption/v1");
        let lookup_key = derive(b"tessera/pii/lookup/v1");
        let counter_key = derive(b"tessera/counter-token/v1");
        let unbound = UnboundKey::new(&AES_256_GCM, encryption_key.as_ref())
            .map_err(|_| anyhow::anyhow!("deriving the PII encryption key"))?;
        Ok(Self {
            encryption: LessSafeKey::new(unbound),
            lookup: hmac::Key::new(hmac::HMAC_SHA256, lookup_key.as_ref()),
            counter: hmac::Key::new(hmac::HMAC_SHA256, counter_key.as_ref()),
            rng: SystemRandom::new(),
        })
    }

    /// A new random key in the form `from_base64` takes.
    pub fn generate_key() -> String {
        let mut key = [0u8; 32];
        SystemRandom::new()
            .fill(&mut key)
            .expect("the system random source works");
        STANDARD.encode(key)
    }

    pub fn encrypt(&self, plaintext: &str) -> anyhow::Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| anyhow::anyhow!("no randomness for a nonce"))?;
        let mut sealed = plaintext.as_bytes().to_vec();
        self.encryption
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from([FORMAT_VERSION]),
                &mut sealed,
            )
            .map_err(|_| anyhow::anyhow!("encrypting personal data"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(FORMAT_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub fn decrypt(&self, stored: &[u8]) -> anyhow::Result<String> {
        anyhow::ensure!(
            stored.len() > 1 + NONCE_LEN && stored[0] == FORMAT_VERSION,
            "unknown ciphertext format"
        );
        let nonce = Nonce::try_assume_unique_for_key(&stored[1..1 + NONCE_LEN])
            .map_err(|_| anyhow::anyhow!("bad nonce"))?;
        let mut buffer = stored[1 + NONCE_LEN..].to_vec();
        let plain = self
            .encryption
            .open_in_place(nonce, Aad::from([FORMAT_VERSION]), &mut buffer)
            .map_err(|_| anyhow::anyhow!("personal data does not decrypt with this key"))?;
        Ok(String::from_utf8(plain.to_vec())?)
    }

    /// The keyed hash a normalised value is looked up by. `kind` keeps an email and a phone
    /// number that happen to be equal strings from colliding.
    pub fn lookup_hash(&self, kind: &str, normalised: &str) -> Vec<u8> {
        let mut ctx = hmac::Context::with_key(&self.lookup);
        ctx.update(kind.as_bytes());
        ctx.update(b"\0");
        ctx.update(normalised.as_bytes());
        ctx.sign().as_ref().to_vec()
    }

    /// The signature of a counter token's payload.
    pub fn sign_counter_token(&self, payload: &[u8]) -> Vec<u8> {
        hmac::sign(&self.counter, payload).as_ref().to_vec()
    }

    /// Whether `signature` is this key's signature of `payload` (in constant time).
    pub fn verify_counter_token(&self, payload: &[u8], signature: &[u8]) -> bool {
        hmac::verify(&self.counter, payload, signature).is_ok()
    }

    /// A keyed digest of a one-time code or other short secret bound to a user.
    pub fn code_hash(&self, user_id: uuid::Uuid, purpose: &str, code: &str) -> Vec<u8> {
        self.lookup_hash(&format!("code:{user_id}:{purpose}"), code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> PiiCipher {
        PiiCipher::from_base64(&STANDARD.encode([7u8; 32])).unwrap()
    }

    #[test]
    fn round_trips_and_never_repeats_a_ciphertext() {
        let c = cipher();
        let a = c.encrypt("ada@example.com").unwrap();
        let b = c.encrypt("ada@example.com").unwrap();
        assert_ne!(a, b, "random nonces");
        assert!(!a.windows(3).any(|w| w == b"ada"));
        assert_eq!(c.decrypt(&a).unwrap(), "ada@example.com");
    }

    #[test]
    fn a_tampered_ciphertext_or_another_key_fails() {
        let c = cipher();
        let mut a = c.encrypt("+61412345678").unwrap();
        let last = a.len() - 1;
        a[last] ^= 1;
        assert!(c.decrypt(&a).is_err());
        let other = PiiCipher::from_base64(&STANDARD.encode([8u8; 32])).unwrap();
        assert!(other.decrypt(&c.encrypt("x@y.z").unwrap()).is_err());
    }

    #[test]
    fn lookups_are_stable_and_separated_by_kind() {
        let c = cipher();
        assert_eq!(
            c.lookup_hash("email", "a@b.c"),
            c.lookup_hash("email", "a@b.c")
        );
        assert_ne!(
            c.lookup_hash("email", "a@b.c"),
            c.lookup_hash("phone", "a@b.c")
        );
        assert!(PiiCipher::from_base64("c2hvcnQ=").is_err());
    }
}
