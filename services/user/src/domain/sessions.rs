//! Refresh tokens. A family is one login; each refresh replaces the token with a new one of the
//! same family. A token presented after it was used or revoked means it leaked: the whole family
//! is revoked, so both the thief and the member must log in again.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A new refresh token: a prefix and 256 random bits. Only its digest is stored.
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("rt_{}", URL_SAFE_NO_PAD.encode(bytes))
}

pub fn refresh_token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Where a stored refresh token stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshTokenStatus {
    /// May be exchanged, once.
    Live,
    /// Too old: refused, nothing else happens.
    Expired,
    /// Already exchanged or revoked: presenting it again revokes the family.
    Spent,
}

impl RefreshTokenStatus {
    pub fn of(
        used_at: Option<DateTime<Utc>>,
        revoked_at: Option<DateTime<Utc>>,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        if used_at.is_some() || revoked_at.is_some() {
            RefreshTokenStatus::Spent
        } else if expires_at <= now {
            RefreshTokenStatus::Expired
        } else {
            RefreshTokenStatus::Live
        }
    }
}

/// Why refresh tokens were revoked, as recorded with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeReason {
    Logout,
    ReuseDetected,
    PasswordChanged,
    PasswordReset,
    Erased,
    /// An identity provider verified the address of an account whose owner never confirmed it:
    /// whoever registered it can no longer sign in with its password.
    AccountClaimed,
}

impl RevokeReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RevokeReason::Logout => "logout",
            RevokeReason::ReuseDetected => "reuse_detected",
            RevokeReason::PasswordChanged => "password_changed",
            RevokeReason::PasswordReset => "password_reset",
            RevokeReason::Erased => "erased",
            RevokeReason::AccountClaimed => "account_claimed",
        }
    }
}

/// One login as the data export shows it.
#[derive(Debug, Clone)]
pub struct SessionSummary {
    pub family_id: uuid::Uuid,
    pub started_at: DateTime<Utc>,
    pub last_refreshed_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn a_used_or_revoked_token_is_spent_even_when_expired() {
        let now = Utc::now();
        let later = now + Duration::hours(1);
        let earlier = now - Duration::hours(1);
        assert_eq!(
            RefreshTokenStatus::of(None, None, later, now),
            RefreshTokenStatus::Live
        );
        assert_eq!(
            RefreshTokenStatus::of(None, None, earlier, now),
            RefreshTokenStatus::Expired
        );
        assert_eq!(
            RefreshTokenStatus::of(Some(now), None, earlier, now),
            RefreshTokenStatus::Spent
        );
        assert_eq!(
            RefreshTokenStatus::of(None, Some(now), later, now),
            RefreshTokenStatus::Spent
        );
    }

    #[test]
    fn tokens_are_random_and_stored_as_digests() {
        let token = new_refresh_token();
        assert!(token.starts_with("rt_"));
        assert_ne!(token, new_refresh_token());
        assert_eq!(refresh_token_digest(&token).len(), 64);
        assert!(!refresh_token_digest(&token).contains(&token[3..]));
    }
}
