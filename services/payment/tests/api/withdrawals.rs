//! Withdrawals and erasure.

use crate::helpers::*;
use events::proto::{UserErased, WithdrawalRecorded};
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawal_is_recorded_once_and_published() {
    let app = TestApp::start().await;
    let member = app.member();
    let body = json!({"member_id": member.id, "amount": 20_000, "currency": "AUD", "reference": "atm-881"});
    let first = app
        .api
        .post(&app.merchant, WITHDRAWALS, Some("w-1"), &body)
        .await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = app
        .api
        .post(&app.merchant, WITHDRAWALS, Some("w-1"), &body)
        .await;
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);

    let events: Vec<WithdrawalRecorded> = app.published("withdrawal.recorded", 1).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].member_id, member.id.to_string());
    assert_eq!(events[0].amount, 20_000);

    let mine: Value = app
        .api
        .get(
            &member.token,
            &format!("/api/v1/payments/withdrawals?member_id={}", member.id),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["id"], first["id"]);
    assert!(mine["next_cursor"].is_null());
    let someone_else = app.member();
    let refused = app
        .api
        .get(
            &someone_else.token,
            &format!("/api/v1/payments/withdrawals?member_id={}", member.id),
        )
        .await;
    assert_problem(refused, 403, "forbidden").await;
    // Members do not record withdrawals.
    let by_member = app
        .api
        .post(&member.token, WITHDRAWALS, Some("w-2"), &body)
        .await;
    assert_problem(by_member, 403, "forbidden").await;
    let bad = app
        .api
        .post(
            &app.merchant,
            WITHDRAWALS,
            Some("w-3"),
            &json!({"member_id": member.id, "amount": 0, "currency": "AUD"}),
        )
        .await;
    assert_problem(bad, 422, "validation-error").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_member_keeps_the_payment_record_without_the_free_text() {
    let app = TestApp::start().await;
    let member = app.member();
    let charge: Value = app
        .api
        .post(
            &member.token,
            CHARGES,
            Some("gift"),
            &json!({"amount": 4200, "currency": "AUD", "payment_method": "pm_card_visa", "description": "Birthday gift for Alex"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(charge["description"], "Birthday gift for Alex");

    app.infra
        .publish(
            "user.erased",
            member.id,
            &UserErased {
                user_id: member.id.to_string(),
                erased_at: None,
            },
        )
        .await;

    let id = charge["id"].as_str().unwrap().to_owned();
    let erased = testkit::eventually(Duration::from_secs(20), || async {
        let charge = app.charge_status(&id).await;
        Ok(charge["description"].is_null().then_some(charge))
    })
    .await
    .expect("the description was erased");
    assert_eq!(erased["amount"], 4200);
    assert_eq!(erased["status"], "succeeded");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_byte_in_the_reference_is_a_field_error_also_when_retried() {
    let app = TestApp::start().await;
    let member = app.member();
    for (body, field) in [
        (
            json!({"member_id": member.id, "amount": 5_000, "currency": "AUD", "reference": "atm\u{0}9"}),
            "reference",
        ),
        (
            json!({"member_id": member.id, "amount": i64::MIN, "currency": "AUD"}),
            "amount",
        ),
    ] {
        for _ in 0..2 {
            let refused = app
                .api
                .post(&app.merchant, WITHDRAWALS, Some("nul-w"), &body)
                .await;
            let problem = assert_problem(refused, 422, "validation-error").await;
            assert_eq!(field_errors(&problem), [field], "{problem}");
        }
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM withdrawals WHERE member_id = $1")
        .bind(member.id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    // The refused requests never took the key.
    let recorded = app
        .api
        .post(
            &app.merchant,
            WITHDRAWALS,
            Some("nul-w"),
            &json!({"member_id": member.id, "amount": 5_000, "currency": "AUD", "reference": "atm-9"}),
        )
        .await;
    assert_eq!(recorded.status(), 201);
}
