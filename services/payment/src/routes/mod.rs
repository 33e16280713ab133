//! HTTP endpoints of the payment service: each parses its input, authorizes the caller, calls
//! one use case in `core` and maps its result to a response.

mod charges;
mod checkout;
mod jobs;
mod reconciliation;
mod refunds;
mod webhooks;
mod withdrawals;

use crate::core::Payments;
use crate::domain::Payer;
use actix_web::web;
use auth::{Principal, PrincipalKind, Role};
use platform::idempotency::IdempotencyStore;
use platform::rate_limit::RateLimiter;

pub use charges::ChargeView;
pub use refunds::RefundView;

pub struct AppState {
    pub payments: Payments,
    pub idempotency: IdempotencyStore,
    /// Per-caller limits on the endpoints that move money or points.
    pub limits: RateLimiter,
}

/// Staff who may read every payment.
const STAFF: &[Role] = &[Role::Support, Role::Admin, Role::SuperAdmin];
/// Staff who may move money (refunds, withdrawals, dead-letter retries).
const MONEY_STAFF: &[Role] = &[Role::Admin, Role::SuperAdmin];

/// Who is paying, as the charge rules see the caller.
fn payer(principal: &Principal) -> Payer {
    match principal.kind {
        PrincipalKind::User if principal.role == Some(Role::Customer) => {
            Payer::Member(principal.subject)
        }
        PrincipalKind::Partner => Payer::Partner {
            may_charge: principal.has_scope(auth::scopes::PAYMENTS_WRITE),
        },
        PrincipalKind::User => Payer::Staff,
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Tessera payment service",
        description = "Charges, refunds and withdrawals through payment service providers, with \
                       their signed webhooks and a dead-letter queue for PSP work."
    ),
    paths(
        charges::create_charge,
        charges::create_card_charge,
        charges::get_charge,
        charges::list_charges,
        checkout::create_checkout_session,
        refunds::create_refund,
        refunds::list_refunds,
        webhooks::psp_webhook,
        jobs::list_dead_jobs,
        jobs::retry_job,
        reconciliation::list_succeeded_charges,
        reconciliation::republish,
        withdrawals::record_withdrawal,
        withdrawals::list_withdrawals,
    ),
    components(schemas(
        ChargeView,
        charges::ChargePage,
        checkout::CheckoutSessionView,
        checkout::CreateCheckoutSessionRequest,
        RefundView,
        refunds::RefundPage,
        refunds::CreateRefundRequest,
        withdrawals::WithdrawalView,
        withdrawals::WithdrawalPage,
        withdrawals::RecordWithdrawalRequest,
        jobs::JobView,
        jobs::JobPageView,
        reconciliation::SucceededCharge,
        reconciliation::SucceededChargePage,
        reconciliation::RepublishRequest,
        reconciliation::RepublishResult,
        charges::CreateChargeRequest,
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
            .route("/charges", web::get().to(charges::list_charges))
            .route("/charges/card", web::post().to(charges::create_card_charge))
            .route("/charges/{charge_id}", web::get().to(charges::get_charge))
            .route(
                "/checkout-sessions",
                web::post().to(checkout::create_checkout_session),
            )
            .route(
                "/charges/{charge_id}/refunds",
                web::post().to(refunds::create_refund),
            )
            .route(
                "/charges/{charge_id}/refunds",
                web::get().to(refunds::list_refunds),
            )
            .route("/webhooks/{psp}", web::post().to(webhooks::psp_webhook))
            .route("/jobs/dead", web::get().to(jobs::list_dead_jobs))
            .route("/jobs/{job_id}/retry", web::post().to(jobs::retry_job))
            .route(
                "/reconciliation/succeeded-charges",
                web::get().to(reconciliation::list_succeeded_charges),
            )
            .route(
                "/reconciliation/republish",
                web::post().to(reconciliation::republish),
            )
            .route(
                "/withdrawals",
                web::post().to(withdrawals::record_withdrawal),
            )
            .route("/withdrawals", web::get().to(withdrawals::list_withdrawals)),
    );
}
