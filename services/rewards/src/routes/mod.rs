//! HTTP endpoints of the rewards service.

mod campaigns;
mod catalog;
mod redemptions;
mod referrals;

use crate::domain::InvalidField;
use actix_web::web;
use platform::{ApiError, FieldError};
use std::time::Duration;

pub use catalog::{CatalogView, RewardView};
pub use redemptions::{RedemptionPage, RedemptionView};

pub struct AppState {
    pub pool: sqlx::PgPool,
    /// How long a redemption request waits for the saga before answering 202.
    pub redemption_wait: Duration,
    /// Reads members' points and tiers for the catalog's member filters.
    pub points: crate::core::standing::PointClient,
    /// The campaigns' clock and retry rules.
    pub campaigns: crate::core::campaigns::Runtime,
}

fn invalid(fields: Vec<InvalidField>) -> ApiError {
    ApiError::Validation(
        fields
            .into_iter()
            .map(|f| FieldError::new(f.field, f.message))
            .collect(),
    )
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Tessera rewards service",
        description = "The reward catalog, redemptions and their codes, and campaigns: load goals, bonus windows and referrals."
    ),
    paths(
        campaigns::list_campaigns,
        campaigns::create_campaign,
        campaigns::get_campaign,
        campaigns::publish_campaign,
        campaigns::end_campaign,
        campaigns::enrol,
        campaigns::progress,
        campaigns::list_enrolments,
        campaigns::get_enrolment,
        campaigns::retry_reward,
        campaigns::upload_settlement,
        campaigns::settlement_report,
        referrals::referral_code,
        referrals::claim,
        referrals::list,
        referrals::get,
        referrals::retry_reward,
        catalog::list_rewards,
        catalog::create_reward,
        catalog::get_reward,
        catalog::update_reward,
        catalog::archive_reward,
        redemptions::redeem,
        redemptions::list_mine,
        redemptions::get_redemption,
        redemptions::cancel,
        redemptions::use_code,
    ),
    components(schemas(
        campaigns::CampaignView,
        campaigns::CampaignPage,
        campaigns::ProgressView,
        campaigns::TransitionView,
        campaigns::EnrolmentSummary,
        campaigns::EnrolmentPage,
        campaigns::BonusView,
        campaigns::ReferralTermsView,
        referrals::ReferralCodeView,
        referrals::ClaimReferral,
        referrals::ReferralView,
        referrals::ReferralTransitionView,
        referrals::ReferralPage,
        crate::domain::campaigns::BonusRequest,
        crate::domain::campaigns::ReferralRequest,
        crate::domain::referrals::ReferralState,
        crate::core::settlements::SettlementReport,
        crate::core::settlements::UnsettledLoadView,
        crate::domain::settlement::MalformedLine,
        crate::domain::campaigns::CreateCampaign,
        crate::domain::campaigns::CampaignKind,
        crate::domain::campaigns::CampaignStatus,
        crate::domain::campaigns::Eligibility,
        crate::domain::campaigns::EnrolmentMode,
        crate::domain::campaigns::EnrolmentState,
        crate::domain::campaigns::DisqualifiedReason,
        CatalogView,
        RewardView,
        RedemptionView,
        RedemptionPage,
        redemptions::RedemptionStep,
        redemptions::RedeemRewardBody,
        redemptions::UseCodeBody,
        crate::domain::CreateReward,
        crate::domain::catalog::LimitPeriod,
        crate::domain::catalog::Fulfilment,
        crate::domain::redemptions::RedemptionStatus,
        platform::problem::ProblemDetails,
        platform::FieldError
    ))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<AppState>) {
    // The literal paths before `/api/v1/rewards/{reward_id}` and `/api/v1/campaigns/{id}`.
    cfg.app_data(state)
        .service(
            web::resource("/api/v1/campaigns")
                .route(web::get().to(campaigns::list_campaigns))
                .route(web::post().to(campaigns::create_campaign)),
        )
        .service(
            web::resource("/api/v1/campaigns/settlements")
                .app_data(web::PayloadConfig::new(campaigns::SETTLEMENT_MAX_BYTES))
                .route(web::post().to(campaigns::upload_settlement)),
        )
        .service(
            web::resource("/api/v1/campaigns/settlements/{file_id}")
                .route(web::get().to(campaigns::settlement_report)),
        )
        .service(
            web::resource("/api/v1/campaigns/{campaign_id}")
                .route(web::get().to(campaigns::get_campaign)),
        )
        .service(
            web::resource("/api/v1/campaigns/{campaign_id}/publish")
                .route(web::post().to(campaigns::publish_campaign)),
        )
        .service(
            web::resource("/api/v1/campaigns/{campaign_id}/end")
                .route(web::post().to(campaigns::end_campaign)),
        )
        .service(
            web::resource("/api/v1/campaigns/{campaign_id}/enrolments")
                .route(web::get().to(campaigns::list_enrolments))
                .route(web::post().to(campaigns::enrol)),
        )
        .service(
            web::resource("/api/v1/campaigns/{campaign_id}/progress")
                .route(web::get().to(campaigns::progress)),
        )
        .service(
            web::resource("/api/v1/campaigns/{campaign_id}/enrolments/{enrolment_id}")
                .route(web::get().to(campaigns::get_enrolment)),
        )
        .service(
            web::resource("/api/v1/campaigns/{campaign_id}/enrolments/{enrolment_id}/retry-reward")
                .route(web::post().to(campaigns::retry_reward)),
        )
        .service(
            web::resource("/api/v1/campaigns/{campaign_id}/referral-code")
                .route(web::post().to(referrals::referral_code)),
        )
        .service(
            web::resource("/api/v1/campaigns/{campaign_id}/referrals")
                .route(web::get().to(referrals::list))
                .route(web::post().to(referrals::claim)),
        )
        .service(
            web::resource("/api/v1/campaigns/{campaign_id}/referrals/{referral_id}")
                .route(web::get().to(referrals::get)),
        )
        .service(
            web::resource("/api/v1/campaigns/{campaign_id}/referrals/{referral_id}/retry-reward")
                .route(web::post().to(referrals::retry_reward)),
        )
        .service(
            web::resource("/api/v1/rewards")
                .route(web::get().to(catalog::list_rewards))
                .route(web::post().to(catalog::create_reward)),
        )
        .service(
            web::resource("/api/v1/rewards/redemptions")
                .route(web::get().to(redemptions::list_mine)),
        )
        .service(
            web::resource("/api/v1/rewards/redemptions/{redemption_id}")
                .route(web::get().to(redemptions::get_redemption)),
        )
        .service(
            web::resource("/api/v1/rewards/redemptions/{redemption_id}/cancel")
                .route(web::post().to(redemptions::cancel)),
        )
        .service(
            web::resource("/api/v1/rewards/codes/{code}/use")
                .route(web::post().to(redemptions::use_code)),
        )
        .service(
            web::resource("/api/v1/rewards/{reward_id}")
                .route(web::get().to(catalog::get_reward))
                .route(web::put().to(catalog::update_reward)),
        )
        .service(
            web::resource("/api/v1/rewards/{reward_id}/archive")
                .route(web::post().to(catalog::archive_reward)),
        )
        .service(
            web::resource("/api/v1/rewards/{reward_id}/redemptions")
                .route(web::post().to(redemptions::redeem)),
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
        for path in [
            "/api/v1/rewards/{reward_id}",
            "/api/v1/rewards/{reward_id}/archive",
            "/api/v1/rewards/{reward_id}/redemptions",
            "/api/v1/rewards/redemptions",
            "/api/v1/rewards/redemptions/{redemption_id}",
            "/api/v1/rewards/redemptions/{redemption_id}/cancel",
            "/api/v1/rewards/codes/{code}/use",
            "/api/v1/campaigns",
            "/api/v1/campaigns/{campaign_id}",
            "/api/v1/campaigns/{campaign_id}/publish",
            "/api/v1/campaigns/{campaign_id}/end",
            "/api/v1/campaigns/{campaign_id}/enrolments",
            "/api/v1/campaigns/{campaign_id}/progress",
            "/api/v1/campaigns/{campaign_id}/enrolments/{enrolment_id}",
            "/api/v1/campaigns/{campaign_id}/enrolments/{enrolment_id}/retry-reward",
            "/api/v1/campaigns/settlements",
            "/api/v1/campaigns/settlements/{file_id}",
            "/api/v1/campaigns/{campaign_id}/referral-code",
            "/api/v1/campaigns/{campaign_id}/referrals",
            "/api/v1/campaigns/{campaign_id}/referrals/{referral_id}",
            "/api/v1/campaigns/{campaign_id}/referrals/{referral_id}/retry-reward",
        ] {
            assert!(paths.contains_key(path), "{path}");
        }
    }
}
