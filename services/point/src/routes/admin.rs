//! Staff endpoints: adjustments, earn rules, program settings, return windows, tier overrides.

use super::{actor, AppState, ADMINS, STAFF};
use crate::domain::{Rounding, MAX_POINTS};
use crate::ledger::{self, Adjustment};
use crate::storage::accounts;
use crate::storage::program::{self, NewRule, ProgramSettings};
use actix_web::{web, HttpRequest, HttpResponse};
use auth::Principal;
use chrono::{DateTime, Utc};
use platform::http::Json;
use platform::idempotency::IdempotencyKey;
use kernel::money::Currency;
use platform::{ApiError, FieldError};
use serde::Deserialize;
use uuid::Uuid;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustBody {
    /// Positive to credit, negative to debit.
    pub points: i64,
    pub reason: String,
}

/// Correct a member's points (support staff and above), audited and published as
/// `points.adjusted`. Idempotent on the `Idempotency-Key` header.
#[utoipa::path(
    post, path = "/api/v1/points/{user_id}/adjustments", tag = "program", security(("bearer" = [])),
    params(("user_id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    request_body = AdjustBody,
    responses(
        (status = 201, body = crate::routes::balance::TransactionView),
        (status = 200, description = "Made before with this key", body = crate::routes::balance::TransactionView),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A zero or absurd amount, no reason, or a debit larger than the available points", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn adjust(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    path: web::Path<Uuid>,
    Json(body): Json<AdjustBody>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(STAFF)?;
    let member_id = path.into_inner();
    let key = IdempotencyKey::from_request(&req)?;
    let mut errors = Vec::new();
    if body.points == 0 || body.points.abs() > MAX_POINTS {
        errors.push(FieldError::new(
            "points",
            format!("must be non-zero and at most {MAX_POINTS} either way"),
        ));
    }
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        errors.push(FieldError::new("reason", "must be 1 to 500 characters"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let actor = actor(&principal);
    let mut tx = state.pool.begin().await?;
    let (record, replayed) = ledger::adjust(
        &mut tx,
        &Adjustment {
            member_id,
            points: body.points,
            reason,
            actor: &actor,
            idempotency_key: key.as_str(),
        },
    )
    .await?;
    tx.commit().await?;
    let view = crate::routes::balance::TransactionView {
        id: record.id,
        kind: record.kind,
        points: record.points,
        source: record.source,
        reference_id: record.reference_id,
        description: record.description,
        amount: record.amount_minor,
        currency: record.currency,
        occurred_at: record.occurred_at,
        created_at: record.created_at,
    };
    Ok(if replayed {
        HttpResponse::Ok().json(view)
    } else {
        HttpResponse::Created().json(view)
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    pub name: String,
    /// Multiplies the base points: 200 is double points (100 to 10000).
    #[serde(default = "no_multiplier")]
    pub multiplier_bp: i32,
    /// Fixed points added per matching purchase.
    #[serde(default)]
    pub bonus_points: i64,
    /// Only purchases from this source / store / category; absent matches all.
    pub source: Option<String>,
    pub store_id: Option<String>,
    pub category: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
}

fn no_multiplier() -> i32 {
    100
}

fn validate_rule(body: &RuleBody) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if body.name.trim().is_empty() || body.name.chars().count() > 100 {
        errors.push(FieldError::new("name", "must be 1 to 100 characters"));
    }
    if !(100..=10000).contains(&body.multiplier_bp) {
        errors.push(FieldError::new(
            "multiplier_bp",
            "must be between 100 (no bonus) and 10000 (100x)",
        ));
    }
    if !(0..=1_000_000).contains(&body.bonus_points) {
        errors.push(FieldError::new(
            "bonus_points",
            "must be between 0 and 1000000",
        ));
    }
    if body.multiplier_bp == 100 && body.bonus_points == 0 {
        errors.push(FieldError::new(
            "multiplier_bp",
            "a rule must give a multiplier or bonus points",
        ));
    }
    if let (Some(start), Some(end)) = (body.starts_at, body.ends_at) {
        if end <= start {
            errors.push(FieldError::new("ends_at", "must be after starts_at"));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

fn new_rule<'a>(body: &'a RuleBody, created_by: Uuid, replaces: Option<Uuid>) -> NewRule<'a> {
    NewRule {
        name: body.name.trim(),
        multiplier_bp: body.multiplier_bp,
        bonus_points: body.bonus_points,
        source: body.source.as_deref(),
        store_id: body.store_id.as_deref(),
        category: body.category.as_deref(),
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        created_by,
        replaces,
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct RuleQuery {
    /// Also list retired versions.
    #[serde(default)]
    pub include_retired: bool,
}

/// The earn rules (admins).
#[utoipa::path(
    get, path = "/api/v1/points/rules", tag = "program", security(("bearer" = [])),
    params(RuleQuery),
    responses((status = 200, body = [crate::storage::program::RuleRecord]))
)]
pub async fn list_rules(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<RuleQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(ADMINS)?;
    let mut conn = state.pool.acquire().await?;
    Ok(HttpResponse::Ok().json(program::rules(&mut conn, query.include_retired).await?))
}

/// Add a bonus rule; it applies to purchases earned from now on.
#[utoipa::path(
    post, path = "/api/v1/points/rules", tag = "program", security(("bearer" = [])),
    request_body = RuleBody,
    responses((status = 201, body = crate::storage::program::RuleRecord), (status = 422, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
pub async fn create_rule(
    state: web::Data<AppState>,
    principal: Principal,
    Json(body): Json<RuleBody>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(ADMINS)?;
    validate_rule(&body)?;
    let mut tx = state.pool.begin().await?;
    let rule = program::insert_rule(&mut tx, &new_rule(&body, principal.subject, None)).await?;
    program::audit(
        &mut tx,
        &actor(&principal),
        "rule.create",
        None,
        serde_json::json!({"rule_id": rule.id}),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Created().json(rule))
}

/// Change a rule: the old version is retired and a new one takes its place. Points already
/// earned keep the rules they were earned under.
#[utoipa::path(
    put, path = "/api/v1/points/rules/{rule_id}", tag = "program", security(("bearer" = [])),
    params(("rule_id" = Uuid, Path)),
    request_body = RuleBody,
    responses((status = 201, body = crate::storage::program::RuleRecord), (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
pub async fn replace_rule(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
    Json(body): Json<RuleBody>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(ADMINS)?;
    validate_rule(&body)?;
    let mut tx = state.pool.begin().await?;
    let old = program::retire_rule(&mut tx, path.into_inner())
        .await?
        .ok_or_else(|| ApiError::NotFound("no live rule with this id".into()))?;
    let rule =
        program::insert_rule(&mut tx, &new_rule(&body, principal.subject, Some(old.id))).await?;
    program::audit(
        &mut tx,
        &actor(&principal),
        "rule.replace",
        None,
        serde_json::json!({"rule_id": rule.id, "replaces": old.id}),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Created().json(rule))
}

/// Retire a rule: it stops applying to new earns.
#[utoipa::path(
    delete, path = "/api/v1/points/rules/{rule_id}", tag = "program", security(("bearer" = [])),
    params(("rule_id" = Uuid, Path)),
    responses((status = 204, description = "Retired"), (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
pub async fn retire_rule(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(ADMINS)?;
    let mut tx = state.pool.begin().await?;
    let old = program::retire_rule(&mut tx, path.into_inner())
        .await?
        .ok_or_else(|| ApiError::NotFound("no live rule with this id".into()))?;
    program::audit(
        &mut tx,
        &actor(&principal),
        "rule.retire",
        None,
        serde_json::json!({"rule_id": old.id}),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The program's settings: currency, base rate, expiry, caps, rounding, negative balances.
#[utoipa::path(
    get, path = "/api/v1/points/program", tag = "program", security(("bearer" = [])),
    responses((status = 200, body = ProgramSettings))
)]
pub async fn get_program(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(ADMINS)?;
    let mut conn = state.pool.acquire().await?;
    Ok(HttpResponse::Ok().json(program::settings(&mut conn).await?))
}

/// Change the program's settings (applies to what happens from now on).
#[utoipa::path(
    put, path = "/api/v1/points/program", tag = "program", security(("bearer" = [])),
    request_body = ProgramSettings,
    responses((status = 200, body = ProgramSettings), (status = 422, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
pub async fn update_program(
    state: web::Data<AppState>,
    principal: Principal,
    Json(body): Json<ProgramSettings>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(ADMINS)?;
    let mut errors = Vec::new();
    if Currency::parse(&body.currency).is_err() {
        errors.push(FieldError::new(
            "currency",
            "is not an ISO 4217 currency code",
        ));
    }
    if !(0..=1000).contains(&body.points_per_unit) {
        errors.push(FieldError::new(
            "points_per_unit",
            "must be between 0 and 1000",
        ));
    }
    if !(1..=120).contains(&body.expiry_months) {
        errors.push(FieldError::new(
            "expiry_months",
            "must be between 1 and 120",
        ));
    }
    for (field, cap) in [
        ("cap_per_transaction", body.cap_per_transaction),
        ("cap_per_day", body.cap_per_day),
    ] {
        if cap.is_some_and(|c| !(1..=MAX_POINTS).contains(&c)) {
            errors.push(FieldError::new(
                field,
                format!("must be between 1 and {MAX_POINTS}, or absent"),
            ));
        }
    }
    if Rounding::parse(&body.rounding).is_none() {
        errors.push(FieldError::new("rounding", "must be `down` or `nearest`"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut tx = state.pool.begin().await?;
    let before = program::settings(&mut tx).await?;
    program::update_settings(&mut tx, &body).await?;
    program::audit(
        &mut tx,
        &actor(&principal),
        "program.update",
        None,
        serde_json::json!({"before": before, "after": body}),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceBody {
    /// Days points from this source stay pending (0 to 365; 0 makes them active at once).
    pub pending_days: i32,
}

/// Set a source's return window.
#[utoipa::path(
    put, path = "/api/v1/points/sources/{source}", tag = "program", security(("bearer" = [])),
    params(("source" = String, Path)),
    request_body = SourceBody,
    responses((status = 204, description = "Saved"), (status = 422, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
pub async fn set_source(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    Json(body): Json<SourceBody>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(ADMINS)?;
    let source = path.into_inner();
    if !(0..=365).contains(&body.pending_days) {
        return Err(ApiError::validation(
            "pending_days",
            "must be between 0 and 365",
        ));
    }
    let mut tx = state.pool.begin().await?;
    program::set_pending_days(&mut tx, &source, body.pending_days).await?;
    program::audit(
        &mut tx,
        &actor(&principal),
        "source.update",
        None,
        serde_json::json!({"source": source, "pending_days": body.pending_days}),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierOverrideBody {
    /// The tier to hold, or null to end the override.
    pub tier: Option<String>,
    pub reason: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Put a member on a tier regardless of spend, with a reason and an expiry (admins).
#[utoipa::path(
    put, path = "/api/v1/points/{user_id}/tier-override", tag = "program", security(("bearer" = [])),
    params(("user_id" = Uuid, Path)),
    request_body = TierOverrideBody,
    responses((status = 204, description = "Saved"), (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"), (status = 422, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
pub async fn override_tier(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
    Json(body): Json<TierOverrideBody>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(ADMINS)?;
    let member_id = path.into_inner();
    let mut tx = state.pool.begin().await?;
    if accounts::lock(&mut tx, member_id).await?.is_none() {
        return Err(ApiError::NotFound(
            "this member has no points account".into(),
        ));
    }
    match &body.tier {
        Some(tier) => {
            let mut errors = Vec::new();
            let tiers = program::tiers(&mut tx).await?;
            if !tiers.iter().any(|t| &t.code == tier) {
                let codes: Vec<&str> = tiers.iter().map(|t| t.code.as_str()).collect();
                errors.push(FieldError::new(
                    "tier",
                    format!("must be one of {}", codes.join(", ")),
                ));
            }
            let reason = body.reason.as_deref().map(str::trim).unwrap_or("");
            if reason.is_empty() || reason.chars().count() > 500 {
                errors.push(FieldError::new("reason", "must be 1 to 500 characters"));
            }
            if body.expires_at.is_none_or(|t| t <= Utc::now()) {
                errors.push(FieldError::new(
                    "expires_at",
                    "must be a time in the future",
                ));
            }
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            accounts::set_override(
                &mut tx,
                member_id,
                Some(tier),
                Some(reason),
                body.expires_at,
            )
            .await?;
        }
        None => accounts::set_override(&mut tx, member_id, None, None, None).await?,
    }
    program::audit(
        &mut tx,
        &actor(&principal),
        "tier.override",
        Some(member_id),
        serde_json::json!({
            "tier": body.tier, "reason": body.reason, "expires_at": body.expires_at,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
