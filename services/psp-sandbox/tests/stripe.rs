//! The Stripe sandbox over real HTTP: each test starts its own sandbox on port 0.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use psp_sandbox::stripe::sign;
use psp_sandbox::{Sandbox, SandboxConfig};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::mpsc;

const KEY: &str = "sk_test_sandbox";
const WEBHOOK_SECRET: &str = "whsec_sandbox";

struct TestSandbox {
    base: String,
    client: reqwest::Client,
    handle: ServerHandle,
}

impl TestSandbox {
    async fn start(config: SandboxConfig) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
        let sandbox = Sandbox::build(listener, config).expect("build sandbox");
        let base = sandbox.base_url();
        let handle = sandbox.handle();
        tokio::spawn(sandbox.run_until_stopped());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .expect("client");
        Self {
            base,
            client,
            handle,
        }
    }

    async fn default() -> Self {
        Self::start(SandboxConfig::default()).await
    }

    fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}{path}", self.base))
            .bearer_auth(KEY)
            .form(form)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(KEY)
            .send()
            .await
            .expect("GET");
        read(response).await
    }

    async fn create_intent(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        read(
            self.post("/v1/payment_intents", form)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }
}

async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = response.json::<Value>().await.expect("JSON body");
    (status, body)
}

fn payment(pm: &str) -> Vec<(&str, &str)> {
    vec![
        ("amount", "1000"),
        ("currency", "eur"),
        ("payment_method", pm),
        ("confirm", "true"),
    ]
}

#[tokio::test]
async fn approves_a_visa_payment() {
    let sandbox = TestSandbox::default().await;
    let mut form = payment("pm_card_visa");
    form.extend([("description", "Order 42"), ("metadata[order_id]", "42")]);
    let (status, intent) = sandbox.create_intent(&form).await;

    assert_eq!(status, StatusCode::OK);
    assert!(intent["id"].as_str().unwrap().starts_with("pi_"));
    assert_eq!(intent["object"], "payment_intent");
    assert_eq!(intent["status"], "succeeded");
    assert_eq!(intent["amount"], 1000);
    assert_eq!(intent["amount_received"], 1000);
    assert_eq!(intent["currency"], "eur");
    assert_eq!(intent["capture_method"], "automatic");
    assert_eq!(intent["metadata"]["order_id"], "42");
    assert_eq!(intent["livemode"], false);
    assert!(intent["latest_charge"].as_str().unwrap().starts_with("ch_"));
    assert!(intent["last_payment_error"].is_null());
    assert!(intent["next_action"].is_null());
    assert!(intent["created"].as_i64().unwrap() > 1_600_000_000);

    let id = intent["id"].as_str().unwrap();
    let (status, fetched) = sandbox.get(&format!("/v1/payment_intents/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched, intent);

    let (status, missing) = sandbox.get("/v1/payment_intents/pi_missing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["error"]["type"], "invalid_request_error");
    assert_eq!(missing["error"]["code"], "resource_missing");
}

#[tokio::test]
async fn declines_with_stripe_card_errors() {
    let sandbox = TestSandbox::default().await;
    for (pm, decline_code, message) in [
        (
            "pm_card_chargeDeclined",
            "generic_decline",
            "Your card was declined.",
        ),
        (
            "pm_card_chargeDeclinedInsufficientFunds",
            "insufficient_funds",
            "Your card has insufficient funds.",
        ),
        (
            "pm_card_chargeDeclinedFraudulent",
            "fraudulent",
            "Your card was declined.",
        ),
    ] {
        let (status, body) = sandbox.create_intent(&payment(pm)).await;
        assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{pm}");
        let error = &body["error"];
        assert_eq!(error["type"], "card_error");
        assert_eq!(error["code"], "card_declined");
        assert_eq!(error["decline_code"], decline_code);
        assert_eq!(error["message"], message);
        let intent = &error["payment_intent"];
        assert_eq!(intent["status"], "requires_payment_method");
        assert_eq!(intent["amount_received"], 0);
        assert_eq!(intent["last_payment_error"]["type"], "card_error");
        assert_eq!(intent["last_payment_error"]["decline_code"], decline_code);

        // The failed attempt is on record.
        let id = intent["id"].as_str().unwrap();
        let (_, fetched) = sandbox.get(&format!("/v1/payment_intents/{id}")).await;
        assert_eq!(fetched["status"], "requires_payment_method");
    }
}

#[tokio::test]
async fn validates_parameters() {
    let sandbox = TestSandbox::default().await;
    let cases: [(&[(&str, &str)], &str); 6] = [
        (
            &[("currency", "eur"), ("payment_method", "pm_card_visa")],
            "amount",
        ),
        (&[("amount", "0"), ("currency", "eur")], "amount"),
        (&[("amount", "12.5"), ("currency", "eur")], "amount"),
        (&[("amount", "100")], "currency"),
        (&[("amount", "100"), ("currency", "euro")], "currency"),
        (
            &[("amount", "100"), ("currency", "eur"), ("colour", "red")],
            "colour",
        ),
    ];
    for (form, param) in cases {
        let (status, body) = sandbox.create_intent(form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{form:?}");
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["param"], param, "{form:?}");
    }

    let (status, body) = sandbox.create_intent(&payment("pm_card_unknown")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["error"]["code"], "resource_missing");
    assert_eq!(body["error"]["param"], "payment_method");
}

#[tokio::test]
async fn replays_idempotent_requests() {
    let sandbox = TestSandbox::default().await;
    let send = |form: Vec<(&'static str, &'static str)>, key: &'static str| {
        sandbox
            .post("/v1/payment_intents", &form)
            .header("Idempotency-Key", key)
            .send()
    };

    let first = send(payment("pm_card_visa"), "order-1").await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first_body = first.bytes().await.unwrap();

    // Same parameters in another order: the stored answer, byte for byte.
    let mut reordered = payment("pm_card_visa");
    reordered.reverse();
    let replay = send(reordered, "order-1").await.unwrap();
    assert_eq!(replay.status(), StatusCode::OK);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.bytes().await.unwrap(), first_body);

    let mut changed = payment("pm_card_visa");
    changed[0] = ("amount", "2000");
    let (status, body) = read(send(changed, "order-1").await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["type"], "idempotency_error");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Keys for idempotent requests can only be used with the same parameters"));

    // Declines are replayed too, status code included.
    let declined = send(payment("pm_card_chargeDeclined"), "order-2")
        .await
        .unwrap();
    assert_eq!(declined.status(), StatusCode::PAYMENT_REQUIRED);
    let declined_body = declined.bytes().await.unwrap();
    let replay = send(payment("pm_card_chargeDeclined"), "order-2")
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::PAYMENT_REQUIRED);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.bytes().await.unwrap(), declined_body);
}

#[tokio::test]
async fn refuses_bad_api_keys_without_echoing_them() {
    let sandbox = TestSandbox::default().await;
    let url = format!("{}/v1/payment_intents", sandbox.base);

    let wrong = "sk_test_wrongkey9876";
    let response = sandbox
        .client
        .post(&url)
        .bearer_auth(wrong)
        .form(&payment("pm_card_visa"))
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["type"], "invalid_request_error");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Invalid API Key provided: "),
        "{message}"
    );
    assert!(message.ends_with("****9876"), "{message}");
    assert!(!message.contains(wrong), "{message}");

    let response = sandbox
        .client
        .post(&url)
        .form(&payment("pm_card_visa"))
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["type"], "invalid_request_error");

    // Nothing was created by either request.
    let (_, found) = sandbox
        .get("/v1/payment_intents/search?query=status:'succeeded'")
        .await;
    assert_eq!(found["data"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn refunds_up_to_the_captured_amount() {
    let sandbox = TestSandbox::default().await;
    let (_, intent) = sandbox.create_intent(&payment("pm_card_mastercard")).await;
    let pi = intent["id"].as_str().unwrap();
    let refund = |amount: Option<&'static str>| {
        let mut form = vec![("payment_intent", pi)];
        if let Some(amount) = amount {
            form.push(("amount", amount));
        }
        let request = sandbox.post("/v1/refunds", &form);
        async move { read(request.send().await.unwrap()).await }
    };

    let (status, first) = refund(Some("300")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(first["id"].as_str().unwrap().starts_with("re_"));
    assert_eq!(first["object"], "refund");
    assert_eq!(first["amount"], 300);
    assert_eq!(first["currency"], "eur");
    assert_eq!(first["payment_intent"], pi);
    assert_eq!(first["status"], "succeeded");

    let (status, too_much) = refund(Some("701")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(too_much["error"]["code"], "amount_too_large");

    // No amount: the remaining 700.
    let (status, rest) = refund(None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rest["amount"], 700);

    let (status, refused) = refund(Some("1")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refused["error"]["type"], "invalid_request_error");
    assert_eq!(refused["error"]["code"], "charge_already_refunded");

    let (status, fetched) = sandbox
        .get(&format!("/v1/refunds/{}", first["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched, first);
}

#[tokio::test]
async fn a_timed_out_payment_is_found_succeeded_later() {
    let sandbox = TestSandbox::default().await;
    let mut form = payment("pm_card_timeout");
    form.push(("metadata[payment_id]", "pay-timeout-1"));

    let attempt = sandbox
        .post("/v1/payment_intents", &form)
        .header("Idempotency-Key", "timeout-1")
        .timeout(Duration::from_secs(1))
        .send()
        .await;
    assert!(attempt.expect_err("the client gives up first").is_timeout());

    // Resolve by querying: search on what we put in the metadata, then GET by id.
    let (status, found) = sandbox
        .get(
            "/v1/payment_intents/search?query=metadata%5B%27payment_id%27%5D%3A%27pay-timeout-1%27",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["object"], "search_result");
    let data = found["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    let id = data[0]["id"].as_str().unwrap();
    let (status, intent) = sandbox.get(&format!("/v1/payment_intents/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(intent["status"], "succeeded");

    // Or retry with the same key: the stored outcome comes back at once.
    let retry = sandbox
        .post("/v1/payment_intents", &form)
        .header("Idempotency-Key", "timeout-1")
        .timeout(Duration::from_secs(1))
        .send()
        .await
        .expect("a replay is immediate");
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let (_, replayed) = read(retry).await;
    assert_eq!(replayed["id"], id);
}

#[tokio::test]
async fn a_flaky_card_fails_once_per_idempotency_key() {
    let sandbox = TestSandbox::default().await;
    let attempt = || {
        sandbox
            .post("/v1/payment_intents", &payment("pm_card_flaky"))
            .header("Idempotency-Key", "flaky-1")
            .send()
    };

    let (status, body) = read(attempt().await.unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["type"], "api_error");

    let second = attempt().await.unwrap();
    assert!(second.headers().get("idempotent-replayed").is_none());
    let (status, intent) = read(second).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(intent["status"], "succeeded");

    let (status, replay) = read(attempt().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(replay["id"], intent["id"]);
}

#[tokio::test]
async fn a_server_error_creates_nothing() {
    let sandbox = TestSandbox::default().await;
    let mut form = payment("pm_card_error500");
    form.push(("metadata[payment_id]", "pay-500"));
    let (status, body) = sandbox.create_intent(&form).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["error"]["type"], "api_error");
    assert_eq!(body["error"]["message"], "An unknown error occurred");

    let (_, found) = sandbox
        .get("/v1/payment_intents/search?query=metadata%5B%27payment_id%27%5D%3A%27pay-500%27")
        .await;
    assert_eq!(found["data"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn three_d_secure_needs_the_challenge_page() {
    let sandbox = TestSandbox::default().await;
    let (status, intent) = sandbox
        .create_intent(&payment("pm_card_threeDSecureRequired"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(intent["status"], "requires_action");
    let id = intent["id"].as_str().unwrap();
    let next = &intent["next_action"];
    assert_eq!(next["type"], "redirect_to_url");
    let url = next["redirect_to_url"]["url"].as_str().unwrap();
    assert_eq!(url, format!("{}/v1/three_ds/{id}", sandbox.base));

    let page = sandbox.client.get(url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("/complete"));

    let done = sandbox
        .client
        .post(format!("{url}/complete"))
        .form(&[("result", "approve")])
        .send()
        .await
        .unwrap();
    let (status, completed) = read(done).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(completed["status"], "succeeded");
    assert!(completed["next_action"].is_null());

    // Declined, with a return_url: the browser is sent back.
    let mut form = payment("pm_card_threeDSecureRequired");
    form.push(("return_url", "https://shop.example/return?order=7"));
    let (_, intent) = sandbox.create_intent(&form).await;
    let id = intent["id"].as_str().unwrap();
    let done = sandbox
        .client
        .post(format!("{}/v1/three_ds/{id}/complete", sandbox.base))
        .form(&[("result", "decline")])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        done.headers()["location"],
        format!("https://shop.example/return?order=7&payment_intent={id}&redirect_status=failed")
            .as_str()
    );
    let (_, failed) = sandbox.get(&format!("/v1/payment_intents/{id}")).await;
    assert_eq!(failed["status"], "requires_payment_method");
    assert_eq!(
        failed["last_payment_error"]["code"],
        "payment_intent_authentication_failure"
    );
}

#[tokio::test]
async fn confirms_later_and_captures_manually() {
    let sandbox = TestSandbox::default().await;
    let mut form = payment("pm_card_amex");
    form[3] = ("confirm", "false");
    form.push(("capture_method", "manual"));
    let (status, intent) = sandbox.create_intent(&form).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(intent["status"], "requires_confirmation");
    assert!(intent["latest_charge"].is_null());
    let id = intent["id"].as_str().unwrap();

    let confirm = sandbox.post(&format!("/v1/payment_intents/{id}/confirm"), &[]);
    let (status, confirmed) = read(confirm.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(confirmed["status"], "requires_capture");
    assert_eq!(confirmed["amount_capturable"], 1000);

    let capture = sandbox.post(
        &format!("/v1/payment_intents/{id}/capture"),
        &[("amount_to_capture", "600")],
    );
    let (status, captured) = read(capture.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(captured["status"], "succeeded");
    assert_eq!(captured["amount_received"], 600);

    // Only what was captured can be refunded.
    let refund = sandbox.post("/v1/refunds", &[("payment_intent", id), ("amount", "601")]);
    let (status, body) = read(refund.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "amount_too_large");

    let cancel = sandbox.post(&format!("/v1/payment_intents/{id}/cancel"), &[]);
    let (status, body) = read(cancel.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "payment_intent_unexpected_state");
}

#[tokio::test]
async fn answers_health_and_unknown_routes() {
    let sandbox = TestSandbox::default().await;
    let health = sandbox
        .client
        .get(format!("{}/health", sandbox.base))
        .send()
        .await
        .unwrap();
    let (status, body) = read(health).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, serde_json::json!({ "status": "ok" }));

    let (status, body) = sandbox.get("/v1/customers").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["type"], "invalid_request_error");
    let (status, _) = read(
        sandbox
            .client
            .delete(format!("{}/v1/payment_intents", sandbox.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    sandbox.handle.stop(true).await;
}

/// A webhook endpoint that records what it receives and refuses the first `fail_first`
/// deliveries with a 500.
struct Receiver {
    url: String,
    deliveries: mpsc::UnboundedReceiver<(String, Vec<u8>)>,
}

struct ReceiverState {
    tx: mpsc::UnboundedSender<(String, Vec<u8>)>,
    calls: AtomicUsize,
    fail_first: usize,
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<ReceiverState>,
) -> HttpResponse {
    let signature = req
        .headers()
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let _ = state.tx.send((signature, body.to_vec()));
    if state.calls.fetch_add(1, Ordering::SeqCst) < state.fail_first {
        HttpResponse::InternalServerError().finish()
    } else {
        HttpResponse::Ok().finish()
    }
}

impl Receiver {
    fn start(fail_first: usize) -> Self {
        let (tx, deliveries) = mpsc::unbounded_channel();
        let state = web::Data::new(ReceiverState {
            tx,
            calls: AtomicUsize::new(0),
            fail_first,
        });
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .route("/webhook", web::post().to(receive))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Self {
            url: format!("http://127.0.0.1:{port}/webhook"),
            deliveries,
        }
    }

    /// The next delivery, after checking its signature; returns the parsed event.
    async fn next(&mut self) -> Value {
        let (header, body) = tokio::time::timeout(Duration::from_secs(5), self.deliveries.recv())
            .await
            .expect("a webhook arrives")
            .expect("receiver alive");
        let timestamp: i64 = header
            .split(',')
            .find_map(|part| part.strip_prefix("t="))
            .and_then(|t| t.parse().ok())
            .expect("t= in Stripe-Signature");
        assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 60);
        assert_eq!(header, sign(WEBHOOK_SECRET, timestamp, &body), "signature");
        serde_json::from_slice(&body).expect("event JSON")
    }

    async fn assert_quiet(&mut self, wait: Duration) {
        let extra = tokio::time::timeout(wait, self.deliveries.recv()).await;
        assert!(extra.is_err(), "unexpected extra delivery");
    }
}

#[tokio::test]
async fn sends_signed_webhooks_for_final_states() {
    let mut receiver = Receiver::start(0);
    let sandbox = TestSandbox::start(SandboxConfig {
        webhook_url: Some(receiver.url.clone()),
        ..SandboxConfig::default()
    })
    .await;

    let (_, intent) = sandbox.create_intent(&payment("pm_card_visa")).await;
    let event = receiver.next().await;
    assert!(event["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(event["object"], "event");
    assert_eq!(event["type"], "payment_intent.succeeded");
    assert_eq!(event["livemode"], false);
    assert_eq!(event["api_version"], "2024-06-20");
    assert_eq!(event["data"]["object"], intent);

    let (_, declined) = sandbox
        .create_intent(&payment("pm_card_chargeDeclined"))
        .await;
    let event = receiver.next().await;
    assert_eq!(event["type"], "payment_intent.payment_failed");
    assert_eq!(event["data"]["object"], declined["error"]["payment_intent"]);

    let pi = intent["id"].as_str().unwrap();
    let refund = sandbox.post("/v1/refunds", &[("payment_intent", pi), ("amount", "250")]);
    assert_eq!(refund.send().await.unwrap().status(), StatusCode::OK);
    let event = receiver.next().await;
    assert_eq!(event["type"], "charge.refunded");
    assert_eq!(event["data"]["object"]["object"], "charge");
    assert_eq!(event["data"]["object"]["amount_refunded"], 250);
    assert_eq!(event["data"]["object"]["payment_intent"], pi);

    // `duplicate` sends the same event twice; `delay_ms` holds it back.
    let mut form = payment("pm_card_visa");
    form.push(("metadata[sandbox_webhook]", "duplicate,delay_ms:200"));
    let started = std::time::Instant::now();
    let (status, _) = sandbox.create_intent(&form).await;
    assert_eq!(status, StatusCode::OK);
    let first = receiver.next().await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    let second = receiver.next().await;
    assert_eq!(first["id"], second["id"]);
    receiver.assert_quiet(Duration::from_millis(300)).await;

    let mut form = payment("pm_card_visa");
    form.push(("metadata[sandbox_webhook]", "twice"));
    let (status, body) = sandbox.create_intent(&form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["param"], "metadata[sandbox_webhook]");
}

#[tokio::test]
async fn retries_a_refused_webhook() {
    let mut receiver = Receiver::start(1);
    let sandbox = TestSandbox::start(SandboxConfig {
        webhook_url: Some(receiver.url.clone()),
        ..SandboxConfig::default()
    })
    .await;
    sandbox.create_intent(&payment("pm_card_visa")).await;
    let refused = receiver.next().await;
    let retried = receiver.next().await;
    assert_eq!(refused["id"], retried["id"]);
    receiver.assert_quiet(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn stops_gracefully_through_its_handle() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let sandbox = Sandbox::build(listener, SandboxConfig::default()).unwrap();
    let port = sandbox.port();
    assert_eq!(sandbox.base_url(), format!("http://127.0.0.1:{port}"));
    let handle = sandbox.handle();
    let running = tokio::spawn(sandbox.run_until_stopped());
    let health = reqwest::get(format!("http://127.0.0.1:{port}/health"))
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    handle.stop(true).await;
    running.await.unwrap().unwrap();
}

const PUBLISHABLE_KEY: &str = "pk_test_sandbox";

#[tokio::test]
async fn the_publishable_key_tokenises_cards_and_does_nothing_else() {
    let sandbox = TestSandbox::default().await;
    let card = [
        ("type", "card"),
        ("card[number]", "4242424242424242"),
        ("card[exp_month]", "12"),
        ("card[exp_year]", "2031"),
    ];
    let tokenised = sandbox
        .client
        .post(format!("{}/v1/payment_methods", sandbox.base))
        .bearer_auth(PUBLISHABLE_KEY)
        .form(&card)
        .send()
        .await
        .unwrap();
    let (status, method) = read(tokenised).await;
    assert_eq!(status, StatusCode::OK);
    assert!(method["id"].as_str().unwrap().starts_with("pm_1"));
    assert_eq!(method["card"]["last4"], "4242");

    // Moving money takes the secret key.
    let charge = sandbox
        .client
        .post(format!("{}/v1/payment_intents", sandbox.base))
        .bearer_auth(PUBLISHABLE_KEY)
        .form(&[("amount", "100"), ("currency", "usd")])
        .send()
        .await
        .unwrap();
    assert_eq!(charge.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn card_fields_load_only_for_the_publishable_key_and_only_in_the_named_origin() {
    let sandbox = TestSandbox::default().await;
    let fields = |key: &str, origin: &str| {
        sandbox
            .client
            .get(format!("{}/elements/card", sandbox.base))
            .query(&[("key", key), ("origin", origin)])
            .send()
    };
    let page = fields(PUBLISHABLE_KEY, "https://shop.example")
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        policy.contains("frame-ancestors https://shop.example"),
        "{policy}"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"data-parent-origin="https://shop.example""#));

    // The secret key never belongs in a web page: refused, not echoed.
    let secret = fields(KEY, "https://shop.example").await.unwrap();
    assert_eq!(secret.status(), StatusCode::UNAUTHORIZED);
    assert!(!secret.text().await.unwrap().contains(KEY));
    let bad_origin = fields(PUBLISHABLE_KEY, "https://shop.example\" onload=\"x")
        .await
        .unwrap();
    assert_eq!(bad_origin.status(), StatusCode::BAD_REQUEST);
}

/// Creates a Checkout Session for three teas at 5.00 EUR, with `extra` parameters.
async fn create_session(sandbox: &TestSandbox, extra: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut form = vec![
        ("mode", "payment"),
        ("line_items[0][quantity]", "3"),
        ("line_items[0][price_data][currency]", "eur"),
        ("line_items[0][price_data][unit_amount]", "500"),
        ("line_items[0][price_data][product_data][name]", "Tea"),
    ];
    form.extend_from_slice(extra);
    read(
        sandbox
            .post("/v1/checkout/sessions", &form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn checkout_sessions_are_validated_like_stripe() {
    let sandbox = TestSandbox::default().await;
    let (status, error) = create_session(&sandbox, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["param"], "success_url");
    let (status, error) = create_session(
        &sandbox,
        &[
            ("success_url", "https://shop.example/ok"),
            ("expires_at", "1"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["param"], "expires_at");

    let (status, session) =
        create_session(&sandbox, &[("success_url", "https://shop.example/ok")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(session["object"], "checkout.session");
    assert_eq!(session["amount_total"], 1500);
    assert_eq!(session["status"], "open");
    let (status, fetched) = sandbox
        .get(&format!(
            "/v1/checkout/sessions/{}",
            session["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched["url"], session["url"]);
}
