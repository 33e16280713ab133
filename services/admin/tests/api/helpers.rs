use admin_service::{Application, Settings};
use serde_json::Value;
use std::time::Duration;
use testkit::ServiceHost;
use uuid::Uuid;

/// The admin service on a fresh database.
pub async fn spawn_app() -> ServiceHost {
    ServiceHost::start("admin", |settings, shutdown| {
        Application::build(Settings::new(settings), shutdown)
    })
    .await
    .expect("the admin service starts")
}

/// Waits until the member's activity, read as `token`, satisfies `check`.
pub async fn member_when(
    app: &ServiceHost,
    token: &str,
    member: Uuid,
    check: impl Fn(&Value) -> bool,
) -> Value {
    testkit::eventually(Duration::from_secs(15), || async {
        let response = app
            .api
            .get(token, &format!("/api/v1/admin/members/{member}"))
            .await;
        if response.status() != 200 {
            return Ok(None);
        }
        let body: Value = response.json().await?;
        Ok(check(&body).then_some(body))
    })
    .await
    .expect("the read model catches up")
}
