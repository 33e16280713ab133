use crate::helpers::{add_reward, mug, spawn_app};
use auth::Role;
use serde_json::{json, Value};
use testkit::assert_problem;

#[tokio::test]
async fn an_admin_adds_rewards_and_members_see_the_active_ones_cheapest_first() {
    let app = spawn_app().await;
    let admin = app.staff(Role::Admin);
    let added = add_reward(
        &app,
        &admin,
        json!({"name": "  Tote bag ", "description": "Canvas.\nLarge.", "points_cost": 900, "inventory": 0}),
    )
    .await;
    assert_eq!(added.status(), 201);
    let tote: Value = added.json().await.unwrap();
    assert_eq!(tote["name"], "Tote bag", "trimmed");
    assert_eq!(tote["available"], false, "no stock left");
    assert_eq!(add_reward(&app, &admin, mug(300)).await.status(), 201);

    let member = app.member();
    let catalog = app.api.get(&member.token, "/api/v1/rewards").await;
    assert_eq!(catalog.status(), 200);
    let catalog: Value = catalog.json().await.unwrap();
    let names: Vec<&str> = catalog["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Mug", "Tote bag"]);
    assert_eq!(
        catalog["items"][0]["available"], true,
        "no inventory is unlimited"
    );

    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM catalog_items")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 2);
}

#[tokio::test]
async fn only_admins_change_the_catalog_and_partners_need_the_read_scope() {
    let app = spawn_app().await;
    for token in [
        app.staff(Role::Support),
        app.member().token,
        app.partner(&["rewards:read", "rewards:write"]),
    ] {
        assert_problem(add_reward(&app, &token, mug(10)).await, 403, "forbidden").await;
    }
    let reader = app.partner(&["rewards:read"]);
    assert_eq!(app.api.get(&reader, "/api/v1/rewards").await.status(), 200);
    let other = app.partner(&["points:read"]);
    assert_problem(
        app.api.get(&other, "/api/v1/rewards").await,
        403,
        "forbidden",
    )
    .await;
    let anonymous = app
        .api
        .http
        .get(app.api.url("/api/v1/rewards"))
        .send()
        .await
        .unwrap();
    assert_problem(anonymous, 401, "unauthorized").await;
    let expired = app.tokens.expired_member(uuid::Uuid::now_v7());
    assert_problem(
        app.api.get(&expired, "/api/v1/rewards").await,
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn bad_rewards_are_refused_field_by_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    let admin = app.staff(Role::Admin);
    let refused = add_reward(
        &app,
        &admin,
        json!({"name": "Mug\u{0}", "description": "bell\u{7}", "points_cost": i64::MIN, "inventory": -1}),
    )
    .await;
    let problem = assert_problem(refused, 422, "validation-error").await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "description", "points_cost", "inventory"]);
    let unknown_field = add_reward(
        &app,
        &admin,
        json!({"name": "Mug", "points_cost": 5, "active": false}),
    )
    .await;
    assert_problem(unknown_field, 422, "validation-error").await;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM catalog_items")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
}
