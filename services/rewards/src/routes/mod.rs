//! HTTP endpoints of the rewards service.

mod catalog;

use actix_web::web;

pub use catalog::{CatalogView, RewardView};

pub struct AppState {
    pub pool: sqlx::PgPool,
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Tessera rewards service",
        description = "The reward catalog members spend points on."
    ),
    paths(catalog::list_rewards, catalog::create_reward),
    components(schemas(
        CatalogView,
        RewardView,
        crate::domain::CreateReward,
        platform::problem::ProblemDetails,
        platform::FieldError
    ))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<AppState>) {
    cfg.app_data(state).service(
        web::resource("/api/v1/rewards")
            .route(web::get().to(catalog::list_rewards))
            .route(web::post().to(catalog::create_reward)),
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_openapi_document_lists_every_endpoint() {
        use utoipa::OpenApi;
        let paths = super::ApiDoc::openapi().paths.paths;
        let rewards = paths.get("/api/v1/rewards").expect("the catalog path");
        assert!(rewards.get.is_some() && rewards.post.is_some());
    }
}
