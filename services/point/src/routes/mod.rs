//! HTTP endpoints of the point service.

mod balance;

use actix_web::web;

pub use balance::BalanceView;

pub struct AppState {
    pub pool: sqlx::PgPool,
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Tessera point service",
        description = "The points ledger, tiers and balances."
    ),
    paths(balance::get_balance),
    components(schemas(BalanceView, platform::problem::ProblemDetails, platform::FieldError))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<AppState>) {
    cfg.app_data(state).service(
        web::scope("/api/v1/points")
            .route("/{user_id}/balance", web::get().to(balance::get_balance)),
    );
}
