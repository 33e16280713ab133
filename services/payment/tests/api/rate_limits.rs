//! Charges are limited per caller and minute: a member (or a stolen member token) cannot flood
//! the PSPs, while a merchant backend keeps its much larger budget.

use crate::helpers::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_over_the_limit_gets_429_with_retry_after_and_others_go_on() {
    let app = TestApp::start_with(|settings| {
        settings.rate_limit.member_per_minute = 3;
        settings.rate_limit.partner_per_minute = 5;
    })
    .await;
    let member = app.member();
    for _ in 0..3 {
        assert_eq!(app.charge(&member, 500, "pm_card_visa").await.status(), 201);
    }
    let refused = app.charge(&member, 500, "pm_card_visa").await;
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_problem(refused, 429, "rate-limited").await;
    let refused_session = app
        .api
        .post(
            &member.token,
            "/api/v1/payments/checkout-sessions",
            Some("session-over-limit"),
            &json!({"amount": 500, "currency": "AUD", "success_url": "https://shop.example/ok"}),
        )
        .await;
    assert_eq!(
        refused_session.status(),
        201,
        "checkout sessions have a budget of their own"
    );

    // Another member and the merchant are not held back by this member's requests.
    assert_eq!(
        app.charge(&app.member(), 500, "pm_card_visa")
            .await
            .status(),
        201
    );
    let api = &app.api;
    let merchant_charge = |n: usize| {
        let key = format!("merchant-{n}");
        let token = app.merchant.clone();
        let member_id = member.id;
        async move {
            api
                .post(
                    &token,
                    CHARGES,
                    Some(&key),
                    &json!({"amount": 500, "currency": "AUD", "payment_method": "pm_card_visa", "member_id": member_id}),
                )
                .await
                .status()
        }
    };
    for n in 0..5 {
        assert_eq!(merchant_charge(n).await, 201);
    }
    assert_eq!(merchant_charge(5).await, 429);
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM charges")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 3 + 1 + 1 + 5, "refused requests create nothing");
}
