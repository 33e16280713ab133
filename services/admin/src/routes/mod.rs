//! HTTP endpoints of the admin service. Every one is for staff only, but the whole API's
//! OpenAPI document.

mod api_document;
mod brands;
mod businesses;
mod members;
mod reconciliation;
mod rewards;
mod stats;
mod stores;

use actix_web::web;
use auth::Role;

pub use members::{ChargeVolumeView, MemberActivityView};
pub use stats::ProgramStatsView;

pub struct AppState {
    pub pool: sqlx::PgPool,
    pub idempotency: platform::idempotency::IdempotencyStore,
    pub reconciler: std::sync::Arc<crate::core::reconciler::Reconciler>,
}

/// Roles that may use the back office; customers and partners get 403.
pub const STAFF: &[Role] = &[Role::Support, Role::Admin, Role::SuperAdmin];
/// Roles that may start work across services (a reconciliation run).
pub const ADMINS: &[Role] = &[Role::Admin, Role::SuperAdmin];

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Tessera admin service",
        description = "The back office: the business directory (businesses, brands, stores), members' activity and program totals, for staff."
    ),
    paths(
        api_document::merged_document,
        businesses::create_business,
        businesses::list_businesses,
        businesses::get_business,
        brands::create_brand,
        brands::list_brands,
        stores::create_store,
        stores::list_stores,
        stores::get_store,
        members::get_member,
        stats::get_stats,
        rewards::get_reward_stats,
        reconciliation::start_run,
        reconciliation::list_runs,
        reconciliation::get_run
    ),
    components(schemas(
        businesses::NewBusinessBody,
        businesses::BusinessView,
        businesses::BusinessPageView,
        crate::domain::directory::BusinessStatus,
        brands::NewBrandBody,
        brands::BrandView,
        brands::BrandPageView,
        stores::NewStoreBody,
        stores::StoreView,
        stores::StorePageView,
        reconciliation::RunView,
        reconciliation::DifferenceView,
        reconciliation::RunDetailsView,
        reconciliation::RunPageView,
        MemberActivityView,
        ChargeVolumeView,
        ProgramStatsView,
        rewards::RewardStatsView,
        rewards::TopRewardView,
        rewards::RewardDayView,
        auth::Role,
        platform::problem::ProblemDetails,
        platform::FieldError
    ))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<AppState>) {
    cfg.route(
        "/api/v1/openapi.json",
        web::get().to(api_document::merged_document),
    );
    cfg.app_data(state).service(
        web::scope("/api/v1/admin")
            .route("/businesses", web::post().to(businesses::create_business))
            .route("/businesses", web::get().to(businesses::list_businesses))
            .route(
                "/businesses/{business_id}",
                web::get().to(businesses::get_business),
            )
            .route(
                "/businesses/{business_id}/brands",
                web::post().to(brands::create_brand),
            )
            .route(
                "/businesses/{business_id}/brands",
                web::get().to(brands::list_brands),
            )
            .route(
                "/businesses/{business_id}/stores",
                web::post().to(stores::create_store),
            )
            .route(
                "/businesses/{business_id}/stores",
                web::get().to(stores::list_stores),
            )
            .route(
                "/businesses/{business_id}/stores/{store_id}",
                web::get().to(stores::get_store),
            )
            .route("/members/{member_id}", web::get().to(members::get_member))
            .route("/stats", web::get().to(stats::get_stats))
            .route("/rewards/stats", web::get().to(rewards::get_reward_stats))
            .route(
                "/reconciliation/runs",
                web::post().to(reconciliation::start_run),
            )
            .route(
                "/reconciliation/runs",
                web::get().to(reconciliation::list_runs),
            )
            .route(
                "/reconciliation/runs/{run_id}",
                web::get().to(reconciliation::get_run),
            ),
    );
}

#[cfg(test)]
mod tests {
    use super::STAFF;
    use auth::{Principal, Role};
    use uuid::Uuid;

    #[test]
    fn only_staff_may_use_the_back_office() {
        for role in [Role::Support, Role::Admin, Role::SuperAdmin] {
            assert!(
                Principal::staff(role).require_role(STAFF).is_ok(),
                "{role:?}"
            );
        }
        assert!(Principal::member(Uuid::now_v7())
            .require_role(STAFF)
            .is_err());
        assert!(Principal::without_role().require_role(STAFF).is_err());
        // A partner is never staff, whatever scopes it carries.
        assert!(Principal::partner(&["admin:read"])
            .require_role(STAFF)
            .is_err());
    }

    #[test]
    fn the_openapi_document_lists_every_endpoint() {
        use utoipa::OpenApi;
        let paths = super::ApiDoc::openapi().paths.paths;
        assert!(paths.contains_key("/api/v1/admin/members/{member_id}"));
        assert!(paths.contains_key("/api/v1/admin/stats"));
        assert!(paths.contains_key("/api/v1/admin/reconciliation/runs"));
        assert!(paths.contains_key("/api/v1/admin/reconciliation/runs/{run_id}"));
        for path in [
            "/api/v1/admin/businesses",
            "/api/v1/admin/businesses/{business_id}",
            "/api/v1/admin/businesses/{business_id}/brands",
            "/api/v1/admin/businesses/{business_id}/stores",
            "/api/v1/admin/businesses/{business_id}/stores/{store_id}",
        ] {
            assert!(paths.contains_key(path), "{path}");
        }
    }
}
