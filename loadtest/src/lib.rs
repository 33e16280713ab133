//! Load tests of the fleet. `loadtest/bench` runs them for real (release build, private
//! Postgres, every scenario beside its baseline) through the `tessera-bench` binary; the smoke
//! test in `tests/` runs each scenario for seconds so the harness keeps working.

pub mod api;
pub mod baseline;
pub mod pgbench;
pub mod procstat;
pub mod report;
pub mod runner;
pub mod scenarios;
pub mod stats;
pub mod suite;
