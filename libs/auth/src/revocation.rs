//! Access tokens stop working within seconds of a logout, an erasure or a partner client's
//! revocation, although they are verified locally and live up to 15 minutes.
//!
//! The user service writes each revocation to one sorted set in the fleet's Redis (member: what
//! is revoked, score: when); every service copies new entries into its verifier once a second
//! ([`crate::JwtVerifier::sync_revocations`]), so a request costs a map lookup, not a round
//! trip. A revoked session (`s:<sid>`, one login) refuses the tokens carrying its `sid`; a
//! revoked subject (`u:<sub>`, an erased member or a revoked partner client) refuses every token
//! of that subject. Entries are kept for a day, far longer than any access token lives.

use chrono::Utc;
use deadpool_redis::redis::AsyncCommands;
use platform::redis::RedisPool;
use std::collections::HashMap;
use uuid::Uuid;

/// The sorted set every service reads.
pub const KEY: &str = "tessera:auth:revocations";
/// How long an entry is kept, seconds.
const KEPT_SECS: i64 = 24 * 60 * 60;
/// Entries newer than the last one seen minus this are read again, so a write whose clock is a
/// little behind is not skipped.
const OVERLAP_SECS: i64 = 30;

/// What a revocation refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// One login: the tokens whose `sid` is this refresh-token family.
    Session(Uuid),
    /// Every token of this subject: an erased member, a revoked partner client.
    Subject(Uuid),
}

impl Revoked {
    fn member(&self) -> String {
        match self {
            Revoked::Session(sid) => format!("s:{sid}"),
            Revoked::Subject(sub) => format!("u:{sub}"),
        }
    }
}

/// Records a revocation (the user service). An error means it was not recorded: the caller
/// must fail the logout or erasure rather than report success.
pub async fn revoke(redis: &RedisPool, what: Revoked) -> anyhow::Result<()> {
    let now = Utc::now().timestamp();
    let mut conn = redis.get().await?;
    let () = conn.zadd(KEY, what.member(), now).await?;
    let () = conn.zrembyscore(KEY, "-inf", now - KEPT_SECS).await?;
    Ok(())
}

/// A verifier's copy of the revocations.
#[derive(Default)]
pub(crate) struct RevocationList {
    entries: HashMap<String, i64>,
    /// The newest revocation time read so far.
    newest: i64,
}

impl RevocationList {
    pub(crate) fn refuses(&self, subject: Uuid, session: Option<Uuid>) -> bool {
        self.entries
            .contains_key(&Revoked::Subject(subject).member())
            || session.is_some_and(|sid| self.entries.contains_key(&Revoked::Session(sid).member()))
    }

    /// The score from which to read.
    pub(crate) fn read_from(&self) -> i64 {
        self.newest - OVERLAP_SECS
    }

    pub(crate) fn add(&mut self, read: Vec<(String, i64)>) {
        for (member, at) in read {
            self.newest = self.newest.max(at);
            self.entries.insert(member, at);
        }
        let cutoff = Utc::now().timestamp() - KEPT_SECS;
        self.entries.retain(|_, at| *at > cutoff);
    }
}

/// Entries of the sorted set from `from` on.
pub(crate) async fn read(redis: &RedisPool, from: i64) -> anyhow::Result<Vec<(String, i64)>> {
    let mut conn = redis.get().await?;
    Ok(conn.zrangebyscore_withscores(KEY, from, "+inf").await?)
}
