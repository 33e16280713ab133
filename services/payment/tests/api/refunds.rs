//! Refunds: partial refunds add up to the charge and never beyond it.

use crate::helpers::*;
use events::proto::ChargeRefunded;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_refunds_add_up_to_the_charge_and_one_more_is_refused() {
    let app = TestApp::start().await;
    let member = app.member();
    let charge = app.paid_charge(&member, 10_000).await;
    let path = refunds_path(&charge);

    let first = app
        .api
        .post(
            &app.admin,
            &path,
            Some("r-1"),
            &json!({"amount": 2500, "reason": "damaged"}),
        )
        .await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["status"], "succeeded");
    assert!(first["psp_reference"].as_str().unwrap().starts_with("re_"));
    // No amount: the rest of the charge.
    let rest = app
        .api
        .post(&app.admin, &path, Some("r-2"), &json!({}))
        .await;
    assert_eq!(rest.status(), 201);
    assert_eq!(rest.json::<Value>().await.unwrap()["amount"], 7500);

    let more = app
        .api
        .post(&app.admin, &path, Some("r-3"), &json!({"amount": 1}))
        .await;
    let problem = assert_problem(more, 422, "refund-exceeds-charge").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("0 of"),
        "{problem}"
    );
    assert_eq!(
        app.charge_status(charge["id"].as_str().unwrap()).await["amount_refunded"],
        10_000
    );

    let listed: Value = app
        .api
        .get(&member.token, &path)
        .await
        .json()
        .await
        .unwrap();
    let amounts: Vec<&Value> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["amount"])
        .collect();
    assert_eq!(amounts, [&json!(7500), &json!(2500)], "newest first");
    assert!(listed["next_cursor"].is_null());

    let events: Vec<ChargeRefunded> = app.published("charge.refunded", 2).await;
    let mut totals: Vec<(i64, i64)> = events
        .iter()
        .map(|e| (e.refund_amount, e.total_refunded))
        .collect();
    totals.sort();
    assert_eq!(totals, [(2500, 2500), (7500, 10_000)]);
    assert!(events
        .iter()
        .all(|e| e.charge_amount == 10_000 && e.member_id == member.id.to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refunds_never_exceed_the_charge() {
    let app = TestApp::start().await;
    let member = app.member();
    let charge = app.paid_charge(&member, 1_000).await;
    let path = refunds_path(&charge);
    let responses = futures::future::join_all((0..5).map(|i| {
        let key = format!("c-{i}");
        let path = path.clone();
        let app = &app;
        async move {
            app.api
                .post(&app.admin, &path, Some(&key), &json!({"amount": 300}))
                .await
        }
    }))
    .await;
    let ok = responses.iter().filter(|r| r.status() == 201).count();
    let refused = responses.iter().filter(|r| r.status() == 422).count();
    assert_eq!(
        (ok, refused),
        (3, 2),
        "3 x 300 fit into 1000, a 4th does not"
    );
    let refunded: i64 = sqlx::query_scalar(
        "SELECT COALESCE(sum(amount), 0)::bigint FROM refunds WHERE charge_id = $1::uuid AND status = 'succeeded'",
    )
    .bind(charge["id"].as_str().unwrap())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(refunded, 900);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_and_the_merchant_refund_and_only_succeeded_charges() {
    let app = TestApp::start().await;
    let member = app.member();
    let charge = app.paid_charge(&member, 5_000).await;
    let path = refunds_path(&charge);

    assert_problem(
        app.api
            .post(&member.token, &path, Some("m"), &json!({}))
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.api
            .post(&app.support, &path, Some("s"), &json!({}))
            .await,
        403,
        "forbidden",
    )
    .await;
    // Another merchant does not even learn that the charge exists.
    let stranger = app.partner(&["payments:write"]);
    assert_problem(
        app.api.post(&stranger, &path, Some("x"), &json!({})).await,
        404,
        "not-found",
    )
    .await;

    for (body, field) in [
        (json!({"amount": 0}), "amount"),
        (json!({"amount": -5}), "amount"),
        (json!({"amount": 10, "tip": 1}), "tip"),
    ] {
        let problem = assert_problem(
            app.api.post(&app.admin, &path, Some("bad"), &body).await,
            422,
            "validation-error",
        )
        .await;
        assert!(
            field_errors(&problem).contains(&field.to_owned()),
            "{problem}"
        );
    }
    assert_problem(
        app.api.post(&app.admin, &path, None, &json!({})).await,
        422,
        "validation-error",
    )
    .await;

    let declined: Value = app
        .charge(&member, 100, "pm_card_chargeDeclined")
        .await
        .json()
        .await
        .unwrap();
    let refused = app
        .api
        .post(&app.admin, &refunds_path(&declined), Some("d"), &json!({}))
        .await;
    assert_problem(refused, 422, "charge-not-refundable").await;

    // The merchant that took the payment refunds it; the key makes the retry safe.
    let merchant_charge: Value = app
        .api
        .post(
            &app.merchant,
            CHARGES,
            Some("order-1"),
            &json!({"amount": 3000, "currency": "AUD", "payment_method": "pm_card_visa", "member_id": member.id}),
        )
        .await
        .json()
        .await
        .unwrap();
    let path = refunds_path(&merchant_charge);
    let refund = app
        .api
        .post(
            &app.merchant,
            &path,
            Some("ret-1"),
            &json!({"amount": 1000}),
        )
        .await;
    assert_eq!(refund.status(), 201);
    let refund: Value = refund.json().await.unwrap();
    let retry = app
        .api
        .post(
            &app.merchant,
            &path,
            Some("ret-1"),
            &json!({"amount": 1000}),
        )
        .await;
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.json::<Value>().await.unwrap()["id"], refund["id"]);
    assert_eq!(
        app.charge_status(merchant_charge["id"].as_str().unwrap())
            .await["amount_refunded"],
        1000
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_byte_in_the_reason_or_an_extreme_amount_is_a_field_error_also_when_retried() {
    let app = TestApp::start().await;
    let member = app.member();
    let charge = app.paid_charge(&member, 3_000).await;
    let path = refunds_path(&charge);

    for (body, field) in [
        (json!({"amount": 100, "reason": "broken\u{0}"}), "reason"),
        (json!({"amount": i64::MIN}), "amount"),
    ] {
        for _ in 0..2 {
            let refused = app.api.post(&app.admin, &path, Some("nul-r"), &body).await;
            let problem = assert_problem(refused, 422, "validation-error").await;
            assert_eq!(field_errors(&problem), [field], "{problem}");
        }
    }
    let too_much = app
        .api
        .post(
            &app.admin,
            &path,
            Some("max-r"),
            &json!({"amount": i64::MAX}),
        )
        .await;
    assert_problem(too_much, 422, "refund-exceeds-charge").await;
    assert_eq!(
        app.charge_status(charge["id"].as_str().unwrap()).await["amount_refunded"],
        0
    );
    // The refused requests never took the key.
    let refunded = app
        .api
        .post(
            &app.admin,
            &path,
            Some("nul-r"),
            &json!({"amount": 100, "reason": "broken"}),
        )
        .await;
    assert_eq!(refunded.status(), 201);
}
