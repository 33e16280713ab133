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
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
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
        follow(self.channel_prefix, &pool, &shutdown, |event| match event {
            Followed::Listening(listening) => self.set_listening(listening),
            Followed::Changed(_) => self.invalidate(),
        })
        .await;
        Ok(())
    }
}

enum Followed<'a> {
    /// Listening started (`true`) or the connection, and any notification sent meanwhile, was
    /// lost (`false`).
    Listening(bool),
    /// A notification and its payload.
    Changed(&'a str),
}

/// Listens on `<prefix>_<schema>` until shutdown, reconnecting a second after a lost connection,
/// and tells `on` what happened.
async fn follow(
    channel_prefix: &str,
    pool: &PgPool,
    shutdown: &CancellationToken,
    mut on: impl FnMut(Followed<'_>),
) {
    while !shutdown.is_cancelled() {
        match subscribe(channel_prefix, pool).await {
            Ok(mut listener) => {
                on(Followed::Listening(true));
                loop {
                    let received = tokio::select! {
                        _ = shutdown.cancelled() => break,
                        received = listener.try_recv() => received,
                    };
                    match received {
                        Ok(Some(notification)) => on(Followed::Changed(notification.payload())),
                        // `Ok(None)`: the connection was lost, and with it any notification
                        // sent meanwhile.
                        Ok(None) | Err(_) => break,
                    }
                }
                on(Followed::Listening(false));
            }
            Err(e) => {
                tracing::warn!(error = %e, channel = channel_prefix, "cannot listen for changes; not caching until it can");
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

async fn subscribe(channel_prefix: &str, pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let schema: String = sqlx::query_scalar("SELECT current_schema()")
        .fetch_one(pool)
        .await?;
    let mut listener = PgListener::connect_with(pool).await?;
    listener
        .listen(&format!("{channel_prefix}_{schema}"))
        .await?;
    Ok(listener)
}

/// Values per key (a member's balance, say), each dropped when a notification names its key;
/// an empty payload drops them all. The same rules as [`NotifiedCache`]: nothing is kept while
/// not listening, and a load that raced a change of its key is not kept. An entry also goes
/// stale at the time its loader gives, for values that change with the clock.
pub struct NotifiedMap<V> {
    channel_prefix: &'static str,
    capacity: usize,
    state: Mutex<MapState<V>>,
}

struct MapState<V> {
    entries: HashMap<String, Slot<V>>,
    /// Bumped by every notification.
    generation: u64,
    /// Loads that began before this generation are not kept (everything was dropped since).
    cleared_at: u64,
    listening: bool,
}

enum Slot<V> {
    Value {
        value: Arc<V>,
        fresh_until: Instant,
    },
    /// The key changed at this generation: a load that began before it is not kept.
    Changed {
        generation: u64,
        at: Instant,
    },
}

/// Whether a new key fits, after dropping stale values and markers no load can need any more.
fn make_room<V>(entries: &mut HashMap<String, Slot<V>>, capacity: usize, now: Instant) -> bool {
    if entries.len() >= capacity {
        entries.retain(|_, slot| match slot {
            Slot::Value { fresh_until, .. } => *fresh_until > now,
            Slot::Changed { at, .. } => now.duration_since(*at) <= LONGEST_LOAD,
        });
    }
    entries.len() < capacity
}

/// Where a load of one key started: hand it back to [`NotifiedMap::store`].
#[derive(Debug, Clone, Copy)]
pub struct KeyTicket {
    generation: Option<u64>,
    started: Instant,
}

/// A load that takes longer than this is not kept, so a change marker older than it can go.
const LONGEST_LOAD: Duration = Duration::from_secs(10);

impl<V: Send + Sync + 'static> NotifiedMap<V> {
    /// At most `capacity` keys are kept; beyond it, loads are served but not kept.
    pub fn new(channel_prefix: &'static str, capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            channel_prefix,
            capacity,
            state: Mutex::new(MapState {
                entries: HashMap::new(),
                generation: 0,
                cleared_at: 0,
                listening: false,
            }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, MapState<V>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value kept for `key` if it is still fresh, or a ticket to load it with.
    pub fn get(&self, key: &str) -> Result<Arc<V>, KeyTicket> {
        let state = self.state();
        let now = Instant::now();
        if let Some(Slot::Value { value, fresh_until }) = state.entries.get(key) {
            if now < *fresh_until {
                return Ok(Arc::clone(value));
            }
        }
        Err(KeyTicket {
            generation: state.listening.then_some(state.generation),
            started: now,
        })
    }

    /// Keeps a loaded value until `fresh_until`, unless its key changed since the load began,
    /// nobody is listening, or the map is full.
    pub fn store(&self, key: &str, ticket: KeyTicket, value: Arc<V>, fresh_until: Instant) {
        let Some(began) = ticket.generation else {
            return;
        };
        let now = Instant::now();
        if now.duration_since(ticket.started) > LONGEST_LOAD || fresh_until <= now {
            return;
        }
        let mut state = self.state();
        if !state.listening || began < state.cleared_at {
            return;
        }
        match state.entries.get(key) {
            Some(Slot::Changed { generation, .. }) if *generation > began => return,
            Some(_) => {}
            None => {
                if !make_room(&mut state.entries, self.capacity, now) {
                    return;
                }
            }
        }
        state
            .entries
            .insert(key.to_owned(), Slot::Value { value, fresh_until });
    }

    /// Drops the value of `key`: for a change this process made, so its own next read sees it
    /// at once without waiting for the notification.
    pub fn invalidate(&self, key: &str) {
        let mut state = self.state();
        let now = Instant::now();
        if !state.entries.contains_key(key) && !make_room(&mut state.entries, self.capacity, now) {
            // No room for the marker: dropping everything refuses the racing load all the same.
            drop(state);
            return self.clear();
        }
        state.generation += 1;
        let generation = state.generation;
        // A marker in the value's place: a load of this key that began before the change is
        // not kept.
        state.entries.insert(
            key.to_owned(),
            Slot::Changed {
                generation,
                at: now,
            },
        );
    }

    /// Drops every value.
    pub fn clear(&self) {
        let mut state = self.state();
        state.generation += 1;
        state.cleared_at = state.generation;
        state.entries.clear();
    }

    fn set_listening(&self, listening: bool) {
        self.clear();
        self.state().listening = listening;
    }

    /// Follows the change notifications until shutdown, reconnecting after a lost connection.
    pub async fn listen(
        self: Arc<Self>,
        pool: PgPool,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        follow(self.channel_prefix, &pool, &shutdown, |event| match event {
            Followed::Listening(listening) => self.set_listening(listening),
            Followed::Changed("") => self.clear(),
            Followed::Changed(key) => self.invalidate(key),
        })
        .await;
        Ok(())
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

    fn listening_map(capacity: usize) -> Arc<NotifiedMap<u32>> {
        let map = NotifiedMap::new("test", capacity);
        map.set_listening(true);
        map
    }

    fn in_a_minute() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[test]
    fn a_key_is_not_kept_while_not_listening() {
        let map = NotifiedMap::<u32>::new("test", 10);
        let ticket = map.get("a").unwrap_err();
        map.store("a", ticket, Arc::new(1), in_a_minute());
        assert!(map.get("a").is_err());
    }

    #[test]
    fn a_load_that_raced_a_change_of_its_key_is_not_kept_and_other_keys_are() {
        let map = listening_map(10);
        let a = map.get("a").unwrap_err();
        let b = map.get("b").unwrap_err();
        map.invalidate("a");
        map.store("a", a, Arc::new(1), in_a_minute());
        map.store("b", b, Arc::new(2), in_a_minute());
        assert!(
            map.get("a").is_err(),
            "a value read before its change was kept"
        );
        assert_eq!(*map.get("b").unwrap(), 2);

        let a = map.get("a").unwrap_err();
        map.store("a", a, Arc::new(3), in_a_minute());
        assert_eq!(*map.get("a").unwrap(), 3);
        map.invalidate("a");
        assert!(map.get("a").is_err());
        assert_eq!(*map.get("b").unwrap(), 2);
    }

    #[test]
    fn clearing_drops_every_key_and_every_load_under_way() {
        let map = listening_map(10);
        let a = map.get("a").unwrap_err();
        map.store("a", a, Arc::new(1), in_a_minute());
        let b = map.get("b").unwrap_err();
        map.clear();
        map.store("b", b, Arc::new(2), in_a_minute());
        assert!(map.get("a").is_err());
        assert!(map.get("b").is_err());
    }

    #[test]
    fn a_value_goes_stale_at_its_time() {
        let map = listening_map(10);
        let a = map.get("a").unwrap_err();
        map.store(
            "a",
            a,
            Arc::new(1),
            Instant::now() + Duration::from_millis(30),
        );
        assert_eq!(*map.get("a").unwrap(), 1);
        std::thread::sleep(Duration::from_millis(40));
        assert!(map.get("a").is_err());
    }

    #[test]
    fn a_full_map_serves_loads_without_keeping_them_and_never_forgets_a_change() {
        let map = listening_map(2);
        for key in ["a", "b"] {
            let ticket = map.get(key).unwrap_err();
            map.store(key, ticket, Arc::new(1), in_a_minute());
        }
        let c = map.get("c").unwrap_err();
        map.store("c", c, Arc::new(1), in_a_minute());
        assert!(
            map.get("c").is_err(),
            "a third key was kept in a map of two"
        );
        // No room for a change marker of a new key while a load of it is under way: the
        // change still wins.
        let c = map.get("c").unwrap_err();
        map.invalidate("c");
        map.store("c", c, Arc::new(2), in_a_minute());
        assert!(map.get("c").is_err());
    }
}
