//! Idempotency keys on charges: a retry gets the stored answer, another body is refused, and a
//! duplicate in flight is refused rather than run twice.

use crate::helpers::*;
use deadpool_redis::redis::AsyncCommands;
use serde_json::{json, Value};

fn visa(amount: i64) -> Value {
    json!({"amount": amount, "currency": "AUD", "payment_method": "pm_card_visa"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_make_one_charge_and_retries_replay_it() {
    let app = TestApp::start().await;
    let member = app.member();
    let body = visa(1500);
    let responses = futures::future::join_all(
        (0..6).map(|_| app.api.post(&member.token, CHARGES, Some("tap-tap"), &body)),
    )
    .await;
    let mut ids = Vec::new();
    for response in responses {
        match response.status().as_u16() {
            201 => ids.push(response.json::<Value>().await.unwrap()["id"].clone()),
            409 => {
                assert_problem(response, 409, "idempotency-key-in-use").await;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(!ids.is_empty() && ids.iter().all(|id| *id == ids[0]));
    let charges: i64 = sqlx::query_scalar("SELECT count(*) FROM charges")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(charges, 1);
    assert_eq!(app.intents_at_psp(ids[0].as_str().unwrap()).await, 1);

    let replay = app
        .api
        .post(&member.token, CHARGES, Some("tap-tap"), &visa(1500))
        .await;
    assert_eq!(replay.status(), 201);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.json::<Value>().await.unwrap()["id"], ids[0]);
    let other_body = app
        .api
        .post(&member.token, CHARGES, Some("tap-tap"), &visa(1600))
        .await;
    assert_problem(other_body, 422, "idempotency-key-reused").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_responses_outlive_the_cache_because_postgres_holds_them() {
    let app = TestApp::start().await;
    let member = app.member();
    let first: Value = app
        .api
        .post(&member.token, CHARGES, Some("k-1"), &visa(900))
        .await
        .json()
        .await
        .unwrap();

    // The response is cached in Redis for 24 hours...
    let namespace = app
        .infra
        .service_settings(SCHEMA, "")
        .redis_namespace(SCHEMA);
    let redis = platform::redis::connect(&app.infra.redis_url).unwrap();
    let mut conn = redis.get().await.unwrap();
    let keys: Vec<String> = conn
        .keys(format!("{namespace}:idempotency:*"))
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let ttl: i64 = conn.ttl(&keys[0]).await.unwrap();
    assert!((86_000..=86_400).contains(&ttl), "{ttl}");
    // ...and when the cache loses it, Postgres still answers with the same charge.
    let _: () = conn.del(&keys[0]).await.unwrap();
    let replay = app
        .api
        .post(&member.token, CHARGES, Some("k-1"), &visa(900))
        .await;
    assert_eq!(replay.status(), 201);
    assert_eq!(replay.json::<Value>().await.unwrap()["id"], first["id"]);
    let charges: i64 = sqlx::query_scalar("SELECT count(*) FROM charges")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(charges, 1);
}
