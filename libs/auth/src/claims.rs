use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const ISSUER: &str = "tessera-user";
pub const AUDIENCE: &str = "tessera";

/// Seed 003's roles. Customers see only their own data; support reads members and adjusts
/// points; admins run the program; super admins also manage staff and keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Support,
    Admin,
    SuperAdmin,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Support => "support",
            Role::Admin => "admin",
            Role::SuperAdmin => "super_admin",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        match value {
            "customer" => Some(Role::Customer),
            "support" => Some(Role::Support),
            "admin" => Some(Role::Admin),
            "super_admin" => Some(Role::SuperAdmin),
            _ => None,
        }
    }

    pub fn is_staff(&self) -> bool {
        !matches!(self, Role::Customer)
    }
}

/// Who the token was issued to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    /// A person: a member or a staff user.
    User,
    /// A partner system using client credentials; acts only within its scopes.
    Partner,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
    pub kind: PrincipalKind,
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The login (refresh-token family) a member's token belongs to, so that logging out
    /// revokes it; absent on partner tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
}
