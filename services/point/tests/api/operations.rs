//! What an operator sees of a running point service: readiness that rides out a Redis outage,
//! and the metrics an alert or a dashboard reads.

use crate::helpers::TestApp;
use events::proto::{ChargeSucceeded, UserRegistered};
use events::topics;
use serde_json::Value;
use std::time::Duration;
use testkit::metric_samples as samples;
use uuid::Uuid;

async fn metrics_page(app: &TestApp) -> String {
    app.api
        .http
        .get(app.api.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_the_service_stays_ready_degraded_and_keeps_earning() {
    // Nothing listens on port 1: Redis is down from the start.
    let app = TestApp::start_with(|settings| {
        settings.service.redis_url = "redis://127.0.0.1:1".to_owned().into();
    })
    .await;
    let member = app.member().await;
    let earned = app.earn_points(member.id, 150, "till-7/receipt-1").await;
    assert!(earned.status().is_success(), "{}", earned.status());

    let ready = app
        .api
        .http
        .get(app.api.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        ready.status(),
        200,
        "a Redis outage must not unready the service"
    );
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "degraded");
    assert!(body["checks"]["redis"]
        .as_str()
        .unwrap()
        .starts_with("failing"));
    assert_eq!(body["checks"]["postgres"], "ok");

    let page = metrics_page(&app).await;
    assert_eq!(
        samples(&page, "dependency_up", &[("dependency", "redis")]),
        [0.0]
    );
    assert_eq!(
        samples(&page, "dependency_up", &[("dependency", "postgres")]),
        [1.0]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_points_events_and_the_pool() {
    let app = TestApp::start().await;
    let member = app.member().await;
    assert!(app
        .earn_points(member.id, 150, "till-7/receipt-2")
        .await
        .status()
        .is_success());

    // A charge consumed and applied, and one that can never be applied (its member is not an
    // id), dead-lettered.
    let registered = Uuid::now_v7();
    app.infra
        .publish(
            topics::USER_REGISTERED,
            registered,
            &UserRegistered {
                user_id: registered.to_string(),
                role: "customer".into(),
                ..Default::default()
            },
        )
        .await;
    app.wait_for(registered, |b| b["total_points"] == 0).await;
    app.infra
        .publish(
            topics::CHARGE_SUCCEEDED,
            registered,
            &ChargeSucceeded {
                charge_id: "ch_metrics".into(),
                member_id: registered.to_string(),
                amount: 5000,
                currency: "AUD".into(),
                kind: "purchase".into(),
                ..Default::default()
            },
        )
        .await;
    app.infra
        .publish(
            topics::CHARGE_SUCCEEDED,
            registered,
            &ChargeSucceeded {
                charge_id: "ch_poison".into(),
                member_id: "not a member id".into(),
                amount: 5000,
                currency: "AUD".into(),
                kind: "purchase".into(),
                ..Default::default()
            },
        )
        .await;

    let page = testkit::eventually(Duration::from_secs(20), || async {
        let page = metrics_page(&app).await;
        let earned: f64 = samples(&page, "points_earned_total", &[]).iter().sum();
        let applied = samples(
            &page,
            "events_consumed_total",
            &[("topic", "charge.succeeded"), ("outcome", "applied")],
        );
        let dead = samples(
            &page,
            "events_consumed_total",
            &[("topic", "charge.succeeded"), ("outcome", "dead_lettered")],
        );
        // 150 by hand and 50 for the AUD 50.00 charge, once each is published.
        Ok((earned == 200.0 && applied == [1.0] && dead == [1.0]).then_some(page))
    })
    .await
    .expect("the points earned and the events consumed are counted");

    let published: f64 = samples(
        &page,
        "events_published_total",
        &[("topic", "points.earned")],
    )
    .iter()
    .sum();
    assert_eq!(published, 2.0);
    assert_eq!(samples(&page, "outbox_pending_events", &[]).len(), 1);
    assert_eq!(
        samples(&page, "outbox_oldest_pending_age_seconds", &[]).len(),
        1
    );
    let in_use = samples(&page, "db_pool_connections", &[("state", "in_use")]);
    let max = samples(&page, "db_pool_max_connections", &[]);
    assert_eq!(in_use.len(), 1);
    assert!(
        max[0] >= 1.0 && in_use[0] <= max[0],
        "{in_use:?} of {max:?}"
    );
    assert!(
        page.contains("http_requests_total{"),
        "HTTP requests are counted too"
    );
    app.stop().await;
}
