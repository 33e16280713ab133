use super::{actor, AppState, ADMINS};
use crate::domain::MAX_POINTS;
use crate::ledger::{self, EarnBasis, EarnOutcome, EarnRequest, Earned};
use actix_web::{web, HttpResponse};
use auth::Principal;
use chrono::{DateTime, Duration, Utc};
use platform::http::Json;
use kernel::money::{Currency, Money};
use platform::{ApiError, FieldError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Sources the platform itself earns from; partners may not use them, so a partner's request
/// can never collide with (and block) the earn for a real charge or campaign.
const RESERVED_SOURCES: &[&str] = &[
    "charge",
    "campaign",
    "refund",
    "hold",
    "adjustment",
    "expiry",
    "pending",
    "pos",
];

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EarnBody {
    /// A fixed number of points; or give `amount` and `currency` and let the earn rules decide.
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

#[derive(Serialize, utoipa::ToSchema)]
pub struct EarnView {
    pub transaction_id: Option<Uuid>,
    pub points: i64,
    pub pending: bool,
    /// True when this (source, reference_id) had been earned for already.
    pub replayed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub earned: Option<Earned>,
}

fn check_text(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) {
    if value.trim().is_empty() || value.chars().count() > max || value.chars().any(char::is_control)
    {
        errors.push(FieldError::new(
            field,
            format!("must be 1 to {max} printable characters"),
        ));
    }
}

fn check_occurred_at(
    errors: &mut Vec<FieldError>,
    occurred_at: Option<DateTime<Utc>>,
) -> DateTime<Utc> {
    let now = Utc::now();
    match occurred_at {
        Some(t) if t > now + Duration::minutes(5) => {
            errors.push(FieldError::new("occurred_at", "must not be in the future"));
            now
        }
        Some(t) if t < now - Duration::days(365) => {
            errors.push(FieldError::new(
                "occurred_at",
                "must be within the last year",
            ));
            now
        }
        Some(t) => t,
        None => now,
    }
}

fn parse_amount(errors: &mut Vec<FieldError>, amount: i64, currency: &str) -> Option<Money> {
    let currency = match Currency::parse(currency) {
        Ok(c) => c,
        Err(e) => {
            errors.push(FieldError::new("currency", e));
            return None;
        }
    };
    match Money::positive(amount, currency) {
        Ok(m) => Some(m),
        Err(e) => {
            errors.push(FieldError::new("amount", e));
            None
        }
    }
}

fn earn_response(outcome: EarnOutcome) -> HttpResponse {
    match outcome {
        EarnOutcome::Earned(earned) => HttpResponse::Created().json(EarnView {
            transaction_id: Some(earned.transaction_id),
            points: earned.points,
            pending: earned.pending,
            replayed: false,
            earned: Some(earned),
        }),
        EarnOutcome::Repeat(record) => HttpResponse::Ok().json(EarnView {
            transaction_id: Some(record.id),
            points: record.points,
            pending: record.kind == "earn_pending",
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
        (status = 201, description = "Points earned", body = EarnView),
        (status = 200, description = "Already earned for this reference (or worth no points)", body = EarnView),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "Unknown member", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The reference was used with another amount", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn earn(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
    Json(body): Json<EarnBody>,
) -> Result<HttpResponse, ApiError> {
    principal.require_scope(auth::scopes::POINTS_EARN, ADMINS)?;
    let member_id = path.into_inner();
    let mut errors = Vec::new();
    let source_ok = !body.source.is_empty()
        && body.source.len() <= 40
        && body
            .source
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !source_ok {
        errors.push(FieldError::new(
            "source",
            "must be 1 to 40 of a-z, 0-9, - and _",
        ));
    } else if RESERVED_SOURCES.contains(&body.source.as_str()) {
        errors.push(FieldError::new(
            "source",
            "is reserved for the platform's own earns",
        ));
    }
    check_text(&mut errors, "reference_id", &body.reference_id, 200);
    if let Some(d) = &body.description {
        check_text(&mut errors, "description", d, 500);
    }
    let occurred_at = check_occurred_at(&mut errors, body.occurred_at);
    let basis = match (body.points, body.amount, body.currency.as_deref()) {
        (Some(points), None, None) => {
            if !(1..=MAX_POINTS).contains(&points) {
                errors.push(FieldError::new(
                    "points",
                    format!("must be between 1 and {MAX_POINTS}"),
                ));
            }
            Some(EarnBasis::Points(points))
        }
        (None, Some(amount), Some(currency)) => {
            parse_amount(&mut errors, amount, currency).map(|amount| EarnBasis::Purchase {
                amount,
                store_id: body.store_id.as_deref(),
                category: body.category.as_deref(),
            })
        }
        _ => {
            errors.push(FieldError::new(
                "points",
                "give either `points`, or `amount` with `currency`",
            ));
            None
        }
    };
    let (Some(basis), true) = (basis, errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let actor = actor(&principal);
    let mut tx = state.pool.begin().await?;
    if crate::storage::accounts::find(&mut tx, member_id)
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound(
            "no member with this id has a points account".into(),
        ));
    }
    let outcome = ledger::earn(
        &mut tx,
        &EarnRequest {
            member_id,
            basis,
            source: &body.source,
            reference_id: &body.reference_id,
            description: body.description.as_deref(),
            occurred_at,
            actor: Some(&actor),
        },
    )
    .await?;
    tx.commit().await?;
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
        (status = 201, body = EarnView),
        (status = 200, description = "Already recorded", body = EarnView),
        (status = 404, description = "Unknown member", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn pos_transaction(
    state: web::Data<AppState>,
    principal: Principal,
    Json(body): Json<PosBody>,
) -> Result<HttpResponse, ApiError> {
    principal.require_scope(auth::scopes::POINTS_EARN, ADMINS)?;
    let mut errors = Vec::new();
    check_text(&mut errors, "store_id", &body.store_id, 100);
    check_text(&mut errors, "transaction_id", &body.transaction_id, 100);
    let member_id = Uuid::parse_str(body.user_identifier.trim()).ok();
    if member_id.is_none() {
        errors.push(FieldError::new(
            "user_identifier",
            "must be the member's id (the UUID in their app's code)",
        ));
    }
    let occurred_at = check_occurred_at(&mut errors, body.timestamp);
    let mut tx = state.pool.begin().await?;
    let program_currency = crate::storage::program::settings(&mut tx).await?.currency;
    let amount = parse_amount(
        &mut errors,
        body.amount,
        body.currency.as_deref().unwrap_or(&program_currency),
    );
    let (Some(member_id), Some(amount), true) = (member_id, amount, errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    if crate::storage::accounts::find(&mut tx, member_id)
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound(
            "no member with this id has a points account".into(),
        ));
    }
    let reference = format!("{}:{}", body.store_id.trim(), body.transaction_id.trim());
    let actor = actor(&principal);
    let outcome = ledger::earn(
        &mut tx,
        &EarnRequest {
            member_id,
            basis: EarnBasis::Purchase {
                amount,
                store_id: Some(body.store_id.trim()),
                category: body.category.as_deref(),
            },
            source: "pos",
            reference_id: &reference,
            description: Some("In-store purchase"),
            occurred_at,
            actor: Some(&actor),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(earn_response(outcome))
}
