//! The tokenisation SDK in a real browser: an example merchant page frames the PSP's card
//! fields, gets a token, and its server charges the token through this service. Card numbers
//! must reach neither the merchant's page nor its server, nor our database.

use crate::helpers::*;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

const AMOUNT: i64 = 4900;
const CARD_NUMBERS: &[&str] = &["4242424242424242", "4000000000000002", "4000002760003184"];

fn sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/sdk")
}

/// What the example merchant's server needs: the payment service, its partner key, the member
/// who is shopping, and a record of every body its `/pay` endpoint received.
struct Merchant {
    payments: String,
    partner_token: String,
    member_id: Uuid,
    psp_url: String,
    received: Mutex<Vec<String>>,
    http: reqwest::Client,
}

fn file(path: PathBuf, content_type: &str) -> HttpResponse {
    match std::fs::read(&path) {
        Ok(bytes) => HttpResponse::Ok().content_type(content_type).body(bytes),
        Err(e) => HttpResponse::NotFound().body(format!("{}: {e}", path.display())),
    }
}

async fn config(merchant: web::Data<Merchant>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "pspUrl": merchant.psp_url, "publishableKey": "pk_test_sandbox",
        "amount": AMOUNT, "currency": "AUD",
    }))
}

/// The merchant's server: creates the charge with the token the page sent, for its member.
async fn pay(req: HttpRequest, body: web::Bytes, merchant: web::Data<Merchant>) -> HttpResponse {
    let text = String::from_utf8_lossy(&body).into_owned();
    merchant.received.lock().unwrap().push(text);
    let Ok(mut charge) = serde_json::from_slice::<Value>(&body) else {
        return HttpResponse::BadRequest().finish();
    };
    charge["member_id"] = json!(merchant.member_id);
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let response = merchant
        .http
        .post(format!("{}/api/v1/payments/charges", merchant.payments))
        .bearer_auth(&merchant.partner_token)
        .header("Idempotency-Key", key)
        .json(&charge)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or_default();
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).json(body)
}

/// The merchant's server: how a charge it created stands (for the page, back from 3-D Secure).
async fn charge(id: web::Path<String>, merchant: web::Data<Merchant>) -> HttpResponse {
    let response = merchant
        .http
        .get(format!(
            "{}/api/v1/payments/charges/{id}",
            merchant.payments
        ))
        .bearer_auth(&merchant.partner_token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or_default();
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).json(body)
}

fn start_merchant(merchant: Arc<Merchant>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/",
        listener.local_addr().unwrap().port()
    );
    let data = web::Data::from(merchant);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route(
                "/",
                web::get().to(|| async {
                    file(
                        sdk_dir().join("examples/checkout/index.html"),
                        "text/html; charset=utf-8",
                    )
                }),
            )
            .route(
                "/checkout.js",
                web::get().to(|| async {
                    file(
                        sdk_dir().join("examples/checkout/checkout.js"),
                        "text/javascript",
                    )
                }),
            )
            .route(
                "/tessera.js",
                web::get().to(|| async { file(sdk_dir().join("tessera.js"), "text/javascript") }),
            )
            .route("/config.json", web::get().to(config))
            .route("/pay", web::post().to(pay))
            .route("/charges/{id}", web::get().to(charge))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    url
}

/// Node with playwright-core, and Chromium: `scripts/test` installs them.
fn browser_tools() -> PathBuf {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "Chromium not found at {chromium}: install it with `apt-get install chromium` or set CHROMIUM"
    );
    let playwright = sdk_dir().join("node_modules/playwright-core");
    assert!(
        playwright.exists(),
        "playwright-core is not installed: run `npm ci --prefix web/sdk` (scripts/test does)"
    );
    PathBuf::from(chromium)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_page_charges_a_token_and_never_sees_the_card() {
    let chromium = browser_tools();
    let app = TestApp::start().await;
    let member = app.member();
    let merchant = Arc::new(Merchant {
        payments: app.base.clone(),
        partner_token: app.partner.clone(),
        member_id: member.id,
        psp_url: app.sandbox.clone(),
        received: Mutex::new(Vec::new()),
        http: reqwest::Client::new(),
    });
    let merchant_url = start_merchant(merchant.clone());

    let output = tokio::process::Command::new("node")
        .arg(sdk_dir().join("test/checkout.browser.mjs"))
        .env("MERCHANT_URL", &merchant_url)
        .env("CHROMIUM", &chromium)
        .output()
        .await
        .expect("node runs (apt-get install nodejs)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the browser run failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let run: Value = serde_json::from_str(stdout.trim().lines().last().unwrap()).unwrap();

    // The page paid with PSP tokens, for the member, through the merchant's partner key; the
    // second charge after the customer came back from the bank's challenge.
    for charge_id in [&run["chargeId"], &run["authenticatedChargeId"]] {
        let charge = app.charge_status(charge_id.as_str().unwrap()).await;
        assert_eq!(charge["status"], "succeeded");
        assert_eq!(charge["amount"], AMOUNT);
        assert_eq!(charge["member_id"], member.id.to_string());
        assert!(
            charge["payment_method"]
                .as_str()
                .unwrap()
                .starts_with("pm_1"),
            "{charge}"
        );
    }

    // The merchant's server only ever received tokens: a decline, a success, a 3-D Secure card.
    let received = merchant.received.lock().unwrap().clone();
    assert_eq!(received.len(), 3, "{received:?}");
    for body in &received {
        let body: Value = serde_json::from_str(body).unwrap();
        assert!(
            body["payment_method"].as_str().unwrap().starts_with("pm_1"),
            "{body}"
        );
        for number in CARD_NUMBERS {
            assert!(!body.to_string().contains(number), "{body}");
        }
    }
    let (stored,): (String,) =
        sqlx::query_as("SELECT COALESCE(string_agg(c::text, ' '), '') FROM charges c")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    for number in CARD_NUMBERS {
        assert!(!stored.contains(number));
    }
}
