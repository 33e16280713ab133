use crate::claims::{PrincipalKind, Role};
use crate::verify::JwtVerifier;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures::future::LocalBoxFuture;
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
}

impl Principal {
    pub fn is_staff(&self) -> bool {
        self.kind == PrincipalKind::User && self.role.is_some_and(|r| r.is_staff())
    }

    pub fn has_role(&self, allowed: &[Role]) -> bool {
        self.kind == PrincipalKind::User && self.role.is_some_and(|r| allowed.contains(&r))
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.kind == PrincipalKind::Partner && self.scopes.iter().any(|s| s == scope)
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
    /// partners with `partner_scope` any member's. Everyone else gets 403.
    pub fn authorize_member_access(
        &self,
        member_id: Uuid,
        staff_roles: &[Role],
        partner_scope: Option<&str>,
    ) -> Result<(), ApiError> {
        let allowed = self.is_member(member_id)
            || self.has_role(staff_roles)
            || partner_scope.is_some_and(|scope| self.has_scope(scope));
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
        if self.has_role(allowed) {
            Ok(())
        } else {
            Err(ApiError::Forbidden("your role does not allow this".into()))
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
/// `Principal::partner(&["points:earn"])`.
#[cfg(any(test, feature = "test-util"))]
impl Principal {
    pub fn member(member_id: Uuid) -> Self {
        Self {
            subject: member_id,
            kind: PrincipalKind::User,
            role: Some(Role::Customer),
            scopes: Vec::new(),
        }
    }

    pub fn staff(role: Role) -> Self {
        Self {
            subject: Uuid::now_v7(),
            kind: PrincipalKind::User,
            role: Some(role),
            scopes: Vec::new(),
        }
    }

    pub fn partner(scopes: &[&str]) -> Self {
        Self {
            subject: Uuid::now_v7(),
            kind: PrincipalKind::Partner,
            role: None,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
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
