//! Notifications: a member's channel switches and marketing consent, the devices they receive
//! push on, and the templates a business words its notifications with.

use super::business::target_business;
use super::me::own_account;
use super::state::AppState;
use super::validation::invalid;
use crate::core;
use crate::core::notifications::{EffectiveTemplate, NotificationPreferences};
use crate::domain::notifications::{
    Category, DevicePlatform, DeviceToken, NotificationChannel, NotificationKind, Preferences,
};
use crate::domain::templates;
use crate::storage::notifications::DeviceRow;
use actix_web::{web, HttpResponse};
use auth::{Principal, Role};
use chrono::{DateTime, Utc};
use platform::http::Json;
use platform::ApiError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Who words a business's notifications: its owners and admins, and platform operators.
const TEMPLATE_EDITORS: &[Role] = &[Role::Admin, Role::SuperAdmin];
/// Who reads them: support staff too.
const TEMPLATE_READERS: &[Role] = &[Role::Admin, Role::Support, Role::SuperAdmin];

#[derive(Serialize, utoipa::ToSchema)]
pub struct NotificationPreferencesView {
    /// Email notices (tier changes, expiring points, stamp cards); transactional email (a
    /// redeemed reward's code, news of a campaign the member joined) is sent whatever this says.
    pub email: bool,
    /// Push notifications to the member's registered devices.
    pub push: bool,
    /// Consent to marketing; the same consent as the profile's.
    pub marketing_consent: bool,
    pub marketing_consent_updated_at: Option<DateTime<Utc>>,
}

impl From<NotificationPreferences> for NotificationPreferencesView {
    fn from(p: NotificationPreferences) -> Self {
        Self {
            email: p.email,
            push: p.push,
            marketing_consent: p.marketing_consent,
            marketing_consent_updated_at: p.marketing_consent_updated_at,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationPreferencesUpdate {
    pub email: bool,
    pub push: bool,
    pub marketing_consent: bool,
}

/// The signed-in user's notification switches and marketing consent.
#[utoipa::path(
    get, path = "/api/v1/users/me/notification-preferences", tag = "notifications", security(("bearer" = [])),
    responses(
        (status = 200, body = NotificationPreferencesView),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %principal.subject))]
pub async fn get_preferences(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    let user_id = own_account(&principal)?;
    let preferences = core::notifications::preferences(&state.core, user_id).await?;
    Ok(HttpResponse::Ok().json(NotificationPreferencesView::from(preferences)))
}

/// Set the notification switches and marketing consent (all three; a change of consent is
/// recorded with its time).
#[utoipa::path(
    put, path = "/api/v1/users/me/notification-preferences", tag = "notifications", security(("bearer" = [])),
    request_body = NotificationPreferencesUpdate,
    responses(
        (status = 200, body = NotificationPreferencesView),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %principal.subject))]
pub async fn put_preferences(
    state: web::Data<AppState>,
    principal: Principal,
    Json(update): Json<NotificationPreferencesUpdate>,
) -> Result<HttpResponse, ApiError> {
    let user_id = own_account(&principal)?;
    let preferences = core::notifications::set_preferences(
        &state.core,
        user_id,
        Preferences {
            email: update.email,
            push: update.push,
            marketing_consent: update.marketing_consent,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(NotificationPreferencesView::from(preferences)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceRegistration {
    /// The push provider's registration token of the app on this device.
    pub token: String,
    pub platform: DevicePlatform,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeviceView {
    pub id: Uuid,
    #[schema(value_type = DevicePlatform)]
    pub platform: String,
    pub created_at: DateTime<Utc>,
    /// When the token was last registered.
    pub updated_at: DateTime<Utc>,
}

impl From<DeviceRow> for DeviceView {
    fn from(d: DeviceRow) -> Self {
        Self {
            id: d.id,
            platform: d.platform,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// Register this device for push. Idempotent on the token: registering it again answers 200
/// with the same device; a token another account registered moves to this one.
#[utoipa::path(
    post, path = "/api/v1/users/me/devices", tag = "notifications", security(("bearer" = [])),
    request_body = DeviceRegistration,
    responses(
        (status = 201, description = "A new device", body = DeviceView),
        (status = 200, description = "Already registered", body = DeviceView),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The same token is being registered by another request", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %principal.subject))]
pub async fn register_device(
    state: web::Data<AppState>,
    principal: Principal,
    Json(request): Json<DeviceRegistration>,
) -> Result<HttpResponse, ApiError> {
    let user_id = own_account(&principal)?;
    let token = DeviceToken::parse(&request.token).map_err(|e| invalid(vec![e]))?;
    let (device, created) =
        core::notifications::register_device(&state.core, user_id, &token, request.platform)
            .await?;
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(DeviceView::from(device)))
}

/// The devices registered for push.
#[utoipa::path(
    get, path = "/api/v1/users/me/devices", tag = "notifications", security(("bearer" = [])),
    responses(
        (status = 200, body = [DeviceView]),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %principal.subject))]
pub async fn list_devices(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    let user_id = own_account(&principal)?;
    let devices = core::notifications::devices(&state.core, user_id).await?;
    Ok(HttpResponse::Ok().json(
        devices
            .into_iter()
            .map(DeviceView::from)
            .collect::<Vec<_>>(),
    ))
}

/// Stop pushing to a device (signing out of the app on it).
#[utoipa::path(
    delete, path = "/api/v1/users/me/devices/{device_id}", tag = "notifications", security(("bearer" = [])),
    params(("device_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %principal.subject, device_id = %path))]
pub async fn remove_device(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let user_id = own_account(&principal)?;
    core::notifications::remove_device(&state.core, user_id, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TemplateQuery {
    /// Whose templates: staff act in their own business (this may be left out or must name
    /// it); a super admin names any (default: the demo business).
    pub business_id: Option<Uuid>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TemplateView {
    pub kind: NotificationKind,
    pub channel: NotificationChannel,
    pub category: Category,
    /// The email's subject line, or the push notification's title.
    pub subject: String,
    pub body: String,
    /// The placeholders this kind fills in, written `{{name}}`.
    pub placeholders: Vec<&'static str>,
    /// Whether this is the business's own wording (else the default).
    pub customized: bool,
    pub updated_by: Option<Uuid>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<EffectiveTemplate> for TemplateView {
    fn from(t: EffectiveTemplate) -> Self {
        Self {
            kind: t.kind,
            channel: t.channel,
            category: t.kind.category(),
            subject: t.template.subject,
            body: t.template.body,
            placeholders: t.kind.placeholders().to_vec(),
            customized: t.custom.is_some(),
            updated_by: t.custom.map(|(by, _)| by),
            updated_at: t.custom.map(|(_, at)| at),
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateUpdate {
    /// One line: the email's subject, or the push notification's title.
    pub subject: String,
    /// Plain text; `{{placeholder}}` takes a value of the notification (see `placeholders`).
    pub body: String,
}

/// The kind and channel a template path names; 404 for anything else.
fn template_path(
    path: &(String, String),
) -> Result<(NotificationKind, NotificationChannel), ApiError> {
    let kind = NotificationKind::parse(&path.0)
        .ok_or_else(|| ApiError::NotFound("no such notification kind".into()))?;
    let channel = NotificationChannel::parse(&path.1)
        .ok_or_else(|| ApiError::NotFound("no such notification channel".into()))?;
    Ok((kind, channel))
}

/// The notification templates in force for a business: its own where it has set one, else the
/// default, for every kind and channel.
#[utoipa::path(
    get, path = "/api/v1/users/notification-templates", tag = "notifications", security(("bearer" = [])),
    params(TemplateQuery),
    responses(
        (status = 200, body = [TemplateView]),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(caller = %principal.subject))]
pub async fn list_templates(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<TemplateQuery>,
) -> Result<HttpResponse, ApiError> {
    let business = target_business(&principal, query.business_id, TEMPLATE_READERS)?;
    let templates = core::notifications::templates(&state.core, business).await?;
    Ok(HttpResponse::Ok().json(
        templates
            .into_iter()
            .map(TemplateView::from)
            .collect::<Vec<_>>(),
    ))
}

/// Set a business's own template of one kind and channel (owners and admins). Placeholders
/// the kind does not fill in are refused.
#[utoipa::path(
    put, path = "/api/v1/users/notification-templates/{kind}/{channel}", tag = "notifications", security(("bearer" = [])),
    params(
        ("kind" = NotificationKind, Path),
        ("channel" = NotificationChannel, Path),
        TemplateQuery,
    ),
    request_body = TemplateUpdate,
    responses(
        (status = 200, body = TemplateView),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A placeholder the kind does not fill in, or text too long", body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(caller = %principal.subject))]
pub async fn put_template(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    query: web::Query<TemplateQuery>,
    Json(update): Json<TemplateUpdate>,
) -> Result<HttpResponse, ApiError> {
    let business = target_business(&principal, query.business_id, TEMPLATE_EDITORS)?;
    let (kind, channel) = template_path(&path)?;
    let template =
        templates::parse(kind, channel, &update.subject, &update.body).map_err(invalid)?;
    let set = core::notifications::set_template(
        &state.core,
        business,
        kind,
        channel,
        &template,
        principal.subject,
    )
    .await?;
    Ok(HttpResponse::Ok().json(TemplateView::from(set)))
}

/// Go back to the default template of one kind and channel (owners and admins).
#[utoipa::path(
    delete, path = "/api/v1/users/notification-templates/{kind}/{channel}", tag = "notifications", security(("bearer" = [])),
    params(
        ("kind" = NotificationKind, Path),
        ("channel" = NotificationChannel, Path),
        TemplateQuery,
    ),
    responses(
        (status = 200, description = "The default, now in force", body = TemplateView),
        (status = 403, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
        (status = 404, body = platform::problem::ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(caller = %principal.subject))]
pub async fn reset_template(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    query: web::Query<TemplateQuery>,
) -> Result<HttpResponse, ApiError> {
    let business = target_business(&principal, query.business_id, TEMPLATE_EDITORS)?;
    let (kind, channel) = template_path(&path)?;
    let reset = core::notifications::reset_template(&state.core, business, kind, channel).await?;
    Ok(HttpResponse::Ok().json(TemplateView::from(reset)))
}
