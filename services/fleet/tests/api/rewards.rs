//! Redeeming rewards across the fleet: the rewards service sets stock aside, the point service
//! holds the points, the code is issued and the points captured, all through the edge and the
//! broker, with concurrency and cancellation.

use crate::helpers::{assert_problem, Member, TestFleet};
use futures::future::join_all;
use reqwest::Response;
use serde_json::{json, Value};
use std::time::Duration;
use uuid::Uuid;

async fn post(
    app: &TestFleet,
    token: &str,
    path: &str,
    key: Option<&str>,
    body: &Value,
) -> Response {
    let mut request = app.http.post(app.url(path)).bearer_auth(token).json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.unwrap()
}

async fn add_reward(app: &TestFleet, admin: &str, body: Value) -> Uuid {
    let key = Uuid::now_v7().to_string();
    let created = post(app, admin, "/api/v1/rewards", Some(&key), &body).await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    created["id"].as_str().unwrap().parse().unwrap()
}

/// Gives the member `points` by a staff adjustment and waits until they show.
async fn credit(app: &TestFleet, admin: &str, member: &Member, points: i64) {
    // The account opens when the point service hears of the registration.
    app.wait_for_points(member, 0).await;
    let path = format!("/api/v1/points/{}/adjustments", member.id);
    let key = Uuid::now_v7().to_string();
    let body = json!({"points": points, "reason": "welcome bonus"});
    assert_eq!(
        post(app, admin, &path, Some(&key), &body).await.status(),
        201
    );
    app.wait_for_points(member, points).await;
}

/// Redeems and follows the redemption until the saga settles it.
async fn redeem_settled(app: &TestFleet, member: &Member, reward: Uuid, key: &str) -> (u16, Value) {
    let answer = post(
        app,
        &member.token,
        &format!("/api/v1/rewards/{reward}/redemptions"),
        Some(key),
        &json!({}),
    )
    .await;
    let status = answer.status().as_u16();
    let body: Value = answer.json().await.unwrap();
    if status != 202 {
        return (status, body);
    }
    let path = format!(
        "/api/v1/rewards/redemptions/{}",
        body["id"].as_str().unwrap()
    );
    let settled = testkit::eventually(Duration::from_secs(30), || async {
        let now: Value = app.get(Some(&member.token), &path).await.json().await?;
        Ok((now["status"] != "pending").then_some(now))
    })
    .await
    .expect("the redemption settles");
    (200, settled)
}

async fn balance(app: &TestFleet, member: &Member) -> Value {
    app.balance(&member.token, member.id)
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_redeems_a_reward_for_a_code_and_cancelling_gives_the_points_back() {
    let app = TestFleet::start().await;
    let admin = app.admin_token().await;
    let reward = add_reward(
        &app,
        &admin,
        json!({"name": "Coffee voucher", "points_cost": 300, "inventory": 5}),
    )
    .await;
    let member = app.member().await;
    credit(&app, &admin, &member, 500).await;

    let (status, redemption) = redeem_settled(&app, &member, reward, "r1").await;
    assert!(status == 201 || status == 200, "{status}: {redemption}");
    assert_eq!(redemption["status"], "issued", "{redemption}");
    assert!(redemption["code"].as_str().is_some_and(|c| c.len() == 24));
    let after = app.wait_for_points(&member, 200).await;
    assert_eq!(after["on_hold_points"], 0, "the hold was captured");
    assert_eq!(after["available_points"], 200);

    // Not enough points left for a second: refused with the shortfall, nothing held.
    let answer = post(
        &app,
        &member.token,
        &format!("/api/v1/rewards/{reward}/redemptions"),
        Some("r2"),
        &json!({}),
    )
    .await;
    let problem = assert_problem(answer, 422, "insufficient-points").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("100 short"),
        "{problem}"
    );
    assert_eq!(balance(&app, &member).await["available_points"], 200);

    let id = redemption["id"].as_str().unwrap();
    let cancelled = post(
        &app,
        &member.token,
        &format!("/api/v1/rewards/redemptions/{id}/cancel"),
        None,
        &json!({}),
    )
    .await;
    assert_eq!(cancelled.status(), 200);
    app.wait_for_points(&member, 500).await;
    let catalog: Value = app
        .get(Some(&member.token), &format!("/api/v1/rewards/{reward}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(catalog["inventory"], 5, "both units are back");

    // The back office counts the redemption and its cancellation.
    testkit::eventually(Duration::from_secs(30), || async {
        let stats: Value = app
            .get(Some(&admin), "/api/v1/admin/rewards/stats")
            .await
            .json()
            .await?;
        let top = &stats["top_rewards"][0];
        Ok((top["redeemed"] == 1 && top["cancelled"] == 1).then_some(()))
    })
    .await
    .expect("the admin read model counts the redemption");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_racing_for_scarce_stock_get_exactly_the_stock_and_the_others_keep_their_points() {
    // Twenty members sign up and in from one address (each test runs in its own process).
    std::env::set_var("USER__AUTH_REQUESTS_PER_MINUTE", "1000");
    let app = TestFleet::start().await;
    let admin = app.admin_token().await;
    let reward = add_reward(
        &app,
        &admin,
        json!({"name": "Signed print", "points_cost": 250, "inventory": 5}),
    )
    .await;
    let mut members = Vec::new();
    for _ in 0..20 {
        let member = app.member().await;
        credit(&app, &admin, &member, 400).await;
        members.push(member);
    }
    let answers = join_all(
        members
            .iter()
            .map(|m| redeem_settled(&app, m, reward, "race")),
    )
    .await;
    let mut winners = Vec::new();
    for (member, (status, body)) in members.iter().zip(&answers) {
        match status {
            200 | 201 => {
                assert_eq!(body["status"], "issued", "{body}");
                winners.push(member.id);
            }
            409 => assert_eq!(body["type"], "urn:tessera:problem:reward-out-of-stock"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(winners.len(), 5);
    for member in &members {
        let expected = if winners.contains(&member.id) {
            150
        } else {
            400
        };
        let now = app.wait_for_points(member, expected).await;
        assert_eq!(now["on_hold_points"], 0);
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_filter_the_catalog_by_what_they_can_afford_and_their_tier() {
    let app = TestFleet::start().await;
    let admin = app.admin_token().await;
    add_reward(&app, &admin, json!({"name": "Cookie", "points_cost": 100})).await;
    add_reward(
        &app,
        &admin,
        json!({"name": "Lounge pass", "points_cost": 150, "min_tier": "GOLD"}),
    )
    .await;
    add_reward(
        &app,
        &admin,
        json!({"name": "Mug", "points_cost": 400, "min_tier": "BRONZE"}),
    )
    .await;
    add_reward(&app, &admin, json!({"name": "Hoodie", "points_cost": 2000})).await;
    let member = app.member().await;
    credit(&app, &admin, &member, 450).await;
    let names = |page: Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let browse = |query: &'static str| {
        let token = member.token.clone();
        let app = &app;
        async move {
            let answer = app
                .get(Some(&token), &format!("/api/v1/rewards{query}"))
                .await;
            assert_eq!(answer.status(), 200, "{query}");
            answer.json::<Value>().await.unwrap()
        }
    };
    assert_eq!(
        names(browse("?affordable=true").await),
        ["Cookie", "Lounge pass", "Mug"]
    );
    assert_eq!(
        names(browse("?for_my_tier=true").await),
        ["Cookie", "Mug", "Hoodie"],
        "a new member is BRONZE"
    );
    assert_eq!(
        names(browse("?affordable=true&for_my_tier=true&max_points=300").await),
        ["Cookie"]
    );
    // Staff have no points of their own to filter by.
    let refused = app
        .get(Some(&admin), "/api/v1/rewards?affordable=true")
        .await;
    assert_problem(refused, 422, "validation-error").await;
    app.stop().await;
}
