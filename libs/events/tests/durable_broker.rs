//! The fleet's default broker keeps what it accepted: events produced by the idempotent
//! producer survive the broker being killed (`kill -9`) and restarted on the same storage.
//! Runs the real `tansu` broker as a process (scripts/test installs it).

use events::KafkaSettings;
use localinfra::{free_port, PrivateBroker};
use rdkafka::producer::FutureRecord;
use std::time::Duration;

const TOPIC: &str = "durability.check";

async fn read_back(bootstrap: &str, expected: usize) -> Vec<Vec<u8>> {
    let bootstrap = bootstrap.to_owned();
    tokio::task::spawn_blocking(move || {
        testkit::read_topic(&bootstrap, TOPIC, expected, Duration::from_secs(20))
    })
    .await
    .unwrap()
    .unwrap()
    .into_iter()
    .map(|m| m.payload.unwrap_or_default())
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_events_survive_a_killed_broker() {
    let dir = localinfra::workspace_target_dir()
        .join("events-tests")
        .join(format!("broker-{}", uuid::Uuid::now_v7()));
    let broker = PrivateBroker::new(&dir, free_port());
    let running = broker
        .ensure_running_as_owner()
        .await
        .expect("the broker starts");
    assert!(running.started_here());
    let kafka = KafkaSettings::new(running.bootstrap_servers.clone());
    kafka.ensure_topics(&[TOPIC]).await.unwrap();
    let producer = kafka.producer("durability-test").unwrap();
    for n in 0..20 {
        let payload = format!("event-{n}");
        producer
            .send(
                FutureRecord::to(TOPIC).key("member").payload(&payload),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .expect("the broker acknowledges the event");
    }
    drop(producer);
    assert_eq!(read_back(&running.bootstrap_servers, 20).await.len(), 20);

    // A crash: no shutdown, no flush.
    let pid = std::fs::read_to_string(dir.join("tansu.pid")).unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-9", pid.trim()])
        .status()
        .unwrap();
    assert!(killed.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!localinfra::answers(&running.bootstrap_servers).await);
    std::mem::forget(running);

    let restarted = broker
        .ensure_running_as_owner()
        .await
        .expect("it starts again");
    let events = read_back(&restarted.bootstrap_servers, 20).await;
    let expected: Vec<Vec<u8>> = (0..20).map(|n| format!("event-{n}").into_bytes()).collect();
    assert_eq!(events, expected, "every acknowledged event, once, in order");
    restarted.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}
