//! The authentication limits (see `domain::limits`), kept in Redis so every instance shares them.

use crate::domain::limits::{self, FAILURE_MEMORY_SECS, WINDOW_SECS};
use crate::domain::PiiCipher;
use deadpool_redis::redis::AsyncCommands;
use platform::redis::RedisPool;
use platform::ApiError;

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
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        let (window, retry_after_secs) = limits::window(now);
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

    /// Counts a request naming `email` against the per-IP and per-account limits; returns the
    /// account key its lockout is counted under.
    pub async fn admit_account(
        &self,
        pii: &PiiCipher,
        ip: &str,
        email: &str,
    ) -> Result<String, ApiError> {
        let account = limits::account_key(pii, email);
        self.admit(ip, Some(&account)).await?;
        Ok(account)
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

    /// Records a failed login; locks the account once failures reach the threshold.
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
        if let Some(secs) = limits::lockout_secs(failures, self.lockout_after) {
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
