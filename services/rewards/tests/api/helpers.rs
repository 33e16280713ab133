use events::proto::{PointsHeld, PointsHoldRefused};
use events::topics;
use rewards_service::{Application, Settings};
use serde_json::{json, Value};
use sqlx::PgPool;
use std::time::Duration;
use testkit::{eventually, ServiceHost};
use uuid::Uuid;

const SCHEMA: &str = "rewards";

/// The rewards service on a fresh database, answering redemptions after the default wait.
pub async fn spawn_app() -> ServiceHost {
    spawn_app_with(|_| {}).await
}

/// The rewards service with changed settings.
pub async fn spawn_app_with(change: impl FnOnce(&mut Settings)) -> ServiceHost {
    ServiceHost::start(SCHEMA, |service, shutdown| {
        let mut settings = Settings::new(service);
        change(&mut settings);
        Application::build(settings, shutdown)
    })
    .await
    .expect("the rewards service starts")
}

/// Starts the service again on the same database and broker, after `halt`.
pub async fn resume(app: &mut ServiceHost, wait_ms: u64) {
    app.resume(SCHEMA, |service, shutdown| {
        let mut settings = Settings::new(service);
        settings.redemption_wait_ms = wait_ms;
        Application::build(settings, shutdown)
    })
    .await
    .expect("the rewards service restarts");
}

pub async fn add_reward(app: &ServiceHost, token: &str, body: Value) -> reqwest::Response {
    let key = Uuid::now_v7().to_string();
    app.api
        .post(token, "/api/v1/rewards", Some(&key), &body)
        .await
}

/// Adds a reward as `admin` and returns its id.
pub async fn reward_id(app: &ServiceHost, admin: &str, body: Value) -> Uuid {
    let response = add_reward(app, admin, body).await;
    assert_eq!(response.status(), 201);
    let reward: Value = response.json().await.unwrap();
    reward["id"].as_str().unwrap().parse().unwrap()
}

pub fn mug(points_cost: i64) -> Value {
    json!({"name": "Mug", "points_cost": points_cost})
}

pub async fn redeem(app: &ServiceHost, token: &str, reward: Uuid, key: &str) -> reqwest::Response {
    app.api
        .post(
            token,
            &format!("/api/v1/rewards/{reward}/redemptions"),
            Some(key),
            &json!({}),
        )
        .await
}

/// The member's only redemption, once the request has written it.
pub async fn pending_redemption(pool: &PgPool, member: Uuid) -> Uuid {
    eventually(Duration::from_secs(10), || async {
        Ok(
            sqlx::query_scalar::<_, Uuid>("SELECT id FROM redemptions WHERE member_id = $1")
                .bind(member)
                .fetch_optional(pool)
                .await?,
        )
    })
    .await
    .expect("the redemption is written")
}

/// The point service's answer: the points are held.
pub async fn points_held(app: &ServiceHost, member: Uuid, redemption: Uuid, points: i64) -> Uuid {
    let hold = Uuid::now_v7();
    app.infra
        .publish(
            topics::POINTS_HELD,
            member,
            &PointsHeld {
                redemption_id: redemption.to_string(),
                member_id: member.to_string(),
                hold_id: hold.to_string(),
                points,
                available_after: 0,
            },
        )
        .await;
    hold
}

/// The point service's answer: not enough points.
pub async fn too_few_points(
    app: &ServiceHost,
    member: Uuid,
    redemption: Uuid,
    points: i64,
    available: i64,
) {
    app.infra
        .publish(
            topics::POINTS_HOLD_REFUSED,
            member,
            &PointsHoldRefused {
                redemption_id: redemption.to_string(),
                member_id: member.to_string(),
                points,
                reason: "insufficient_points".into(),
                available,
                ..Default::default()
            },
        )
        .await;
}

/// The redemption as its member sees it, once `check` holds. Generous: after a restart the
/// consumer first rejoins its group, which waits out the old member's 10 s session when the
/// machine is busy; a redemption that gets there answers at once.
pub async fn redemption_when(
    app: &ServiceHost,
    token: &str,
    redemption: Uuid,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let path = format!("/api/v1/rewards/redemptions/{redemption}");
    eventually(Duration::from_secs(45), || async {
        let body: Value = app.api.get(token, &path).await.json().await?;
        Ok(check(&body).then_some(body))
    })
    .await
    .expect("the redemption reaches the expected state")
}

/// Units of stock left.
pub async fn stock(pool: &PgPool, reward: Uuid) -> Option<i32> {
    sqlx::query_scalar("SELECT inventory FROM catalog_items WHERE id = $1")
        .bind(reward)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Events of `event_type` in the outbox.
pub async fn outbox(pool: &PgPool, event_type: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM outbox WHERE event_type = $1")
        .bind(event_type)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The rewards service with campaigns on `clock`, their timers checked every 50 ms.
pub async fn spawn_with_clock(
    clock: &rewards_service::core::clock::ManualClock,
    change: impl FnOnce(&mut Settings),
) -> ServiceHost {
    let clock = std::sync::Arc::new(clock.clone());
    ServiceHost::start(SCHEMA, move |service, shutdown| {
        let mut settings = Settings::new(service);
        settings.campaign_timer_interval_ms = 50;
        change(&mut settings);
        Application::build_with_clock(settings, clock, shutdown)
    })
    .await
    .expect("the rewards service starts")
}

/// Starts the service again on `clock` after `halt`, with the same database and broker.
pub async fn resume_with_clock(
    app: &mut ServiceHost,
    clock: &rewards_service::core::clock::ManualClock,
) {
    let clock = std::sync::Arc::new(clock.clone());
    app.resume(SCHEMA, move |service, shutdown| {
        let mut settings = Settings::new(service);
        settings.campaign_timer_interval_ms = 50;
        Application::build_with_clock(settings, clock, shutdown)
    })
    .await
    .expect("the rewards service restarts");
}
