//! The whole fleet on the broker `scripts/run` starts by default (tansu, a process of its own
//! with its events on disk): charges become points through it, and a broker killed with
//! `kill -9` and restarted loses nothing it accepted.

use crate::helpers::*;
use localinfra::{free_port, PrivateBroker};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charges_earn_points_through_the_durable_broker_across_its_crash() {
    let dir = localinfra::workspace_target_dir()
        .join("fleet-tests")
        .join(format!("broker-{}", uuid::Uuid::now_v7()));
    let broker = PrivateBroker::new(&dir, free_port());
    let running = broker
        .ensure_running_as_owner()
        .await
        .expect("the broker starts");
    let app = TestFleet::start_on(Some(&running.bootstrap_servers)).await;
    let member = app.member().await;
    assert_eq!(
        app.charge(&member.token, Some("before-crash"), &visa(2_000))
            .await
            .status(),
        201
    );
    app.wait_for_points(&member, 20).await;

    // The broker dies hard while the fleet keeps running and taking charges: their events wait
    // in the payment service's outbox until the broker is back.
    let pid = std::fs::read_to_string(dir.join("tansu.pid")).unwrap();
    assert!(std::process::Command::new("kill")
        .args(["-9", pid.trim()])
        .status()
        .unwrap()
        .success());
    std::mem::forget(running);
    assert_eq!(
        app.charge(&member.token, Some("during-outage"), &visa(3_000))
            .await
            .status(),
        201
    );
    let restarted = broker
        .ensure_running_as_owner()
        .await
        .expect("it starts again");
    assert!(restarted.started_here());
    assert_eq!(
        app.charge(&member.token, Some("after-restart"), &visa(4_000))
            .await
            .status(),
        201
    );
    // Exactly once each: 20 + 30 + 40, no more, no less.
    app.wait_for_points(&member, 90).await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let balance: serde_json::Value = app
        .balance(&member.token, member.id)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(balance["total_points"], 90, "{balance}");
    app.stop().await;
    restarted.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}
