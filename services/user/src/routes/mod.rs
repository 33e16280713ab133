//! HTTP endpoints. Handlers are thin: parse into domain types, authorize, call one `core`
//! function, map its result to an answer.

mod auth;
mod business;
mod clients;
mod counter;
mod me;
mod notifications;
mod social;
mod staff;
mod state;
mod validation;

use actix_web::web;

pub use self::auth::{LoginResponse, RegisterResponse, UserView};
pub use self::state::AppState;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Tessera user service",
        description = "Members, staff, partner clients, sessions and token signing keys."
    ),
    paths(
        auth::register,
        auth::login,
        auth::refresh,
        auth::logout,
        auth::verify,
        auth::resend_verification,
        auth::request_password_reset,
        auth::confirm_password_reset,
        auth::jwks,
        social::providers,
        social::start,
        social::callback,
        clients::create_client,
        clients::list_clients,
        clients::rotate_secret,
        clients::revoke_client,
        clients::token,
        me::get_me,
        me::update_me,
        me::change_password,
        me::export,
        me::erase_me,
        staff::create_staff,
        staff::get_user,
        staff::erase_user,
        counter::counter_token,
        counter::identify,
        notifications::get_preferences,
        notifications::put_preferences,
        notifications::register_device,
        notifications::list_devices,
        notifications::remove_device,
        notifications::list_templates,
        notifications::put_template,
        notifications::reset_template
    ),
    components(schemas(
        auth::RegistrationRequest,
        crate::domain::Channel,
        auth::LoginRequest,
        auth::RefreshRequest,
        auth::VerifyRequest,
        auth::ResendRequest,
        auth::PasswordResetRequest,
        auth::PasswordResetConfirm,
        LoginResponse,
        RegisterResponse,
        UserView,
        social::SocialProviders,
        social::SocialStart,
        social::SocialCallback,
        clients::CreateClientRequest,
        clients::RotateRequest,
        clients::CreatedClient,
        clients::ClientView,
        clients::TokenResponse,
        clients::SecretHintView,
        me::SessionView,
        me::ProfileUpdate,
        me::PasswordChange,
        me::EraseRequest,
        me::Export,
        staff::NewStaff,
        counter::CounterTokenView,
        counter::IdentifyRequest,
        counter::IdentifiedMember,
        notifications::NotificationPreferencesView,
        notifications::NotificationPreferencesUpdate,
        notifications::DeviceRegistration,
        notifications::DeviceView,
        notifications::TemplateView,
        notifications::TemplateUpdate,
        crate::domain::notifications::NotificationKind,
        crate::domain::notifications::NotificationChannel,
        crate::domain::notifications::Category,
        crate::domain::notifications::DevicePlatform,
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
                .route("/refresh", web::post().to(auth::refresh))
                .route("/logout", web::post().to(auth::logout))
                .route("/verify", web::post().to(auth::verify))
                .route("/verify/resend", web::post().to(auth::resend_verification))
                .route(
                    "/password-reset",
                    web::post().to(auth::request_password_reset),
                )
                .route(
                    "/password-reset/confirm",
                    web::post().to(auth::confirm_password_reset),
                )
                .route("/jwks.json", web::get().to(auth::jwks))
                .route("/social", web::get().to(social::providers))
                .route("/social/{provider}/start", web::post().to(social::start))
                .route(
                    "/social/{provider}/callback",
                    web::post().to(social::callback),
                )
                .route("/token", web::post().to(clients::token))
                .route("/clients", web::post().to(clients::create_client))
                .route("/clients", web::get().to(clients::list_clients))
                .route(
                    "/clients/{client_id}/rotate",
                    web::post().to(clients::rotate_secret),
                )
                .route(
                    "/clients/{client_id}",
                    web::delete().to(clients::revoke_client),
                ),
        )
        .route("/.well-known/jwks.json", web::get().to(auth::jwks))
        .service(
            web::scope("/api/v1/users")
                .route("/me", web::get().to(me::get_me))
                .route("/me", web::patch().to(me::update_me))
                .route("/me", web::delete().to(me::erase_me))
                .route("/me/password", web::post().to(me::change_password))
                .route("/me/export", web::get().to(me::export))
                .route("/me/counter-token", web::get().to(counter::counter_token))
                .route(
                    "/me/notification-preferences",
                    web::get().to(notifications::get_preferences),
                )
                .route(
                    "/me/notification-preferences",
                    web::put().to(notifications::put_preferences),
                )
                .route(
                    "/me/devices",
                    web::post().to(notifications::register_device),
                )
                .route("/me/devices", web::get().to(notifications::list_devices))
                .route(
                    "/me/devices/{device_id}",
                    web::delete().to(notifications::remove_device),
                )
                .route(
                    "/notification-templates",
                    web::get().to(notifications::list_templates),
                )
                .route(
                    "/notification-templates/{kind}/{channel}",
                    web::put().to(notifications::put_template),
                )
                .route(
                    "/notification-templates/{kind}/{channel}",
                    web::delete().to(notifications::reset_template),
                )
                .route("/identify", web::post().to(counter::identify))
                .route("/staff", web::post().to(staff::create_staff))
                .route("/{user_id}", web::get().to(staff::get_user))
                .route("/{user_id}", web::delete().to(staff::erase_user)),
        );
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    #[test]
    fn the_openapi_document_keeps_its_schema_names() {
        let doc = super::ApiDoc::openapi();
        let schemas = doc.components.expect("components").schemas;
        for name in [
            "ClientRecord",
            "SecretRecord",
            "SessionView",
            "ClientView",
            "RegistrationRequest",
            "UserView",
            "LoginResponse",
            "Export",
        ] {
            assert!(schemas.contains_key(name), "{name} is missing");
        }
        assert_eq!(doc.paths.paths.len(), 28);
    }
}
