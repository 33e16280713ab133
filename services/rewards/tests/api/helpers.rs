use rewards_service::{Application, Settings};
use serde_json::{json, Value};
use testkit::ServiceHost;

/// The rewards service on a fresh database.
pub async fn spawn_app() -> ServiceHost {
    ServiceHost::start("rewards", |settings, shutdown| {
        Application::build(Settings::new(settings), shutdown)
    })
    .await
    .expect("the rewards service starts")
}

pub async fn add_reward(app: &ServiceHost, token: &str, body: Value) -> reqwest::Response {
    app.api.post(token, "/api/v1/rewards", None, &body).await
}

pub fn mug(points_cost: i64) -> Value {
    json!({"name": "Mug", "points_cost": points_cost})
}
