//! Latencies and outcomes of one scenario, and their percentiles.
//!
//! Every latency is kept (microseconds, 4 bytes each): a run of minutes at tens of thousands of
//! requests a second is a few megabytes, and the percentiles are exact.

use std::time::Duration;

/// What one connection (or one open-loop task) saw.
#[derive(Debug, Default, Clone)]
pub struct Recorder {
    latencies_us: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

impl Recorder {
    pub fn ok(&mut self, latency: Duration) {
        self.latencies_us
            .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
    }

    pub fn error(&mut self, error: String) {
        self.errors += 1;
        self.first_error.get_or_insert(error);
    }

    pub fn merge(&mut self, other: Recorder) {
        self.latencies_us.extend(other.latencies_us);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    pub fn summary(mut self, name: &str, elapsed: Duration) -> Summary {
        self.latencies_us.sort_unstable();
        let ok = self.latencies_us.len() as u64;
        Summary {
            name: name.to_owned(),
            ok,
            errors: self.errors,
            elapsed,
            throughput: ok as f64 / elapsed.as_secs_f64().max(1e-9),
            p50_ms: percentile_ms(&self.latencies_us, 0.50),
            p99_ms: percentile_ms(&self.latencies_us, 0.99),
            max_ms: self
                .latencies_us
                .last()
                .map_or(0.0, |&us| f64::from(us) / 1000.0),
            first_error: self.first_error,
        }
    }
}

/// The `q` quantile (nearest rank) of sorted microseconds, in milliseconds.
pub fn percentile_ms(sorted_us: &[u32], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted_us.len() as f64).ceil() as usize).clamp(1, sorted_us.len());
    f64::from(sorted_us[rank - 1]) / 1000.0
}

/// One scenario's figures.
#[derive(Debug, Clone)]
pub struct Summary {
    pub name: String,
    /// Requests that got the expected answer.
    pub ok: u64,
    pub errors: u64,
    pub elapsed: Duration,
    /// Successful requests a second.
    pub throughput: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub first_error: Option<String>,
}

impl Summary {
    /// Figures from a sorted list of latencies measured elsewhere (pgbench's log).
    pub fn from_sorted(name: &str, sorted_us: &[u32], errors: u64, elapsed: Duration) -> Summary {
        Summary {
            name: name.to_owned(),
            ok: sorted_us.len() as u64,
            errors,
            elapsed,
            throughput: sorted_us.len() as f64 / elapsed.as_secs_f64().max(1e-9),
            p50_ms: percentile_ms(sorted_us, 0.50),
            p99_ms: percentile_ms(sorted_us, 0.99),
            max_ms: sorted_us.last().map_or(0.0, |&us| f64::from(us) / 1000.0),
            first_error: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let us: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        assert_eq!(percentile_ms(&us, 0.50), 50.0);
        assert_eq!(percentile_ms(&us, 0.99), 99.0);
        assert_eq!(percentile_ms(&[], 0.99), 0.0);
    }
}
