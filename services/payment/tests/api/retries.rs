//! The job queue: unknown outcomes are resolved by asking the PSP, transient failures retry
//! with backoff, and work out of attempts waits in the dead-letter queue for an admin.

use crate::helpers::*;
use events::proto::ChargeSucceeded;
use serde_json::Value;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_charge_is_resolved_by_asking_the_psp_never_by_charging_again() {
    // The PSP approves at once but answers only after 30 s; we give up waiting after 1 s.
    let app = TestApp::start_with(|s| s.stripe.timeout_ms = 1_000).await;
    // No webhook tells us the outcome: only asking the PSP can.
    app.point_webhooks_at("http://127.0.0.1:9").await;
    let member = app.member();
    let response = app.charge(&member, 4500, "pm_card_timeout").await;
    assert_eq!(response.status(), 202, "the outcome is not known yet");
    let charge: Value = response.json().await.unwrap();
    assert_eq!(charge["status"], "processing");
    let id = charge["id"].as_str().unwrap();

    let settled = app.wait_for_status(id, "succeeded").await;
    assert!(settled["psp_reference"]
        .as_str()
        .unwrap()
        .starts_with("pi_"));
    assert_eq!(app.intents_at_psp(id).await, 1, "one payment at the PSP");
    let events: Vec<ChargeSucceeded> = app.published("charge.succeeded", 1).await;
    assert_eq!(events.len(), 1, "one event");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_psp_error_is_retried_with_the_same_idempotency_key_until_it_succeeds() {
    let app = TestApp::start().await;
    let member = app.member();
    // 503 on the first call, approved on the retry.
    let response = app.charge(&member, 1200, "pm_card_flaky").await;
    assert_eq!(response.status(), 202);
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.wait_for_status(&id, "succeeded").await;
    assert_eq!(app.intents_at_psp(&id).await, 1);
    let (attempts, status): (i32, String) =
        sqlx::query_as("SELECT attempts, status FROM payment_jobs WHERE charge_id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((attempts, status.as_str()), (2, "done"));
}

async fn wait_until_dead(app: &TestApp, charge_id: &str) -> Value {
    testkit::eventually(Duration::from_secs(20), || async {
        let dead: Value = app.api.get(&app.support, DEAD_JOBS).await.json().await?;
        Ok(dead["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["charge_id"] == charge_id)
            .cloned())
    })
    .await
    .expect("the job reached the dead-letter queue")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhausted_retries_go_to_the_dead_letter_queue_and_an_admin_can_retry() {
    let app = TestApp::start().await;
    let member = app.member();
    let response = app.charge(&member, 800, "pm_card_error500").await;
    assert_eq!(response.status(), 202);
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let job = wait_until_dead(&app, &id).await;
    assert_eq!(job["attempts"], 3);
    assert_eq!(job["kind"], "authorize");
    assert!(job["last_error"].as_str().unwrap().contains("500"), "{job}");
    // Nothing was guessed: the charge is still waiting for a known outcome.
    assert_eq!(app.charge_status(&id).await["status"], "processing");

    // Members never see the queue; support may look but not retry.
    let job_id = job["id"].as_str().unwrap();
    assert_problem(
        app.api.get(&member.token, DEAD_JOBS).await,
        403,
        "forbidden",
    )
    .await;
    let by_support = app.retry_job(&app.support, job_id).await;
    assert_problem(by_support, 403, "forbidden").await;

    let retried = app.retry_job(&app.admin, job_id).await;
    assert_eq!(retried.status(), 202);
    // A job that is not dead cannot be retried twice over.
    let again = app.retry_job(&app.admin, job_id).await;
    assert!([202, 409].contains(&again.status().as_u16()));

    // The PSP still fails, so the job runs its attempts again and lands back in the queue.
    testkit::eventually(Duration::from_secs(20), || async {
        let (status, attempts): (String, i32) =
            sqlx::query_as("SELECT status, attempts FROM payment_jobs WHERE id = $1::uuid")
                .bind(job_id)
                .fetch_one(&app.pool)
                .await?;
        Ok((status == "dead" && attempts == 3).then_some(()))
    })
    .await
    .expect("the retried job ran again");
    let calls_at_psp = app.intents_at_psp(&id).await;
    assert_eq!(calls_at_psp, 0, "a 500 creates nothing at the PSP");
}
