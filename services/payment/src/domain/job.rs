//! PSP work: a job is `queued` (waiting for its time), `running` (leased by one runner),
//! `done`, or `dead` (out of attempts, waiting for an admin).

use chrono::{DateTime, Utc};
use std::fmt;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Authorize,
    Refund,
    /// Takes the money of a payment the payer approved at the PSP.
    Capture,
}

impl JobKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            JobKind::Authorize => "authorize",
            JobKind::Refund => "refund",
            JobKind::Capture => "capture",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Authorize, Self::Refund, Self::Capture]
            .into_iter()
            .find(|k| k.as_str() == value)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Dead,
}

impl JobStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Dead => "dead",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Queued, Self::Running, Self::Done, Self::Dead]
            .into_iter()
            .find(|s| s.as_str() == value)
    }

    /// Queued jobs are leased; a lease ends done, back in the queue, or dead; an admin gives a
    /// dead job new attempts; an abandoned lease is taken over. Done is final.
    pub fn can_become(&self, next: JobStatus) -> bool {
        use JobStatus::*;
        matches!(
            (self, next),
            (Queued, Running | Done)
                | (Running, Running | Queued | Done | Dead)
                | (Dead, Queued | Done)
        )
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: Uuid,
    pub kind: JobKind,
    pub charge_id: Uuid,
    pub refund_id: Option<Uuid>,
    pub status: JobStatus,
    pub attempts: i32,
    pub max_attempts: i32,
    /// Whether a request may have reached the PSP: a retry then asks the PSP first.
    pub psp_contacted: bool,
    pub run_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Job {
    /// Whether a failed attempt leaves another one.
    pub fn has_attempts_left(&self) -> bool {
        self.attempts < self.max_attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_is_final_and_only_dead_jobs_are_revived() {
        use JobStatus::*;
        assert!(Dead.can_become(Queued));
        assert!(!Done.can_become(Queued));
        assert!(!Queued.can_become(Dead));
        assert_eq!(JobStatus::parse("dead"), Some(Dead));
        assert_eq!(JobKind::parse("capture"), Some(JobKind::Capture));
    }
}
