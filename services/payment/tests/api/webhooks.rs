//! PSP webhooks: verified before they are read, replays ignored, and a charge never moved
//! backwards by events that arrive out of order.

use crate::helpers::*;
use events::proto::ChargeSucceeded;
use reqwest::Response;
use serde_json::{json, Value};

const SECRET: &str = "whsec_sandbox";

async fn send(app: &TestApp, body: &Value, signature: String) -> Response {
    app.api
        .http
        .post(app.api.url("/api/v1/payments/webhooks/stripe"))
        .header("content-type", "application/json")
        .header("stripe-signature", signature)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A Stripe event about the charge's PaymentIntent, as the PSP would send it.
fn event(id: &str, event_type: &str, charge: &Value, status: &str) -> Value {
    json!({
        "id": id, "object": "event", "type": event_type, "created": now(),
        "data": {"object": {
            "id": charge["psp_reference"], "object": "payment_intent", "status": status,
            "amount": charge["amount"], "currency": "aud",
            "metadata": {"charge_id": charge["id"]},
            "last_payment_error": if status == "requires_payment_method" {
                json!({"code": "card_declined", "decline_code": "generic_decline", "message": "Declined."})
            } else { Value::Null },
        }}
    })
}

async fn signed(app: &TestApp, body: &Value) -> Response {
    send(
        app,
        body,
        psp_sandbox::stripe::sign(SECRET, now(), body.to_string().as_bytes()),
    )
    .await
}

async fn waiting_for_3ds(app: &TestApp) -> Value {
    let member = app.member();
    let response = app
        .charge(&member, 7000, "pm_card_threeDSecureRequired")
        .await;
    assert_eq!(response.status(), 202);
    let charge: Value = response.json().await.unwrap();
    assert_eq!(charge["status"], "requires_action");
    charge
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_3d_secure_charge_completes_when_the_psp_reports_the_customers_approval() {
    let app = TestApp::start().await;
    let charge = waiting_for_3ds(&app).await;
    let challenge = charge["next_action_url"].as_str().unwrap();
    assert!(challenge.starts_with(&app.sandbox), "{challenge}");

    // The customer passes the bank's challenge; the PSP tells us by a signed webhook.
    let completed = app
        .api
        .http
        .post(format!("{challenge}/complete"))
        .form(&[("result", "approve")])
        .send()
        .await
        .unwrap();
    assert!(completed.status().is_success());
    let id = charge["id"].as_str().unwrap();
    app.wait_for_status(id, "succeeded").await;
    let events: Vec<ChargeSucceeded> = app.published("charge.succeeded", 1).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].charge_id, id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_with_a_bad_or_stale_signature_is_refused_and_changes_nothing() {
    let app = TestApp::start().await;
    let charge = waiting_for_3ds(&app).await;
    let body = event(
        "evt_forged",
        "payment_intent.succeeded",
        &charge,
        "succeeded",
    );
    let raw = body.to_string();

    let forged = psp_sandbox::stripe::sign("whsec_guess", now(), raw.as_bytes());
    assert_problem(send(&app, &body, forged).await, 401, "unauthorized").await;
    let stale = psp_sandbox::stripe::sign(SECRET, now() - 600, raw.as_bytes());
    assert_problem(send(&app, &body, stale).await, 401, "unauthorized").await;
    let unsigned = app
        .api
        .http
        .post(app.api.url("/api/v1/payments/webhooks/stripe"))
        .body(raw.clone())
        .send()
        .await
        .unwrap();
    assert_problem(unsigned, 401, "unauthorized").await;
    // A body changed after signing.
    let signature = psp_sandbox::stripe::sign(SECRET, now(), raw.as_bytes());
    let tampered = event(
        "evt_forged",
        "payment_intent.succeeded",
        &json!({"id": charge["id"], "psp_reference": "pi_other", "amount": 1}),
        "succeeded",
    );
    assert_problem(send(&app, &tampered, signature).await, 401, "unauthorized").await;

    assert_eq!(
        app.charge_status(charge["id"].as_str().unwrap()).await["status"],
        "requires_action"
    );
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(recorded, 0, "a refused webhook is not even recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_with_an_extreme_timestamp_is_refused_without_overflow() {
    let app = TestApp::start().await;
    let charge = waiting_for_3ds(&app).await;
    let body = event("evt_edge", "payment_intent.succeeded", &charge, "succeeded");
    let raw = body.to_string();
    for t in [i64::MIN, i64::MAX] {
        // A correct HMAC over an impossible time: only the time can refuse it.
        let signature = psp_sandbox::stripe::sign(SECRET, t, raw.as_bytes());
        assert_problem(send(&app, &body, signature).await, 401, "unauthorized").await;
    }
    let bare = app
        .api
        .http
        .post(app.api.url("/api/v1/payments/webhooks/stripe"))
        .header("stripe-signature", "t=-9223372036854775808")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_problem(bare, 401, "unauthorized").await;
    assert_eq!(
        app.charge_status(charge["id"].as_str().unwrap()).await["status"],
        "requires_action"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_and_out_of_order_webhooks_never_move_a_charge_twice_or_backwards() {
    let app = TestApp::start().await;
    let charge = waiting_for_3ds(&app).await;
    let id = charge["id"].as_str().unwrap();

    let succeeded = event("evt_1", "payment_intent.succeeded", &charge, "succeeded");
    let first = signed(&app, &succeeded).await;
    assert_eq!(first.status(), 200);
    let replay = signed(&app, &succeeded).await;
    assert_eq!(
        replay.status(),
        200,
        "a replay is acknowledged so the PSP stops sending it"
    );
    assert_eq!(replay.json::<Value>().await.unwrap()["duplicate"], true);

    // Older news arriving late: the charge stays where it is.
    let late_action = event(
        "evt_0",
        "payment_intent.requires_action",
        &charge,
        "requires_action",
    );
    assert_eq!(signed(&app, &late_action).await.status(), 200);
    let late_failure = event(
        "evt_2",
        "payment_intent.payment_failed",
        &charge,
        "requires_payment_method",
    );
    assert_eq!(signed(&app, &late_failure).await.status(), 200);

    let settled = app.charge_status(id).await;
    assert_eq!(settled["status"], "succeeded");
    assert!(settled["failure_code"].is_null());
    let to_succeeded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM charge_transitions WHERE charge_id = $1::uuid AND to_status = 'succeeded'",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(to_succeeded, 1);
    let events: Vec<ChargeSucceeded> = app.published("charge.succeeded", 1).await;
    assert_eq!(events.len(), 1, "one event, however often the PSP says it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decline_after_the_challenge_fails_the_charge() {
    let app = TestApp::start().await;
    let charge = waiting_for_3ds(&app).await;
    let failed = event(
        "evt_9",
        "payment_intent.payment_failed",
        &charge,
        "requires_payment_method",
    );
    assert_eq!(signed(&app, &failed).await.status(), 200);
    let settled = app.charge_status(charge["id"].as_str().unwrap()).await;
    assert_eq!(settled["status"], "failed");
    assert_eq!(settled["failure_code"], "generic_decline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_challenge_the_customer_returns_to_the_page_that_started_the_payment() {
    let app = TestApp::start().await;
    let member = app.member();
    let bad = app
        .api
        .post(
            &member.token,
            CHARGES,
            Some("3ds-bad"),
            &json!({"amount": 7000, "currency": "AUD",
                "payment_method": "pm_card_threeDSecureRequired", "return_url": "/checkout"}),
        )
        .await;
    let problem = assert_problem(bad, 422, "validation-error").await;
    assert_eq!(field_errors(&problem), ["return_url"]);

    let response = app
        .api
        .post(
            &member.token,
            CHARGES,
            Some("3ds-1"),
            &json!({"amount": 7000, "currency": "AUD",
                "payment_method": "pm_card_threeDSecureRequired",
                "return_url": "https://shop.example/checkout"}),
        )
        .await;
    assert_eq!(response.status(), 202);
    let charge: Value = response.json().await.unwrap();
    let challenge = charge["next_action_url"].as_str().unwrap();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let completed = browser
        .post(format!("{challenge}/complete"))
        .form(&[("result", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(completed.status(), 303);
    let back = completed.headers()["location"].to_str().unwrap();
    assert!(
        back.starts_with("https://shop.example/checkout?payment_intent=pi_"),
        "{back}"
    );
    app.wait_for_status(charge["id"].as_str().unwrap(), "succeeded")
        .await;
}
