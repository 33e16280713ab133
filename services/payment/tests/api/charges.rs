//! Charges approved and declined by the PSP, their events, and who sees which.

use crate::helpers::*;
use events::proto::{ChargeFailed, ChargeSucceeded};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_card_is_charged_once_and_published() {
    let app = TestApp::start().await;
    let member = app.member();
    let charge = app.paid_charge(&member, 2599).await;
    assert_eq!(charge["amount"], 2599);
    assert_eq!(charge["currency"], "AUD");
    assert_eq!(charge["psp"], "stripe");
    assert!(charge["psp_reference"].as_str().unwrap().starts_with("pi_"));
    let id = charge["id"].as_str().unwrap();
    assert_eq!(app.intents_at_psp(id).await, 1);

    let events: Vec<ChargeSucceeded> = app.published("charge.succeeded", 1).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].charge_id, id);
    assert_eq!(events[0].member_id, member.id.to_string());
    assert_eq!(events[0].amount, 2599);

    // Every step of the charge's life is recorded with its cause.
    let steps: Vec<(Option<String>, String)> = sqlx::query_as(
        "SELECT from_status, to_status FROM charge_transitions WHERE charge_id = $1::uuid ORDER BY id",
    )
    .bind(id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let steps: Vec<String> = steps.into_iter().map(|(_, to)| to).collect();
    assert_eq!(steps, ["created", "processing", "succeeded"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_load_reaches_the_processors_settlement_file() {
    let app = TestApp::start().await;
    let member = app.member();
    let response = app
        .api
        .post(
            &member.token,
            CHARGES,
            Some(&uuid::Uuid::new_v4().to_string()),
            &json!({"amount": 2500, "currency": "AUD", "payment_method": "pm_card_visa",
                    "kind": "load"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let load: Value = response.json().await.unwrap();
    assert_eq!(load["status"], "succeeded");
    let purchase = app.paid_charge(&member, 1000).await;

    // The PSP's record of the payment names the member and the kind.
    let file = app
        .api
        .http
        .get(format!("{}/sandbox/settlements/file", app.sandbox))
        .query(&[("settled_on", "2026-12-08")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = file.lines().collect();
    assert_eq!(lines.len(), 2, "only the load is settled: {file}");
    let load_id = load["id"].as_str().unwrap();
    assert!(
        lines[1].starts_with(&format!("{load_id},{},instant,2500,AUD,", member.id)),
        "{file}"
    );
    assert!(lines[1].ends_with(",2026-12-08"), "{file}");
    assert!(!file.contains(purchase["id"].as_str().unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declined_cards_fail_with_the_reason_and_publish_charge_failed() {
    let app = TestApp::start().await;
    let member = app.member();
    for (card, code) in [
        (
            "pm_card_chargeDeclinedInsufficientFunds",
            "insufficient_funds",
        ),
        ("pm_card_chargeDeclinedFraudulent", "fraudulent"),
    ] {
        let response = app.charge(&member, 1000, card).await;
        assert_eq!(response.status(), 201);
        let charge: Value = response.json().await.unwrap();
        assert_eq!(charge["status"], "failed");
        assert_eq!(charge["failure_code"], code);
    }
    let failed: Vec<ChargeFailed> = app.published("charge.failed", 2).await;
    let mut codes: Vec<String> = failed.into_iter().map(|e| e.failure_code).collect();
    codes.sort();
    assert_eq!(codes, ["fraudulent", "insufficient_funds"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charges_are_listed_newest_first_with_filters_and_a_cursor_for_who_may_see_them() {
    let app = TestApp::start().await;
    let member = app.member();
    let other = app.member();
    let mut mine = Vec::new();
    for amount in [100, 200, 300] {
        mine.push(app.paid_charge(&member, amount).await["id"].clone());
    }
    app.charge(&member, 400, "pm_card_chargeDeclined").await;
    app.paid_charge(&other, 999).await;

    // The member pages through their own charges only, newest first.
    let first: Value = app
        .api
        .get(
            &member.token,
            "/api/v1/payments/charges?status=succeeded&limit=2",
        )
        .await
        .json()
        .await
        .unwrap();
    let amounts: Vec<i64> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, [300, 200]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = app
        .api
        .get(
            &member.token,
            &format!("/api/v1/payments/charges?status=succeeded&limit=2&cursor={cursor}"),
        )
        .await
        .json()
        .await
        .unwrap();
    let amounts: Vec<i64> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, [100]);
    assert!(second["next_cursor"].is_null());

    // Staff see everyone's; filters narrow it down.
    let failed: Value = app
        .api
        .get(
            &app.support,
            &format!(
                "/api/v1/payments/charges?member_id={}&status=failed",
                member.id
            ),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(failed["items"].as_array().unwrap().len(), 1);

    // Someone else's charge looks like a missing one.
    let theirs = app
        .api
        .get(&other.token, &charge_path(mine[0].as_str().unwrap()))
        .await;
    assert_problem(theirs, 404, "not-found").await;

    // A partner sees only the charges it created.
    let partner_list: Value = app
        .api
        .get(&app.merchant, CHARGES)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(partner_list["items"].as_array().unwrap().len(), 0);

    for bad in ["status=paid", "limit=0", "kind=gift", "cursor=not-a-uuid"] {
        let response = app
            .api
            .get(&member.token, &format!("/api/v1/payments/charges?{bad}"))
            .await;
        assert!(
            [400, 422].contains(&response.status().as_u16()),
            "{bad}: {}",
            response.status()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_charges_a_member_and_staff_cannot_pay() {
    let app = TestApp::start().await;
    let member = app.member();
    let response = app
        .api
        .post(
            &app.merchant,
            CHARGES,
            Some("order-77"),
            &json!({"amount": 5000, "currency": "AUD", "payment_method": "pm_card_visa", "member_id": member.id}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let charge: Value = response.json().await.unwrap();
    assert_eq!(charge["member_id"], member.id.to_string());
    // The member sees the charge made on their behalf; the partner finds it in its list.
    let seen = app
        .api
        .get(&member.token, &charge_path(charge["id"].as_str().unwrap()))
        .await;
    assert_eq!(seen.status(), 200);
    let listed: Value = app
        .api
        .get(&app.merchant, CHARGES)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"][0]["id"], charge["id"]);

    let staff = app
        .api
        .post(
            &app.admin,
            CHARGES,
            Some("staff-1"),
            &json!({"amount": 5000, "currency": "AUD", "payment_method": "pm_card_visa"}),
        )
        .await;
    assert_problem(staff, 403, "forbidden").await;
    let unscoped = app.partner(&["points:earn"]);
    let response = app
        .api
        .post(
            &unscoped,
            CHARGES,
            Some("p-1"),
            &json!({"amount": 5000, "currency": "AUD", "payment_method": "pm_card_visa", "member_id": member.id}),
        )
        .await;
    assert_problem(response, 403, "forbidden").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_byte_in_the_description_is_a_field_error_also_when_retried() {
    let app = TestApp::start().await;
    let member = app.member();
    let with_nul = json!({"amount": 500, "currency": "AUD", "payment_method": "pm_card_visa",
        "description": "coffee\u{0}beans"});
    for _ in 0..2 {
        let refused = app
            .api
            .post(&member.token, CHARGES, Some("nul-1"), &with_nul)
            .await;
        let problem = assert_problem(refused, 422, "validation-error").await;
        assert_eq!(field_errors(&problem), ["description"], "{problem}");
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM charges WHERE member_id = $1")
        .bind(member.id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    // The refused requests never took the key.
    let valid = json!({"amount": 500, "currency": "AUD", "payment_method": "pm_card_visa",
        "description": "coffee beans"});
    let charged = app
        .api
        .post(&member.token, CHARGES, Some("nul-1"), &valid)
        .await;
    assert_eq!(charged.status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amounts_at_the_edges_of_i64_are_field_errors() {
    let app = TestApp::start().await;
    let member = app.member();
    // 10^12 is more than any PSP takes in one payment: refused here, not left to the PSP
    // (which would refuse it after we accepted it, leaving the charge in the dead-letter queue).
    for amount in [i64::MIN, i64::MAX, -1, 1_000_000_000_000, 100_000_000] {
        let refused = app
            .api
            .post(
                &member.token,
                CHARGES,
                Some(&format!("edge-{amount}")),
                &json!({"amount": amount, "currency": "AUD", "payment_method": "pm_card_visa"}),
            )
            .await;
        let problem = assert_problem(refused, 422, "validation-error").await;
        assert_eq!(field_errors(&problem), ["amount"], "{problem}");
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM charges")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    // The largest charge a PSP takes goes through.
    let largest = app
        .api
        .post(
            &member.token,
            CHARGES,
            Some("edge-largest"),
            &json!({"amount": 99_999_999, "currency": "AUD", "payment_method": "pm_card_visa"}),
        )
        .await;
    assert_eq!(largest.status(), 201);
}
