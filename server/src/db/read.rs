//! Where read-only work goes: a PostgreSQL hot standby (`STAMPBOOK_READ_DATABASE_URL`) while it
//! answers and is within `STAMPBOOK_READ_MAX_LAG_S` of the primary, else the primary. Owns the
//! standby's pool, the probe that judges it every `STAMPBOOK_READ_PROBE_INTERVAL_S`, and the
//! figures `/metrics` shows of it. Writes, and anything that reads then writes, never come here:
//! they use the primary pool (`AppState.pool`).
//!
//! A hot standby answers read-only queries while it replays the primary's WAL and refuses writes
//! ("cannot execute ... in a read-only transaction", PostgreSQL 15 docs, §27.4 Hot Standby:
//! <https://www.postgresql.org/docs/15/hot-standby.html>), so a handler sent here by mistake
//! fails loudly instead of writing somewhere that is not the primary.

use std::cell::Cell;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::config::ReadArgs;

mod probe;
pub use probe::Probe;

tokio::task_local! {
    /// Set when [`Reads::pool`] hands out the standby inside a request [`watch`] runs.
    static READ_ON_STANDBY: Cell<bool>;
}

/// Runs one request and says whether it read from the standby.
pub async fn watch<F: Future>(request: F) -> (F::Output, bool) {
    READ_ON_STANDBY
        .scope(Cell::new(false), async move {
            let out = request.await;
            (out, READ_ON_STANDBY.with(Cell::get))
        })
        .await
}

/// What a request may tell the router: the standby just failed it.
#[derive(Clone)]
pub struct StandbyHealth {
    shared: Arc<Shared>,
}

impl StandbyHealth {
    /// A read the standby could not serve (it went away, or cancelled the read for a conflict
    /// with recovery): reads go to the primary until the next check finds the standby healthy.
    pub fn failed(&self) {
        if self.shared.in_use.swap(false, Ordering::Relaxed) {
            tracing::warn!(
                "a read failed on the standby: reads go to the primary until its next check"
            );
        }
    }
}

/// The read router kept in the application state: `pool()` for read-only handlers.
pub struct Reads {
    primary: PgPool,
    /// The primary's list pool (`db::list_pool`).
    primary_lists: PgPool,
    standby: Option<Standby>,
    shared: Arc<Shared>,
}

#[derive(Clone)]
struct Standby {
    pool: PgPool,
    /// The standby's list pool (`db::list_pool`).
    lists: PgPool,
    /// Where the probe connects (its own connection, not one of the pool's: a pool busy with
    /// requests must not look like a standby that does not answer).
    options: PgConnectOptions,
    /// The standby's URL without password or parameters, for logs.
    name: String,
    max_lag: Duration,
    every: Duration,
}

/// What the probe found, read by every request and by `/metrics`.
struct Shared {
    in_use: AtomicBool,
    up: AtomicBool,
    /// f64 bits of the lag bound in seconds; NaN while unknown.
    lag_s: AtomicU64,
    on_standby: AtomicU64,
    on_primary: AtomicU64,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            in_use: AtomicBool::new(false),
            up: AtomicBool::new(false),
            lag_s: AtomicU64::new(f64::NAN.to_bits()),
            on_standby: AtomicU64::new(0),
            on_primary: AtomicU64::new(0),
        }
    }
}

impl Reads {
    /// Every read on the primary (no standby configured).
    pub fn primary_only(primary: PgPool) -> Reads {
        Reads {
            primary_lists: crate::db::list_pool(&primary, false),
            primary,
            standby: None,
            shared: Arc::default(),
        }
    }

    /// Reads on the standby of `args` when one is configured. Its pool connects on first use,
    /// like the primary's: a standby that is down at start only keeps reads on the primary.
    pub fn from_args(primary: PgPool, args: &ReadArgs) -> Result<Reads, sqlx::Error> {
        let Some(url) = &args.read_database_url else {
            return Ok(Reads::primary_only(primary));
        };
        let options: PgConnectOptions = url.expose().parse()?;
        // sqlx's ping before every acquire is kept here (not `db::ping_when_idle`): a hot standby
        // ends sessions of its own accord (conflicts with the WAL it replays), and a request
        // handed such a connection would fail instead of being answered
        let pool = PgPoolOptions::new()
            .max_connections(args.read_pool_size.max(2))
            .min_connections(0)
            // short: a request sent to a standby that just went away fails fast, and is answered
            // from the primary (`read_retry`)
            .acquire_timeout(Duration::from_secs(2))
            .idle_timeout(Duration::from_secs(300))
            .connect_lazy_with(options.clone());
        let lists = crate::db::list_pool(&pool, true);
        let name = redacted(url.expose());
        tracing::info!(standby = %name, max_lag_s = args.read_max_lag_s, probe_interval_s = args.read_probe_interval_s,
            "read-only work goes to the standby while it is within the lag bound, else to the primary");
        Ok(Reads {
            primary_lists: crate::db::list_pool(&primary, false),
            primary,
            standby: Some(Standby {
                pool,
                lists,
                options,
                name,
                max_lag: Duration::from_secs(args.read_max_lag_s),
                every: Duration::from_secs(args.read_probe_interval_s.max(1)),
            }),
            shared: Arc::default(),
        })
    }

    /// The pool of one read-only request: the standby while the last probe found it up and
    /// within the lag bound, else the primary. Take it once per request, so that the request
    /// reads one database; it is counted in `stampbook_read_requests_total`.
    pub fn pool(&self) -> &PgPool {
        if let Some(s) = &self.standby
            && self.shared.in_use.load(Ordering::Relaxed)
        {
            self.shared.on_standby.fetch_add(1, Ordering::Relaxed);
            let _ = READ_ON_STANDBY.try_with(|on| on.set(true));
            return &s.pool;
        }
        self.shared.on_primary.fetch_add(1, Ordering::Relaxed);
        &self.primary
    }

    /// The list pool (`db::list_pool`: one generic plan per connection) of the database
    /// [`Reads::pool`] would give, for a paginated list of the API whose statements are checked
    /// to walk their index in a generic plan (`tests/query_plans.rs`). Take it once per request.
    pub fn lists(&self) -> &PgPool {
        if let Some(s) = &self.standby
            && self.shared.in_use.load(Ordering::Relaxed)
        {
            self.shared.on_standby.fetch_add(1, Ordering::Relaxed);
            let _ = READ_ON_STANDBY.try_with(|on| on.set(true));
            return &s.lists;
        }
        self.shared.on_primary.fetch_add(1, Ordering::Relaxed);
        &self.primary_lists
    }

    /// The primary's list pool, for `/metrics` (not for requests: they take [`Reads::lists`]).
    pub fn primary_list_pool(&self) -> &PgPool {
        &self.primary_lists
    }

    /// The primary for a read-only request that must see the latest writes (a page right after
    /// its own form wrote); counted as a read on the primary.
    pub fn fresh(&self) -> &PgPool {
        self.shared.on_primary.fetch_add(1, Ordering::Relaxed);
        &self.primary
    }

    /// The handle through which a request that the standby failed says so (`read_retry`).
    pub fn health(&self) -> StandbyHealth {
        StandbyHealth {
            shared: self.shared.clone(),
        }
    }

    /// The background check of the standby, when one is configured; `startup` runs it.
    pub fn probe(&self) -> Option<Probe> {
        self.standby
            .as_ref()
            .map(|s| Probe::new(self.primary.clone(), s.clone(), self.shared.clone()))
    }

    /// The Prometheus lines of the routing: requests per database, and of the standby (when
    /// configured) whether it is up, its lag and whether reads use it.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(
            out,
            "# HELP stampbook_read_requests_total Read-only requests (API lists and gets, dashboard pages, exports), by the database that served them."
        );
        let _ = writeln!(out, "# TYPE stampbook_read_requests_total counter");
        for (db, n) in [
            ("standby", &self.shared.on_standby),
            ("primary", &self.shared.on_primary),
        ] {
            let _ = writeln!(
                out,
                "stampbook_read_requests_total{{database=\"{db}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        let Some(s) = &self.standby else { return };
        let gauges: [(&str, &str, String); 4] = [
            (
                "stampbook_read_replica_up",
                "Whether the hot standby answered the last check as a server in recovery.",
                u8::from(self.shared.up.load(Ordering::Relaxed)).to_string(),
            ),
            (
                "stampbook_read_replica_lag_seconds",
                "How far the hot standby is behind the primary at most: 0 when it had replayed all the WAL the primary had written when checked; NaN when unknown.",
                prometheus_float(f64::from_bits(self.shared.lag_s.load(Ordering::Relaxed))),
            ),
            (
                "stampbook_read_replica_max_lag_seconds",
                "The lag beyond which reads go to the primary (STAMPBOOK_READ_MAX_LAG_S).",
                s.max_lag.as_secs().to_string(),
            ),
            (
                "stampbook_read_replica_in_use",
                "Whether read-only requests go to the hot standby (up and within the lag bound) rather than the primary.",
                u8::from(self.shared.in_use.load(Ordering::Relaxed)).to_string(),
            ),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            let _ = writeln!(out, "{name} {value}");
        }
    }
}

fn prometheus_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else {
        v.to_string()
    }
}

/// The URL without its password and parameters (a libpq URL may carry `?password=`).
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.set_query(None);
            u.to_string()
        }
        Err(_) => "(a URL that does not parse)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_logs_lose_their_password_and_parameters() {
        assert_eq!(
            redacted("postgres://reader:s3cret@db2:5432/stampbook?password=x&sslmode=require"),
            "postgres://reader:***@db2:5432/stampbook"
        );
        assert_eq!(
            redacted("postgres://db2/stampbook"),
            "postgres://db2/stampbook"
        );
        assert!(!redacted("not a url with s3cret").contains("s3cret"));
    }

    #[tokio::test]
    async fn without_a_standby_every_read_is_the_primarys() {
        let primary = PgPoolOptions::new()
            .connect_lazy("postgres://nobody@127.0.0.1:1/none")
            .unwrap();
        let reads = Reads::primary_only(primary);
        let _ = reads.pool();
        assert!(reads.probe().is_none());
        let mut out = String::new();
        reads.render(&mut out);
        assert!(out.contains("stampbook_read_requests_total{database=\"primary\"} 1"));
        assert!(out.contains("stampbook_read_requests_total{database=\"standby\"} 0"));
        assert!(!out.contains("stampbook_read_replica_up"));
    }
}
