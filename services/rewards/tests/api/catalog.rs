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

#[tokio::test]
async fn the_catalog_filters_by_category_and_price_pages_by_cursor_and_hides_archived_rewards() {
    let app = spawn_app().await;
    let admin = app.staff(Role::Admin);
    for (name, cost, category) in [
        ("Espresso", 100, "Drinks"),
        ("Latte", 200, "drinks"),
        ("Croissant", 150, "Food"),
        ("Mocha", 300, "Drinks"),
        ("Tote", 900, "Merch"),
    ] {
        let body = json!({"name": name, "points_cost": cost, "category": category});
        assert_eq!(add_reward(&app, &admin, body).await.status(), 201);
    }
    let member = app.member();
    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let drinks: Value = app
        .api
        .get(
            &member.token,
            "/api/v1/rewards?category=DRINKS&max_points=250",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&drinks), ["Espresso", "Latte"]);

    let first: Value = app
        .api
        .get(&member.token, "/api/v1/rewards?limit=2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&first), ["Espresso", "Croissant"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = app
        .api
        .get(
            &member.token,
            &format!("/api/v1/rewards?limit=2&cursor={cursor}"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&second), ["Latte", "Mocha"]);
    let cursor = second["next_cursor"].as_str().unwrap();
    let last: Value = app
        .api
        .get(
            &member.token,
            &format!("/api/v1/rewards?limit=2&cursor={cursor}"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&last), ["Tote"]);
    assert_eq!(last["next_cursor"], Value::Null);

    let tote = last["items"][0]["id"].as_str().unwrap().to_owned();
    let archived = app
        .api
        .post(
            &admin,
            &format!("/api/v1/rewards/{tote}/archive"),
            None,
            &json!({}),
        )
        .await;
    assert_eq!(archived.status(), 200);
    let all: Value = app
        .api
        .get(&member.token, "/api/v1/rewards")
        .await
        .json()
        .await
        .unwrap();
    assert!(!names(&all).contains(&"Tote".to_owned()));
    assert_problem(
        app.api
            .get(&member.token, &format!("/api/v1/rewards/{tote}"))
            .await,
        404,
        "not-found",
    )
    .await;
    let with_archived: Value = app
        .api
        .get(&admin, "/api/v1/rewards?include_archived=true")
        .await
        .json()
        .await
        .unwrap();
    assert!(names(&with_archived).contains(&"Tote".to_owned()));
    assert_problem(
        app.api
            .get(&member.token, "/api/v1/rewards?include_archived=true")
            .await,
        403,
        "forbidden",
    )
    .await;
    for bad in [
        "limit=0",
        "limit=201",
        "cursor=nope",
        "max_points=-1",
        "colour=red",
    ] {
        let refused = app
            .api
            .get(&member.token, &format!("/api/v1/rewards?{bad}"))
            .await;
        assert_eq!(refused.status().as_u16() / 100, 4, "{bad}");
    }
}

#[tokio::test]
async fn admins_update_rewards_of_their_business_only_and_creates_are_idempotent() {
    let app = spawn_app().await;
    let admin = app.staff(Role::Admin);
    let body = json!({"name": "Mug", "points_cost": 300, "inventory": 4, "min_tier": "gold",
                      "member_limit": 1, "member_limit_period": "month", "fulfilment": "store_code",
                      "image_url": "https://cdn.example.com/mug.png"});
    let first = app
        .api
        .post(&admin, "/api/v1/rewards", Some("same"), &body)
        .await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["min_tier"], "GOLD");
    assert_eq!(first["member_limit_period"], "month");
    assert_eq!(first["fulfilment"], "store_code");
    let again = app
        .api
        .post(&admin, "/api/v1/rewards", Some("same"), &body)
        .await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_problem(
        app.api
            .post(&admin, "/api/v1/rewards", Some("same"), &mug(5))
            .await,
        422,
        "idempotency-key-reused",
    )
    .await;
    assert_problem(
        app.api.post(&admin, "/api/v1/rewards", None, &mug(5)).await,
        422,
        "validation-error",
    )
    .await;

    let id = first["id"].as_str().unwrap();
    let path = format!("/api/v1/rewards/{id}");
    let updated = app
        .api
        .send(
            reqwest::Method::PUT,
            Some(&admin),
            &path,
            Some(&json!({"name": "Big mug", "points_cost": 350})),
        )
        .await;
    assert_eq!(updated.status(), 200);
    let updated: Value = updated.json().await.unwrap();
    assert_eq!(updated["name"], "Big mug");
    assert_eq!(
        updated["inventory"],
        Value::Null,
        "a full replacement: unlimited now"
    );
    assert_eq!(updated["min_tier"], Value::Null);

    // Staff of another business neither see nor change it.
    let stranger = app.tokens.staff_in(
        uuid::Uuid::now_v7(),
        Role::Admin,
        Some(uuid::Uuid::now_v7()),
        vec![],
    );
    let refused = app
        .api
        .send(reqwest::Method::PUT, Some(&stranger), &path, Some(&mug(1)))
        .await;
    assert_problem(refused, 404, "not-found").await;
    assert_problem(app.api.get(&stranger, &path).await, 404, "not-found").await;
    let archive = app
        .api
        .post(&stranger, &format!("{path}/archive"), None, &json!({}))
        .await;
    assert_problem(archive, 404, "not-found").await;
    // Their own catalog is empty; a reward for another business is refused.
    let theirs: Value = app
        .api
        .get(&stranger, "/api/v1/rewards")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["items"].as_array().unwrap().len(), 0);
    let mut elsewhere = mug(5);
    elsewhere["business_id"] = json!(kernel::DEMO_BUSINESS_ID);
    assert_problem(
        app.api
            .post(&stranger, "/api/v1/rewards", Some("x"), &elsewhere)
            .await,
        403,
        "forbidden",
    )
    .await;
}
