//! Clients the platform itself uses to call its services. The user service creates each from its
//! settings at start (with the secret key both sides are configured with); the services check
//! their scopes like any partner's.

use uuid::Uuid;

pub struct InternalClient {
    pub id: Uuid,
    pub name: &'static str,
    pub scopes: &'static [&'static str],
}

/// The admin service's reconciler: reads what producers published and consumers applied, and
/// asks producers to publish again.
pub const RECONCILER: InternalClient = InternalClient {
    id: Uuid::from_u128(0x0000_0000_7e55_4e7a_8000_7ec0_c11e_0001),
    name: "Reconciler (internal)",
    scopes: &[crate::scopes::RECONCILE],
};
