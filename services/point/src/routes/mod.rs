//! HTTP endpoints of the point service: each parses its input into domain types, authorizes
//! the caller, calls one use case in `core` and maps the result to HTTP.

mod admin;
mod balance;
mod earn;
mod holds;
mod program;
mod reconciliation;
pub mod stamps;
pub mod views;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use auth::Role;
use platform::idempotency::{IdempotencyStore, IdempotentWrite};
use platform::rate_limit::RateLimiter;
use platform::{ApiError, FieldError};

pub use views::BalanceView;

pub struct AppState {
    pub pool: sqlx::PgPool,
    pub idempotency: IdempotencyStore,
    /// Per-caller limits on the endpoints that move money or points.
    pub limits: RateLimiter,
    /// The program's settings, tiers and rules, kept in memory.
    pub program: std::sync::Arc<crate::core::program::ProgramCache>,
    /// Members' balances, kept in memory.
    pub balances: std::sync::Arc<crate::core::balance::BalanceCache>,
}

impl AppState {
    /// After this process changed a member's account: their next balance read here sees it.
    pub fn balance_changed(&self, member_id: uuid::Uuid) {
        crate::core::balance::balance_changed(&self.balances, member_id);
    }
}

/// Roles that may read any member's points.
pub const STAFF: &[Role] = &[Role::Support, Role::Admin, Role::SuperAdmin];
/// Roles that run the program: rules, settings, overrides, earning on a member's behalf.
pub const ADMINS: &[Role] = &[Role::Admin, Role::SuperAdmin];

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Tessera point service",
        description = "The points ledger: earning, pending points, holds and redemptions, expiry, tiers and earn rules; the stamp cards of every business, and members' wallets."
    ),
    paths(
        balance::get_balance,
        balance::list_transactions,
        balance::liability,
        earn::earn,
        earn::pos_transaction,
        holds::create_hold,
        holds::capture_hold,
        holds::release_hold,
        holds::redeem,
        admin::adjust,
        program::list_rules,
        program::create_rule,
        program::replace_rule,
        program::retire_rule,
        program::get_program,
        program::update_program,
        program::set_source,
        admin::override_tier,
        reconciliation::applied_events,
        stamps::create_program,
        stamps::list_programs,
        stamps::issue,
        stamps::void,
        stamps::member_cards,
        stamps::wallet
    ),
    components(schemas(
        BalanceView,
        views::NextTier,
        views::TransactionView,
        views::TransactionPage,
        views::LiabilityView,
        earn::EarnBody,
        earn::PosBody,
        views::EarnView,
        views::EarnedView,
        holds::HoldBody,
        holds::RedeemBody,
        views::HoldView,
        admin::AdjustBody,
        program::RuleBody,
        program::SourceBody,
        admin::TierOverrideBody,
        views::RuleView,
        views::ProgramSettingsView,
        reconciliation::AppliedQuery,
        reconciliation::AppliedEvents,
        stamps::StampProgramBody,
        stamps::StampBody,
        stamps::StampProgramView,
        stamps::StampCardView,
        stamps::StampIssueView,
        stamps::StampRewardView,
        stamps::StampsIssuedView,
        stamps::StampsVoidedView,
        stamps::Wallet,
        stamps::WalletCard,
        stamps::WalletPoints,
        platform::problem::ProblemDetails,
        platform::FieldError
    ))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<AppState>) {
    cfg.app_data(state)
        .service(
            web::scope("/api/v1/points")
                .route("/liability", web::get().to(balance::liability))
                .route("/rules", web::get().to(program::list_rules))
                .route("/rules", web::post().to(program::create_rule))
                .route("/rules/{rule_id}", web::put().to(program::replace_rule))
                .route("/rules/{rule_id}", web::delete().to(program::retire_rule))
                .route("/program", web::get().to(program::get_program))
                .route("/program", web::put().to(program::update_program))
                .route("/sources/{source}", web::put().to(program::set_source))
                .route("/me/cards", web::get().to(stamps::wallet))
                .route(
                    "/businesses/{business_id}/stamp-programs",
                    web::post().to(stamps::create_program),
                )
                .route(
                    "/businesses/{business_id}/stamp-programs",
                    web::get().to(stamps::list_programs),
                )
                .route(
                    "/businesses/{business_id}/stores/{store_id}/stamps",
                    web::post().to(stamps::issue),
                )
                .route(
                    "/businesses/{business_id}/stores/{store_id}/stamps/{issue_id}/void",
                    web::post().to(stamps::void),
                )
                .route(
                    "/businesses/{business_id}/members/{member_id}/stamp-cards",
                    web::get().to(stamps::member_cards),
                )
                .route(
                    "/reconciliation/applied",
                    web::post().to(reconciliation::applied_events),
                )
                .route("/{user_id}/balance", web::get().to(balance::get_balance))
                .route(
                    "/{user_id}/transactions",
                    web::get().to(balance::list_transactions),
                )
                .route("/{user_id}/earn", web::post().to(earn::earn))
                .route("/{user_id}/holds", web::post().to(holds::create_hold))
                .route(
                    "/{user_id}/holds/{hold_id}/capture",
                    web::post().to(holds::capture_hold),
                )
                .route(
                    "/{user_id}/holds/{hold_id}/release",
                    web::post().to(holds::release_hold),
                )
                .route("/{user_id}/redeem", web::post().to(holds::redeem))
                .route("/{user_id}/adjustments", web::post().to(admin::adjust))
                .route(
                    "/{user_id}/tier-override",
                    web::put().to(admin::override_tier),
                ),
        )
        .route(
            "/api/v1/pos/transaction",
            web::post().to(earn::pos_transaction),
        );
}

/// The caller recorded as the actor of a change: `user:<id>` or `partner:<id>`.
pub fn actor(principal: &auth::Principal) -> String {
    principal.scope_key()
}

/// Every bad field of a request, reported at once.
#[derive(Default)]
struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// Keeps a parsed value, or the reason it was refused.
    fn field<T, E: std::fmt::Display>(&mut self, name: &str, parsed: Result<T, E>) -> Option<T> {
        parsed
            .map_err(|e| self.0.push(FieldError::new(name, e.to_string())))
            .ok()
    }

    /// Keeps a value checked by a shared validator (which names its field itself).
    fn checked<T>(&mut self, parsed: Result<T, ApiError>) -> Result<Option<T>, ApiError> {
        match parsed {
            Ok(value) => Ok(Some(value)),
            Err(ApiError::Validation(errors)) => {
                self.0.extend(errors);
                Ok(None)
            }
            Err(other) => Err(other),
        }
    }

    fn push(&mut self, name: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(name, message));
    }

    /// The errors, once a field came back `None`.
    fn into_error(self) -> ApiError {
        ApiError::Validation(self.0)
    }

    fn into_result(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.0))
        }
    }
}

/// Sends the answer of an idempotent write: 201 the first time; the stored copy a retry gets
/// says 200.
async fn created_once(
    write: IdempotentWrite,
    store: &IdempotencyStore,
    replayed: bool,
    body: serde_json::Value,
) -> Result<HttpResponse, ApiError> {
    let mut response = write
        .finish(store, (crate::core::REPLAY_STATUS, body))
        .await?;
    if !replayed {
        *response.status_mut() = StatusCode::CREATED;
    }
    Ok(response)
}

/// A view as JSON, for storing a response beside the work that produced it.
fn to_json(view: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(view).unwrap_or_default()
}
