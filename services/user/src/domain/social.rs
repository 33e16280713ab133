//! Signing in with an OpenID Connect provider (Google, Apple): which providers there are, what a
//! sign-in in progress holds, and what a verified ID token tells about the member.

use super::registration::{Email, PersonName};
use serde::{Deserialize, Serialize};

/// A provider members sign in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SocialProvider {
    Google,
    Apple,
}

impl SocialProvider {
    pub const ALL: [SocialProvider; 2] = [SocialProvider::Google, SocialProvider::Apple];

    /// The provider named in a path (`/social/google/...`).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "google" => Some(Self::Google),
            "apple" => Some(Self::Apple),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Google => "google",
            Self::Apple => "apple",
        }
    }

    /// The scopes asked for besides `openid`: Apple calls the profile scope `name`.
    pub fn scopes(self) -> &'static [&'static str] {
        match self {
            Self::Google => &["email", "profile"],
            Self::Apple => &["email", "name"],
        }
    }

    /// Apple sends the member back with a form POST whenever scopes are asked for.
    pub fn response_mode(self) -> Option<&'static str> {
        match self {
            Self::Google => None,
            Self::Apple => Some("form_post"),
        }
    }
}

/// A sign-in between its start and its callback, kept server-side under its `state` and taken
/// once: the nonce the ID token must carry and the PKCE verifier of the code. No `Debug`: it
/// holds secrets of the sign-in.
#[derive(Serialize, Deserialize)]
pub struct PendingSignIn {
    pub provider: SocialProvider,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Whether a callback's state is shaped like one we issue (the provider echoes it back, so it
/// is untrusted text until looked up).
pub fn plausible_state(state: &str) -> bool {
    (16..=128).contains(&state.len())
        && state
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What a verified ID token says about the member.
#[derive(Debug, Clone)]
pub struct VerifiedIdentity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
}

/// Why an identity cannot be tied to an account by its email.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailRefusal {
    #[error("the provider shared no email address")]
    Missing,
    #[error("the provider has not verified this email address")]
    Unverified,
    #[error("the provider's email address is not valid")]
    Invalid,
}

impl VerifiedIdentity {
    /// The address an account is found or created by: only one the provider verified, so
    /// nobody reaches an account through an address they do not control.
    pub fn verified_email(&self) -> Result<Email, EmailRefusal> {
        let email = self.email.as_deref().ok_or(EmailRefusal::Missing)?;
        if !self.email_verified {
            return Err(EmailRefusal::Unverified);
        }
        Email::parse(email).map_err(|_| EmailRefusal::Invalid)
    }

    /// The names a new account gets: the provider's when they are valid names, else empty (Apple
    /// puts none in its tokens); the member can set them later.
    pub fn names(&self) -> (String, String) {
        let name = |raw: &Option<String>| {
            raw.as_deref()
                .and_then(|n| PersonName::parse(n).ok())
                .map(|n| n.as_str().to_owned())
                .unwrap_or_default()
        };
        (name(&self.given_name), name(&self.family_name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(email: Option<&str>, verified: bool) -> VerifiedIdentity {
        VerifiedIdentity {
            issuer: "https://accounts.google.com".into(),
            subject: "1".into(),
            email: email.map(str::to_owned),
            email_verified: verified,
            given_name: Some("Ada".into()),
            family_name: Some("\u{0}".into()),
        }
    }

    #[test]
    fn only_a_verified_address_names_an_account() {
        assert_eq!(
            identity(Some(" Ada@Example.com"), true)
                .verified_email()
                .unwrap()
                .as_str(),
            "ada@example.com"
        );
        assert_eq!(
            identity(Some("ada@example.com"), false).verified_email(),
            Err(EmailRefusal::Unverified)
        );
        assert_eq!(
            identity(None, true).verified_email(),
            Err(EmailRefusal::Missing)
        );
        assert_eq!(
            identity(Some("not an address"), true).verified_email(),
            Err(EmailRefusal::Invalid)
        );
    }

    #[test]
    fn invalid_names_are_left_empty() {
        assert_eq!(
            identity(None, true).names(),
            ("Ada".to_owned(), String::new())
        );
    }

    #[test]
    fn providers_and_states_parse() {
        assert_eq!(SocialProvider::parse("apple"), Some(SocialProvider::Apple));
        assert_eq!(SocialProvider::parse("Google"), None);
        assert!(plausible_state("AbCdEfGhIjKlMnOpQrStUv_-12"));
        assert!(!plausible_state("short"));
        assert!(!plausible_state("has spaces in it, which we never issue"));
    }
}
