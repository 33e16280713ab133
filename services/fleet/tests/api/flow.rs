//! The first flow end to end: register, log in, pay, earn, read the balance.

use crate::helpers::*;
use events::proto::ChargeSucceeded;
use events::OutgoingEvent;
use prost::Message;
use rdkafka::producer::FutureRecord;
use serde_json::Value;
use std::time::Duration;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_payment_earns_points_visible_in_the_balance_and_the_admin_read_model() {
    let app = TestFleet::start().await;
    let member = app.member().await;

    let response = app
        .charge(&member.token, Some("order-1001"), &visa(12345))
        .await;
    assert_eq!(response.status(), 201);
    let charge: Value = response.json().await.unwrap();
    assert_eq!(charge["status"], "succeeded");
    assert_eq!(charge["amount"], 12345);
    assert_eq!(charge["currency"], "AUD");

    // 123.45 AUD at BRONZE 1.00x: 123 points, via charge.succeeded -> point -> points.earned.
    let balance = app.wait_for_points(&member, 123).await;
    assert_eq!(balance["user_id"], member.id.to_string());
    assert_eq!(balance["pending_points"], 0);
    assert_eq!(balance["tier"], "BRONZE");
    assert_eq!(balance["tier_multiplier"], 1.0);

    // The admin service's read model counted the points.earned event.
    let admin = app.admin_token().await;
    let summary = testkit::eventually(Duration::from_secs(10), || async {
        let response = app
            .get(
                Some(&admin),
                &format!("/api/v1/admin/members/{}", member.id),
            )
            .await;
        if response.status() != 200 {
            return Ok(None);
        }
        let body: Value = response.json().await?;
        Ok((body["points_earned_total"] == 123).then_some(body))
    })
    .await
    .expect("the admin read model shows the earned points");
    assert_eq!(summary["charges_succeeded"], 1);

    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_card_fails_the_charge_and_earns_nothing() {
    let app = TestFleet::start().await;
    let member = app.member().await;
    let declined = serde_json::json!({ "amount": 5000, "currency": "AUD", "payment_method": "pm_card_chargeDeclined" });
    let response = app
        .charge(&member.token, Some("declined-1"), &declined)
        .await;
    assert_eq!(response.status(), 201);
    let charge: Value = response.json().await.unwrap();
    assert_eq!(charge["status"], "failed");
    assert_eq!(charge["failure_code"], "generic_decline");

    // A later successful charge is the only one that counts.
    assert_eq!(
        app.charge(&member.token, Some("ok-1"), &visa(1000))
            .await
            .status(),
        201
    );
    let balance = app.wait_for_points(&member, 10).await;
    assert_eq!(balance["lifetime_points"], 10);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_succeeded_event_delivered_twice_earns_once() {
    let app = TestFleet::start().await;
    let member = app.member().await;
    let event = OutgoingEvent::new(
        "payment",
        events::topics::CHARGE_SUCCEEDED,
        member.id,
        &ChargeSucceeded {
            charge_id: Uuid::new_v4().to_string(),
            member_id: member.id.to_string(),
            amount: 25_000,
            currency: "AUD".into(),
            kind: "purchase".into(),
            ..Default::default()
        },
    );
    let producer = app.infra.kafka_settings().producer("test").unwrap();
    let bytes = event.envelope.encode_to_vec();
    for _ in 0..2 {
        producer
            .send(
                FutureRecord::to(events::topics::CHARGE_SUCCEEDED)
                    .key(&member.id.to_string())
                    .payload(&bytes),
                Duration::from_secs(5),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }
    app.wait_for_points(&member, 250).await;
    // Then a second, different event for the same member proves the first pair was fully
    // processed (same partition, in order) without a second earn.
    assert_eq!(
        app.charge(&member.token, Some("after"), &visa(100))
            .await
            .status(),
        201
    );
    let balance = app.wait_for_points(&member, 251).await;
    assert_eq!(balance["lifetime_points"], 251);

    // The ledger explains the balance: the member's entries sum to it, all entries to zero.
    let points = app.infra.pool("points").await.unwrap();
    let (member_sum, all_sum): (i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(amount) FILTER (WHERE member_id = $1), 0)::bigint, COALESCE(SUM(amount), 0)::bigint FROM ledger_entries",
    )
    .bind(member.id)
    .fetch_one(&points)
    .await
    .unwrap();
    assert_eq!(member_sum, 251);
    assert_eq!(all_sum, 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balances_are_private_to_their_member() {
    let app = TestFleet::start().await;
    let alice = app.member().await;
    let bob = app.member().await;
    assert_eq!(
        app.charge(&alice.token, Some("a"), &visa(500))
            .await
            .status(),
        201
    );
    app.wait_for_points(&alice, 5).await;

    assert_problem(app.balance(&bob.token, alice.id).await, 403, "forbidden").await;
    assert_problem(
        app.get(None, &format!("/api/v1/points/{}/balance", alice.id))
            .await,
        401,
        "unauthorized",
    )
    .await;
    assert_problem(
        app.balance("not-a-token", alice.id).await,
        401,
        "unauthorized",
    )
    .await;
    // A charge is invisible to other members: it looks missing.
    let charge: Value = app
        .charge(&alice.token, Some("b"), &visa(500))
        .await
        .json()
        .await
        .unwrap();
    let path = format!(
        "/api/v1/payments/charges/{}",
        charge["id"].as_str().unwrap()
    );
    assert_eq!(app.get(Some(&alice.token), &path).await.status(), 200);
    assert_problem(app.get(Some(&bob.token), &path).await, 404, "not-found").await;
    // Staff may read any member's balance.
    let admin = app.admin_token().await;
    assert_eq!(app.balance(&admin, alice.id).await.status(), 200);
    app.stop().await;
}
