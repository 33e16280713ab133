//! Reading points: balances, transactions, the program's liability.

use super::views::{BalanceView, LiabilityView, TransactionPage, TransactionView};
use super::{AppState, STAFF};
use crate::core;
use crate::core::balance::TransactionFilter;
use crate::domain::TransactionKind;
use actix_web::{web, HttpResponse};
use auth::Principal;
use chrono::{DateTime, Utc};
use platform::pagination::{Cursor, PageRequest};
use platform::ApiError;
use serde::Deserialize;
use uuid::Uuid;

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
#[tracing::instrument(skip_all, fields(flow = "get_balance", member_id = %*path))]
pub async fn get_balance(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let member_id = path.into_inner();
    principal.authorize_member_access(member_id, STAFF, Some(auth::scopes::POINTS_READ))?;
    let balance =
        core::balance::balance(&state.pool, &state.program, &state.balances, member_id).await?;
    Ok(HttpResponse::Ok().json(BalanceView::from(balance)))
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

fn parse_kinds(raw: &str) -> Result<Vec<TransactionKind>, ApiError> {
    raw.split(',')
        .map(|k| {
            TransactionKind::parse(k.trim()).ok_or_else(|| {
                let known: Vec<&str> = TransactionKind::ALL.iter().map(|k| k.as_str()).collect();
                ApiError::validation(
                    "type",
                    format!("`{}` is not one of {}", k.trim(), known.join(", ")),
                )
            })
        })
        .collect()
}

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
#[tracing::instrument(skip_all, fields(flow = "list_transactions", member_id = %*path))]
pub async fn list_transactions(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
    query: web::Query<TransactionQuery>,
) -> Result<HttpResponse, ApiError> {
    let member_id = path.into_inner();
    principal.authorize_member_access(member_id, STAFF, Some(auth::scopes::POINTS_READ))?;
    let mut page = PageRequest::parse(query.limit, None, 20, 100)?;
    // A cursor that does not decode was not issued here: a malformed request, not a bad field.
    page.after = query
        .cursor
        .as_deref()
        .map(|raw| {
            Cursor::decode(raw).ok_or_else(|| {
                ApiError::MalformedRequest("the cursor is not one this API issued".into())
            })
        })
        .transpose()?;
    let offset = query.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::validation("offset", "must not be negative"));
    }
    let filter = TransactionFilter {
        kinds: query.kind.as_deref().map(parse_kinds).transpose()?,
        from: query.from,
        to: query.to,
        offset,
    };
    let (rows, next_cursor) =
        core::balance::transactions(&state.pool, member_id, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(TransactionPage {
        items: rows.into_iter().map(TransactionView::from).collect(),
        next_cursor,
    }))
}

/// What the program owes: every member's points, from the balances and from the ledger.
#[utoipa::path(
    get, path = "/api/v1/points/liability", tag = "program", security(("bearer" = [])),
    responses((status = 200, body = LiabilityView), (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"))
)]
#[tracing::instrument(skip_all, fields(flow = "liability"))]
pub async fn liability(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(STAFF)?;
    let liability = core::balance::liability(&state.pool).await?;
    Ok(HttpResponse::Ok().json(LiabilityView::from(liability)))
}
