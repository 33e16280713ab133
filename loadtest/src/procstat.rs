//! CPU and memory of a process, from `/proc` (Linux).

use std::time::{Duration, Instant};

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// User + system CPU time of `pid` so far, seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command may hold spaces: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

/// Resident memory of `pid`, MB.
pub fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// One process at rest.
#[derive(Debug, Clone)]
pub struct Idle {
    pub name: String,
    /// Share of one core, percent.
    pub cpu_percent: f64,
    pub rss_mb: f64,
}

/// Measures each of `pids` over the same `window`.
pub async fn idle(pids: &[(String, u32)], window: Duration) -> Vec<Idle> {
    let start = Instant::now();
    let before: Vec<Option<f64>> = pids.iter().map(|(_, pid)| cpu_seconds(*pid)).collect();
    tokio::time::sleep(window).await;
    let elapsed = start.elapsed().as_secs_f64();
    pids.iter()
        .zip(before)
        .map(|((name, pid), before)| {
            let after = cpu_seconds(*pid);
            Idle {
                name: name.clone(),
                cpu_percent: match (before, after) {
                    (Some(b), Some(a)) => (a - b) / elapsed * 100.0,
                    _ => f64::NAN,
                },
                rss_mb: rss_mb(*pid).unwrap_or(f64::NAN),
            }
        })
        .collect()
}
