//! The settlement file over real HTTP: loads charged the way the payment service's Stripe
//! connector charges them, bank transfers recorded through the sandbox, and the CSV that comes
//! out. Each test starts its own sandbox on port 0, so each file holds only that test's loads.

use std::net::TcpListener;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use psp_sandbox::{Sandbox, SandboxConfig};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

const KEY: &str = "sk_test_sandbox";
const HEADER: &str = "transaction_id,member_id,type,amount_minor,currency,transacted_at,settled_on";

struct TestSandbox {
    base: String,
    client: reqwest::Client,
}

impl TestSandbox {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
        let sandbox = Sandbox::build(listener, SandboxConfig::default()).expect("build sandbox");
        let base = sandbox.base_url();
        tokio::spawn(sandbox.run_until_stopped());
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("client");
        Self { base, client }
    }

    /// A card payment as the Stripe connector sends it: confirmed at once, our charge id as the
    /// idempotency key, and the charge's id, member and kind in the metadata.
    async fn charge(
        &self,
        charge_id: Uuid,
        member_id: Uuid,
        kind: &str,
        amount: i64,
        payment_method: &str,
    ) -> (StatusCode, Value) {
        let form = [
            ("amount", amount.to_string()),
            ("currency", "aud".to_owned()),
            ("payment_method", payment_method.to_owned()),
            ("confirm", "true".to_owned()),
            ("metadata[charge_id]", charge_id.to_string()),
            ("metadata[member_id]", member_id.to_string()),
            ("metadata[kind]", kind.to_owned()),
            ("description", format!("Tessera {kind}")),
        ];
        self.stripe_post("/v1/payment_intents", Some(&charge_id.to_string()), &form)
            .await
    }

    async fn stripe_post(
        &self,
        path: &str,
        idempotency_key: Option<&str>,
        form: &[(&str, String)],
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(KEY)
            .form(form);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.expect("POST");
        let status = response.status();
        (status, response.json().await.expect("JSON body"))
    }

    async fn bank_transfer(&self, body: &Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}/sandbox/settlements/bank-transfers", self.base))
            .json(body)
            .send()
            .await
            .expect("POST bank transfer");
        let status = response.status();
        (status, response.json().await.expect("JSON body"))
    }

    /// Records a transfer that must be accepted; answers its reference.
    async fn recorded_transfer(&self, member_id: Uuid, amount: i64, at: &str) -> String {
        let (status, body) = self
            .bank_transfer(&json!({
                "member_id": member_id,
                "amount_minor": amount,
                "currency": "AUD",
                "transacted_at": at,
            }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["transaction_id"]
            .as_str()
            .expect("a transaction_id")
            .to_owned()
    }

    async fn file_response(&self, query: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .get(format!("{}/sandbox/settlements/file", self.base))
            .query(query)
            .send()
            .await
            .expect("GET file")
    }

    /// The file's text, which must be served as CSV.
    async fn file(&self, query: &[(&str, &str)]) -> String {
        let response = self.file_response(query).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            "text/csv; charset=utf-8"
        );
        response.text().await.expect("text body")
    }
}

fn rfc3339(unix: i64) -> String {
    DateTime::from_timestamp(unix, 0)
        .expect("a valid time")
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn line(id: &str, member: Uuid, kind: &str, amount: i64, at: &str, settled_on: &str) -> String {
    format!("{id},{member},{kind},{amount},AUD,{at},{settled_on}\n")
}

/// The file with `header` first and `lines` sorted the way the file orders them: by
/// `transacted_at`, then `transaction_id`.
fn expected_file(mut lines: Vec<(String, String, String)>) -> String {
    lines.sort();
    let mut file = format!("{HEADER}\n");
    for (_, _, text) in lines {
        file.push_str(&text);
    }
    file
}

#[tokio::test]
async fn the_file_holds_succeeded_loads_and_bank_transfers_only() {
    let sandbox = TestSandbox::start().await;
    let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
    let settled_on = "2026-12-08";

    // A load that succeeds: in the file under our charge id.
    let load = Uuid::new_v4();
    let (status, intent) = sandbox
        .charge(load, alice, "load", 2500, "pm_card_visa")
        .await;
    assert_eq!(status, StatusCode::OK, "{intent}");
    assert_eq!(intent["status"], "succeeded");
    assert_eq!(intent["metadata"]["kind"], "load");
    let load_at = rfc3339(intent["created"].as_i64().unwrap());

    // A second load, for another member.
    let bobs_load = Uuid::new_v4();
    let (status, intent) = sandbox
        .charge(bobs_load, bob, "load", 10_000, "pm_card_mastercard")
        .await;
    assert_eq!(status, StatusCode::OK, "{intent}");
    let bobs_load_at = rfc3339(intent["created"].as_i64().unwrap());

    // A purchase that succeeds: not a load.
    let (status, intent) = sandbox
        .charge(Uuid::new_v4(), alice, "purchase", 4000, "pm_card_visa")
        .await;
    assert_eq!(status, StatusCode::OK, "{intent}");
    assert_eq!(intent["status"], "succeeded");

    // A declined load: no money moved.
    let (status, _) = sandbox
        .charge(
            Uuid::new_v4(),
            alice,
            "load",
            3000,
            "pm_card_chargeDeclined",
        )
        .await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED);

    // A load waiting for 3-D Secure: not settled (yet).
    let (status, intent) = sandbox
        .charge(
            Uuid::new_v4(),
            alice,
            "load",
            3500,
            "pm_card_threeDSecureRequired",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{intent}");
    assert_eq!(intent["status"], "requires_action");

    // A bank transfer, long before the card loads.
    let transfer = sandbox
        .recorded_transfer(bob, 50_000, "2026-01-02T03:04:05Z")
        .await;
    assert!(transfer.starts_with("bt_"), "{transfer}");
    assert_eq!(transfer.len(), 3 + 24);
    assert!(transfer[3..].bytes().all(|b| b.is_ascii_alphanumeric()));

    let file = sandbox.file(&[("settled_on", settled_on)]).await;
    let expected = expected_file(vec![
        (
            load_at.clone(),
            load.to_string(),
            line(
                &load.to_string(),
                alice,
                "instant",
                2500,
                &load_at,
                settled_on,
            ),
        ),
        (
            bobs_load_at.clone(),
            bobs_load.to_string(),
            line(
                &bobs_load.to_string(),
                bob,
                "instant",
                10_000,
                &bobs_load_at,
                settled_on,
            ),
        ),
        (
            "2026-01-02T03:04:05Z".to_owned(),
            transfer.clone(),
            line(
                &transfer,
                bob,
                "bank_transfer",
                50_000,
                "2026-01-02T03:04:05Z",
                settled_on,
            ),
        ),
    ]);
    assert_eq!(file, expected);
    assert!(file.starts_with(&format!("{HEADER}\n")));
    assert!(file.ends_with('\n') && !file.contains('\r'));

    // The same question gives the same bytes.
    assert_eq!(sandbox.file(&[("settled_on", settled_on)]).await, file);
}

#[tokio::test]
async fn a_load_counts_from_when_it_succeeds() {
    let sandbox = TestSandbox::start().await;
    let member = Uuid::new_v4();
    let charge_id = Uuid::new_v4();
    let before = Utc::now().timestamp();

    // Authorised now, captured later: settled only once captured.
    let form = [
        ("amount", "1500".to_owned()),
        ("currency", "aud".to_owned()),
        ("payment_method", "pm_card_visa".to_owned()),
        ("confirm", "true".to_owned()),
        ("capture_method", "manual".to_owned()),
        ("metadata[charge_id]", charge_id.to_string()),
        ("metadata[member_id]", member.to_string()),
        ("metadata[kind]", "load".to_owned()),
    ];
    let (status, intent) = sandbox
        .stripe_post("/v1/payment_intents", None, &form)
        .await;
    assert_eq!(status, StatusCode::OK, "{intent}");
    assert_eq!(intent["status"], "requires_capture");
    assert_eq!(
        sandbox.file(&[("settled_on", "2026-12-08")]).await,
        format!("{HEADER}\n")
    );

    let id = intent["id"].as_str().unwrap();
    let (status, intent) = sandbox
        .stripe_post(
            &format!("/v1/payment_intents/{id}/capture"),
            None,
            &[("amount_to_capture", "1200".to_owned())],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{intent}");
    assert_eq!(intent["status"], "succeeded");
    let after = Utc::now().timestamp();

    let file = sandbox.file(&[("settled_on", "2026-12-08")]).await;
    let lines: Vec<&str> = file.lines().collect();
    assert_eq!(lines.len(), 2, "{file}");
    let fields: Vec<&str> = lines[1].split(',').collect();
    // What was captured is what moved.
    assert_eq!(
        fields[..5],
        [
            charge_id.to_string().as_str(),
            member.to_string().as_str(),
            "instant",
            "1200",
            "AUD"
        ]
    );
    let at = DateTime::parse_from_rfc3339(fields[5]).unwrap().timestamp();
    assert!(
        (before..=after).contains(&at),
        "{at} not in {before}..={after}"
    );
    assert!(fields[5].ends_with('Z'));
    assert_eq!(fields[6], "2026-12-08");
}

#[tokio::test]
async fn since_and_until_bound_a_half_open_window() {
    let sandbox = TestSandbox::start().await;
    let member = Uuid::new_v4();
    let first = sandbox
        .recorded_transfer(member, 100, "2020-12-01T00:00:00Z")
        .await;
    // Offsets are converted to UTC; fractions of a second are dropped.
    let second = sandbox
        .recorded_transfer(member, 200, "2020-12-02T10:00:00.900+10:00")
        .await;
    let third = sandbox
        .recorded_transfer(member, 300, "2020-12-03T00:00:00Z")
        .await;
    let load = Uuid::new_v4();
    let (status, intent) = sandbox
        .charge(load, member, "load", 400, "pm_card_amex")
        .await;
    assert_eq!(status, StatusCode::OK, "{intent}");
    let load_at = rfc3339(intent["created"].as_i64().unwrap());

    let day = "2020-12-04";
    let first_line = line(
        &first,
        member,
        "bank_transfer",
        100,
        "2020-12-01T00:00:00Z",
        day,
    );
    let second_line = line(
        &second,
        member,
        "bank_transfer",
        200,
        "2020-12-02T00:00:00Z",
        day,
    );
    let third_line = line(
        &third,
        member,
        "bank_transfer",
        300,
        "2020-12-03T00:00:00Z",
        day,
    );
    let load_line = line(&load.to_string(), member, "instant", 400, &load_at, day);

    // `since` is in, `until` is out.
    assert_eq!(
        sandbox
            .file(&[
                ("settled_on", day),
                ("since", "2020-12-01T00:00:00Z"),
                ("until", "2020-12-03T00:00:00Z"),
            ])
            .await,
        format!("{HEADER}\n{first_line}{second_line}")
    );
    // An offset in the query means the same instant in UTC.
    assert_eq!(
        sandbox
            .file(&[("settled_on", day), ("since", "2020-12-02T10:00:00+10:00")])
            .await,
        format!("{HEADER}\n{second_line}{third_line}{load_line}")
    );
    assert_eq!(
        sandbox
            .file(&[("settled_on", day), ("until", "2020-12-01T00:00:00Z")])
            .await,
        format!("{HEADER}\n")
    );
    assert_eq!(
        sandbox
            .file(&[("settled_on", day), ("since", "2021-01-01T00:00:00Z")])
            .await,
        format!("{HEADER}\n{load_line}")
    );
    // Everything, in order.
    assert_eq!(
        sandbox.file(&[("settled_on", day)]).await,
        format!("{HEADER}\n{first_line}{second_line}{third_line}{load_line}")
    );
}

#[tokio::test]
async fn settled_on_defaults_to_today_in_utc() {
    let sandbox = TestSandbox::start().await;
    let member = Uuid::new_v4();
    let transfer = sandbox
        .recorded_transfer(member, 700, "2026-12-07T10:15:00Z")
        .await;
    let before = Utc::now().date_naive();
    let file = sandbox.file(&[]).await;
    let after = Utc::now().date_naive();
    assert!(
        [before, after].iter().any(|today| {
            file == format!(
                "{HEADER}\n{transfer},{member},bank_transfer,700,AUD,2026-12-07T10:15:00Z,{}\n",
                today.format("%Y-%m-%d")
            )
        }),
        "{file}"
    );
}

#[tokio::test]
async fn a_transfer_without_a_time_is_dated_now() {
    let sandbox = TestSandbox::start().await;
    let member = Uuid::new_v4();
    let before = Utc::now().timestamp();
    let (status, body) = sandbox
        .bank_transfer(&json!({"member_id": member, "amount_minor": 900, "currency": "aud"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let after = Utc::now().timestamp();
    let file = sandbox.file(&[("settled_on", "2026-12-08")]).await;
    let fields: Vec<&str> = file.lines().nth(1).expect("one line").split(',').collect();
    assert_eq!(fields[0], body["transaction_id"].as_str().unwrap());
    assert_eq!(fields[3..5], ["900", "AUD"]);
    let at = DateTime::parse_from_rfc3339(fields[5]).unwrap().timestamp();
    assert!((before..=after).contains(&at));
}

#[tokio::test]
async fn bad_questions_are_refused_with_the_param_named() {
    let sandbox = TestSandbox::start().await;
    for (query, param) in [
        (vec![("settled_on", "2026-13-01")], "settled_on"),
        (vec![("settled_on", "08/12/2026")], "settled_on"),
        (vec![("settled_on", "2026-12-8")], "settled_on"),
        (vec![("since", "yesterday")], "since"),
        (vec![("until", "2026-12-08")], "until"),
        (
            vec![
                ("since", "2026-12-08T00:00:00Z"),
                ("until", "2026-12-07T00:00:00Z"),
            ],
            "until",
        ),
        (vec![("format", "json")], "format"),
    ] {
        let response = sandbox.file_response(&query).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query:?}");
        let body: Value = response.json().await.expect("JSON error");
        assert_eq!(body["error"]["type"], "invalid_request_error", "{query:?}");
        assert_eq!(body["error"]["param"], param, "{query:?}");
        assert!(body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }

    let member = Uuid::new_v4().to_string();
    for (body, param) in [
        (json!({"amount_minor": 100, "currency": "AUD"}), "member_id"),
        (
            json!({"member_id": "not-a-uuid", "amount_minor": 100, "currency": "AUD"}),
            "member_id",
        ),
        (
            json!({"member_id": member, "amount_minor": 0, "currency": "AUD"}),
            "amount_minor",
        ),
        (
            json!({"member_id": member, "amount_minor": -5, "currency": "AUD"}),
            "amount_minor",
        ),
        (
            json!({"member_id": member, "amount_minor": 1.5, "currency": "AUD"}),
            "amount_minor",
        ),
        (
            json!({"member_id": member, "amount_minor": 100, "currency": "dollars"}),
            "currency",
        ),
        (
            json!({"member_id": member, "amount_minor": 100, "currency": "AUD",
                   "transacted_at": "7 Dec 2026"}),
            "transacted_at",
        ),
    ] {
        let (status, error) = sandbox.bank_transfer(&body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error["error"]["type"], "invalid_request_error", "{body}");
        assert_eq!(error["error"]["param"], param, "{body}");
    }
    let response = sandbox
        .client
        .post(format!(
            "{}/sandbox/settlements/bank-transfers",
            sandbox.base
        ))
        .header("content-type", "application/json")
        .body("member_id=1")
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error: Value = response.json().await.expect("JSON error");
    assert_eq!(error["error"]["type"], "invalid_request_error");

    // Nothing refused was recorded.
    assert_eq!(
        sandbox.file(&[("settled_on", "2026-12-08")]).await,
        format!("{HEADER}\n")
    );
}
