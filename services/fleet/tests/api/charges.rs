//! Charges: idempotency and bad input.

use crate::helpers::*;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_idempotency_key_returns_the_same_charge_and_another_body_is_refused() {
    let app = TestFleet::start().await;
    let member = app.member().await;

    let first = app
        .charge(&member.token, Some("checkout-42"), &visa(2000))
        .await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();

    let again = app
        .charge(&member.token, Some("checkout-42"), &visa(2000))
        .await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers().get("idempotent-replayed").unwrap(), "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(
        again["id"], first["id"],
        "a retry returns the same charge, not a second one"
    );

    let changed = app
        .charge(&member.token, Some("checkout-42"), &visa(3000))
        .await;
    assert_problem(changed, 422, "idempotency-key-reused").await;

    // Keys belong to their caller: another member may use the same key for their own charge.
    let other = app.member().await;
    let theirs: Value = app
        .charge(&other.token, Some("checkout-42"), &visa(2000))
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(theirs["id"], first["id"]);

    // Only one charge was made and only one earned points.
    app.wait_for_points(&member, 20).await;
    let payments = app.infra.pool("payments").await.unwrap();
    let charges: i64 = sqlx::query_scalar("SELECT count(*) FROM charges WHERE member_id = $1")
        .bind(member.id)
        .fetch_one(&payments)
        .await
        .unwrap();
    assert_eq!(charges, 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_with_one_key_create_one_charge() {
    let app = TestFleet::start().await;
    let member = app.member().await;
    let body = visa(4200);
    let responses = futures::future::join_all(
        (0..6).map(|_| app.charge(&member.token, Some("double-click"), &body)),
    )
    .await;

    let mut ids = Vec::new();
    for response in responses {
        match response.status().as_u16() {
            201 => ids.push(response.json::<Value>().await.unwrap()["id"].clone()),
            // Still in flight when the duplicate arrived: refused, never run twice.
            409 => {
                assert_problem(response, 409, "idempotency-key-in-use").await;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(!ids.is_empty());
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "every success names the same charge"
    );

    let payments = app.infra.pool("payments").await.unwrap();
    let charges: i64 = sqlx::query_scalar("SELECT count(*) FROM charges WHERE member_id = $1")
        .bind(member.id)
        .fetch_one(&payments)
        .await
        .unwrap();
    assert_eq!(charges, 1);
    app.wait_for_points(&member, 42).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_charge_requests_are_refused_with_problem_details_and_nothing_is_written() {
    let app = TestFleet::start().await;
    let member = app.member().await;

    let malformed = app
        .http
        .post(app.url("/api/v1/payments/charges"))
        .bearer_auth(&member.token)
        .header("Idempotency-Key", "m-1")
        .header("Content-Type", "application/json")
        .body(r#"{"amount": 100, "currency": "AUD""#)
        .send()
        .await
        .unwrap();
    assert_problem(malformed, 400, "malformed-request").await;

    for (body, field) in [
        (
            json!({ "amount": 0, "currency": "AUD", "payment_method": "pm_card_visa" }),
            "amount",
        ),
        (
            json!({ "amount": -500, "currency": "AUD", "payment_method": "pm_card_visa" }),
            "amount",
        ),
        (
            json!({ "amount": 100, "currency": "XYZ", "payment_method": "pm_card_visa" }),
            "currency",
        ),
        (
            json!({ "amount": "100", "currency": "AUD", "payment_method": "pm_card_visa" }),
            "amount",
        ),
        (
            json!({ "currency": "AUD", "payment_method": "pm_card_visa" }),
            "amount",
        ),
        (
            json!({ "amount": 100, "currency": "AUD", "payment_method": "pm_card_visa", "tip": 5 }),
            "tip",
        ),
    ] {
        let problem = assert_problem(
            app.charge(&member.token, Some("bad-input"), &body).await,
            422,
            "validation-error",
        )
        .await;
        assert!(
            field_errors(&problem).iter().any(|f| f == field),
            "{body} should name {field}: {problem}"
        );
    }

    let problem = assert_problem(
        app.charge(&member.token, None, &visa(100)).await,
        422,
        "validation-error",
    )
    .await;
    assert_eq!(field_errors(&problem), ["Idempotency-Key"]);
    let unauthenticated = app
        .http
        .post(app.url("/api/v1/payments/charges"))
        .json(&visa(100))
        .send()
        .await
        .unwrap();
    assert_problem(unauthenticated, 401, "unauthorized").await;

    // None of that reached the database, and the key used by refused requests is still free.
    let payments = app.infra.pool("payments").await.unwrap();
    let charges: i64 = sqlx::query_scalar("SELECT count(*) FROM charges")
        .fetch_one(&payments)
        .await
        .unwrap();
    assert_eq!(charges, 0);
    assert_eq!(
        app.charge(&member.token, Some("bad-input"), &visa(100))
            .await
            .status(),
        201
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_refuses_bad_input_and_login_does_not_reveal_accounts() {
    let app = TestFleet::start().await;
    let weak = app.register("weak@example.com", "short").await;
    let problem = assert_problem(weak, 422, "validation-error").await;
    assert_eq!(field_errors(&problem), ["password"]);
    let bad_email = assert_problem(
        app.register("not-an-email", "a long enough password").await,
        422,
        "validation-error",
    )
    .await;
    assert_eq!(field_errors(&bad_email), ["email"]);

    assert_eq!(
        app.register("dup@example.com", "a long enough password")
            .await
            .status(),
        201
    );
    // A taken email gets the answer a new one gets: registration does not reveal accounts.
    assert_eq!(
        app.register("DUP@example.com", "a long enough password")
            .await
            .status(),
        201
    );

    let wrong_password = assert_problem(
        app.login("dup@example.com", "the wrong password").await,
        401,
        "unauthorized",
    )
    .await;
    let no_account = assert_problem(
        app.login("nobody@example.com", "the wrong password").await,
        401,
        "unauthorized",
    )
    .await;
    assert_eq!(
        wrong_password["detail"], no_account["detail"],
        "the same answer whether or not the account exists"
    );
    app.stop().await;
}
