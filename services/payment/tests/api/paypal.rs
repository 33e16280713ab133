//! The PayPal connector, routing per currency, and failover when a PSP cannot be reached.

use crate::helpers::*;
use events::proto::ChargeSucceeded;
use serde_json::{json, Value};

async fn usd_charge(
    app: &TestApp,
    member: &Member,
    amount: i64,
    payment_method: &str,
) -> reqwest::Response {
    app.api
        .post(
            &member.token,
            CHARGES,
            Some(&uuid::Uuid::new_v4().to_string()),
            &json!({"amount": amount, "currency": "USD", "payment_method": payment_method}),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dollars_go_to_paypal_which_captures_declines_and_refunds() {
    let app =
        TestApp::start_with(|s| s.routing = "USD:paypal>stripe, *:stripe>paypal".into()).await;
    let member = app.member();

    let response = usd_charge(&app, &member, 1999, "pm_card_visa").await;
    assert_eq!(response.status(), 201);
    let charge: Value = response.json().await.unwrap();
    assert_eq!(charge["status"], "succeeded");
    assert_eq!(charge["psp"], "paypal");
    assert!(
        charge["psp_reference"].as_str().unwrap().starts_with("CAP"),
        "{charge}"
    );
    // Other currencies keep their route.
    assert_eq!(app.paid_charge(&member, 500).await["psp"], "stripe");

    let declined: Value = usd_charge(
        &app,
        &member,
        1000,
        "pm_card_chargeDeclinedInsufficientFunds",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(declined["status"], "failed");
    assert_eq!(declined["failure_code"], "insufficient_funds");

    let path = refunds_path(&charge);
    let partial = app
        .api
        .post(&app.admin, &path, Some("pp-1"), &json!({"amount": 999}))
        .await;
    assert_eq!(partial.status(), 201);
    let partial: Value = partial.json().await.unwrap();
    assert_eq!(partial["status"], "succeeded");
    assert!(partial["psp_reference"]
        .as_str()
        .unwrap()
        .starts_with("REF"));
    let rest: Value = app
        .api
        .post(&app.admin, &path, Some("pp-2"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (rest["amount"].clone(), rest["status"].clone()),
        (json!(1000), json!("succeeded"))
    );
    assert_problem(
        app.api
            .post(&app.admin, &path, Some("pp-3"), &json!({"amount": 1}))
            .await,
        422,
        "refund-exceeds-charge",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_stripe_cannot_be_reached_the_charge_fails_over_to_paypal() {
    // Nothing listens on port 9: every connection to "Stripe" is refused.
    let app = TestApp::start_with(|s| s.stripe.base_url = "http://127.0.0.1:9".into()).await;
    let member = app.member();
    let response = app.charge(&member, 3300, "pm_card_visa").await;
    assert_eq!(response.status(), 201);
    let charge: Value = response.json().await.unwrap();
    assert_eq!(charge["status"], "succeeded");
    assert_eq!(charge["psp"], "paypal");
    let causes: Vec<String> = sqlx::query_scalar(
        "SELECT cause FROM charge_transitions WHERE charge_id = $1::uuid ORDER BY id",
    )
    .bind(charge["id"].as_str().unwrap())
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(causes.iter().any(|c| c.contains("failover")), "{causes:?}");
    let events: Vec<ChargeSucceeded> = app.published("charge.succeeded", 1).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].psp, "paypal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paypal_timeout_is_settled_once_by_its_webhook_or_the_retry() {
    let app = TestApp::start_with(|s| {
        s.routing = "*:paypal".into();
        s.paypal.timeout_ms = 1_000;
    })
    .await;
    let member = app.member();
    let response = app.charge(&member, 2100, "pm_card_timeout").await;
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.wait_for_status(&id, "succeeded").await;
    let events: Vec<ChargeSucceeded> = app.published("charge.succeeded", 1).await;
    assert_eq!(events.len(), 1);
    let webhooks: i64 =
        sqlx::query_scalar("SELECT count(*) FROM webhook_events WHERE psp = 'paypal'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(
        webhooks >= 1,
        "PayPal's capture webhook was verified and recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_paypal_webhook_is_refused() {
    let app = TestApp::start_with(|s| s.routing = "*:paypal".into()).await;
    let event = json!({"id": "WH-FORGED", "event_type": "PAYMENT.CAPTURE.COMPLETED",
        "resource": {"id": "CAP1", "custom_id": uuid::Uuid::now_v7().to_string()}});
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let forged = app
        .api
        .http
        .post(app.api.url("/api/v1/payments/webhooks/paypal"))
        .header("paypal-transmission-id", "t-1")
        .header("paypal-transmission-time", &now)
        .header("paypal-transmission-sig", "bm90IGEgc2lnbmF0dXJl")
        .header("paypal-auth-algo", "SHA256withRSA")
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_problem(forged, 401, "unauthorized").await;
    let unsigned = app
        .api
        .http
        .post(app.api.url("/api/v1/payments/webhooks/paypal"))
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_problem(unsigned, 401, "unauthorized").await;
    let unknown = app
        .api
        .http
        .post(app.api.url("/api/v1/payments/webhooks/adyen"))
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_problem(unknown, 404, "not-found").await;
}
