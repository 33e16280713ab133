//! HTTP endpoints. Handlers are thin: parse into domain types, call storage, map the result.

mod auth;
mod me;

use actix_web::web;
use std::sync::Arc;

pub use self::auth::{LoginResponse, RegisterResponse, UserView};

/// What every handler of this service can reach.
pub struct AppState {
    pub pool: sqlx::PgPool,
    pub keys: Arc<crate::startup::KeyRing>,
    pub settings: crate::Settings,
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Tessera user service",
        description = "Members, staff, sessions and token signing keys."
    ),
    paths(auth::register, auth::login, auth::jwks, me::get_me),
    components(schemas(
        crate::domain::RegistrationRequest,
        auth::LoginRequest,
        LoginResponse,
        RegisterResponse,
        UserView,
        ::auth::Jwks,
        ::auth::Jwk,
        platform::problem::ProblemDetails,
        platform::FieldError
    ))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<AppState>) {
    cfg.app_data(state)
        .service(
            web::scope("/api/v1/auth")
                .route("/register", web::post().to(auth::register))
                .route("/login", web::post().to(auth::login))
                .route("/jwks.json", web::get().to(auth::jwks)),
        )
        .route("/.well-known/jwks.json", web::get().to(auth::jwks))
        .service(web::scope("/api/v1/users").route("/me", web::get().to(me::get_me)));
}
