//! The server-to-server card path: the card goes to the PSP's vault and nowhere else, not the
//! database, not the logs.

use crate::helpers::*;
use serde_json::{json, Value};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Every log line of this test process, at debug level for every crate.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    /// Installed before anything logs (each test runs in its own process).
    fn install() -> Self {
        let logs = CapturedLogs::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_env_filter("debug")
            .with_writer(move || writer.clone())
            .init();
        logs
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn card_charge(member: uuid::Uuid, number: &str) -> Value {
    json!({
        "amount": 6400, "currency": "AUD", "member_id": member,
        "card": {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "737"}
    })
}

const NUMBERS: &[&str] = &[
    "4242424242424242",
    "4000000000009995",
    "4111111111111111",
    "4242424242424241",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_numbers_reach_the_psp_vault_and_never_the_database_or_the_logs() {
    let logs = CapturedLogs::install();
    let app = TestApp::start().await;
    let member = app.member();
    let path = "/api/v1/payments/charges/card";

    let approved = app
        .api
        .post(
            &app.merchant,
            path,
            Some("card-1"),
            &card_charge(member.id, "4242 4242 4242 4242"),
        )
        .await;
    assert_eq!(approved.status(), 201);
    let approved: Value = approved.json().await.unwrap();
    assert_eq!(approved["status"], "succeeded");
    assert_eq!(approved["card_last4"], "4242");
    assert_eq!(approved["card_brand"], "visa");
    assert!(
        approved["payment_method"]
            .as_str()
            .unwrap()
            .starts_with("pm_1"),
        "{approved}"
    );
    // A retry replays the charge without sending the card anywhere again.
    let replay = app
        .api
        .post(
            &app.merchant,
            path,
            Some("card-1"),
            &card_charge(member.id, "4242 4242 4242 4242"),
        )
        .await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");

    let declined: Value = app
        .api
        .post(
            &app.merchant,
            path,
            Some("card-2"),
            &card_charge(member.id, "4000000000009995"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(declined["status"], "failed");
    assert_eq!(declined["failure_code"], "insufficient_funds");

    // Not a test card: the vault refuses it, and the answer does not repeat it.
    let refused = app
        .api
        .post(
            &app.merchant,
            path,
            Some("card-3"),
            &card_charge(member.id, "4111111111111111"),
        )
        .await;
    let problem = assert_problem(refused, 422, "card-refused").await;
    assert!(!problem.to_string().contains("4111"));
    let typo = app
        .api
        .post(
            &app.merchant,
            path,
            Some("card-4"),
            &card_charge(member.id, "4242424242424241"),
        )
        .await;
    let problem = assert_problem(typo, 422, "validation-error").await;
    assert_eq!(field_errors(&problem), ["card.number"]);
    assert!(!problem.to_string().contains("424242"));
    // Apps never send card details: they tokenise in the browser.
    let from_app = app
        .api
        .post(
            &member.token,
            path,
            Some("card-5"),
            &card_charge(member.id, "4242424242424242"),
        )
        .await;
    assert_problem(from_app, 403, "forbidden").await;

    // Search every table of the service for the numbers (with or without spaces).
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
          WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(
        tables.contains(&"charges".to_owned()) && tables.contains(&"idempotency_keys".to_owned())
    );
    for table in &tables {
        for number in NUMBERS {
            let found: i64 = sqlx::query_scalar(&format!(
                "SELECT count(*) FROM {table} t WHERE replace(t::text, ' ', '') LIKE '%' || $1 || '%'"
            ))
            .bind(number)
            .fetch_one(&app.pool)
            .await
            .unwrap();
            assert_eq!(found, 0, "{table} holds a card number");
        }
    }

    let logs = logs.text();
    assert!(
        logs.contains("create_card_charge"),
        "the logs were captured"
    );
    for number in NUMBERS {
        assert!(
            !logs.replace(' ', "").contains(number),
            "a card number was logged"
        );
    }
    assert!(
        !logs.contains("\"737\"") && !logs.contains("cvc=737"),
        "a CVC was logged"
    );
}
