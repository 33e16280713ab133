//! HTTP endpoints of the point service.

mod admin;
mod balance;
mod earn;
mod holds;

use actix_web::web;
use auth::Role;

pub use balance::BalanceView;

pub struct AppState {
    pub pool: sqlx::PgPool,
}

/// Roles that may read any member's points.
pub const STAFF: &[Role] = &[Role::Support, Role::Admin, Role::SuperAdmin];
/// Roles that run the program: rules, settings, overrides, earning on a member's behalf.
pub const ADMINS: &[Role] = &[Role::Admin, Role::SuperAdmin];

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Tessera point service",
        description = "The points ledger: earning, pending points, holds and redemptions, expiry, tiers and earn rules."
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
        admin::list_rules,
        admin::create_rule,
        admin::replace_rule,
        admin::retire_rule,
        admin::get_program,
        admin::update_program,
        admin::set_source,
        admin::override_tier
    ),
    components(schemas(
        BalanceView,
        balance::NextTier,
        balance::TransactionView,
        balance::TransactionPage,
        crate::storage::accounts::Liability,
        earn::EarnBody,
        earn::PosBody,
        earn::EarnView,
        crate::ledger::Earned,
        holds::HoldBody,
        holds::RedeemBody,
        crate::storage::holds::Hold,
        admin::AdjustBody,
        admin::RuleBody,
        admin::SourceBody,
        admin::TierOverrideBody,
        crate::storage::program::RuleRecord,
        crate::storage::program::ProgramSettings,
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
                .route("/rules", web::get().to(admin::list_rules))
                .route("/rules", web::post().to(admin::create_rule))
                .route("/rules/{rule_id}", web::put().to(admin::replace_rule))
                .route("/rules/{rule_id}", web::delete().to(admin::retire_rule))
                .route("/program", web::get().to(admin::get_program))
                .route("/program", web::put().to(admin::update_program))
                .route("/sources/{source}", web::put().to(admin::set_source))
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
