//! Drives a scenario: closed loop (N connections, each sending its next request when the last
//! one is answered) or open loop (a fixed rate of arrivals, whatever the answers take).

use crate::stats::{Recorder, Summary};
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One request of a scenario: `(connection, iteration)` to the outcome.
pub type Step = Arc<dyn Fn(usize, u64) -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// How long and how hard.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub connections: usize,
    /// Requests answered during the warm-up are not counted.
    pub warmup: Duration,
    pub duration: Duration,
}

/// Runs `step` on `load.connections` connections for the warm-up and then the measured
/// duration; returns the measured figures.
pub async fn closed_loop(name: &str, load: Load, step: Step) -> Summary {
    let start = Instant::now();
    let measure_from = start + load.warmup;
    let end = measure_from + load.duration;
    let mut tasks = Vec::with_capacity(load.connections);
    for connection in 0..load.connections {
        let step = step.clone();
        tasks.push(tokio::spawn(async move {
            let mut recorder = Recorder::default();
            let mut iteration = 0u64;
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let outcome = step(connection, iteration).await;
                iteration += 1;
                if sent < measure_from {
                    continue;
                }
                match outcome {
                    Ok(()) => recorder.ok(sent.elapsed()),
                    Err(e) => recorder.error(e),
                }
            }
            recorder
        }));
    }
    let mut all = Recorder::default();
    for task in tasks {
        match task.await {
            Ok(recorder) => all.merge(recorder),
            Err(e) => all.error(format!("a connection's task failed: {e}")),
        }
    }
    all.summary(name, load.duration)
}

/// Starts `step` `rate` times a second for `duration` (no warm-up), each on its own task, and
/// waits up to `grace` after the last start for the stragglers. The step measures what it
/// wants itself and returns the latency to record.
pub async fn open_loop(
    name: &str,
    rate: f64,
    duration: Duration,
    grace: Duration,
    step: Arc<dyn Fn(u64) -> BoxFuture<'static, Result<Duration, String>> + Send + Sync>,
) -> Summary {
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let start = Instant::now();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::new();
    let mut n = 0u64;
    while start.elapsed() < duration {
        ticker.tick().await;
        let step = step.clone();
        tasks.push(tokio::spawn(async move { step(n).await }));
        n += 1;
    }
    let deadline = Instant::now() + grace;
    let mut all = Recorder::default();
    for task in tasks {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, task).await {
            Ok(Ok(Ok(latency))) => all.ok(latency),
            Ok(Ok(Err(e))) => all.error(e),
            Ok(Err(e)) => all.error(format!("a task failed: {e}")),
            Err(_) => all.error(format!("not done {grace:?} after the load ended")),
        }
    }
    all.summary(name, duration)
}
