use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const ISSUER: &str = "tessera-user";
pub const AUDIENCE: &str = "tessera";

/// Seed 003's roles, held per business (seed 001). Customers see only their own data. At business
/// level: owners and admins run the business's program, staff and keys; support reads members and
/// adjusts points. At store level: store managers and cashiers serve members at their stores.
/// Super admins operate the platform: they create businesses and may act in any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Support,
    Admin,
    SuperAdmin,
    Owner,
    StoreManager,
    Cashier,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Support => "support",
            Role::Admin => "admin",
            Role::SuperAdmin => "super_admin",
            Role::Owner => "owner",
            Role::StoreManager => "store_manager",
            Role::Cashier => "cashier",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        match value {
            "customer" => Some(Role::Customer),
            "support" => Some(Role::Support),
            "admin" => Some(Role::Admin),
            "super_admin" => Some(Role::SuperAdmin),
            "owner" => Some(Role::Owner),
            "store_manager" => Some(Role::StoreManager),
            "cashier" => Some(Role::Cashier),
            _ => None,
        }
    }

    pub fn is_staff(&self) -> bool {
        !matches!(self, Role::Customer)
    }

    /// Roles held at one or more stores of a business rather than at the whole business.
    pub fn is_store_level(&self) -> bool {
        matches!(self, Role::StoreManager | Role::Cashier)
    }

    /// Whether holding `self` satisfies a check that allows `allowed`: an owner may do whatever
    /// an admin may.
    pub fn satisfies(&self, allowed: Role) -> bool {
        *self == allowed || (*self == Role::Owner && allowed == Role::Admin)
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
    /// The business a staff user or partner client acts in. Absent on members' tokens (a member
    /// has a card at many businesses) and on platform operators' (super admins act in any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub biz: Option<Uuid>,
    /// Store-level staff (store managers, cashiers): the stores of `biz` they act at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stores: Vec<Uuid>,
}

/// What a token lets its holder act on, besides who they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    pub role: Option<Role>,
    pub scopes: Vec<String>,
    pub business: Option<Uuid>,
    pub stores: Vec<Uuid>,
}

impl Access {
    /// A member's access: their own account, at any business.
    pub fn member() -> Self {
        Self {
            role: Some(Role::Customer),
            ..Self::default()
        }
    }

    /// A staff user's access in `business` (None only for super admins).
    pub fn staff(role: Role, business: Option<Uuid>, stores: Vec<Uuid>) -> Self {
        Self {
            role: Some(role),
            business,
            stores,
            ..Self::default()
        }
    }
}
