//! The demo shop in a real browser: the example checkout page of `web/sdk` frames the PSP's
//! card fields, gets tokens, and the shop's server charges them through the edge with its
//! partner key. Card numbers must reach neither the shop's page nor its server (the browser
//! script checks every request the page sends it), nor the payment database.

use crate::helpers::*;
use fleet::demo_shop::DemoShop;
use serde_json::Value;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

const CARD_NUMBERS: &[&str] = &["4242424242424242", "4000000000000002", "4000002760003184"];

fn sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/sdk")
}

/// Chromium, and playwright-core for Node: `scripts/test` installs them.
fn chromium() -> String {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "Chromium not found at {chromium}: install it with `apt-get install chromium` or set CHROMIUM"
    );
    assert!(
        sdk_dir().join("node_modules/playwright-core").exists(),
        "playwright-core is not installed: run `npm ci --prefix web/sdk` (scripts/test does)"
    );
    chromium
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shop_charges_card_tokens_and_never_sees_a_card() {
    let chromium = chromium();
    let app = TestFleet::start().await;
    let admin = app.admin_token().await; // also creates the demo accounts the shop uses
    let (shop, server) =
        DemoShop::for_demo_accounts(app.fleet(), TcpListener::bind("127.0.0.1:0").unwrap())
            .await
            .expect("the demo shop starts");
    tokio::spawn(server);

    let output = tokio::process::Command::new("node")
        .arg(sdk_dir().join("test/checkout.browser.mjs"))
        .env("MERCHANT_URL", format!("{}/", shop.url))
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

    // The page paid with PSP tokens, for the demo member, through the shop's partner key; the
    // second charge after the customer came back from the bank's challenge.
    let member = DemoShop::member_id(&app.edge, "member@example.com", "demo-member-password")
        .await
        .unwrap();
    for charge_id in [&run["chargeId"], &run["authenticatedChargeId"]] {
        let path = format!("/api/v1/payments/charges/{}", charge_id.as_str().unwrap());
        let charge: Value = app.get(Some(&admin), &path).await.json().await.unwrap();
        assert_eq!(charge["status"], "succeeded", "{charge}");
        assert_eq!(charge["amount"], 4900);
        assert_eq!(charge["member_id"], member.to_string());
        assert!(
            charge["payment_method"]
                .as_str()
                .unwrap()
                .starts_with("pm_1"),
            "{charge}"
        );
    }

    let pool = app.infra.pool("payments").await.unwrap();
    let (stored,): (String,) =
        sqlx::query_as("SELECT COALESCE(string_agg(c::text, ' '), '') FROM charges c")
            .fetch_one(&pool)
            .await
            .unwrap();
    for number in CARD_NUMBERS {
        assert!(!stored.contains(number));
    }
    shop.stop().await;

    // A restarted shop keeps its partner client, with a new key.
    let (again, server) =
        DemoShop::for_demo_accounts(app.fleet(), TcpListener::bind("127.0.0.1:0").unwrap())
            .await
            .expect("the demo shop starts again");
    tokio::spawn(server);
    let clients: Value = app
        .get(Some(&admin), "/api/v1/auth/clients")
        .await
        .json()
        .await
        .unwrap();
    let shops = clients
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == "Demo shop")
        .count();
    assert_eq!(shops, 1, "{clients}");
    let seen: Value = reqwest::get(format!(
        "{}/charges/{}",
        again.url,
        run["chargeId"].as_str().unwrap()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(seen["status"], "succeeded", "the new key works: {seen}");
    again.stop().await;
    app.stop().await;
}
