use crate::helpers::{assert_problem, TestApp};
use serde_json::{json, Value};

#[tokio::test]
async fn a_hold_is_captured_or_released_and_never_both() {
    let app = TestApp::start().await;
    let member = app.member().await;
    app.earn_points(member.id, 500, "r").await;
    let holds = format!("/api/v1/points/{}/holds", member.id);

    let created = app
        .post(
            &member.token,
            &holds,
            Some("redemption-1"),
            &json!({"points": 200, "reference_id": "redemption-1"}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let hold: Value = created.json().await.unwrap();
    let balance = app.balance(member.id).await;
    assert_eq!(
        (
            balance["total_points"].as_i64(),
            balance["on_hold_points"].as_i64(),
            balance["available_points"].as_i64()
        ),
        (Some(500), Some(200), Some(300))
    );

    // The same request again is the same hold; the same key for something else is refused.
    let again: Value = app
        .post(
            &member.token,
            &holds,
            Some("redemption-1"),
            &json!({"points": 200, "reference_id": "redemption-1"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["id"], hold["id"]);
    assert_problem(
        app.post(
            &member.token,
            &holds,
            Some("redemption-1"),
            &json!({"points": 300}),
        )
        .await,
        422,
        "idempotency-key-reused",
    )
    .await;

    let id = hold["id"].as_str().unwrap();
    let capture = format!("{holds}/{id}/capture");
    let captured: Value = app
        .post(&member.token, &capture, None, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(captured["status"], "captured");
    assert_eq!(
        app.post(&member.token, &capture, None, &json!({}))
            .await
            .status(),
        200,
        "capturing twice is harmless"
    );
    assert_problem(
        app.post(
            &member.token,
            &format!("{holds}/{id}/release"),
            None,
            &json!({}),
        )
        .await,
        409,
        "hold-not-active",
    )
    .await;
    let balance = app.balance(member.id).await;
    assert_eq!(
        (
            balance["total_points"].as_i64(),
            balance["on_hold_points"].as_i64()
        ),
        (Some(300), Some(0))
    );

    let second: Value = app
        .post(
            &member.token,
            &holds,
            Some("redemption-2"),
            &json!({"points": 100}),
        )
        .await
        .json()
        .await
        .unwrap();
    let second_id = second["id"].as_str().unwrap();
    let released: Value = app
        .post(
            &member.token,
            &format!("{holds}/{second_id}/release"),
            None,
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(released["status"], "released");
    assert_problem(
        app.post(
            &member.token,
            &format!("{holds}/{second_id}/capture"),
            None,
            &json!({}),
        )
        .await,
        409,
        "hold-not-active",
    )
    .await;
    assert_eq!(app.balance(member.id).await["available_points"], 300);
    app.assert_ledger_consistent(member.id).await;

    // Another member cannot touch these holds.
    let other = app.member().await;
    assert_problem(
        app.post(&other.token, &capture, None, &json!({})).await,
        403,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn redemptions_spend_the_oldest_points_first() {
    let app = TestApp::start().await;
    let member = app.member().await;
    app.earn_points(member.id, 100, "old").await;
    app.earn_points(member.id, 50, "new").await;
    // The older lot expires first: make that explicit, whatever the clock did.
    sqlx::query("UPDATE point_lots SET expires_at = expires_at - interval '1 day' WHERE member_id = $1 AND points = 100")
        .bind(member.id)
        .execute(&app.pool)
        .await
        .unwrap();
    let redeemed = app
        .post(
            &member.token,
            &format!("/api/v1/points/{}/redeem", member.id),
            Some("r1"),
            &json!({"points": 120}),
        )
        .await;
    assert_eq!(redeemed.status(), 201);
    let lots: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT points, remaining FROM point_lots WHERE member_id = $1 ORDER BY expires_at",
    )
    .bind(member.id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(lots, vec![(100, 0), (50, 30)]);
    app.assert_ledger_consistent(member.id).await;
}
