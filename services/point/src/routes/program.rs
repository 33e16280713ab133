//! Running the program: earn rules, settings, the sources' return windows (admins).

use super::views::{ProgramSettingsView, RuleView};
use super::{actor, AppState, FieldErrors, ADMINS};
use crate::core;
use crate::core::program::Staff;
use crate::domain::program::{NewRule, PendingDays, RULE_MATCH, RULE_NAME};
use actix_web::{web, HttpResponse};
use auth::Principal;
use chrono::{DateTime, Utc};
use platform::http::Json;
use platform::{text, ApiError, FieldError};
use serde::Deserialize;
use uuid::Uuid;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    pub name: String,
    /// Multiplies the base points: 200 is double points (100 to 10000).
    #[serde(default = "no_multiplier")]
    #[schema(minimum = 100, maximum = 10000)]
    pub multiplier_bp: i32,
    /// Fixed points added per matching purchase.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000)]
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

impl RuleBody {
    fn parse(&self) -> Result<NewRule, ApiError> {
        let mut errors = FieldErrors::default();
        let name = errors.checked(text::required("name", RULE_NAME, &self.name))?;
        let source =
            errors.checked(text::optional("source", RULE_MATCH, self.source.as_deref()))?;
        let store_id = errors.checked(text::optional(
            "store_id",
            RULE_MATCH,
            self.store_id.as_deref(),
        ))?;
        let category = errors.checked(text::optional(
            "category",
            RULE_MATCH,
            self.category.as_deref(),
        ))?;
        let (Some(name), Some(source), Some(store_id), Some(category)) =
            (name, source, store_id, category)
        else {
            return Err(errors.into_error());
        };
        let rule = NewRule {
            name,
            multiplier_bp: self.multiplier_bp,
            bonus_points: self.bonus_points,
            source,
            store_id,
            category,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
        };
        for invalid in rule.invalid_fields() {
            errors.push(invalid.field, invalid.message);
        }
        errors.into_result()?;
        Ok(rule)
    }
}

fn staff<'a>(principal: &Principal, actor: &'a str) -> Staff<'a> {
    Staff {
        id: principal.subject,
        actor,
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
    responses((status = 200, body = [RuleView]))
)]
#[tracing::instrument(skip_all, fields(flow = "list_rules"))]
pub async fn list_rules(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<RuleQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(ADMINS)?;
    let rules = core::program::list_rules(&state.pool, query.include_retired).await?;
    Ok(HttpResponse::Ok().json(rules.into_iter().map(RuleView::from).collect::<Vec<_>>()))
}

/// Add a bonus rule; it applies to purchases earned from now on.
#[utoipa::path(
    post, path = "/api/v1/points/rules", tag = "program", security(("bearer" = [])),
    request_body = RuleBody,
    responses((status = 201, body = RuleView), (status = 422, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
#[tracing::instrument(skip_all, fields(flow = "create_rule"))]
pub async fn create_rule(
    state: web::Data<AppState>,
    principal: Principal,
    Json(body): Json<RuleBody>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(ADMINS)?;
    let rule = body.parse()?;
    let actor = actor(&principal);
    let created = core::program::create_rule(
        &state.pool,
        &rule,
        staff(&principal, &actor),
        &state.program,
    )
    .await?;
    Ok(HttpResponse::Created().json(RuleView::from(created)))
}

/// Change a rule: the old version is retired and a new one takes its place. Points already
/// earned keep the rules they were earned under. A campaign's rule changes only with its
/// campaign (409 `rule-owned-by-campaign`).
#[utoipa::path(
    put, path = "/api/v1/points/rules/{rule_id}", tag = "program", security(("bearer" = [])),
    params(("rule_id" = Uuid, Path)),
    request_body = RuleBody,
    responses(
        (status = 201, body = RuleView),
        (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The rule belongs to a campaign (`rule-owned-by-campaign`)", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, body = platform::problem::ProblemDetails, content_type = "application/problem+json")
    )
)]
#[tracing::instrument(skip_all, fields(flow = "replace_rule", rule_id = %*path))]
pub async fn replace_rule(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
    Json(body): Json<RuleBody>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(ADMINS)?;
    let rule = body.parse()?;
    let actor = actor(&principal);
    let created = core::program::replace_rule(
        &state.pool,
        path.into_inner(),
        &rule,
        staff(&principal, &actor),
        &state.program,
    )
    .await?;
    Ok(HttpResponse::Created().json(RuleView::from(created)))
}

/// Retire a rule: it stops applying to new earns. A campaign's rule ends only with its campaign
/// (409 `rule-owned-by-campaign`).
#[utoipa::path(
    delete, path = "/api/v1/points/rules/{rule_id}", tag = "program", security(("bearer" = [])),
    params(("rule_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Retired"),
        (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The rule belongs to a campaign (`rule-owned-by-campaign`)", body = platform::problem::ProblemDetails, content_type = "application/problem+json")
    )
)]
#[tracing::instrument(skip_all, fields(flow = "retire_rule", rule_id = %*path))]
pub async fn retire_rule(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(ADMINS)?;
    let actor = actor(&principal);
    core::program::retire_rule(
        &state.pool,
        path.into_inner(),
        staff(&principal, &actor),
        &state.program,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The program's settings: currency, base rate, expiry, caps, rounding, negative balances.
#[utoipa::path(
    get, path = "/api/v1/points/program", tag = "program", security(("bearer" = [])),
    responses((status = 200, body = ProgramSettingsView))
)]
#[tracing::instrument(skip_all, fields(flow = "get_program"))]
pub async fn get_program(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(ADMINS)?;
    let settings = core::program::settings(&state.pool).await?;
    Ok(HttpResponse::Ok().json(ProgramSettingsView::from(&settings)))
}

/// Change the program's settings (applies to what happens from now on).
#[utoipa::path(
    put, path = "/api/v1/points/program", tag = "program", security(("bearer" = [])),
    request_body = ProgramSettingsView,
    responses((status = 200, body = ProgramSettingsView), (status = 422, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
#[tracing::instrument(skip_all, fields(flow = "update_program"))]
pub async fn update_program(
    state: web::Data<AppState>,
    principal: Principal,
    Json(body): Json<ProgramSettingsView>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(ADMINS)?;
    let settings = body.parse().map_err(ApiError::Validation)?;
    let actor = actor(&principal);
    core::program::update_settings(
        &state.pool,
        &settings,
        staff(&principal, &actor),
        &state.program,
    )
    .await?;
    Ok(HttpResponse::Ok().json(ProgramSettingsView::from(&settings)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceBody {
    /// Days points from this source stay pending (0 to 365; 0 makes them active at once).
    #[schema(minimum = 0, maximum = 365)]
    pub pending_days: i32,
}

/// Set a source's return window.
#[utoipa::path(
    put, path = "/api/v1/points/sources/{source}", tag = "program", security(("bearer" = [])),
    params(("source" = String, Path)),
    request_body = SourceBody,
    responses((status = 204, description = "Saved"), (status = 422, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
#[tracing::instrument(skip_all, fields(flow = "set_source", source = %*path))]
pub async fn set_source(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    Json(body): Json<SourceBody>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(ADMINS)?;
    let source = path.into_inner();
    let days = PendingDays::parse(body.pending_days)
        .map_err(|e| ApiError::Validation(vec![FieldError::new("pending_days", e.to_string())]))?;
    let actor = actor(&principal);
    core::program::set_pending_days(
        &state.pool,
        &source,
        days,
        staff(&principal, &actor),
        &state.program,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
