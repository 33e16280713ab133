use crate::helpers::{assert_problem, balance_path, earn_path, TestApp, POS};
use auth::scopes;
use serde_json::{json, Value};
use uuid::Uuid;

#[tokio::test]
async fn a_partner_earns_for_a_purchase_once_per_reference() {
    let app = TestApp::start().await;
    let member = app.member().await;
    let first = app.earn_amount(member.id, 12345, "order-1").await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["points"], 123);
    assert_eq!(first["pending"], false);

    let again = app.earn_amount(member.id, 12345, "order-1").await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["replayed"], true);
    assert_eq!(again["transaction_id"], first["transaction_id"]);
    assert_problem(
        app.earn_amount(member.id, 99999, "order-1").await,
        409,
        "reference-conflict",
    )
    .await;

    let balance = app.balance(member.id).await;
    assert_eq!(balance["total_points"], 123);
    assert_eq!(balance["available_points"], 123);
    assert_eq!(balance["lifetime_points"], 123);
    app.assert_ledger_consistent(member.id).await;
}

#[tokio::test]
async fn only_partners_with_points_earn_and_admins_may_earn() {
    let app = TestApp::start().await;
    let member = app.member().await;
    let body = json!({"points": 10, "source": "shop", "reference_id": "r1"});
    let path = earn_path(member.id);
    let reader = app.partner(&[scopes::POINTS_READ]);
    assert_problem(
        app.api.post(&reader, &path, None, &body).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.api.post(&member.token, &path, None, &body).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.api.post(&app.support, &path, None, &body).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        app.api.post(&app.admin, &path, None, &body).await.status(),
        201
    );
    // points:read reads, but only what it is for.
    assert_eq!(
        app.api
            .get(&reader, &balance_path(member.id))
            .await
            .status(),
        200
    );
    let other = app.member().await;
    assert_problem(
        app.api.get(&member.token, &balance_path(other.id)).await,
        403,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn the_pos_endpoint_earns_per_store_transaction() {
    let app = TestApp::start().await;
    let member = app.member().await;
    let body = json!({"store_id": "store-7", "transaction_id": "till-42", "user_identifier": member.id, "amount": 4550});
    let first = app.api.post(&app.partner, POS, None, &body).await;
    assert_eq!(first.status(), 201);
    assert_eq!(first.json::<Value>().await.unwrap()["points"], 45);
    assert_eq!(
        app.api.post(&app.partner, POS, None, &body).await.status(),
        200
    );
    let unknown = json!({"store_id": "store-7", "transaction_id": "till-43", "user_identifier": Uuid::new_v4(), "amount": 4550});
    assert_problem(
        app.api.post(&app.partner, POS, None, &unknown).await,
        404,
        "not-found",
    )
    .await;
    let email = json!({"store_id": "store-7", "transaction_id": "till-44", "user_identifier": "ada@example.com", "amount": 4550});
    assert_problem(
        app.api.post(&app.partner, POS, None, &email).await,
        422,
        "validation-error",
    )
    .await;
    assert_eq!(app.balance(member.id).await["total_points"], 45);
}

#[tokio::test]
async fn transactions_are_filtered_and_paged_with_a_cursor() {
    let app = TestApp::start().await;
    let member = app.member().await;
    for i in 0..5 {
        assert_eq!(
            app.earn_points(member.id, 10 + i, &format!("ref-{i}"))
                .await
                .status(),
            201
        );
    }
    let redeem = app.redeem(&member, "r-1", 5).await;
    assert_eq!(redeem.status(), 201);

    let path = format!("/api/v1/points/{}/transactions", member.id);
    let mut seen = Vec::new();
    let mut url = format!("{path}?type=earn&limit=2");
    loop {
        let page: Value = app.api.get(&member.token, &url).await.json().await.unwrap();
        for item in page["items"].as_array().unwrap() {
            assert_eq!(item["type"], "earn");
            seen.push(item["points"].as_i64().unwrap());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => url = format!("{path}?type=earn&limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, vec![14, 13, 12, 11, 10], "newest first, each once");

    let all: Value = app
        .api
        .get(&member.token, &format!("{path}?limit=50"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 6);
    let redeems: Value = app
        .api
        .get(&member.token, &format!("{path}?type=redeem"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(redeems["items"][0]["points"], -5);
    let offset: Value = app
        .api
        .get(&member.token, &format!("{path}?type=earn&limit=2&offset=2"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(offset["items"][0]["points"], 12);
    let future: Value = app
        .api
        .get(&member.token, &format!("{path}?from=2999-01-01T00:00:00Z"))
        .await
        .json()
        .await
        .unwrap();
    assert!(future["items"].as_array().unwrap().is_empty());
}
