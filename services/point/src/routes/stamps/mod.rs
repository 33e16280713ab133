//! Stamp cards (seed 001): a business's stamp programs, stamps given and voided at its stores,
//! members' cards, and a member's wallet across businesses. Every route names its business in
//! the path and acts only inside it.
//!
//! Who is refused how, the same on every business route: members get 403 (except on their own
//! cards). Staff and partner clients of another business get 404, the answer for a business
//! that does not exist, so a business's existence is never told across businesses. Staff of the
//! business whose role does not allow the action get 403: a cashier creating a program, or a
//! cashier or manager giving or voiding stamps at a store of the business that is not theirs.
//! A store the service has not heard of (no `store.created` yet), or of another business, is
//! 404.

mod views;

pub use views::{
    StampCardView, StampIssueView, StampProgramView, StampRewardView, StampsIssuedView,
    StampsVoidedView, Wallet, WalletCard, WalletPoints,
};

use super::{actor, created_once, to_json, AppState, FieldErrors};
use crate::core;
use crate::core::stamps::{IssueRequest, VoidRequest};
use crate::domain::stamps::{
    Items, NewStampProgram, StampMode, DEFAULT_VOID_WINDOW_MINUTES, PROGRAM_NAME, REWARD,
    TRANSACTION_ID,
};
use actix_web::{web, HttpRequest, HttpResponse};
use auth::{scopes, Principal, PrincipalKind, Role};
use chrono::Utc;
use platform::http::Json;
use platform::idempotency::IdempotentWrite;
use platform::{text, ApiError};
use serde::Deserialize;
use uuid::Uuid;

/// Everyone who works for a business, at any level (an owner counts as an admin).
const BUSINESS_STAFF: &[Role] = &[
    Role::Admin,
    Role::Support,
    Role::StoreManager,
    Role::Cashier,
    Role::SuperAdmin,
];
/// Who runs a business's stamp programs.
const PROGRAM_ADMINS: &[Role] = &[Role::Admin, Role::SuperAdmin];
/// Who gives and voids stamps at a store: its store staff, and the business's admins at any of
/// its stores.
const STORE_STAFF: &[Role] = &[Role::Cashier, Role::StoreManager, Role::Admin];

/// Lets in those who work for `business`: its staff, its partner clients, platform operators
/// (see the module's doc for who is refused how).
fn enter_business(principal: &Principal, business: Uuid) -> Result<(), ApiError> {
    if !(principal.is_staff() || principal.kind == PrincipalKind::Partner) {
        return Err(ApiError::Forbidden(
            "this is for the staff and point-of-sale clients of a business".into(),
        ));
    }
    if !principal.acts_in(business) {
        return Err(ApiError::NotFound("no such business".into()));
    }
    Ok(())
}

/// Staff who may act at the store, or a partner client (a POS) of the business with
/// `stamps:issue`.
fn authorize_at_store(principal: &Principal, business: Uuid, store: Uuid) -> Result<(), ApiError> {
    enter_business(principal, business)?;
    if principal.has_role_at_store(business, store, STORE_STAFF)
        || principal.has_scope_in(business, scopes::STAMPS_ISSUE)
    {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only staff of this store, or a point-of-sale client of its business, may give or void stamps here"
                .into(),
        ))
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StampProgramBody {
    pub name: String,
    /// Stamps that fill a card (1 to 100).
    #[schema(minimum = 1, maximum = 100)]
    pub stamps_required: i64,
    /// What a full card gives ("a free coffee").
    pub reward: String,
    /// `per_purchase` (one stamp a purchase) or `per_item` (one per item bought).
    pub mode: String,
    /// Days after a card's last stamp that the stamps on it lapse (1 to 3650; absent: never).
    /// Rewards already given do not lapse.
    #[schema(minimum = 1, maximum = 3650)]
    pub stamp_expiry_days: Option<i64>,
    /// How long after an issue its store may still void it, minutes (0 to 10080, default 30;
    /// 0: never). Shorter than the expiry.
    #[schema(minimum = 0, maximum = 10080)]
    pub void_window_minutes: Option<i64>,
}

/// A number from outside that does not fit the column is out of its bounds; the bounds check
/// then names it.
fn small(raw: i64) -> i32 {
    i32::try_from(raw).unwrap_or(if raw < 0 { i32::MIN } else { i32::MAX })
}

impl StampProgramBody {
    fn parse(&self) -> Result<NewStampProgram, ApiError> {
        let mut errors = FieldErrors::default();
        let name = errors.checked(text::required("name", PROGRAM_NAME, &self.name))?;
        let reward = errors.checked(text::required("reward", REWARD, &self.reward))?;
        let mode = errors.field(
            "mode",
            StampMode::parse(self.mode.trim()).ok_or("must be `per_purchase` or `per_item`"),
        );
        let (Some(name), Some(reward), Some(mode)) = (name, reward, mode) else {
            return Err(errors.into_error());
        };
        let program = NewStampProgram {
            name,
            stamps_required: small(self.stamps_required),
            reward,
            mode,
            stamp_expiry_days: self.stamp_expiry_days.map(small),
            void_window_minutes: self
                .void_window_minutes
                .map_or(DEFAULT_VOID_WINDOW_MINUTES, small),
        };
        for invalid in program.invalid_fields() {
            errors.push(invalid.field, invalid.message);
        }
        errors.into_result()?;
        Ok(program)
    }
}

/// Create a stamp program (the business's owner or admins, or a platform operator). Idempotent
/// on the `Idempotency-Key` header.
#[utoipa::path(
    post, path = "/api/v1/points/businesses/{business_id}/stamp-programs", tag = "stamps",
    security(("bearer" = [])),
    params(("business_id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    request_body = StampProgramBody,
    responses(
        (status = 201, body = StampProgramView),
        (status = 200, description = "The program this key created before", body = StampProgramView),
        (status = 403, description = "Not an owner or admin of this business", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such business (for staff of another)", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "A request with this key is still in flight", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A bad field, or the key was used for another request", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "create_stamp_program", business_id = %*path))]
pub async fn create_program(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let business_id = path.into_inner();
    enter_business(&principal, business_id)?;
    principal.require_role_in(business_id, PROGRAM_ADMINS)?;
    let request: StampProgramBody = platform::http::parse_json_body(&req, &body)?;
    let program = request.parse()?;
    let write = match IdempotentWrite::begin(&state.idempotency, &req, principal.scope_key(), &body)
        .await?
    {
        Ok(write) => write,
        Err(replay) => return Ok(replay),
    };
    let actor = actor(&principal);
    let created = core::stamps::create_program(
        &state.pool,
        business_id,
        &program,
        &actor,
        &write.claimed(),
        |p| to_json(&StampProgramView::from(p)),
    )
    .await?;
    created_once(
        write,
        &state.idempotency,
        false,
        to_json(&StampProgramView::from(&created)),
    )
    .await
}

/// The business's stamp programs: any of its staff, and its point-of-sale clients.
#[utoipa::path(
    get, path = "/api/v1/points/businesses/{business_id}/stamp-programs", tag = "stamps",
    security(("bearer" = [])),
    params(("business_id" = Uuid, Path)),
    responses(
        (status = 200, body = [StampProgramView]),
        (status = 403, description = "Not staff of a business", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such business (for staff of another)", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "list_stamp_programs", business_id = %*path))]
pub async fn list_programs(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let business_id = path.into_inner();
    enter_business(&principal, business_id)?;
    if !(principal.has_role_in(business_id, BUSINESS_STAFF)
        || principal.has_scope_in(business_id, scopes::STAMPS_ISSUE))
    {
        return Err(ApiError::Forbidden(
            "only this business's staff may see its stamp programs".into(),
        ));
    }
    let programs = core::stamps::programs(&state.pool, business_id).await?;
    Ok(HttpResponse::Ok().json(
        programs
            .iter()
            .map(StampProgramView::from)
            .collect::<Vec<_>>(),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StampBody {
    /// The member (the id in their app's code).
    pub member_id: Uuid,
    pub program_id: Uuid,
    /// The store's own id of the purchase: one issue per (store, transaction_id).
    pub transaction_id: String,
    /// Items bought (1 to 100): required by a per-item program, ignored by a per-purchase one.
    #[schema(minimum = 1, maximum = 100)]
    pub items: Option<i64>,
}

/// Give a member stamps for a purchase at a store of the business: the store's cashiers and
/// managers, the business's admins, or its point-of-sale clients with `stamps:issue`. A full
/// card issues the program's reward and the rest carries over. Idempotent on (store,
/// transaction_id): the same request again answers 200 with the first issue; another request
/// for that transaction is 409.
#[utoipa::path(
    post, path = "/api/v1/points/businesses/{business_id}/stores/{store_id}/stamps", tag = "stamps",
    security(("bearer" = [])),
    params(("business_id" = Uuid, Path), ("store_id" = Uuid, Path)),
    request_body = StampBody,
    responses(
        (status = 201, description = "Stamps given", body = StampsIssuedView),
        (status = 200, description = "This transaction was stamped before by the same request", body = StampsIssuedView),
        (status = 403, description = "A member, or staff of the business not at this store", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such business, store or program (staff of another business get this for the business)", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The transaction was stamped with a different request", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A bad field, or the program has ended", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this caller this minute; retry after `Retry-After` seconds", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "issue_stamps", business_id = %path.0, store_id = %path.1))]
pub async fn issue(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, Uuid)>,
    Json(body): Json<StampBody>,
) -> Result<HttpResponse, ApiError> {
    let (business_id, store_id) = path.into_inner();
    authorize_at_store(&principal, business_id, store_id)?;
    state
        .limits
        .admit("stamps", principal.rate_caller(), &principal.scope_key())
        .await?;
    let mut errors = FieldErrors::default();
    let transaction_id = errors.checked(text::required(
        "transaction_id",
        TRANSACTION_ID,
        &body.transaction_id,
    ))?;
    let items = match body.items {
        Some(items) => errors.field("items", Items::parse(items)).map(Some),
        None => Some(None),
    };
    let (Some(transaction_id), Some(items)) = (transaction_id, items) else {
        return Err(errors.into_error());
    };
    let actor = actor(&principal);
    let issued = core::stamps::issue(
        &state.pool,
        &IssueRequest {
            business_id,
            store_id,
            member_id: body.member_id,
            program_id: body.program_id,
            transaction_id: &transaction_id,
            items,
            issued_by: &actor,
        },
    )
    .await?;
    let view = StampsIssuedView::of(&issued, Utc::now());
    Ok(if issued.replayed {
        HttpResponse::Ok().json(view)
    } else {
        HttpResponse::Created().json(view)
    })
}

/// Void an issue within its program's void window (the same callers as giving stamps): its
/// stamps come off the card and any reward it filled the card for is taken back. Once only:
/// voiding a voided issue changes nothing and answers 200 with the void as it was made.
#[utoipa::path(
    post, path = "/api/v1/points/businesses/{business_id}/stores/{store_id}/stamps/{issue_id}/void",
    tag = "stamps", security(("bearer" = [])),
    params(("business_id" = Uuid, Path), ("store_id" = Uuid, Path), ("issue_id" = Uuid, Path)),
    responses(
        (status = 200, description = "Voided (now, or before: see `already_voided`)", body = StampsVoidedView),
        (status = 403, description = "A member, or staff of the business not at this store", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such issue at this store (or no such business, for staff of another)", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "void-window-closed: the program's void window has passed", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this caller this minute; retry after `Retry-After` seconds", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "void_stamps", business_id = %path.0, store_id = %path.1, issue_id = %path.2))]
pub async fn void(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (business_id, store_id, issue_id) = path.into_inner();
    authorize_at_store(&principal, business_id, store_id)?;
    state
        .limits
        .admit("stamps", principal.rate_caller(), &principal.scope_key())
        .await?;
    let actor = actor(&principal);
    let voided = core::stamps::void(
        &state.pool,
        &VoidRequest {
            business_id,
            store_id,
            issue_id,
            voided_by: &actor,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(StampsVoidedView::of(&voided, Utc::now())))
}

/// A member's stamp cards at a business: the member themselves, or the business's staff.
#[utoipa::path(
    get, path = "/api/v1/points/businesses/{business_id}/members/{member_id}/stamp-cards",
    tag = "stamps", security(("bearer" = [])),
    params(("business_id" = Uuid, Path), ("member_id" = Uuid, Path)),
    responses(
        (status = 200, body = [StampCardView]),
        (status = 403, description = "Another member", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such business (for staff of another)", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "member_stamp_cards", business_id = %path.0, member_id = %path.1))]
pub async fn member_cards(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (business_id, member_id) = path.into_inner();
    if !principal.is_member(member_id) {
        enter_business(&principal, business_id)?;
    }
    principal.authorize_member_access_in(business_id, member_id, BUSINESS_STAFF, None)?;
    let cards = core::stamps::member_cards(&state.pool, business_id, member_id).await?;
    let now = Utc::now();
    Ok(HttpResponse::Ok().json(
        cards
            .into_iter()
            .map(|c| StampCardView::of_summary(c, now))
            .collect::<Vec<_>>(),
    ))
}

/// The member's wallet: one card per business where they have points or stamp cards (members
/// only, their own).
#[utoipa::path(
    get, path = "/api/v1/points/me/cards", tag = "stamps", security(("bearer" = [])),
    responses(
        (status = 200, body = Wallet),
        (status = 403, description = "Not a member's token", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "wallet"))]
pub async fn wallet(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    let member_id = principal.subject;
    if !principal.is_member(member_id) {
        return Err(ApiError::Forbidden(
            "the wallet is a member's own: use a member's token".into(),
        ));
    }
    let entries = core::stamps::wallet(&state.pool, member_id).await?;
    let now = Utc::now();
    Ok(HttpResponse::Ok().json(Wallet {
        member_id,
        cards: entries
            .into_iter()
            .map(|e| WalletCard::of(e, now))
            .collect(),
    }))
}
