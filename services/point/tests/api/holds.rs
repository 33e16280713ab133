use crate::helpers::{assert_problem, TestApp};
use serde_json::{json, Value};

#[tokio::test]
async fn a_hold_is_captured_or_released_and_never_both() {
    let app = TestApp::start().await;
    let member = app.member().await;
    app.earn_points(member.id, 500, "r").await;
    let holds = format!("/api/v1/points/{}/holds", member.id);

    let created = app
        .api
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
        .api
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
        app.api
            .post(
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
        .api
        .post(&member.token, &capture, None, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(captured["status"], "captured");
    assert_eq!(
        app.api
            .post(&member.token, &capture, None, &json!({}))
            .await
            .status(),
        200,
        "capturing twice is harmless"
    );
    assert_problem(
        app.api
            .post(
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
        .api
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
        .api
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
        app.api
            .post(
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
        app.api.post(&other.token, &capture, None, &json!({})).await,
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
    let redeemed = app.redeem(&member, "r1", 120).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_with_one_partner_key_never_fail() {
    let app = TestApp::start().await;
    let first = app.member().await;
    let second = app.member().await;
    for member in [&first, &second] {
        assert_eq!(
            app.earn_points(member.id, 500, &format!("r-{}", member.id))
                .await
                .status(),
            201
        );
    }
    let app = &app;
    // One partner, one key: the same request many times at once, and the same key for another
    // member. One hold is placed; every other answer is a replay, "in flight" or "key reused".
    let requests = (0..12).map(|i| {
        let member = if i % 3 == 0 { second.id } else { first.id };
        async move {
            let response = app
                .api
                .post(
                    &app.partner,
                    &format!("/api/v1/points/{member}/holds"),
                    Some("partner-key-1"),
                    &json!({"points": 50, "reference_id": "redemption-9"}),
                )
                .await;
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (member, status, body)
        }
    });
    let results = futures::future::join_all(requests).await;
    for (_, status, body) in &results {
        assert!([200, 201, 409, 422].contains(status), "{status}: {body}");
    }
    let created: Vec<&(uuid::Uuid, u16, Value)> =
        results.iter().filter(|(_, s, _)| *s == 201).collect();
    assert_eq!(created.len(), 1, "exactly one hold is placed: {results:?}");
    let (winner, _, hold) = created[0];
    for (member, status, body) in &results {
        match status {
            200 => assert_eq!(body["id"], hold["id"], "a replay is the same hold"),
            422 => {
                assert_ne!(
                    member, winner,
                    "the same request is never refused as another"
                );
                assert_eq!(body["type"], "urn:tessera:problem:idempotency-key-reused");
            }
            409 => assert_eq!(body["type"], "urn:tessera:problem:idempotency-key-in-use"),
            _ => {}
        }
    }
    let holds: i64 = sqlx::query_scalar("SELECT count(*) FROM holds")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(holds, 1);
    let replay = app
        .api
        .post(
            &app.partner,
            &format!("/api/v1/points/{winner}/holds"),
            Some("partner-key-1"),
            &json!({"points": 50, "reference_id": "redemption-9"}),
        )
        .await;
    assert_eq!(replay.status(), 200);
    assert_eq!(replay.json::<Value>().await.unwrap()["id"], hold["id"]);
    for member in [&first, &second] {
        let (_, _, held) = app.assert_ledger_consistent(member.id).await;
        assert_eq!(held, if member.id == *winner { 50 } else { 0 });
    }
}

#[tokio::test]
async fn a_key_past_its_idempotency_window_still_names_its_hold() {
    // Without Redis every retry reaches Postgres (the cache is a shortcut, never the record).
    let app = TestApp::start_with(|settings| {
        settings.service.redis_url = serde_json::from_value(json!("redis://127.0.0.1:1")).unwrap();
    })
    .await;
    let member = app.member().await;
    app.earn_points(member.id, 500, "r").await;
    let holds = format!("/api/v1/points/{}/holds", member.id);
    let body = json!({"points": 80, "reference_id": "redemption-7"});
    let created = app
        .api
        .post(&member.token, &holds, Some("old-key"), &body)
        .await;
    assert_eq!(created.status(), 201);
    let hold: Value = created.json().await.unwrap();
    // As after the 24 hours the shared idempotency table keeps a key.
    sqlx::query("DELETE FROM idempotency_keys")
        .execute(&app.pool)
        .await
        .unwrap();
    let again = app
        .api
        .post(&member.token, &holds, Some("old-key"), &body)
        .await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["id"], hold["id"]);
    sqlx::query("DELETE FROM idempotency_keys")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_problem(
        app.api
            .post(
                &member.token,
                &holds,
                Some("old-key"),
                &json!({"points": 90}),
            )
            .await,
        422,
        "idempotency-key-reused",
    )
    .await;
    let (_, _, held) = app.assert_ledger_consistent(member.id).await;
    assert_eq!(held, 80);
}
