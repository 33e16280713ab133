//! Balances are kept in memory by every instance of the service. What a member sees must still
//! follow every change to their account, wherever it is made: this instance's own writes at
//! once, and another instance's, a consumer's, a job's or an operator's through the accounts'
//! notification.

use crate::helpers::{balance_path, TestApp};
use serde_json::Value;
use std::time::Duration;
use uuid::Uuid;

/// A change straight in the database with triggers off (`session_replication_role = replica`):
/// nothing notifies the service, so a balance it kept stays as it was.
async fn change_unannounced(app: &TestApp, member: Uuid, sql: &str) {
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(sql)
        .bind(member)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_balance_follows_every_change_to_the_account_wherever_it_is_made() {
    let app = TestApp::start().await;
    let member = app.member().await;
    let own_balance = || async {
        let response = app.api.get(&member.token, &balance_path(member.id)).await;
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()
    };

    // Each write through this instance shows in the member's very next read.
    for round in 1..=20 {
        let earned = app
            .earn_points(member.id, 10, &format!("round-{round}"))
            .await;
        assert_eq!(earned.status(), 201);
        assert_eq!(own_balance().await["total_points"], 10 * round);
    }

    // Once the earns' own notifications have come in, the balance read next is kept...
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(own_balance().await["total_points"], 200);
    // ...and served from memory: a change nobody announces is not seen...
    change_unannounced(
        &app,
        member.id,
        "UPDATE accounts SET pending = pending + 7 WHERE member_id = $1",
    )
    .await;
    assert_eq!(own_balance().await["pending_points"], 0, "read from memory");

    // ...while a change made anywhere else notifies every instance, and the next read has it
    // (and the unannounced one with it, read afresh).
    sqlx::query("UPDATE accounts SET pending = pending + 1 WHERE member_id = $1")
        .bind(member.id)
        .execute(&app.pool)
        .await
        .unwrap();
    app.wait_for(member.id, |b| b["pending_points"] == 8).await;

    // A change of the tiers reaches every kept balance.
    let before = own_balance().await;
    sqlx::query("UPDATE tiers SET multiplier_bp = multiplier_bp + 10 WHERE code = $1")
        .bind(before["tier"].as_str().unwrap())
        .execute(&app.pool)
        .await
        .unwrap();
    app.wait_for(member.id, |b| {
        b["tier_multiplier"] != before["tier_multiplier"]
    })
    .await;
}

/// Some of a balance changes with the clock alone: a kept balance is not served past the moment
/// it would read differently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_balance_is_not_served_past_the_end_of_a_tier_override() {
    let app = TestApp::start().await;
    let member = app.member().await;
    sqlx::query(
        "UPDATE accounts SET override_tier = 'GOLD', override_reason = 'launch week',
                override_expires_at = now() + interval '2 seconds'
          WHERE member_id = $1",
    )
    .bind(member.id)
    .execute(&app.pool)
    .await
    .unwrap();
    let during = app.wait_for(member.id, |b| b["tier"] == "GOLD").await;
    assert_eq!(during["tier_override_reason"], "launch week");
    // Kept from here on: nothing is written when the override runs out.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let after = app.balance(member.id).await;
    assert_eq!(after["tier"], "BRONZE", "{after}");
    assert_eq!(after["tier_override_reason"], Value::Null);
}
