//! HTTP endpoints of the payment service.

mod charges;

use crate::connectors::Connector;
use actix_web::web;
use std::sync::Arc;

pub use charges::ChargeView;

pub struct AppState {
    pub pool: sqlx::PgPool,
    pub connector: Arc<dyn Connector>,
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Tessera payment service",
        description = "Charges through payment service providers."
    ),
    paths(charges::create_charge, charges::get_charge),
    components(schemas(
        ChargeView,
        crate::domain::CreateChargeRequest,
        crate::domain::ChargeKind,
        crate::domain::ChargeStatus,
        platform::problem::ProblemDetails,
        platform::FieldError
    ))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<AppState>) {
    cfg.app_data(state).service(
        web::scope("/api/v1/payments")
            .route("/charges", web::post().to(charges::create_charge))
            .route("/charges/{charge_id}", web::get().to(charges::get_charge)),
    );
}
