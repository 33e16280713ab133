//! Per-caller rate limits on the endpoints that move money or cost the most (charges, checkout
//! sessions, refunds, earns, holds, redemptions), shared by every instance through Redis.
//!
//! A fixed one-minute window per caller and limit name: the first request of a window creates
//! its counter with a 60-second expiry, each request increments it, and one over the limit is
//! refused with 429 and `Retry-After` (the seconds left in the window). Members, and partner
//! clients and staff, have separate budgets: a POS sends far more earns than a person pays.
//!
//! If Redis cannot be reached the request is let through and the failure logged: the limits
//! protect capacity and slow abuse; the money itself is protected by idempotency and the ledger.

use crate::problem::ApiError;
use crate::redis::RedisPool;
use deadpool_redis::redis::AsyncCommands;

const WINDOW_SECS: u64 = 60;

/// Requests a minute, by kind of caller.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub struct Budget {
    /// Per member.
    pub member_per_minute: u32,
    /// Per partner client or staff user.
    pub partner_per_minute: u32,
}

/// Who is asking, for the choice of budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Member,
    PartnerOrStaff,
}

#[derive(Clone)]
pub struct RateLimiter {
    redis: RedisPool,
    /// Prefix of every key: instances of one deployment share counters, deployments (or tests)
    /// that share a Redis do not.
    namespace: String,
    budget: Budget,
}

impl RateLimiter {
    pub fn new(redis: RedisPool, namespace: String, budget: Budget) -> Self {
        Self {
            redis,
            namespace,
            budget,
        }
    }

    /// Counts one request of `caller_key` (e.g. `Principal::scope_key`) against the limit
    /// `name` (e.g. `charges`); 429 once over the budget for this minute.
    pub async fn admit(
        &self,
        name: &str,
        caller: Caller,
        caller_key: &str,
    ) -> Result<(), ApiError> {
        let limit = match caller {
            Caller::Member => self.budget.member_per_minute,
            Caller::PartnerOrStaff => self.budget.partner_per_minute,
        };
        let now = chrono::Utc::now().timestamp().max(0).unsigned_abs();
        let window = now / WINDOW_SECS;
        let retry_after_secs = WINDOW_SECS - now % WINDOW_SECS;
        let key = format!("{}:rate:{name}:{caller_key}:{window}", self.namespace);
        match self.count(&key).await {
            Ok(count) if count > u64::from(limit) => {
                Err(ApiError::TooManyRequests { retry_after_secs })
            }
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, limit = name, "rate limit not checked: Redis unavailable");
                Ok(())
            }
        }
    }

    async fn count(&self, key: &str) -> anyhow::Result<u64> {
        let mut conn = self.redis.get().await?;
        let count: u64 = conn.incr(key, 1).await?;
        if count == 1 {
            let () = conn.expire(key, WINDOW_SECS as i64).await?;
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(member: u32, partner: u32) -> RateLimiter {
        let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        RateLimiter::new(
            crate::redis::connect(&url.into()).unwrap(),
            format!("rate-test-{}", uuid::Uuid::now_v7()),
            Budget {
                member_per_minute: member,
                partner_per_minute: partner,
            },
        )
    }

    #[tokio::test]
    async fn each_caller_has_its_own_budget_per_limit() {
        let limits = limiter(2, 3);
        for _ in 0..2 {
            limits
                .admit("charges", Caller::Member, "user:a")
                .await
                .unwrap();
        }
        let refused = limits
            .admit("charges", Caller::Member, "user:a")
            .await
            .unwrap_err();
        match refused {
            ApiError::TooManyRequests { retry_after_secs } => {
                assert!((1..=60).contains(&retry_after_secs))
            }
            other => panic!("expected 429, got {other:?}"),
        }
        // Another member, another limit, and a partner's larger budget are counted apart.
        limits
            .admit("charges", Caller::Member, "user:b")
            .await
            .unwrap();
        limits
            .admit("refunds", Caller::Member, "user:a")
            .await
            .unwrap();
        for _ in 0..3 {
            limits
                .admit("charges", Caller::PartnerOrStaff, "partner:p")
                .await
                .unwrap();
        }
        assert!(limits
            .admit("charges", Caller::PartnerOrStaff, "partner:p")
            .await
            .is_err());
    }

    #[tokio::test]
    async fn without_redis_requests_pass() {
        let limits = RateLimiter::new(
            crate::redis::connect(&"redis://127.0.0.1:1".to_owned().into()).unwrap(),
            "rate-test-down".into(),
            Budget {
                member_per_minute: 0,
                partner_per_minute: 0,
            },
        );
        assert!(limits
            .admit("charges", Caller::Member, "user:a")
            .await
            .is_ok());
    }
}
