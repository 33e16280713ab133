use super::keys::KeyRing;
use super::limits::AuthLimits;
use crate::domain::PiiCipher;
use crate::Settings;
use std::sync::Arc;

/// What the use cases run against.
pub struct Context {
    pub pool: sqlx::PgPool,
    pub pii: Arc<PiiCipher>,
    pub keys: Arc<KeyRing>,
    pub limits: AuthLimits,
    pub settings: Settings,
    /// The fleet's Redis, where revoked sessions and subjects are recorded for every service.
    pub redis: platform::redis::RedisPool,
    /// The identity providers members may sign in with (Google, Apple), as configured.
    pub social: Arc<super::social::Providers>,
}
