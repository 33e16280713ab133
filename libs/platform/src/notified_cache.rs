//! A value read from Postgres and kept in memory until a trigger says it changed: a service's
//! configuration (a program's settings and rules) that every request needs and that staff change
//! a few times a day.
//!
//! The tables' trigger calls `pg_notify('<prefix>_<schema>', ..)`; [`NotifiedCache::listen`]
//! runs as a worker of the service and drops the value on every notification. While it is not
//! listening (starting, or its connection lost) nothing is cached: every caller loads afresh, so
//! a change can never be missed, only read one more time than needed.

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct NotifiedCache<T> {
    channel_prefix: &'static str,
    state: Mutex<State<T>>,
}

struct State<T> {
    value: Option<Arc<T>>,
    /// Bumped by every notification, so a load that raced one is not stored.
    generation: u64,
    listening: bool,
}

/// Where a load started: hand it back to [`NotifiedCache::store`].
#[derive(Debug, Clone, Copy)]
pub struct LoadTicket(Option<u64>);

impl<T: Send + Sync + 'static> NotifiedCache<T> {
    pub fn new(channel_prefix: &'static str) -> Arc<Self> {
        Arc::new(Self {
            channel_prefix,
            state: Mutex::new(State {
                value: None,
                generation: 0,
                listening: false,
            }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached value, or a ticket to load it with.
    pub fn get(&self) -> Result<Arc<T>, LoadTicket> {
        let state = self.state();
        match &state.value {
            Some(value) => Ok(Arc::clone(value)),
            None => Err(LoadTicket(state.listening.then_some(state.generation))),
        }
    }

    /// Keeps a loaded value, unless a change was notified since the load began (or nobody is
    /// listening for changes).
    pub fn store(&self, ticket: LoadTicket, value: Arc<T>) {
        let mut state = self.state();
        if state.listening && ticket.0 == Some(state.generation) {
            state.value = Some(value);
        }
    }

    /// Drops the value: for a change this process made, so its own next read sees it at once
    /// without waiting for the notification.
    pub fn invalidate(&self) {
        let mut state = self.state();
        state.value = None;
        state.generation += 1;
    }

    fn set_listening(&self, listening: bool) {
        let mut state = self.state();
        state.value = None;
        state.generation += 1;
        state.listening = listening;
    }

    /// Follows the change notifications until shutdown, reconnecting after a lost connection.
    pub async fn listen(
        self: Arc<Self>,
        pool: PgPool,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        while !shutdown.is_cancelled() {
            match self.subscribe(&pool).await {
                Ok(mut listener) => {
                    self.set_listening(true);
                    loop {
                        let received = tokio::select! {
                            _ = shutdown.cancelled() => break,
                            received = listener.try_recv() => received,
                        };
                        match received {
                            Ok(Some(_)) => self.invalidate(),
                            // `Ok(None)`: the connection was lost, and with it any notification
                            // sent meanwhile.
                            Ok(None) | Err(_) => break,
                        }
                    }
                    self.set_listening(false);
                }
                Err(e) => {
                    tracing::warn!(error = %e, channel = self.channel_prefix, "cannot listen for changes; not caching until it can");
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
        Ok(())
    }

    async fn subscribe(&self, pool: &PgPool) -> Result<PgListener, sqlx::Error> {
        let schema: String = sqlx::query_scalar("SELECT current_schema()")
            .fetch_one(pool)
            .await?;
        let mut listener = PgListener::connect_with(pool).await?;
        listener
            .listen(&format!("{}_{schema}", self.channel_prefix))
            .await?;
        Ok(listener)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_kept_while_not_listening() {
        let cache = NotifiedCache::<u32>::new("test");
        let ticket = cache.get().unwrap_err();
        cache.store(ticket, Arc::new(1));
        assert!(cache.get().is_err());
    }

    #[test]
    fn a_load_that_raced_a_change_is_not_kept() {
        let cache = NotifiedCache::<u32>::new("test");
        cache.set_listening(true);
        let stale = cache.get().unwrap_err();
        cache.invalidate();
        cache.store(stale, Arc::new(1));
        assert!(cache.get().is_err());
        let fresh = cache.get().unwrap_err();
        cache.store(fresh, Arc::new(2));
        assert_eq!(*cache.get().unwrap(), 2);
        cache.invalidate();
        assert!(cache.get().is_err());
    }
}
