//! The reconciler: a charge the payment service recorded but whose event nobody received (as
//! when a broker loses it) is found, published again and applied; one a consumer cannot apply
//! is escalated instead of republished forever; staff roles are checked.

use crate::helpers::*;
use serde_json::Value;
use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

/// A charge the payment service holds as succeeded five minutes ago, whose `charge.succeeded`
/// never reached the broker: written straight to its tables, with no outbox row.
async fn charge_whose_event_was_lost(
    payments: &PgPool,
    member: Uuid,
    amount: i64,
    currency: &str,
) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO charges (id, member_id, created_by, kind, amount, currency, payment_method,
                              status, psp, psp_reference)
         VALUES ($1, $2, 'user:' || $2::text, 'purchase', $3, $4, 'pm_card_visa', 'succeeded',
                 'stripe', 'pi_lost_' || $1::text)",
    )
    .bind(id)
    .bind(member)
    .bind(amount)
    .bind(currency)
    .execute(payments)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO charge_transitions (charge_id, from_status, to_status, cause, created_at)
         VALUES ($1, 'processing', 'succeeded', 'psp', now() - interval '5 minutes')",
    )
    .bind(id)
    .execute(payments)
    .await
    .unwrap();
    id
}

/// Waits until the back office counts `charges` succeeded charges for the member.
async fn wait_for_back_office_charges(app: &TestFleet, admin: &str, member: Uuid, charges: i64) {
    testkit::eventually(std::time::Duration::from_secs(30), || async {
        let activity: Value = app
            .get(Some(admin), &format!("/api/v1/admin/members/{member}"))
            .await
            .json()
            .await?;
        Ok((activity["charges_succeeded"] == charges).then_some(()))
    })
    .await
    .unwrap_or_else(|_| panic!("the back office never counted {charges} charges"));
}

async fn start_run(app: &TestFleet, token: &str) -> reqwest::Response {
    app.http
        .post(app.url("/api/v1/admin/reconciliation/runs"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn run(app: &TestFleet, token: &str) -> Value {
    let response = start_run(app, token).await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// The differences of a run, as `(pair, charge id, action)`, sorted.
fn differences(run: &Value) -> Vec<(String, String, String)> {
    let mut found: Vec<_> = run["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["pair"].as_str().unwrap().to_owned(),
                d["reference_id"].as_str().unwrap().to_owned(),
                d["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

fn diff(pair: &str, charge: Uuid, action: &str) -> (String, String, String) {
    (pair.to_owned(), charge.to_string(), action.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_whose_event_was_lost_is_found_republished_and_earns_its_points_once() {
    let app = TestFleet::start().await;
    let admin = app.admin_token().await;
    let member = app.member().await;
    let payments = app.infra.pool("payments").await.unwrap();

    // One charge that went through, moved out of the grace period, so it is compared too.
    let paid = app
        .charge(&member.token, Some("reconciled-1"), &visa(2000))
        .await;
    assert_eq!(paid.status(), 201);
    let paid: Value = paid.json().await.unwrap();
    app.wait_for_points(&member, 20).await;
    // The admin service consumes charge.succeeded too: until it has, the run would find that
    // pair missing as well.
    testkit::eventually(Duration::from_secs(20), || async {
        let activity = app
            .get(
                Some(&admin),
                &format!("/api/v1/admin/members/{}", member.id),
            )
            .await;
        if activity.status() != 200 {
            return Ok(None);
        }
        let activity: Value = activity.json().await?;
        Ok((activity["charges_succeeded"] == 1).then_some(()))
    })
    .await
    .expect("the admin service records the charge");
    sqlx::query(
        "UPDATE charge_transitions SET created_at = created_at - interval '5 minutes'
          WHERE charge_id = $1::uuid",
    )
    .bind(paid["id"].as_str().unwrap())
    .execute(&payments)
    .await
    .unwrap();
    // And one the broker lost.
    let lost = charge_whose_event_was_lost(&payments, member.id, 5000, "AUD").await;

    let first = run(&app, &admin).await;
    assert_eq!(first["run"]["checked"], 2, "{first}");
    assert_eq!(first["run"]["differences"], 2, "{first}");
    assert_eq!(
        first["run"]["republished"], 1,
        "one republish serves both consumers: {first}"
    );
    assert!(first["run"]["error"].is_null(), "{first}");
    assert_eq!(
        differences(&first),
        vec![
            diff("charge.succeeded -> admin", lost, "republished"),
            diff("charge.succeeded -> point", lost, "republished"),
        ]
    );

    // The republished event is applied by both consumers: 50 more points, a second charge in
    // the back office.
    app.wait_for_points(&member, 70).await;
    wait_for_back_office_charges(&app, &admin, member.id, 2).await;

    // Nothing is left to find, and running again changes nothing: no points twice.
    let second = run(&app, &admin).await;
    assert_eq!(second["run"]["checked"], 2, "{second}");
    assert_eq!(second["run"]["differences"], 0, "{second}");
    assert_eq!(second["run"]["republished"], 0, "{second}");
    let balance: Value = app
        .balance(&member.token, member.id)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(balance["total_points"], 70);

    // Staff see every run and what it found; the metrics count the repair.
    let runs: Value = app
        .get(Some(&admin), "/api/v1/admin/reconciliation/runs")
        .await
        .json()
        .await
        .unwrap();
    let listed: Vec<&str> = runs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        vec![
            second["run"]["id"].as_str().unwrap(),
            first["run"]["id"].as_str().unwrap()
        ]
    );
    let details: Value = app
        .get(
            Some(&admin),
            &format!(
                "/api/v1/admin/reconciliation/runs/{}",
                first["run"]["id"].as_str().unwrap()
            ),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(differences(&details), differences(&first));
    let metrics = reqwest::get(format!("{}/metrics", app.fleet().urls.admin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"reconciliation_republished_total{pair="charge.succeeded -> point",service="admin"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"reconciliation_differences{pair="charge.succeeded -> point",service="admin"} 0"#
        ),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_a_consumer_cannot_apply_is_republished_once_then_left_for_a_person() {
    let app = TestFleet::start().await;
    let admin = app.admin_token().await;
    let member = app.member().await;
    let payments = app.infra.pool("payments").await.unwrap();
    // The program earns in AUD: the point service refuses (dead-letters) a USD purchase.
    let usd = charge_whose_event_was_lost(&payments, member.id, 5000, "USD").await;

    let first = run(&app, &admin).await;
    assert_eq!(
        differences(&first),
        vec![
            diff("charge.succeeded -> admin", usd, "republished"),
            diff("charge.succeeded -> point", usd, "republished"),
        ]
    );
    // The back office applies it; the point service dead-letters it again.
    wait_for_back_office_charges(&app, &admin, member.id, 1).await;

    let second = run(&app, &admin).await;
    assert_eq!(
        differences(&second),
        vec![diff("charge.succeeded -> point", usd, "needs_attention")],
        "republishing again would not help: {second}"
    );
    assert_eq!(second["run"]["republished"], 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_start_runs_and_only_staff_read_them() {
    let app = TestFleet::start().await;
    let admin = app.admin_token().await;
    let member = app.member().await;
    assert_problem(start_run(&app, &member.token).await, 403, "forbidden").await;
    let listed = app
        .get(Some(&member.token), "/api/v1/admin/reconciliation/runs")
        .await;
    assert_problem(listed, 403, "forbidden").await;
    assert_problem(
        app.get(
            Some(&admin),
            &format!("/api/v1/admin/reconciliation/runs/{}", Uuid::now_v7()),
        )
        .await,
        404,
        "not-found",
    )
    .await;

    // The producer's and the consumer's reconciliation endpoints refuse members and partners
    // without the `reconcile` scope.
    let (_, partner) = app
        .partner_client(&admin, &["payments:read", "points:read"])
        .await;
    for token in [member.token.as_str(), partner.as_str()] {
        let listed = app
            .get(
                Some(token),
                "/api/v1/payments/reconciliation/succeeded-charges?since=2026-01-01T00:00:00Z&until=2027-01-01T00:00:00Z",
            )
            .await;
        assert_problem(listed, 403, "forbidden").await;
        let republished = app
            .http
            .post(app.url("/api/v1/payments/reconciliation/republish"))
            .bearer_auth(token)
            .json(&serde_json::json!({"charge_ids": [Uuid::now_v7()]}))
            .send()
            .await
            .unwrap();
        assert_problem(republished, 403, "forbidden").await;
        let applied = app
            .http
            .post(app.url("/api/v1/points/reconciliation/applied"))
            .bearer_auth(token)
            .json(&serde_json::json!({"event_ids": [Uuid::now_v7()]}))
            .send()
            .await
            .unwrap();
        assert_problem(applied, 403, "forbidden").await;
    }
    app.stop().await;
}

/// The schedule runs by itself (`ADMIN__RECONCILER__INTERVAL_SECS`, read by the fleet runner
/// like every `ADMIN__` setting) and repairs what it finds with nobody asking.
#[test]
fn the_scheduled_run_finds_and_repairs_a_lost_charge_by_itself() {
    // Before any thread of the test starts: the fleet reads its settings from the environment.
    std::env::set_var("ADMIN__RECONCILER__INTERVAL_SECS", "1");
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let app = TestFleet::start().await;
            let admin = app.admin_token().await;
            let member = app.member().await;
            let payments = app.infra.pool("payments").await.unwrap();
            let lost = charge_whose_event_was_lost(&payments, member.id, 4000, "AUD").await;

            app.wait_for_points(&member, 40).await;
            wait_for_back_office_charges(&app, &admin, member.id, 1).await;
            let runs: Value = app
                .get(Some(&admin), "/api/v1/admin/reconciliation/runs?limit=100")
                .await
                .json()
                .await
                .unwrap();
            let scheduled: Vec<&Value> = runs["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["started_by"] == "schedule")
                .collect();
            let repairing = scheduled
                .iter()
                .find(|r| r["republished"] == 1)
                .unwrap_or_else(|| panic!("no scheduled run republished the charge: {runs}"));
            let details: Value = app
                .get(
                    Some(&admin),
                    &format!(
                        "/api/v1/admin/reconciliation/runs/{}",
                        repairing["id"].as_str().unwrap()
                    ),
                )
                .await
                .json()
                .await
                .unwrap();
            assert!(
                differences(&details).contains(&diff(
                    "charge.succeeded -> point",
                    lost,
                    "republished"
                )),
                "{details}"
            );
            app.stop().await;
        });
}
