//! Magic test users, in the manner of a payment provider's test cards: the tag after `+` in the
//! email address a test user signs in with chooses what the sandbox puts in the ID token. Any
//! other address signs in normally, with a verified email.
//!
//! | email (any name and domain) | the ID token |
//! | --- | --- |
//! | `ada@example.com` | correct, `email_verified` true |
//! | `ada+unverified@example.com` | correct, but `email_verified` false |
//! | `ada+wrong-nonce@example.com` | carries a nonce other than the one the client sent |
//! | `ada+wrong-audience@example.com` | issued to another client (`aud`) |
//! | `ada+wrong-issuer@example.com` | names another issuer (`iss`) |
//! | `ada+expired@example.com` | expired an hour ago |
//! | `ada+bad-signature@example.com` | signed with a key the JWKS does not publish (same `kid`) |
//!
//! The address in the token is the one typed, tag included, so each test can use its own.

/// What the sandbox does to the ID token of a test user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Normal,
    Unverified,
    WrongNonce,
    WrongAudience,
    WrongIssuer,
    Expired,
    BadSignature,
}

/// Every tag, with the behaviour it selects (for the sign-in page and the documentation).
pub const TAGS: &[(&str, Behaviour)] = &[
    ("unverified", Behaviour::Unverified),
    ("wrong-nonce", Behaviour::WrongNonce),
    ("wrong-audience", Behaviour::WrongAudience),
    ("wrong-issuer", Behaviour::WrongIssuer),
    ("expired", Behaviour::Expired),
    ("bad-signature", Behaviour::BadSignature),
];

impl Behaviour {
    /// The behaviour the address's `+tag` selects; an unknown or missing tag is `Normal`.
    pub fn of(email: &str) -> Behaviour {
        let local = email.split('@').next().unwrap_or_default();
        let Some((_, tag)) = local.rsplit_once('+') else {
            return Behaviour::Normal;
        };
        let tag = tag.to_ascii_lowercase();
        TAGS.iter()
            .find(|(name, _)| *name == tag)
            .map_or(Behaviour::Normal, |(_, behaviour)| *behaviour)
    }
}

/// Whether `email` looks like an address: a test user must type one.
pub fn is_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && email.len() <= 254
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

/// A first and last name made from the address (`ada.lovelace@...` is Ada Lovelace), as a
/// provider's profile would have one.
pub fn name_from(email: &str) -> (String, String) {
    let local = email.split('@').next().unwrap_or_default();
    let local = local.split('+').next().unwrap_or_default();
    let mut parts = local
        .split(['.', '_', '-'])
        .filter(|p| !p.is_empty())
        .map(capitalise);
    let first = parts.next().unwrap_or_else(|| "Test".to_owned());
    let last = parts.collect::<Vec<_>>().join(" ");
    (first, if last.is_empty() { "User".into() } else { last })
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_chooses_the_behaviour() {
        assert_eq!(Behaviour::of("ada@example.com"), Behaviour::Normal);
        assert_eq!(Behaviour::of("ada+news@example.com"), Behaviour::Normal);
        assert_eq!(
            Behaviour::of("ada+wrong-nonce@example.com"),
            Behaviour::WrongNonce
        );
        assert_eq!(Behaviour::of("a+b+Expired@example.com"), Behaviour::Expired);
        assert_eq!(
            Behaviour::of("x+bad-signature@example.com"),
            Behaviour::BadSignature
        );
        // A tag in the domain changes nothing.
        assert_eq!(Behaviour::of("ada@ex+expired.com"), Behaviour::Normal);
        for (tag, behaviour) in TAGS {
            assert_eq!(Behaviour::of(&format!("t+{tag}@example.com")), *behaviour);
        }
    }

    #[test]
    fn names_come_from_the_address() {
        assert_eq!(
            name_from("ada.lovelace+expired@example.com"),
            ("Ada".into(), "Lovelace".into())
        );
        assert_eq!(
            name_from("grace@example.com"),
            ("Grace".into(), "User".into())
        );
    }

    #[test]
    fn addresses_are_checked() {
        assert!(is_email("ada@example.com"));
        for bad in ["", "ada", "@example.com", "ada@example", "a da@example.com"] {
            assert!(!is_email(bad), "{bad:?}");
        }
    }
}
