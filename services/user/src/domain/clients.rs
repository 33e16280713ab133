//! Partner clients and their secret keys.

use super::registration::InvalidField;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use kernel::text::TextRule;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Every secret key starts with this, so a leaked key is recognisable (secret scanners, logs).
pub const SECRET_PREFIX: &str = "tsk_";

/// A new secret key: the prefix and 256 random bits.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

pub fn secret_digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// What the dashboard shows of a key: enough to tell keys apart, not to use one.
pub fn secret_hint(secret: &str) -> String {
    format!("{}...", &secret[..SECRET_PREFIX.len() + 6])
}

const CLIENT_NAME: TextRule = TextRule::line(100);

/// A client to create: a name of 1 to 100 characters and at least one scope, every scope from
/// the fixed list, without duplicates.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub scopes: Vec<String>,
}

impl NewClient {
    pub fn parse(name: &str, scopes: &[String]) -> Result<Self, Vec<InvalidField>> {
        let mut errors = Vec::new();
        let name = CLIENT_NAME
            .parse(name)
            .map_err(|e| errors.push(InvalidField::new("name", e)))
            .ok();
        if scopes.is_empty() {
            errors.push(InvalidField::new("scopes", "must name at least one scope"));
        }
        let mut checked: Vec<String> = Vec::new();
        for scope in scopes {
            if !auth::scopes::is_known(scope) {
                errors.push(InvalidField::new(
                    "scopes",
                    format!(
                        "`{scope}` is not a scope; known scopes: {}",
                        auth::scopes::ALL.join(", ")
                    ),
                ));
            } else if !checked.contains(scope) {
                checked.push(scope.clone());
            }
        }
        match name {
            Some(name) if errors.is_empty() => Ok(Self {
                name,
                scopes: checked,
            }),
            _ => Err(errors),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be between 0 and 2592000 (30 days)")]
pub struct OverlapOutOfRange;

/// How long a superseded key keeps working after a rotation: up to 30 days, 0 ends it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationOverlap(i64);

impl RotationOverlap {
    pub fn parse(secs: i64) -> Result<Self, OverlapOutOfRange> {
        if (0..=30 * 24 * 3600).contains(&secs) {
            Ok(Self(secs))
        } else {
            Err(OverlapOutOfRange)
        }
    }

    pub fn secs(self) -> i64 {
        self.0
    }
}

/// Whether a client's keys may be used or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientStatus {
    Active,
    /// Final: every key stopped working.
    Revoked,
}

/// A partner client as stored.
#[derive(Debug, Clone)]
pub struct PartnerClient {
    pub id: Uuid,
    /// The business the client acts in; its tokens reach nothing outside it.
    pub business_id: Uuid,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl PartnerClient {
    pub fn status(&self) -> ClientStatus {
        if self.revoked_at.is_some() {
            ClientStatus::Revoked
        } else {
            ClientStatus::Active
        }
    }
}

/// A live key of a client, as a hint.
#[derive(Debug, Clone)]
pub struct SecretHint {
    pub id: Uuid,
    pub client_id: Uuid,
    pub hint: String,
    pub created_at: DateTime<Utc>,
    /// When a superseded key stops working; `None` for the current key.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("this client may not have `{0}`")]
pub struct ScopeNotAllowed(pub String);

/// The scopes a token request gets: all of the client's, or the narrower set it asks for
/// (space-separated). Asking for a scope the client does not have is refused.
pub fn grant_scopes(
    client_scopes: &[String],
    asked: Option<&str>,
) -> Result<Vec<String>, ScopeNotAllowed> {
    match asked.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(client_scopes.to_vec()),
        Some(asked) => {
            let asked: Vec<String> = asked.split_whitespace().map(str::to_owned).collect();
            match asked.iter().find(|s| !client_scopes.contains(s)) {
                Some(extra) => Err(ScopeNotAllowed(extra.clone())),
                None => Ok(asked),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_and_hinted() {
        let a = generate_secret();
        assert!(a.starts_with("tsk_") && a.len() > 40);
        assert_ne!(a, generate_secret());
        assert!(secret_hint(&a).starts_with(&a[..10]));
        assert!(!secret_hint(&a).contains(&a[12..]));
    }

    #[test]
    fn scopes_come_from_the_list_and_names_are_plain_text() {
        assert!(NewClient::parse("Shop", &["points:earn".into()]).is_ok());
        assert!(NewClient::parse("Shop", &["points:everything".into()]).is_err());
        assert!(NewClient::parse("Shop", &[]).is_err());
        assert!(NewClient::parse(" ", &["points:earn".into()]).is_err());
        let nul = NewClient::parse("Sh\0p", &["points:earn".into()]).unwrap_err();
        assert_eq!(nul[0].field, "name");
    }

    #[test]
    fn a_token_may_narrow_the_scopes_but_not_widen_them() {
        let scopes = vec!["points:earn".to_owned(), "points:read".to_owned()];
        assert_eq!(grant_scopes(&scopes, None).unwrap(), scopes);
        assert_eq!(grant_scopes(&scopes, Some("  ")).unwrap(), scopes);
        assert_eq!(
            grant_scopes(&scopes, Some("points:read")).unwrap(),
            ["points:read"]
        );
        assert_eq!(
            grant_scopes(&scopes, Some("points:read payments:write")),
            Err(ScopeNotAllowed("payments:write".into()))
        );
    }

    #[test]
    fn overlaps_are_bounded() {
        assert!(RotationOverlap::parse(0).is_ok());
        assert!(RotationOverlap::parse(30 * 24 * 3600).is_ok());
        assert!(RotationOverlap::parse(-1).is_err());
        assert!(RotationOverlap::parse(30 * 24 * 3600 + 1).is_err());
    }
}
