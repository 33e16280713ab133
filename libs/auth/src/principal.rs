use crate::claims::{Access, PrincipalKind, Role};
use crate::verify::JwtVerifier;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures::future::LocalBoxFuture;
use kernel::DEMO_BUSINESS_ID;
use platform::ApiError;
use uuid::Uuid;

/// The authenticated caller of a request. Taking it as a handler argument makes the endpoint
/// require a valid bearer token; the checks below decide what the caller may touch.
#[derive(Debug, Clone)]
pub struct Principal {
    pub subject: Uuid,
    pub kind: PrincipalKind,
    pub role: Option<Role>,
    pub scopes: Vec<String>,
    /// The business a staff user or partner client acts in (see [`crate::Claims::biz`]).
    pub business: Option<Uuid>,
    /// The stores a store-level staff user acts at.
    pub stores: Vec<Uuid>,
}

impl Principal {
    pub fn is_staff(&self) -> bool {
        self.kind == PrincipalKind::User && self.role.is_some_and(|r| r.is_staff())
    }

    pub fn is_super_admin(&self) -> bool {
        self.kind == PrincipalKind::User && self.role == Some(Role::SuperAdmin)
    }

    /// Whether the caller acts in `business`: a platform operator in any, staff and partner
    /// clients in theirs only, members in none (members act on their own resources).
    pub fn acts_in(&self, business: Uuid) -> bool {
        self.is_super_admin() || (!self.is_customer() && self.business == Some(business))
    }

    /// Staff of `business` holding one of `allowed` (an owner satisfies admin), a super admin
    /// when `allowed` names that role, or a member when it names `customer`: members belong to
    /// no business (what they may reach is the object-level checks' business).
    pub fn has_role_in(&self, business: Uuid, allowed: &[Role]) -> bool {
        let Some(role) = self.role.filter(|_| self.kind == PrincipalKind::User) else {
            return false;
        };
        let holds = allowed.iter().any(|a| role.satisfies(*a));
        let platform_wide = matches!(role, Role::SuperAdmin | Role::Customer);
        holds && (platform_wide || self.business == Some(business))
    }

    /// A partner client of `business` whose token carries `scope`.
    pub fn has_scope_in(&self, business: Uuid, scope: &str) -> bool {
        self.kind == PrincipalKind::Partner
            && self.business == Some(business)
            && self.scopes.iter().any(|s| s == scope)
    }

    /// Staff who may act at `store` of `business`: store-level roles in `allowed` at that store,
    /// business-level roles in `allowed` anywhere in the business.
    pub fn has_role_at_store(&self, business: Uuid, store: Uuid, allowed: &[Role]) -> bool {
        if !self.has_role_in(business, allowed) {
            return false;
        }
        let store_level = self.role.is_some_and(|r| r.is_store_level());
        !store_level || self.stores.contains(&store)
    }

    /// [`Self::has_role_in`] for the resources not yet stored with their business, all of which
    /// belong to the demo business.
    pub fn has_role(&self, allowed: &[Role]) -> bool {
        self.has_role_in(DEMO_BUSINESS_ID, allowed)
    }

    /// [`Self::has_scope_in`] for the resources of the demo business (see [`Self::has_role`]).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.has_scope_in(DEMO_BUSINESS_ID, scope)
    }

    fn is_customer(&self) -> bool {
        self.kind == PrincipalKind::User && self.role == Some(Role::Customer)
    }

    /// A member acting on their own account.
    pub fn is_member(&self, member_id: Uuid) -> bool {
        self.kind == PrincipalKind::User
            && self.role == Some(Role::Customer)
            && self.subject == member_id
    }

    /// Which rate-limit budget the caller spends: members their own, partner clients and staff
    /// the larger one.
    pub fn rate_caller(&self) -> platform::rate_limit::Caller {
        if self.kind == PrincipalKind::User && self.role == Some(Role::Customer) {
            platform::rate_limit::Caller::Member
        } else {
            platform::rate_limit::Caller::PartnerOrStaff
        }
    }

    /// The key under which this caller's idempotency keys and created objects are recorded.
    pub fn scope_key(&self) -> String {
        match self.kind {
            PrincipalKind::User => format!("user:{}", self.subject),
            PrincipalKind::Partner => format!("partner:{}", self.subject),
        }
    }

    /// Members may read their own resources; staff with one of `staff_roles` any member's;
    /// partners with `partner_scope` any member's; staff and partners of the demo business
    /// only (see [`Self::has_role`]). Everyone else gets 403.
    pub fn authorize_member_access(
        &self,
        member_id: Uuid,
        staff_roles: &[Role],
        partner_scope: Option<&str>,
    ) -> Result<(), ApiError> {
        self.authorize_member_access_in(DEMO_BUSINESS_ID, member_id, staff_roles, partner_scope)
    }

    /// A member's resources at `business`: the member themselves, staff of `business` with one
    /// of `staff_roles`, partner clients of `business` with `partner_scope`.
    pub fn authorize_member_access_in(
        &self,
        business: Uuid,
        member_id: Uuid,
        staff_roles: &[Role],
        partner_scope: Option<&str>,
    ) -> Result<(), ApiError> {
        let allowed = self.is_member(member_id)
            || self.has_role_in(business, staff_roles)
            || partner_scope.is_some_and(|scope| self.has_scope_in(business, scope));
        if allowed {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "you may not access this member's data".into(),
            ))
        }
    }

    /// Partner endpoints: the token must carry `scope` (staff with `staff_roles` pass too).
    pub fn require_scope(&self, scope: &str, staff_roles: &[Role]) -> Result<(), ApiError> {
        if self.has_scope(scope) || self.has_role(staff_roles) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this endpoint needs the `{scope}` scope"
            )))
        }
    }

    pub fn require_role(&self, allowed: &[Role]) -> Result<(), ApiError> {
        self.require_role_in(DEMO_BUSINESS_ID, allowed)
    }

    /// Staff of `business` with one of `allowed`; anyone else gets 403.
    pub fn require_role_in(&self, business: Uuid, allowed: &[Role]) -> Result<(), ApiError> {
        if self.has_role_in(business, allowed) {
            Ok(())
        } else {
            Err(ApiError::Forbidden("your role does not allow this".into()))
        }
    }

    /// Builds the principal a verified token describes.
    pub(crate) fn from_access(subject: Uuid, kind: PrincipalKind, access: Access) -> Self {
        Self {
            subject,
            kind,
            role: access.role,
            scopes: access.scopes,
            business: access.business,
            stores: access.stores,
        }
    }
}

impl FromRequest for Principal {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let verifier = req.app_data::<web::Data<JwtVerifier>>().cloned();
        let header = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Box::pin(async move {
            let verifier = verifier
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no JwtVerifier registered")))?;
            let header = header
                .ok_or_else(|| ApiError::Unauthorized("a bearer token is required".into()))?;
            let token = header
                .strip_prefix("Bearer ")
                .or_else(|| header.strip_prefix("bearer "))
                .ok_or_else(|| {
                    ApiError::Unauthorized(
                        "the Authorization header must be `Bearer <token>`".into(),
                    )
                })?;
            Ok(verifier.verify(token.trim()).await?)
        })
    }
}

/// Principals for tests, without a token: `Principal::member(id)`, `Principal::staff(Role::Admin)`,
/// `Principal::partner(&["points:earn"])` (staff and partners of the demo business; super admins
/// of none), and `Principal::staff_in(business, role, stores)`.
#[cfg(any(test, feature = "test-util"))]
impl Principal {
    pub fn member(member_id: Uuid) -> Self {
        Self {
            subject: member_id,
            kind: PrincipalKind::User,
            role: Some(Role::Customer),
            scopes: Vec::new(),
            business: None,
            stores: Vec::new(),
        }
    }

    pub fn staff(role: Role) -> Self {
        let business = (role != Role::SuperAdmin).then_some(DEMO_BUSINESS_ID);
        Self::staff_in(business, role, Vec::new())
    }

    pub fn staff_in(business: Option<Uuid>, role: Role, stores: Vec<Uuid>) -> Self {
        Self {
            subject: Uuid::now_v7(),
            kind: PrincipalKind::User,
            role: Some(role),
            scopes: Vec::new(),
            business,
            stores,
        }
    }

    pub fn partner(scopes: &[&str]) -> Self {
        Self::partner_in(DEMO_BUSINESS_ID, scopes)
    }

    pub fn partner_in(business: Uuid, scopes: &[&str]) -> Self {
        Self {
            subject: Uuid::now_v7(),
            kind: PrincipalKind::Partner,
            role: None,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            business: Some(business),
            stores: Vec::new(),
        }
    }

    /// A user account that carries no role (a token of a kind we never issue).
    pub fn without_role() -> Self {
        Self {
            role: None,
            ..Self::member(Uuid::now_v7())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_act_only_in_their_own_business() {
        let (ours, theirs) = (Uuid::now_v7(), Uuid::now_v7());
        let admin = Principal::staff_in(Some(ours), Role::Admin, Vec::new());
        assert!(admin.has_role_in(ours, &[Role::Admin]));
        assert!(!admin.has_role_in(theirs, &[Role::Admin]));
        assert!(admin.acts_in(ours) && !admin.acts_in(theirs));
        // Resources that predate businesses belong to the demo business.
        assert!(!admin.has_role(&[Role::Admin]));
        assert!(Principal::staff(Role::Admin).has_role(&[Role::Admin]));

        let operator = Principal::staff(Role::SuperAdmin);
        assert!(operator.has_role_in(theirs, &[Role::SuperAdmin]) && operator.acts_in(theirs));
        assert!(!operator.has_role_in(theirs, &[Role::Admin]));
    }

    #[test]
    fn members_belong_to_no_business_and_pass_a_member_role_check_anywhere() {
        let member = Principal::member(Uuid::now_v7());
        assert!(member.has_role(&[Role::Customer, Role::Admin]));
        assert!(member.has_role_in(Uuid::now_v7(), &[Role::Customer]));
        assert!(!member.has_role_in(Uuid::now_v7(), &[Role::Support, Role::Admin]));
        assert!(!member.acts_in(kernel::DEMO_BUSINESS_ID));
    }

    #[test]
    fn an_owner_may_do_what_an_admin_may_but_not_the_reverse() {
        let business = Uuid::now_v7();
        let owner = Principal::staff_in(Some(business), Role::Owner, Vec::new());
        assert!(owner.has_role_in(business, &[Role::Admin]));
        let admin = Principal::staff_in(Some(business), Role::Admin, Vec::new());
        assert!(!admin.has_role_in(business, &[Role::Owner]));
    }

    #[test]
    fn store_staff_act_only_at_their_stores_and_business_staff_at_every_store() {
        let (business, mine, other) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let cashier = Principal::staff_in(Some(business), Role::Cashier, vec![mine]);
        let roles = [Role::Cashier, Role::StoreManager, Role::Admin];
        assert!(cashier.has_role_at_store(business, mine, &roles));
        assert!(!cashier.has_role_at_store(business, other, &roles));
        assert!(!cashier.has_role_at_store(Uuid::now_v7(), mine, &roles));
        let admin = Principal::staff_in(Some(business), Role::Admin, Vec::new());
        assert!(admin.has_role_at_store(business, other, &roles));
    }

    #[test]
    fn partners_and_members_stay_inside_their_bounds() {
        let (ours, theirs) = (Uuid::now_v7(), Uuid::now_v7());
        let partner = Principal::partner_in(ours, &["points:earn"]);
        assert!(partner.has_scope_in(ours, "points:earn"));
        assert!(!partner.has_scope_in(theirs, "points:earn"));
        assert!(!partner.has_scope("points:earn"));

        let member_id = Uuid::now_v7();
        let member = Principal::member(member_id);
        assert!(!member.acts_in(ours));
        assert!(member
            .authorize_member_access_in(theirs, member_id, &[Role::Admin], None)
            .is_ok());
        assert!(Principal::staff_in(Some(ours), Role::Support, Vec::new())
            .authorize_member_access_in(theirs, member_id, &[Role::Support], None)
            .is_err());
    }
}
