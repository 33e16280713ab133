//! Hosted checkout: the customer pays on the PSP's own page, and the PSP's webhook settles the
//! charge.

use crate::helpers::*;
use events::proto::ChargeSucceeded;
use reqwest::{redirect, Response, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

const PATH: &str = "/api/v1/payments/checkout-sessions";
const SUCCESS_URL: &str = "https://shop.example/thanks?session={CHECKOUT_SESSION_ID}";

fn checkout_request() -> Value {
    json!({
        "amount": 2500, "currency": "EUR", "description": "Two <b>coffees</b>",
        "success_url": SUCCESS_URL, "cancel_url": "https://shop.example/basket"
    })
}

/// The customer's browser: it does not follow redirects, so the test sees where it is sent.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap()
}

async fn open_session(app: &TestApp, member: &Member) -> Value {
    let response = app
        .api
        .post(
            &member.token,
            PATH,
            Some(&Uuid::new_v4().to_string()),
            &checkout_request(),
        )
        .await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn pay(url: &str, number: &str) -> Response {
    browser()
        .post(format!("{url}/pay"))
        .form(&[
            ("card_number", number),
            ("exp_month", "12"),
            ("exp_year", "2031"),
            ("cvc", "123"),
        ])
        .send()
        .await
        .unwrap()
}

/// How many captures were queued for the charge.
async fn capture_jobs(app: &TestApp, charge_id: &str) -> i64 {
    let (count,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM payment_jobs WHERE kind = 'capture' AND charge_id = $1::uuid",
    )
    .bind(charge_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    count
}

fn location(response: &Response) -> String {
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    response.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_pays_on_the_psp_page_after_a_decline_and_the_webhook_settles_the_charge() {
    let app = TestApp::start().await;
    let member = app.member();
    let session = open_session(&app, &member).await;
    let charge_id = session["charge"]["id"].as_str().unwrap().to_owned();
    assert_eq!(session["charge"]["status"], "requires_action");
    assert_eq!(session["charge"]["payment_method"], "hosted_checkout");
    let url = session["url"].as_str().unwrap();
    assert!(url.starts_with(&app.sandbox), "{url}");
    assert_eq!(session["charge"]["next_action_url"], url);

    let page = browser().get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("25.00 EUR"), "{page}");
    // The merchant's text is shown, never run as markup.
    assert!(page.contains("Two &lt;b&gt;coffees&lt;/b&gt;"), "{page}");

    // A declined card keeps the customer on the page with the bank's reason; the charge waits.
    let declined = pay(url, "4000 0000 0000 0002").await;
    assert_eq!(declined.status(), StatusCode::PAYMENT_REQUIRED);
    assert!(declined
        .text()
        .await
        .unwrap()
        .contains("Your card was declined."));

    // A good card: the customer goes back to the shop, and the PSP's webhook settles the charge.
    let paid = pay(url, "4242424242424242").await;
    let session_id = session["id"].as_str().unwrap();
    assert_eq!(
        location(&paid),
        format!("https://shop.example/thanks?session={session_id}")
    );
    let charge = app.wait_for_status(&charge_id, "succeeded").await;
    assert!(
        charge["psp_reference"].as_str().unwrap().starts_with("pi_"),
        "{charge}"
    );
    let events: Vec<ChargeSucceeded> = app.published("charge.succeeded", 1).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].charge_id, charge_id);
    assert_eq!(events[0].member_id, member.id.to_string());

    // The page is spent, and the payment it took can be refunded like any other.
    assert_eq!(
        pay(url, "4242424242424242").await.status(),
        StatusCode::BAD_REQUEST
    );
    let refund = app
        .api
        .post(
            &app.admin,
            &refunds_path(&session["charge"]),
            Some("refund-1"),
            &json!({"amount": 1000}),
        )
        .await;
    assert_eq!(refund.status(), 201);
    let refund: Value = refund.json().await.unwrap();
    assert_eq!(refund["status"], "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_that_needs_3d_secure_completes_the_page_after_the_challenge() {
    let app = TestApp::start().await;
    let member = app.member();
    let session = open_session(&app, &member).await;
    let charge_id = session["charge"]["id"].as_str().unwrap();
    let url = session["url"].as_str().unwrap();

    let challenge = location(&pay(url, "4000002760003184").await);
    assert!(
        challenge.starts_with(&format!("{}/v1/three_ds/", app.sandbox)),
        "{challenge}"
    );
    let back = location(
        &browser()
            .post(format!("{challenge}/complete"))
            .form(&[("result", "approve")])
            .send()
            .await
            .unwrap(),
    );
    assert!(back.starts_with(&format!("{url}/return")), "{back}");
    let done = location(&browser().get(&back).send().await.unwrap());
    assert!(done.starts_with("https://shop.example/thanks"), "{done}");
    app.wait_for_status(charge_id, "succeeded").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_page_cancels_its_charge() {
    let app = TestApp::start().await;
    let member = app.member();
    let response = app
        .api
        .post(
            &app.merchant,
            PATH,
            Some("partner-checkout-1"),
            &json!({"amount": 990, "currency": "EUR", "member_id": member.id,
                    "success_url": "https://shop.example/thanks"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let session: Value = response.json().await.unwrap();
    let charge_id = session["charge"]["id"].as_str().unwrap();
    assert_eq!(session["charge"]["member_id"], member.id.to_string());

    // The PSP expires the page (its 24 hours are up); its webhook cancels the charge.
    let expired = app
        .expire_checkout_at_psp(session["id"].as_str().unwrap())
        .await;
    assert_eq!(expired.status(), 200);
    app.wait_for_status(charge_id, "canceled").await;
    let page = browser()
        .get(session["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);

    // The member sees the canceled charge; another member does not see it at all.
    let own = app.api.get(&member.token, &charge_path(charge_id)).await;
    assert_eq!(own.status(), 200);
    let stranger = app.member();
    let other = app.api.get(&stranger.token, &charge_path(charge_id)).await;
    assert_eq!(other.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_requests_are_checked_and_retries_get_the_same_page() {
    let app = TestApp::start().await;
    let member = app.member();

    let mut bad = checkout_request();
    bad["success_url"] = json!("javascript:alert(1)");
    bad["amount"] = json!(0);
    let refused = app.api.post(&member.token, PATH, Some("bad-1"), &bad).await;
    let problem = assert_problem(refused, 422, "validation-error").await;
    let mut fields = field_errors(&problem);
    fields.sort();
    assert_eq!(fields, ["amount", "success_url"]);

    let without_member = app
        .api
        .post(&app.merchant, PATH, Some("partner-1"), &checkout_request())
        .await;
    let problem = assert_problem(without_member, 422, "validation-error").await;
    assert_eq!(field_errors(&problem), ["member_id"]);

    // A retry with the same key gets the same page and charge back; nothing new is opened.
    let first = app
        .api
        .post(&member.token, PATH, Some("retry-1"), &checkout_request())
        .await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = app
        .api
        .post(&member.token, PATH, Some("retry-1"), &checkout_request())
        .await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["charge"]["id"], first["charge"]["id"]);
    let charges: Value = app
        .api
        .get(&member.token, CHARGES)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(charges["items"].as_array().unwrap().len(), 1);

    // The same key for another payment is refused.
    let mut other = checkout_request();
    other["amount"] = json!(9900);
    let reused = app
        .api
        .post(&member.token, PATH, Some("retry-1"), &other)
        .await;
    assert_problem(reused, 422, "idempotency-key-reused").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paypal_checkout_is_approved_on_paypals_page_then_captured_once() {
    let app =
        TestApp::start_with(|s| s.routing = "USD:paypal>stripe, *:stripe>paypal".into()).await;
    let member = app.member();
    let mut request = checkout_request();
    request["currency"] = json!("USD");
    let response = app
        .api
        .post(&member.token, PATH, Some("paypal-checkout-1"), &request)
        .await;
    assert_eq!(response.status(), 201);
    let session: Value = response.json().await.unwrap();
    assert_eq!(session["psp"], "paypal");
    let charge_id = session["charge"]["id"].as_str().unwrap();
    let order_id = session["id"].as_str().unwrap();
    let url = session["url"].as_str().unwrap();
    assert_eq!(url, format!("{}/checkoutnow?token={order_id}", app.sandbox));

    let page = browser().get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("25.00 USD") && page.contains("Two &lt;b&gt;coffees&lt;/b&gt;"),
        "{page}"
    );

    // The payer approves; PayPal sends them back to the shop and tells us by webhook. We capture.
    let approved = browser()
        .post(format!("{}/checkoutnow/{order_id}/approve", app.sandbox))
        .send()
        .await
        .unwrap();
    let back = location(&approved);
    assert!(back.starts_with("https://shop.example/thanks"), "{back}");
    assert!(back.contains(&format!("token={order_id}")), "{back}");
    let charge = app.wait_for_status(charge_id, "succeeded").await;
    assert!(
        charge["psp_reference"].as_str().unwrap().starts_with("CAP"),
        "{charge}"
    );
    let events: Vec<ChargeSucceeded> = app.published("charge.succeeded", 1).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].psp, "paypal");

    // Approving again is refused, and the capture-completed webhook changes nothing more.
    let again = browser()
        .post(format!("{}/checkoutnow/{order_id}/approve", app.sandbox))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert_eq!(capture_jobs(&app, charge_id).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paypal_card_that_needs_3d_secure_is_captured_after_the_payers_approval() {
    let app = TestApp::start_with(|s| s.routing = "*:paypal".into()).await;
    let member = app.member();
    let response = app
        .api
        .post(
            &member.token,
            CHARGES,
            Some("paypal-3ds-1"),
            &json!({"amount": 4200, "currency": "AUD", "payment_method": "pm_card_threeDSecureRequired",
                    "return_url": "https://shop.example/checkout"}),
        )
        .await;
    assert_eq!(response.status(), 202);
    let charge: Value = response.json().await.unwrap();
    assert_eq!(charge["status"], "requires_action");
    let approval = charge["next_action_url"].as_str().unwrap();
    assert!(browser()
        .get(approval)
        .send()
        .await
        .unwrap()
        .status()
        .is_success());
    let order_id = approval.rsplit('=').next().unwrap();
    let approved = browser()
        .post(format!("{}/checkoutnow/{order_id}/approve", app.sandbox))
        .send()
        .await
        .unwrap();
    let back = location(&approved);
    assert!(
        back.starts_with("https://shop.example/checkout?token="),
        "{back}"
    );
    app.wait_for_status(charge["id"].as_str().unwrap(), "succeeded")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_fails_over_to_the_next_psp_when_the_first_is_unreachable() {
    let app = TestApp::start_with(|s| s.stripe.base_url = "http://127.0.0.1:9".into()).await;
    let member = app.member();
    let session = open_session(&app, &member).await;
    assert_eq!(session["psp"], "paypal");
    assert!(session["url"]
        .as_str()
        .unwrap()
        .contains("/checkoutnow?token="));
    assert_eq!(session["charge"]["psp"], "paypal");
}

/// Makes the checkout's page expire now, as if its time were up.
async fn expire_locally(app: &TestApp, charge_id: &str) {
    sqlx::query(
        "UPDATE checkout_sessions SET expires_at = now() - interval '1 minute',
                next_check_at = now() - interval '1 minute'
          WHERE charge_id = $1::uuid",
    )
    .bind(charge_id)
    .execute(&app.pool)
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_paypal_page_cancels_its_charge_once_its_window_closes() {
    let app = TestApp::start_with(|s| s.routing = "*:paypal".into()).await;
    let member = app.member();
    let session = open_session(&app, &member).await;
    let charge_id = session["charge"]["id"].as_str().unwrap();
    assert_eq!(session["psp"], "paypal");

    expire_locally(&app, charge_id).await;
    app.wait_for_status(charge_id, "canceled").await;

    // A payer approving too late moves no money: the canceled charge is never captured.
    let order_id = session["id"].as_str().unwrap();
    browser()
        .post(format!("{}/checkoutnow/{order_id}/approve", app.sandbox))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(app.charge_status(charge_id).await["status"], "canceled");
    assert_eq!(capture_jobs(&app, charge_id).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkouts_whose_events_were_lost_are_settled_by_asking_the_psp() {
    let app = TestApp::start_with(|s| s.routing = "USD:paypal, *:stripe".into()).await;
    let member = app.member();
    let stripe = open_session(&app, &member).await;
    let mut dollars = checkout_request();
    dollars["currency"] = json!("USD");
    let paypal: Value = app
        .api
        .post(&member.token, PATH, Some("usd-1"), &dollars)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paypal["psp"], "paypal");

    // The PSPs' events go nowhere from now on.
    app.point_webhooks_at("http://127.0.0.1:9").await;
    let paid = pay(stripe["url"].as_str().unwrap(), "4242424242424242").await;
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    let approved = browser()
        .post(format!(
            "{}/checkoutnow/{}/approve",
            app.sandbox,
            paypal["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), StatusCode::SEE_OTHER);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let stripe_charge = stripe["charge"]["id"].as_str().unwrap();
    let paypal_charge = paypal["charge"]["id"].as_str().unwrap();
    assert_eq!(
        app.charge_status(stripe_charge).await["status"],
        "requires_action"
    );
    assert_eq!(
        app.charge_status(paypal_charge).await["status"],
        "requires_action"
    );

    // Once the pages' time is up the worker asks: one was paid, the other approved and captured.
    expire_locally(&app, stripe_charge).await;
    expire_locally(&app, paypal_charge).await;
    let stripe_charge = app.wait_for_status(stripe_charge, "succeeded").await;
    assert!(stripe_charge["psp_reference"]
        .as_str()
        .unwrap()
        .starts_with("pi_"));
    let paypal_charge = app.wait_for_status(paypal_charge, "succeeded").await;
    assert!(paypal_charge["psp_reference"]
        .as_str()
        .unwrap()
        .starts_with("CAP"));
    let events: Vec<ChargeSucceeded> = app.published("charge.succeeded", 2).await;
    assert_eq!(events.len(), 2);
}
