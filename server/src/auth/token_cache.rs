//! Bearer tokens this process resolved lately, kept only while PostgreSQL tells it of every change
//! to the tokens. Without it every API request costs a round trip for its token before its own
//! statement (bench-scale: a stamp's problems at 4,516 req/s with the lookup, 6,194 without).
//!
//! A change that can refuse a token (revoked, scope, stamp, name, hash, deleted; a stamp
//! renamed) makes the database notify `CHANNEL` when it commits (migration
//! `20261205090000_token_change_notify.sql`); [`listen`] empties the cache on each notification.
//! So a token revoked on this server is refused by the very next request (the API's revocation
//! empties the cache itself, before it answers), and one revoked elsewhere (`token revoke`,
//! another replica) as soon as the notification arrives, milliseconds after the commit. Nothing
//! is served from memory while the listener is not subscribed (before it first is, after its
//! connection is lost), and an entry lives at most `MAX_AGE` whatever happens. A lookup that
//! began before an invalidation does not store what it read (`Generation`), so a revocation that
//! commits while a request is reading the token cannot be undone by that request.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::Principal;

/// The channel the database notifies on a change to the tokens.
pub const CHANNEL: &str = "stampbook_tokens";

/// The longest an entry is served, notifications or not.
pub const MAX_AGE: Duration = Duration::from_secs(30);

/// Tokens kept at most; a full cache stores nothing more until it is emptied.
const CAPACITY: usize = 10_000;

/// The cache's state when a lookup began; a lookup stores what it read only under the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation(u64);

#[derive(Default)]
pub struct TokenCache {
    inner: Mutex<Inner>,
    from_memory: AtomicU64,
    from_database: AtomicU64,
}

#[derive(Default)]
struct Inner {
    /// Bumped by every invalidation.
    generation: u64,
    /// The listener is subscribed: only then is anything stored or served.
    listening: bool,
    /// By the token's hash (`tokens::hash`).
    entries: HashMap<Vec<u8>, Entry>,
}

struct Entry {
    principal: Principal,
    stored: Instant,
    /// When the database last recorded the token's use (`principal::touch_last_used`).
    last_used: Option<DateTime<Utc>>,
}

impl TokenCache {
    /// The caller of `hash` and when its use was last recorded, if kept and fresh at `now`.
    pub fn get(&self, hash: &[u8], now: Instant) -> Option<(Principal, Option<DateTime<Utc>>)> {
        let found = self.lock().and_then(|inner| {
            let e = inner.entries.get(hash)?;
            (inner.listening && now.saturating_duration_since(e.stored) < MAX_AGE)
                .then(|| (e.principal.clone(), e.last_used))
        });
        let counter = if found.is_some() {
            &self.from_memory
        } else {
            &self.from_database
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Taken before reading a token from the database; `None` while nothing may be stored.
    pub fn generation(&self) -> Option<Generation> {
        let inner = self.lock()?;
        inner.listening.then_some(Generation(inner.generation))
    }

    /// Keeps what a lookup read under `seen`, unless the tokens changed since (or the listener
    /// went away, or the cache is full).
    pub fn store(
        &self,
        seen: Generation,
        hash: Vec<u8>,
        principal: Principal,
        last_used: Option<DateTime<Utc>>,
        now: Instant,
    ) {
        let Some(mut inner) = self.lock() else { return };
        if !inner.listening || inner.generation != seen.0 || inner.entries.len() >= CAPACITY {
            return;
        }
        let entry = Entry {
            principal,
            stored: now,
            last_used,
        };
        inner.entries.insert(hash, entry);
    }

    /// The token's use was recorded at `at`.
    pub fn used(&self, hash: &[u8], at: DateTime<Utc>) {
        if let Some(e) = self.lock().as_mut().and_then(|i| i.entries.get_mut(hash)) {
            e.last_used = Some(at);
        }
    }

    /// The tokens changed: forget every one, and let no lookup under way store what it read.
    pub fn invalidate(&self) {
        if let Some(mut inner) = self.lock() {
            inner.generation = inner.generation.wrapping_add(1);
            inner.entries.clear();
        }
    }

    /// The listener subscribed (`true`) or lost its connection (`false`); either way what was
    /// kept is forgotten (changes may have gone unheard).
    pub fn listening(&self, on: bool) {
        if let Some(mut inner) = self.lock() {
            inner.listening = on;
            inner.generation = inner.generation.wrapping_add(1);
            inner.entries.clear();
        }
    }

    /// `/metrics`: where token lookups were answered, and whether the cache is in use.
    pub fn render(&self, out: &mut String) {
        let name = "stampbook_token_lookups_total";
        let _ = writeln!(
            out,
            "# HELP {name} Bearer token lookups, by where they were answered (memory only while the server hears every change to the tokens)."
        );
        let _ = writeln!(out, "# TYPE {name} counter");
        for (answered, n) in [
            ("memory", &self.from_memory),
            ("database", &self.from_database),
        ] {
            let _ = writeln!(
                out,
                "{name}{{answered=\"{answered}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        let listening = self.lock().is_some_and(|i| i.listening);
        let name = "stampbook_token_cache_listening";
        let _ = writeln!(
            out,
            "# HELP {name} 1 while the server hears every change to the tokens (and so may answer lookups from memory)."
        );
        let _ = writeln!(out, "# TYPE {name} gauge\n{name} {}", u8::from(listening));
    }

    /// A poisoned lock (a panic while holding it) disables the cache: every lookup goes to the
    /// database.
    fn lock(&self) -> Option<std::sync::MutexGuard<'_, Inner>> {
        self.inner.lock().ok()
    }
}

/// Hears the database's notifications of token changes for as long as the server runs,
/// reconnecting after a lost connection; the cache serves only while it is subscribed and has
/// seen a notification of its own arrive (a connection pooler in transaction mode accepts
/// LISTEN but delivers nothing: then every token is looked up in the database). It holds one
/// connection of `pool` for good (docs/CONFIGURATION.md says so); a pool of its own outlived the
/// server it served, which kept each test's database from being dropped for 5 s.
pub async fn listen(pool: sqlx::PgPool, cache: std::sync::Arc<TokenCache>) {
    loop {
        let wait = match subscribe(&pool).await {
            Ok(mut listener) => {
                cache.listening(true);
                // `Ok(None)`: the connection was lost; notifications may have been missed
                while let Ok(Some(_)) = listener.try_recv().await {
                    cache.invalidate();
                }
                cache.listening(false);
                tracing::warn!("token changes: the listening connection was lost; reconnecting");
                Duration::from_secs(1)
            }
            Err(e) => {
                tracing::warn!(error = %e, "token changes are not heard: every bearer token is looked up in the database");
                Duration::from_secs(30)
            }
        };
        tokio::time::sleep(wait).await;
    }
}

/// A listener on `CHANNEL` that has received a notification sent through `pool` (5 s at most).
async fn subscribe(pool: &sqlx::PgPool) -> Result<sqlx::postgres::PgListener, sqlx::Error> {
    let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    let probe = format!("probe {}", uuid::Uuid::new_v4());
    sqlx::query!(
        r#"select 1 as "sent!" from (select pg_notify('stampbook_tokens', $1)) n"#,
        probe
    )
    .fetch_one(pool)
    .await?;
    let heard = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(n) = listener.try_recv().await? {
            if n.payload() == probe {
                return Ok(true);
            }
        }
        Ok::<_, sqlx::Error>(false)
    })
    .await;
    match heard {
        Ok(Ok(true)) => Ok(listener),
        Ok(Err(e)) => Err(e),
        Ok(Ok(false)) | Err(_) => Err(sqlx::Error::Protocol(
            "a notification sent on the token channel never arrived".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::tokens::Scope;

    fn reader() -> Principal {
        Principal {
            token_id: 7,
            name: "reader".into(),
            scope: Scope::Read,
            stamp_id: None,
            stamp_name: None,
            directory: false,
        }
    }

    fn listening_cache() -> TokenCache {
        let c = TokenCache::default();
        c.listening(true);
        c
    }

    #[test]
    fn nothing_is_kept_or_served_until_the_listener_is_subscribed() {
        let c = TokenCache::default();
        assert_eq!(c.generation(), None);
        c.store(Generation(0), b"h".to_vec(), reader(), None, Instant::now());
        assert!(c.get(b"h", Instant::now()).is_none());
    }

    #[test]
    fn a_stored_token_is_served_until_the_tokens_change() {
        let c = listening_cache();
        let now = Instant::now();
        let g = c.generation().unwrap();
        c.store(g, b"h".to_vec(), reader(), None, now);
        assert_eq!(c.get(b"h", now).unwrap().0.name, "reader");
        c.invalidate();
        assert!(c.get(b"h", now).is_none());
    }

    #[test]
    fn a_lookup_that_began_before_a_change_does_not_store_what_it_read() {
        let c = listening_cache();
        let before = c.generation().unwrap();
        // the revocation commits and is heard while the lookup reads the (old) row
        c.invalidate();
        c.store(before, b"h".to_vec(), reader(), None, Instant::now());
        assert!(c.get(b"h", Instant::now()).is_none());
    }

    #[test]
    fn losing_the_listener_forgets_everything_and_stops_serving() {
        let c = listening_cache();
        let g = c.generation().unwrap();
        c.store(g, b"h".to_vec(), reader(), None, Instant::now());
        c.listening(false);
        assert!(c.get(b"h", Instant::now()).is_none());
        assert_eq!(c.generation(), None);
        c.store(g, b"h".to_vec(), reader(), None, Instant::now());
        assert!(c.get(b"h", Instant::now()).is_none());
    }

    #[test]
    fn an_entry_lives_at_most_max_age() {
        let c = listening_cache();
        let then = Instant::now();
        c.store(c.generation().unwrap(), b"h".to_vec(), reader(), None, then);
        assert!(
            c.get(b"h", then + MAX_AGE - Duration::from_millis(1))
                .is_some()
        );
        assert!(c.get(b"h", then + MAX_AGE).is_none());
    }

    #[test]
    fn a_full_cache_stores_nothing_more() {
        let c = listening_cache();
        let (g, now) = (c.generation().unwrap(), Instant::now());
        for i in 0..CAPACITY {
            c.store(g, format!("h{i}").into_bytes(), reader(), None, now);
        }
        c.store(g, b"one more".to_vec(), reader(), None, now);
        assert!(c.get(b"one more", now).is_none());
        assert!(c.get(b"h0", now).is_some());
    }

    #[test]
    fn metrics_say_where_lookups_were_answered() {
        let c = listening_cache();
        let now = Instant::now();
        assert!(c.get(b"h", now).is_none());
        c.store(c.generation().unwrap(), b"h".to_vec(), reader(), None, now);
        assert!(c.get(b"h", now).is_some());
        let mut out = String::new();
        c.render(&mut out);
        assert!(out.contains("stampbook_token_lookups_total{answered=\"memory\"} 1"));
        assert!(out.contains("stampbook_token_lookups_total{answered=\"database\"} 1"));
        assert!(out.contains("stampbook_token_cache_listening 1"));
    }
}
