//! Abuse limits on the authentication endpoints, kept in Redis so every instance shares them:
//! a fixed window of requests per minute per client IP and per account, and a lockout that
//! doubles with each further failure once an account has failed too often in a row.
//!
//! Accounts are keyed by the keyed hash of the email, so Redis never holds an address, and
//! unknown emails are counted and locked exactly like real ones: the limits must not reveal
//! whether an account exists.

use deadpool_redis::redis::AsyncCommands;
use platform::redis::RedisPool;
use platform::ApiError;

const WINDOW_SECS: u64 = 60;
/// Failures are forgotten an hour after the last one.
const FAILURE_MEMORY_SECS: u64 = 3600;
const FIRST_LOCKOUT_SECS: u64 = 30;
const MAX_LOCKOUT_SECS: u64 = 3600;

pub struct AuthLimits {
    redis: RedisPool,
    /// Prefix of every key: instances of one deployment share counters, deployments that share
    /// a Redis (or tests, each with its own database) do not.
    namespace: String,
    per_minute: u32,
    lockout_after: u32,
}

impl AuthLimits {
    pub fn new(redis: RedisPool, namespace: String, per_minute: u32, lockout_after: u32) -> Self {
        Self {
            redis,
            namespace,
            per_minute,
            lockout_after,
        }
    }

    /// Counts one authentication request from `ip` (and for `account`, when the request names
    /// one); refuses it with 429 and `Retry-After` when either is over the limit.
    pub async fn admit(&self, ip: &str, account: Option<&str>) -> Result<(), ApiError> {
        let now = chrono::Utc::now().timestamp() as u64;
        let window = now / WINDOW_SECS;
        let retry_after_secs = WINDOW_SECS - now % WINDOW_SECS;
        let mut keys = vec![format!("{}:auth:rate:ip:{ip}:{window}", self.namespace)];
        if let Some(account) = account {
            keys.push(format!(
                "{}:auth:rate:account:{account}:{window}",
                self.namespace
            ));
        }
        for key in keys {
            let count = self.incr_with_ttl(&key, WINDOW_SECS).await;
            if count.is_some_and(|c| c > u64::from(self.per_minute)) {
                return Err(ApiError::TooManyRequests { retry_after_secs });
            }
        }
        Ok(())
    }

    /// 429 while the account is locked out.
    pub async fn check_lockout(&self, account: &str) -> Result<(), ApiError> {
        let ttl: Option<i64> = match self.redis.get().await {
            Ok(mut conn) => conn
                .ttl(format!("{}:auth:locked:{account}", self.namespace))
                .await
                .ok(),
            Err(e) => {
                tracing::error!(error = %e, "Redis unavailable: lockout not checked");
                None
            }
        };
        match ttl {
            Some(secs) if secs > 0 => Err(ApiError::TooManyRequests {
                retry_after_secs: secs as u64,
            }),
            _ => Ok(()),
        }
    }

    /// Records a failed login; locks the account once failures reach the threshold, for
    /// 30 s, then 60 s, 120 s, ... up to an hour.
    pub async fn record_failure(&self, account: &str) {
        let Some(failures) = self
            .incr_with_ttl(
                &format!("{}:auth:failures:{account}", self.namespace),
                FAILURE_MEMORY_SECS,
            )
            .await
        else {
            return;
        };
        if failures >= u64::from(self.lockout_after) {
            let doublings = (failures - u64::from(self.lockout_after)).min(16) as u32;
            let secs = (FIRST_LOCKOUT_SECS << doublings).min(MAX_LOCKOUT_SECS);
            if let Ok(mut conn) = self.redis.get().await {
                let _: Result<(), _> = conn
                    .set_ex(format!("{}:auth:locked:{account}", self.namespace), 1, secs)
                    .await;
            }
            tracing::warn!(
                lockout_secs = secs,
                "account locked after repeated login failures"
            );
        }
    }

    pub async fn record_success(&self, account: &str) {
        if let Ok(mut conn) = self.redis.get().await {
            let _: Result<(), _> = conn
                .del(format!("{}:auth:failures:{account}", self.namespace))
                .await;
        }
    }

    /// INCR and, for a new key, EXPIRE, atomically. `None` if Redis is unreachable: the limits
    /// then let requests through (logged), so a Redis outage does not lock everyone out.
    async fn incr_with_ttl(&self, key: &str, ttl_secs: u64) -> Option<u64> {
        let mut conn = match self.redis.get().await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::error!(error = %e, "Redis unavailable: authentication limits not applied");
                return None;
            }
        };
        let result: Result<(u64,), _> = deadpool_redis::redis::pipe()
            .atomic()
            .incr(key, 1)
            .expire(key, ttl_secs as i64)
            .ignore()
            .query_async(&mut conn)
            .await;
        match result {
            Ok((count,)) => Some(count),
            Err(e) => {
                tracing::error!(error = %e, "Redis error: authentication limits not applied");
                None
            }
        }
    }
}
