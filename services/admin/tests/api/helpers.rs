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

/// A platform operator's token (a super admin acts in every business).
pub fn operator(app: &ServiceHost) -> String {
    app.staff(auth::Role::SuperAdmin)
}

/// A token of a new staff account with `role` in `business`, at `stores` for store-level roles.
pub fn staff_of(app: &ServiceHost, role: auth::Role, business: Uuid, stores: &[Uuid]) -> String {
    app.tokens
        .staff_in(Uuid::now_v7(), role, Some(business), stores.to_vec())
}

/// POSTs `body` with a fresh idempotency key and returns what was created.
pub async fn create(app: &ServiceHost, token: &str, path: &str, body: &Value) -> Value {
    let key = Uuid::now_v7().to_string();
    let response = app.api.post(token, path, Some(&key), body).await;
    assert_eq!(response.status(), 201, "POST {path}");
    response.json().await.unwrap()
}

/// Opens a business as a platform operator; returns its id.
pub async fn open_business(app: &ServiceHost, slug: &str) -> Uuid {
    let body = serde_json::json!({"name": slug, "slug": slug, "currency": "AUD"});
    let created = create(app, &operator(app), "/api/v1/admin/businesses", &body).await;
    created["id"].as_str().unwrap().parse().unwrap()
}

/// Opens a store of `business` as `token`; returns its id.
pub async fn open_store(app: &ServiceHost, token: &str, business: Uuid, name: &str) -> Uuid {
    let body = serde_json::json!({"name": name, "timezone": "Australia/Sydney"});
    let path = format!("/api/v1/admin/businesses/{business}/stores");
    let created = create(app, token, &path, &body).await;
    created["id"].as_str().unwrap().parse().unwrap()
}

/// The ids of a page of a directory list, in order.
pub fn ids(page: &Value) -> Vec<Uuid> {
    page["items"]
        .as_array()
        .expect("a page")
        .iter()
        .map(|item| item["id"].as_str().unwrap().parse().unwrap())
        .collect()
}
