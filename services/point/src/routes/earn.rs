//! Earning from partners: earns for a member, and point-of-sale purchases.

use super::views::{EarnView, EarnedView};
use super::{actor, AppState, FieldErrors, ADMINS};
use crate::core;
use crate::core::earn::{EarnOutcome, EarnRequest, PosPurchase};
use crate::domain::program::{DESCRIPTION, REFERENCE};
use crate::domain::{earning, EarnBasis, PartnerSource, Points, TransactionKind};
use actix_web::{web, HttpResponse};
use auth::Principal;
use chrono::{DateTime, Utc};
use kernel::money::{Currency, Money};
use kernel::text::TextRule;
use platform::http::Json;
use platform::{text, ApiError};
use serde::Deserialize;
use uuid::Uuid;

const STORE_ID: TextRule = TextRule::line(100);
const TILL_TRANSACTION_ID: TextRule = TextRule::line(100);
const MATCH_FIELD: TextRule = TextRule::line(200);

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EarnBody {
    /// A fixed number of points; or give `amount` and `currency` and let the earn rules decide.
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub points: Option<i64>,
    /// Money spent, in minor units.
    pub amount: Option<i64>,
    pub currency: Option<String>,
    /// Where the earn comes from (`shop`, `order`, ...): lower-case letters, digits, `-`, `_`.
    pub source: String,
    /// The partner's id for the purchase: one earn per (source, reference_id).
    pub reference_id: String,
    pub description: Option<String>,
    /// When the purchase happened (default: now).
    pub occurred_at: Option<DateTime<Utc>>,
    pub store_id: Option<String>,
    pub category: Option<String>,
}

fn parse_amount(errors: &mut FieldErrors, amount: i64, currency: &str) -> Option<Money> {
    let currency = errors.field("currency", Currency::parse(currency))?;
    errors.field("amount", Money::positive(amount, currency))
}

fn earn_response(outcome: EarnOutcome) -> HttpResponse {
    match outcome {
        EarnOutcome::Earned(earned) => HttpResponse::Created().json(EarnView {
            transaction_id: Some(earned.transaction_id),
            points: earned.points,
            pending: earned.pending,
            replayed: false,
            earned: Some(EarnedView::from(earned)),
        }),
        EarnOutcome::Repeat(record) => HttpResponse::Ok().json(EarnView {
            transaction_id: Some(record.id),
            points: record.points,
            pending: TransactionKind::parse(&record.kind) == Some(TransactionKind::EarnPending),
            replayed: true,
            earned: None,
        }),
        EarnOutcome::Nothing => HttpResponse::Ok().json(EarnView {
            transaction_id: None,
            points: 0,
            pending: false,
            replayed: false,
            earned: None,
        }),
    }
}

/// Earn points for a member: partners with `points:earn` (and admins). Idempotent on
/// (source, reference_id): the same again answers 200 with the original transaction; the same
/// reference with another amount is 409.
#[utoipa::path(
    post, path = "/api/v1/points/{user_id}/earn", tag = "points", security(("bearer" = [])),
    params(("user_id" = Uuid, Path)),
    request_body = EarnBody,
    responses(
        (status = 429, description = "Too many requests from this caller this minute; retry after `Retry-After` seconds", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 201, description = "Points earned", body = EarnView),
        (status = 200, description = "Already earned for this reference (or worth no points)", body = EarnView),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "Unknown member", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The reference was used with another amount", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "earn", member_id = %*path))]
pub async fn earn(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
    Json(body): Json<EarnBody>,
) -> Result<HttpResponse, ApiError> {
    principal.require_scope(auth::scopes::POINTS_EARN, ADMINS)?;
    state
        .limits
        .admit("earns", principal.rate_caller(), &principal.scope_key())
        .await?;
    let member_id = path.into_inner();
    let mut errors = FieldErrors::default();
    let source = errors.field("source", PartnerSource::parse(&body.source));
    let reference_id = errors.checked(text::required(
        "reference_id",
        REFERENCE,
        &body.reference_id,
    ))?;
    let description = errors.checked(text::optional(
        "description",
        DESCRIPTION,
        body.description.as_deref(),
    ))?;
    let store_id = errors.checked(text::optional(
        "store_id",
        MATCH_FIELD,
        body.store_id.as_deref(),
    ))?;
    let category = errors.checked(text::optional(
        "category",
        MATCH_FIELD,
        body.category.as_deref(),
    ))?;
    let occurred_at = errors.field(
        "occurred_at",
        earning::occurred_at(body.occurred_at, Utc::now()),
    );
    let store_id = store_id.flatten();
    let category = category.flatten();
    let basis = match (body.points, body.amount, body.currency.as_deref()) {
        (Some(points), None, None) => errors
            .field("points", Points::parse(points))
            .map(EarnBasis::Points),
        (None, Some(amount), Some(currency)) => {
            parse_amount(&mut errors, amount, currency).map(|amount| EarnBasis::Purchase {
                amount,
                store_id: store_id.as_deref(),
                category: category.as_deref(),
            })
        }
        _ => {
            errors.push(
                "points",
                "give either `points`, or `amount` with `currency`",
            );
            None
        }
    };
    let (Some(source), Some(reference_id), Some(description), Some(occurred_at), Some(basis)) =
        (source, reference_id, description, occurred_at, basis)
    else {
        return Err(errors.into_error());
    };
    errors.into_result()?;
    let actor = actor(&principal);
    let outcome = core::earn::earn_for_member(
        &state.pool,
        &state.program,
        &EarnRequest {
            member_id,
            basis,
            source: source.as_str(),
            reference_id: &reference_id,
            description: description.as_deref(),
            occurred_at,
            actor: Some(&actor),
        },
    )
    .await?;
    state.balance_changed(member_id);
    Ok(earn_response(outcome))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PosBody {
    pub store_id: String,
    /// The till's transaction id: one earn per (store, transaction).
    pub transaction_id: String,
    /// The member's id (from their app's QR code or card).
    pub user_identifier: String,
    /// Minor units of `currency`.
    pub amount: i64,
    /// Default: the program's currency.
    pub currency: Option<String>,
    pub timestamp: Option<DateTime<Utc>>,
    pub category: Option<String>,
}

/// A point-of-sale purchase (seed 003's POS integration), for partners with `points:earn`.
#[utoipa::path(
    post, path = "/api/v1/pos/transaction", tag = "points", security(("bearer" = [])),
    request_body = PosBody,
    responses(
        (status = 429, description = "Too many requests from this caller this minute; retry after `Retry-After` seconds", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 201, body = EarnView),
        (status = 200, description = "Already recorded", body = EarnView),
        (status = 404, description = "Unknown member", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "pos_transaction", member_id = tracing::field::Empty))]
pub async fn pos_transaction(
    state: web::Data<AppState>,
    principal: Principal,
    Json(body): Json<PosBody>,
) -> Result<HttpResponse, ApiError> {
    principal.require_scope(auth::scopes::POINTS_EARN, ADMINS)?;
    state
        .limits
        .admit("earns", principal.rate_caller(), &principal.scope_key())
        .await?;
    let mut errors = FieldErrors::default();
    let store_id = errors.checked(text::required("store_id", STORE_ID, &body.store_id))?;
    let till_transaction_id = errors.checked(text::required(
        "transaction_id",
        TILL_TRANSACTION_ID,
        &body.transaction_id,
    ))?;
    let member_id = errors.field(
        "user_identifier",
        Uuid::parse_str(body.user_identifier.trim())
            .map_err(|_| "must be the member's id (the UUID in their app's code)"),
    );
    let occurred_at = errors.field(
        "occurred_at",
        earning::occurred_at(body.timestamp, Utc::now()),
    );
    let currency = match body.currency.as_deref() {
        Some(code) => errors.field("currency", Currency::parse(code)).map(Some),
        None => Some(None),
    };
    let category = errors.checked(text::optional(
        "category",
        MATCH_FIELD,
        body.category.as_deref(),
    ))?;
    let (
        Some(store_id),
        Some(till_transaction_id),
        Some(member_id),
        Some(occurred_at),
        Some(currency),
        Some(category),
    ) = (
        store_id,
        till_transaction_id,
        member_id,
        occurred_at,
        currency,
        category,
    )
    else {
        return Err(errors.into_error());
    };
    tracing::Span::current().record("member_id", tracing::field::display(member_id));
    let actor = actor(&principal);
    let outcome = core::earn::pos_purchase(
        &state.pool,
        &state.program,
        &PosPurchase {
            member_id,
            store_id: &store_id,
            till_transaction_id: &till_transaction_id,
            amount_minor: body.amount,
            currency,
            category: category.as_deref(),
            occurred_at,
            actor: &actor,
        },
    )
    .await?;
    state.balance_changed(member_id);
    Ok(earn_response(outcome))
}
