//! Delivery guarantees against a real Kafka-protocol broker (librdkafka's mock cluster) and a
//! real Postgres: nothing lost between commit and publish, nothing applied twice, poison parked.

use events::proto::ChargeSucceeded;
use events::{
    Consumer, EventHandler, HandlerError, KafkaSettings, OutgoingEvent, ReceivedEvent, Relay,
};
use prost::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use sqlx::{PgConnection, PgPool};
use std::sync::Arc;
use std::time::Duration;
use testkit::{eventually, read_topic, TestInfra};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const TOPIC: &str = "charge.succeeded";

async fn setup() -> (TestInfra, PgPool, KafkaSettings) {
    let infra = TestInfra::start().await.unwrap();
    let pool = infra.pool("delivery").await.unwrap();
    events::MIGRATIONS.run(&pool).await.unwrap();
    sqlx::raw_sql("CREATE TABLE applied (event_id uuid NOT NULL, amount bigint NOT NULL)")
        .execute(&pool)
        .await
        .unwrap();
    let kafka = infra.kafka_settings();
    (infra, pool, kafka)
}

fn charge_event(amount: i64) -> OutgoingEvent {
    let member = Uuid::new_v4();
    OutgoingEvent::new(
        "payment",
        TOPIC,
        member,
        &ChargeSucceeded {
            charge_id: Uuid::new_v4().to_string(),
            member_id: member.to_string(),
            amount,
            currency: "AUD".into(),
            ..Default::default()
        },
    )
}

async fn commit_events(pool: &PgPool, events: &[OutgoingEvent]) {
    let mut tx = pool.begin().await.unwrap();
    for event in events {
        events::outbox::enqueue(&mut tx, event).await.unwrap();
    }
    tx.commit().await.unwrap();
}

fn event_ids(brokers: &str, expected: usize) -> Vec<String> {
    read_topic(brokers, TOPIC, expected, Duration::from_secs(10))
        .unwrap()
        .iter()
        .map(|m| m.header("event_id").unwrap())
        .collect()
}

async fn unpublished(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_relay_resumes_with_exactly_the_missing_events() {
    let (infra, pool, kafka) = setup().await;
    let first: Vec<_> = (1..=3).map(charge_event).collect();
    commit_events(&pool, &first).await;

    let shutdown = CancellationToken::new();
    let relay = tokio::spawn(
        Relay::new(pool.clone(), kafka.producer("relay").unwrap()).run(shutdown.clone()),
    );
    eventually(Duration::from_secs(10), || async {
        Ok((unpublished(&pool).await == 0).then_some(()))
    })
    .await
    .unwrap();
    shutdown.cancel();
    relay.await.unwrap().unwrap();

    // Committed while no relay runs: the state change happened, the events wait in the outbox.
    let second: Vec<_> = (4..=5).map(charge_event).collect();
    commit_events(&pool, &second).await;
    assert_eq!(unpublished(&pool).await, 2);
    assert_eq!(
        event_ids(&infra.brokers(), 3).len(),
        3,
        "nothing was published while the relay was down"
    );

    let shutdown = CancellationToken::new();
    let relay = tokio::spawn(
        Relay::new(pool.clone(), kafka.producer("relay").unwrap()).run(shutdown.clone()),
    );
    eventually(Duration::from_secs(10), || async {
        Ok((unpublished(&pool).await == 0).then_some(()))
    })
    .await
    .unwrap();
    shutdown.cancel();
    relay.await.unwrap().unwrap();

    let mut published = event_ids(&infra.brokers(), 5);
    published.sort();
    let mut expected: Vec<String> = first
        .iter()
        .chain(&second)
        .map(|e| e.event_id.to_string())
        .collect();
    expected.sort();
    assert_eq!(published, expected, "every event exactly once");
}

/// Records each charge's amount; refuses negative amounts as poison.
struct RecordAmounts;

#[async_trait::async_trait]
impl EventHandler for RecordAmounts {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        event: &ReceivedEvent,
    ) -> Result<(), HandlerError> {
        let charge: ChargeSucceeded = event.decode()?;
        if charge.amount < 0 {
            return Err(HandlerError::Permanent(anyhow::anyhow!("negative amount")));
        }
        sqlx::query("INSERT INTO applied (event_id, amount) VALUES ($1, $2)")
            .bind(event.event_id)
            .bind(charge.amount)
            .execute(conn)
            .await?;
        Ok(())
    }
}

async fn send_raw(producer: &FutureProducer, key: &str, payload: &[u8]) {
    producer
        .send(
            FutureRecord::to(TOPIC).key(key).payload(payload),
            Duration::from_secs(5),
        )
        .await
        .map_err(|(e, _)| e)
        .unwrap();
}

async fn applied(pool: &PgPool) -> Vec<i64> {
    sqlx::query_scalar("SELECT amount FROM applied ORDER BY amount")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_event_is_applied_once_and_poison_goes_to_the_dead_letter_topic() {
    let (infra, pool, kafka) = setup().await;
    let consumer = Consumer::new(
        "ledger",
        &[TOPIC],
        kafka.clone(),
        pool.clone(),
        Arc::new(RecordAmounts),
    );
    consumer.ensure_topics().await.unwrap();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(consumer.run(shutdown.clone()));

    // One partition key so every message lands on the same partition, in this order.
    let key = Uuid::new_v4().to_string();
    let producer = kafka.producer("test").unwrap();
    let once = charge_event(100);
    let bytes = once.envelope.encode_to_vec();
    send_raw(&producer, &key, &bytes).await;
    send_raw(&producer, &key, &bytes).await; // the same event delivered again
    send_raw(&producer, &key, b"\xff\x00 not an envelope").await; // undecodable
    send_raw(&producer, &key, &charge_event(-1).envelope.encode_to_vec()).await; // refused by the handler
    send_raw(&producer, &key, &charge_event(300).envelope.encode_to_vec()).await; // after the poison

    let amounts = eventually(Duration::from_secs(20), || async {
        let amounts = applied(&pool).await;
        Ok((amounts.len() >= 2).then_some(amounts))
    })
    .await
    .unwrap();
    assert_eq!(
        amounts,
        [100, 300],
        "the duplicate was applied once and the partition kept flowing past the poison"
    );

    let dead = read_topic(
        &infra.brokers(),
        "charge.succeeded.dlq.ledger",
        2,
        Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!(dead.len(), 2);
    assert!(dead[0]
        .header("dlq.error")
        .unwrap()
        .contains("not an event envelope"));
    assert_eq!(
        dead[0].payload.as_deref(),
        Some(&b"\xff\x00 not an envelope"[..])
    );
    assert!(dead[1]
        .header("dlq.error")
        .unwrap()
        .contains("negative amount"));
    assert_eq!(dead[1].header("dlq.topic").as_deref(), Some(TOPIC));

    shutdown.cancel();
    running.await.unwrap().unwrap();
    // Still exactly once after a restart from the committed offsets.
    assert_eq!(applied(&pool).await, [100, 300]);
}

/// The relay sleeps until the outbox trigger tells it of new rows: with its poll set to an hour,
/// only the notification can make it publish. Two schemas in one database (the fleet runner's
/// services) each have their own relay lock, so both relays publish at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_wakes_the_relay_of_its_schema_and_schemas_do_not_wait_for_each_other() {
    let (infra, pool, kafka) = setup().await;
    let other = infra.pool("delivery_other").await.unwrap();
    events::MIGRATIONS.run(&other).await.unwrap();

    let shutdown = CancellationToken::new();
    let relays: Vec<_> = [&pool, &other]
        .into_iter()
        .map(|schema| {
            tokio::spawn(
                Relay::new(schema.clone(), kafka.producer("relay").unwrap())
                    .with_idle_wait(Duration::from_secs(3600))
                    .run(shutdown.clone()),
            )
        })
        .collect();
    // Both relays have had their first look at an empty outbox and gone to sleep.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // One transaction in each schema holds its relay lock the whole time: the other schema's
    // relay must not care.
    let mut held = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))")
        .bind(0x7465_7373_i32)
        .execute(&mut *held)
        .await
        .unwrap();
    let in_other = charge_event(7);
    commit_events(&other, std::slice::from_ref(&in_other)).await;
    eventually(Duration::from_secs(10), || async {
        Ok((unpublished(&other).await == 0).then_some(()))
    })
    .await
    .expect("the other schema's relay is woken and not blocked by this schema's lock");
    held.rollback().await.unwrap();

    let in_first = charge_event(8);
    commit_events(&pool, std::slice::from_ref(&in_first)).await;
    eventually(Duration::from_secs(10), || async {
        Ok((unpublished(&pool).await == 0).then_some(()))
    })
    .await
    .expect("a commit wakes its schema's relay");

    let mut published = event_ids(&infra.brokers(), 2);
    published.sort();
    let mut expected = vec![in_other.event_id.to_string(), in_first.event_id.to_string()];
    expected.sort();
    assert_eq!(published, expected);
    shutdown.cancel();
    for relay in relays {
        relay.await.unwrap().unwrap();
    }
}

/// Events that wait on the broker are applied many to a transaction, in their partition's order,
/// each once; a poison event among them is dead-lettered alone and its neighbours still apply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_is_applied_in_batches_in_order_and_poison_among_it_is_parked_alone() {
    let (infra, pool, kafka) = setup().await;
    sqlx::raw_sql("ALTER TABLE applied ADD COLUMN seq bigserial")
        .execute(&pool)
        .await
        .unwrap();
    let consumer = || {
        Consumer::new(
            "ledger",
            &[TOPIC],
            kafka.clone(),
            pool.clone(),
            Arc::new(RecordAmounts),
        )
    };
    consumer().ensure_topics().await.unwrap();
    let key = Uuid::new_v4().to_string();
    let producer = kafka.producer("test").unwrap();
    let in_order = |pool: PgPool| async move {
        sqlx::query_scalar::<_, i64>("SELECT amount FROM applied ORDER BY seq")
            .fetch_all(&pool)
            .await
            .unwrap()
    };

    // A backlog of 200 events (one of them delivered twice) before the consumer starts.
    let repeated = charge_event(7).envelope.encode_to_vec();
    for amount in 1..=200 {
        let bytes = if amount == 7 {
            repeated.clone()
        } else {
            charge_event(amount).envelope.encode_to_vec()
        };
        send_raw(&producer, &key, &bytes).await;
    }
    send_raw(&producer, &key, &repeated).await;
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(consumer().run(shutdown.clone()));
    let amounts = eventually(Duration::from_secs(30), || async {
        let amounts = in_order(pool.clone()).await;
        Ok((amounts.len() >= 200).then_some(amounts))
    })
    .await
    .unwrap();
    assert_eq!(
        amounts,
        (1..=200).collect::<Vec<i64>>(),
        "each once, in order"
    );
    let transactions: i64 = sqlx::query_scalar("SELECT count(DISTINCT xmin::text) FROM applied")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        transactions <= 100,
        "200 waiting events took {transactions} transactions"
    );
    shutdown.cancel();
    running.await.unwrap().unwrap();

    // While the consumer is away: good events with a poison one among them.
    for amount in [201, 202, -1, 203, 204] {
        send_raw(
            &producer,
            &key,
            &charge_event(amount).envelope.encode_to_vec(),
        )
        .await;
    }
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(consumer().run(shutdown.clone()));
    let amounts = eventually(Duration::from_secs(30), || async {
        let amounts = in_order(pool.clone()).await;
        Ok((amounts.len() >= 204).then_some(amounts))
    })
    .await
    .unwrap();
    assert_eq!(amounts[200..], [201, 202, 203, 204]);
    let dead = read_topic(
        &infra.brokers(),
        "charge.succeeded.dlq.ledger",
        1,
        Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!(dead.len(), 1);
    assert!(dead[0]
        .header("dlq.error")
        .unwrap()
        .contains("negative amount"));
    // The inbox records what was applied, and the poison was not.
    let inbox: i64 = sqlx::query_scalar("SELECT count(*) FROM inbox WHERE consumer = 'ledger'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(inbox, 204);
    shutdown.cancel();
    running.await.unwrap().unwrap();
}
