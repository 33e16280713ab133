//! Access tokens. The user service signs short-lived JWTs with an Ed25519 key and publishes the
//! public keys as a JWKS; every service verifies tokens locally against that JWKS, so no service
//! holds a secret that could mint tokens.

mod claims;
pub mod internal;
mod principal;
pub mod revocation;
pub mod scopes;
mod signing;
mod verify;

pub use claims::{Access, Claims, PrincipalKind, Role, AUDIENCE, ISSUER};
pub use principal::Principal;
pub use revocation::Revoked;
pub use signing::{Jwk, Jwks, SigningKey};
pub use verify::JwtVerifier;
