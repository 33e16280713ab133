use super::{AppState, STAFF};
use crate::domain::cursor::Cursor;
use crate::domain::Multiplier;
use crate::jobs::EXPIRY_WARNING_DAYS;
use crate::storage::{accounts, entries, lots, program};
use actix_web::{web, HttpResponse};
use auth::Principal;
use chrono::{DateTime, Utc};
use platform::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Serialize, utoipa::ToSchema)]
pub struct NextTier {
    pub tier: String,
    /// Qualifying spend still needed, in minor units of the program currency.
    pub spend_needed: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BalanceView {
    pub user_id: Uuid,
    /// Active points (held ones included).
    pub total_points: i64,
    /// What the member can spend now: active minus held.
    pub available_points: i64,
    /// Points still waiting out a return window.
    pub pending_points: i64,
    /// Points reserved by unfinished redemptions.
    pub on_hold_points: i64,
    /// Active points that expire within 30 days.
    pub expiring_within_30_days: i64,
    pub tier: String,
    /// The tier's earn multiplier, e.g. 1.25.
    pub tier_multiplier: f64,
    /// Set while an admin's override is in force.
    pub tier_override_reason: Option<String>,
    pub tier_override_expires_at: Option<DateTime<Utc>>,
    /// Qualifying spend over the last 12 months, minor units of the program currency.
    pub qualifying_spend: i64,
    /// Absent at the top tier.
    pub next_tier: Option<NextTier>,
    pub tier_period_ends_at: DateTime<Utc>,
    pub lifetime_points: i64,
}

/// A member's points: balance, pending, held, expiring, tier and progress to the next tier.
#[utoipa::path(
    get, path = "/api/v1/points/{user_id}/balance", tag = "points", security(("bearer" = [])),
    params(("user_id" = Uuid, Path, description = "The member")),
    responses(
        (status = 200, body = BalanceView),
        (status = 401, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Another member's balance, or a partner without points:read", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(flow = "get_balance"))]
pub async fn get_balance(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let member_id = path.into_inner();
    principal.authorize_member_access(member_id, STAFF, Some(auth::scopes::POINTS_READ))?;
    let mut conn = state.pool.acquire().await?;
    let account = accounts::find(&mut conn, member_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("this member has no points account".into()))?;
    let now = Utc::now();
    let expiring = lots::expiring_within(&mut conn, member_id, now, EXPIRY_WARNING_DAYS).await?;
    let spend = program::rolling_spend(&mut conn, member_id, now).await?;
    let tiers = program::tiers(&mut conn).await?;
    let next_tier = tiers
        .iter()
        .filter(|t| t.rank > account.tier_rank)
        .min_by_key(|t| t.rank)
        .map(|t| NextTier {
            tier: t.code.clone(),
            spend_needed: (t.min_qualifying_spend - spend).max(0),
        });
    Ok(HttpResponse::Ok().json(BalanceView {
        user_id: member_id,
        total_points: account.balance,
        available_points: account.available(),
        pending_points: account.pending,
        on_hold_points: account.held,
        expiring_within_30_days: expiring,
        tier_multiplier: Multiplier::from_basis_points(account.multiplier_bp).as_decimal(),
        tier_override_reason: account.override_reason,
        tier_override_expires_at: account.override_expires_at,
        tier: account.tier,
        qualifying_spend: spend,
        next_tier,
        tier_period_ends_at: account.tier_period_ends_at,
        lifetime_points: account.lifetime_earned,
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TransactionQuery {
    /// Comma-separated kinds: earn, earn_pending, activate, cancel_pending, redeem, reverse, expire, adjust.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Created at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Created before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    pub limit: Option<i64>,
    /// Seed 003's paging; prefer the cursor.
    pub offset: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TransactionView {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    pub points: i64,
    pub source: String,
    pub reference_id: String,
    pub description: Option<String>,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TransactionPage {
    pub items: Vec<TransactionView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

const KINDS: &[&str] = &[
    "earn",
    "earn_pending",
    "activate",
    "cancel_pending",
    "redeem",
    "reverse",
    "expire",
    "adjust",
];

/// A member's transactions, newest first, filtered by type and date.
#[utoipa::path(
    get, path = "/api/v1/points/{user_id}/transactions", tag = "points", security(("bearer" = [])),
    params(("user_id" = Uuid, Path), TransactionQuery),
    responses(
        (status = 200, body = TransactionPage),
        (status = 400, description = "A malformed or tampered cursor", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "An unknown type or a bad limit", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn list_transactions(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
    query: web::Query<TransactionQuery>,
) -> Result<HttpResponse, ApiError> {
    let member_id = path.into_inner();
    principal.authorize_member_access(member_id, STAFF, Some(auth::scopes::POINTS_READ))?;
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::validation("limit", "must be between 1 and 100"));
    }
    let offset = query.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::validation("offset", "must not be negative"));
    }
    let kinds: Option<Vec<String>> = match &query.kind {
        Some(raw) => {
            let kinds: Vec<String> = raw.split(',').map(|k| k.trim().to_owned()).collect();
            if let Some(bad) = kinds.iter().find(|k| !KINDS.contains(&k.as_str())) {
                return Err(ApiError::validation(
                    "type",
                    format!("`{bad}` is not one of {}", KINDS.join(", ")),
                ));
            }
            Some(kinds)
        }
        None => None,
    };
    let mut conn = state.pool.acquire().await?;
    let after = match &query.cursor {
        Some(raw) => {
            let cursor = Cursor::decode(raw).ok_or_else(|| {
                ApiError::MalformedRequest("the cursor is not one this API issued".into())
            })?;
            if !entries::cursor_is_valid(&mut conn, member_id, &cursor).await? {
                return Err(ApiError::MalformedRequest(
                    "the cursor is not one this API issued".into(),
                ));
            }
            Some(cursor)
        }
        None => None,
    };
    let mut rows = entries::page(
        &mut conn,
        &entries::Page {
            member_id,
            kinds: kinds.as_deref(),
            from: query.from,
            to: query.to,
            after,
            offset,
            limit: limit + 1,
        },
    )
    .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = more
        .then(|| {
            rows.last().map(|r| {
                Cursor {
                    created_at: r.created_at,
                    id: r.id,
                }
                .encode()
            })
        })
        .flatten();
    let items = rows
        .into_iter()
        .map(|r| TransactionView {
            id: r.id,
            kind: r.kind,
            points: r.points,
            source: r.source,
            reference_id: r.reference_id,
            description: r.description,
            amount: r.amount_minor,
            currency: r.currency,
            occurred_at: r.occurred_at,
            created_at: r.created_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(TransactionPage { items, next_cursor }))
}

/// What the program owes: every member's points, from the balances and from the ledger.
#[utoipa::path(
    get, path = "/api/v1/points/liability", tag = "program", security(("bearer" = [])),
    responses((status = 200, body = crate::storage::accounts::Liability), (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
pub async fn liability(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(STAFF)?;
    let mut conn = state.pool.acquire().await?;
    Ok(HttpResponse::Ok().json(accounts::liability(&mut conn).await?))
}
