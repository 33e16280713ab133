//! Which business a staff request acts on. A business's owners and admins manage their own
//! business only; platform operators (super admins) manage any.

use auth::{Principal, Role};
use kernel::DEMO_BUSINESS_ID;
use platform::ApiError;
use uuid::Uuid;

/// The one business a request creates something in: the caller's own, or the one a super admin
/// names (the demo business when they name none). Naming another business than one's own is
/// refused, never quietly redirected.
pub fn target_business(
    principal: &Principal,
    requested: Option<Uuid>,
    roles: &[Role],
) -> Result<Uuid, ApiError> {
    if principal.is_super_admin() {
        return Ok(requested.unwrap_or(DEMO_BUSINESS_ID));
    }
    let own = own_business(principal, roles)?;
    match requested {
        Some(other) if other != own => Err(ApiError::Forbidden(
            "you act only in your own business".into(),
        )),
        _ => Ok(own),
    }
}

/// What a request may reach: `None` for a super admin (every business), else the caller's own.
pub fn reachable_business(principal: &Principal, roles: &[Role]) -> Result<Option<Uuid>, ApiError> {
    if principal.is_super_admin() {
        return Ok(None);
    }
    own_business(principal, roles).map(Some)
}

fn own_business(principal: &Principal, roles: &[Role]) -> Result<Uuid, ApiError> {
    let refused = || ApiError::Forbidden("your role does not allow this".into());
    let own = principal.business.ok_or_else(refused)?;
    principal.require_role_in(own, roles)?;
    Ok(own)
}
