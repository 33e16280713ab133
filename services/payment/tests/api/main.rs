//! The payment service against the PSP sandbox over real HTTP, with real Postgres, Redis and a
//! Kafka-protocol broker.

mod cards;
mod charges;
mod checkout;
mod helpers;
mod idempotency;
mod operations;
mod paypal;
mod rate_limits;
mod refunds;
mod retries;
mod stranded_keys;
mod webhooks;
mod withdrawals;
