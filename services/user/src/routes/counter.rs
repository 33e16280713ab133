//! At the counter: the member's app fetches a counter token to show as a QR code; the cashier
//! (or the business's POS, a partner client with `members:read`) identifies the member by it,
//! or by the email address or confirmed phone number the member gives.

use super::state::AppState;
use super::validation::invalid_field;
use crate::core::counter::{self, MemberKey};
use crate::domain::{Email, PhoneNumber};
use actix_web::{web, HttpResponse};
use auth::{Principal, PrincipalKind, Role};
use chrono::{DateTime, Utc};
use platform::http::Json;
use platform::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Everyone who works a business's counters, from its owners to its cashiers.
const COUNTER_STAFF: &[Role] = &[
    Role::Owner,
    Role::Admin,
    Role::Support,
    Role::StoreManager,
    Role::Cashier,
    Role::SuperAdmin,
];

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CounterTokenQuery {
    /// The business whose counter the member stands at.
    pub business_id: Uuid,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CounterTokenView {
    /// Show as a QR code; accepted once, until `expires_at`.
    pub token: String,
    pub business_id: Uuid,
    pub expires_at: DateTime<Utc>,
}

/// A fresh counter token for the signed-in member at one business. Each call gives a new one;
/// the app asks again before `expires_at` (a minute).
#[utoipa::path(
    get, path = "/api/v1/users/me/counter-token", tag = "counter", security(("bearer" = [])),
    params(CounterTokenQuery),
    responses(
        (status = 200, body = CounterTokenView),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %principal.subject))]
pub async fn counter_token(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<CounterTokenQuery>,
) -> Result<HttpResponse, ApiError> {
    if principal.kind != PrincipalKind::User || principal.role != Some(Role::Customer) {
        return Err(ApiError::Forbidden("counter tokens are for members".into()));
    }
    let (token, expires_at) =
        counter::issue(&state.core, principal.subject, query.business_id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(CounterTokenView {
            token,
            business_id: query.business_id,
            expires_at,
        }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentifyRequest {
    /// Staff act in their own business (leave it out or name it); super admins name one.
    pub business_id: Option<Uuid>,
    /// Exactly one of `counter_token`, `email`, `phone_number`.
    pub counter_token: Option<String>,
    pub email: Option<String>,
    /// A number the member confirmed, in international form (`+61...`).
    pub phone_number: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct IdentifiedMember {
    pub member_id: Uuid,
    /// For the cashier to greet the member and check it is them.
    pub first_name: String,
    pub last_initial: String,
}

/// Find the member at the counter. Answers 404 when nobody matches, 422 for a counter token that
/// is altered (`counter-token-invalid`), expired (`counter-token-expired`) or of another business
/// (`counter-token-other-business`), and 409 for one already used (`counter-token-used`).
#[utoipa::path(
    post, path = "/api/v1/users/identify", tag = "counter", security(("bearer" = [])),
    request_body = IdentifyRequest,
    responses(
        (status = 200, body = IdentifiedMember),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(by = %principal.subject))]
pub async fn identify(
    state: web::Data<AppState>,
    principal: Principal,
    Json(request): Json<IdentifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let business = counter_business(&principal, request.business_id)?;
    let key = match (request.counter_token, request.email, request.phone_number) {
        (Some(token), None, None) => MemberKey::CounterToken(token),
        (None, Some(email), None) => {
            MemberKey::Email(Email::parse(&email).map_err(|e| invalid_field("email", e))?)
        }
        (None, None, Some(phone)) => MemberKey::Phone(
            PhoneNumber::parse(&phone).map_err(|e| invalid_field("phone_number", e))?,
        ),
        _ => {
            return Err(invalid_field(
                "counter_token",
                "give exactly one of counter_token, email and phone_number",
            ))
        }
    };
    let member = counter::identify(&state.core, business, key).await?;
    Ok(HttpResponse::Ok().json(IdentifiedMember {
        member_id: member.id,
        last_initial: member.last_name.chars().take(1).collect(),
        first_name: member.first_name,
    }))
}

/// The business a counter request acts in: a partner's own when it holds `members:read`, staff's
/// own, or the one a super admin names. Naming another business is refused.
fn counter_business(principal: &Principal, requested: Option<Uuid>) -> Result<Uuid, ApiError> {
    if principal.kind == PrincipalKind::Partner {
        let own = principal
            .business
            .filter(|b| principal.has_scope_in(*b, auth::scopes::MEMBERS_READ))
            .ok_or_else(|| ApiError::Forbidden("this needs the members:read scope".into()))?;
        if requested.is_some_and(|r| r != own) {
            return Err(ApiError::Forbidden(
                "you act only in your own business".into(),
            ));
        }
        return Ok(own);
    }
    if principal.is_super_admin() && requested.is_none() {
        return Err(invalid_field(
            "business_id",
            "name the business whose counter this is",
        ));
    }
    super::business::target_business(principal, requested, COUNTER_STAFF)
}
