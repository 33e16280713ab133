//! A request killed after committing its charge or refund but before recording its response
//! (`kill -9` between the two) leaves its key claimed without an answer. Within the in-flight
//! lease a retry is refused as a duplicate in flight; after it, the retry takes the key over and
//! answers with the work stored under it, or, if none was stored, does the work as new.

use crate::helpers::*;
use serde_json::{json, Value};

fn visa(amount: i64) -> Value {
    json!({"amount": amount, "currency": "AUD", "payment_method": "pm_card_visa"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_crash_gets_the_stored_charge_not_a_second_one() {
    let app = TestApp::start().await;
    let member = app.member();
    let first = app
        .api
        .post(&member.token, CHARGES, Some("crash-1"), &visa(2100))
        .await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();

    app.strand_key("crash-1", LEASE_SECS + 5).await;
    let retry = app
        .api
        .post(&member.token, CHARGES, Some("crash-1"), &visa(2100))
        .await;
    assert_eq!(retry.status(), 201);
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry["id"], first["id"]);
    assert_eq!(retry["status"], "succeeded");
    assert_eq!(app.count("charges").await, 1);
    assert_eq!(app.intents_at_psp(first["id"].as_str().unwrap()).await, 1);

    // The resumed answer is recorded: the next retry is a replay.
    let again = app
        .api
        .post(&member.token, CHARGES, Some("crash-1"), &visa(2100))
        .await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);
    // A stranded key still refuses another body.
    app.strand_key("crash-1", LEASE_SECS + 5).await;
    let other = app
        .api
        .post(&member.token, CHARGES, Some("crash-1"), &visa(2200))
        .await;
    assert_problem(other, 422, "idempotency-key-reused").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_claim_with_no_charge_behind_it_is_charged_as_new() {
    let app = TestApp::start().await;
    let member = app.member();
    let earlier: Value = app
        .api
        .post(&member.token, CHARGES, Some("earlier"), &visa(1300))
        .await
        .json()
        .await
        .unwrap();
    // Killed after claiming "lost" for the same request, before storing anything.
    app.abandoned_claim_like("earlier", "lost", LEASE_SECS + 5)
        .await;

    let retry = app
        .api
        .post(&member.token, CHARGES, Some("lost"), &visa(1300))
        .await;
    assert_eq!(retry.status(), 201);
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry["status"], "succeeded");
    assert_ne!(retry["id"], earlier["id"]);
    assert_eq!(app.count("charges").await, 2);
    let replay = app
        .api
        .post(&member.token, CHARGES, Some("lost"), &visa(1300))
        .await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.json::<Value>().await.unwrap()["id"], retry["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_younger_than_the_lease_is_still_in_flight() {
    let app = TestApp::start().await;
    let member = app.member();
    let charge = app.paid_charge(&member, 5_000).await;
    let first = app
        .api
        .post(&member.token, CHARGES, Some("young"), &visa(700))
        .await;
    assert_eq!(first.status(), 201);
    app.strand_key("young", LEASE_SECS - 30).await;
    let retry = app
        .api
        .post(&member.token, CHARGES, Some("young"), &visa(700))
        .await;
    assert_problem(retry, 409, "idempotency-key-in-use").await;
    assert_eq!(app.count("charges").await, 2);

    let path = refunds_path(&charge);
    let refund = app
        .api
        .post(&app.admin, &path, Some("young-r"), &json!({"amount": 100}))
        .await;
    assert_eq!(refund.status(), 201);
    app.strand_key("young-r", 1).await;
    let retry = app
        .api
        .post(&app.admin, &path, Some("young-r"), &json!({"amount": 100}))
        .await;
    assert_problem(retry, 409, "idempotency-key-in-use").await;
    assert_eq!(app.count("refunds").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_crash_gets_the_stored_refund_and_reserves_nothing_more() {
    let app = TestApp::start().await;
    let member = app.member();
    let charge = app.paid_charge(&member, 10_000).await;
    let path = refunds_path(&charge);
    let first = app
        .api
        .post(
            &app.admin,
            &path,
            Some("refund-crash"),
            &json!({"amount": 4000}),
        )
        .await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();

    app.strand_key("refund-crash", LEASE_SECS + 5).await;
    let retry = app
        .api
        .post(
            &app.admin,
            &path,
            Some("refund-crash"),
            &json!({"amount": 4000}),
        )
        .await;
    assert_eq!(retry.status(), 201);
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry["id"], first["id"]);
    assert_eq!(retry["status"], "succeeded");
    assert_eq!(app.count("refunds").await, 1);
    let charge_id = charge["id"].as_str().unwrap();
    assert_eq!(app.charge_status(charge_id).await["amount_refunded"], 4000);

    // Killed after claiming another key for the same refund request, before storing it: the
    // retry refunds as new.
    app.abandoned_claim_like("refund-crash", "refund-lost", LEASE_SECS + 5)
        .await;
    let fresh = app
        .api
        .post(
            &app.admin,
            &path,
            Some("refund-lost"),
            &json!({"amount": 4000}),
        )
        .await;
    assert_eq!(fresh.status(), 201);
    let fresh: Value = fresh.json().await.unwrap();
    assert_ne!(fresh["id"], first["id"]);
    assert_eq!(app.count("refunds").await, 2);
    assert_eq!(app.charge_status(charge_id).await["amount_refunded"], 8000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_crash_gets_the_stored_checkout_page() {
    let app = TestApp::start().await;
    let member = app.member();
    let body = json!({
        "amount": 2500, "currency": "EUR", "description": "Coffee",
        "success_url": "https://shop.example/thanks"
    });
    let path = "/api/v1/payments/checkout-sessions";
    let first = app
        .api
        .post(&member.token, path, Some("page-crash"), &body)
        .await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();

    app.strand_key("page-crash", LEASE_SECS + 5).await;
    let retry = app
        .api
        .post(&member.token, path, Some("page-crash"), &body)
        .await;
    assert_eq!(retry.status(), 201);
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry["charge"]["id"], first["charge"]["id"]);
    assert_eq!(retry["url"], first["url"]);
    assert_eq!(app.count("charges").await, 1);
    assert_eq!(app.count("checkout_sessions").await, 1);
}
