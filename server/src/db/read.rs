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
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgConnection, PgPool};

use crate::config::ReadArgs;

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
    standby: Option<Standby>,
    shared: Arc<Shared>,
}

#[derive(Clone)]
struct Standby {
    pool: PgPool,
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
        let pool = PgPoolOptions::new()
            .max_connections(args.read_pool_size.max(2))
            .min_connections(0)
            // short: a request sent to a standby that just went away fails fast, and is answered
            // from the primary (`read_retry`)
            .acquire_timeout(Duration::from_secs(2))
            .idle_timeout(Duration::from_secs(300))
            .connect_lazy_with(options.clone());
        let name = redacted(url.expose());
        tracing::info!(standby = %name, max_lag_s = args.read_max_lag_s, probe_interval_s = args.read_probe_interval_s,
            "read-only work goes to the standby while it is within the lag bound, else to the primary");
        Ok(Reads {
            primary,
            standby: Some(Standby {
                pool,
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
        self.standby.as_ref().map(|s| Probe {
            primary: self.primary.clone(),
            standby: s.clone(),
            shared: self.shared.clone(),
            conn: None,
            caught_up_at: None,
            verdict: None,
        })
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

/// Why reads go where they go, as the last round found it.
#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    Standby,
    Unreachable(String),
    NotAStandby,
    Lagging { lag_s: f64 },
    LagUnknown,
}

/// How far behind the standby is at most, in seconds (see [`Probe::round`]): 0 when it has
/// replayed what the primary had written; else the smaller of the time since it was last seen
/// caught up and the age of its last replayed commit; `None` when neither is known.
fn lag_bound(
    caught_up: Option<bool>,
    since_caught_up_s: Option<f64>,
    replay_age_s: Option<f64>,
) -> Option<f64> {
    if caught_up == Some(true) {
        return Some(0.0);
    }
    match (since_caught_up_s, replay_age_s.map(|a| a.max(0.0))) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// What one check read on the standby.
struct Found {
    in_recovery: bool,
    /// Replayed at least up to the primary's WAL position read just before (NULL when the
    /// primary did not answer, or the server is not in recovery).
    caught_up: Option<bool>,
    /// Seconds since the last replayed commit was made on the primary (NULL before any).
    replay_age_s: Option<f64>,
}

/// Checks the standby every interval and sets where reads go.
pub struct Probe {
    primary: PgPool,
    standby: Standby,
    shared: Arc<Shared>,
    /// The probe's connection to the standby, made again after an error.
    conn: Option<PgConnection>,
    /// When a round last found the standby with all the primary's WAL replayed.
    caught_up_at: Option<Instant>,
    verdict: Option<Verdict>,
}

impl Probe {
    pub async fn run(mut self) {
        let mut tick = tokio::time::interval(self.standby.every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.round().await;
        }
    }

    /// One check. How far behind the standby is, as an upper bound (PostgreSQL 15 docs, §9.27.3
    /// and §9.27.4, <https://www.postgresql.org/docs/15/functions-admin.html>):
    ///
    /// - the primary's `pg_current_wal_lsn()` is read first, then the standby's
    ///   `pg_last_wal_replay_lsn()`: when the standby has replayed at least that far, it held
    ///   every commit the primary had made when asked, and the lag is 0. This tells an idle
    ///   primary from a lagging standby: `now() - pg_last_xact_replay_timestamp()` alone grows
    ///   without bound while nothing is written, with no lag at all;
    /// - otherwise two bounds, the smaller wins: the age of the last replayed commit,
    ///   `now() - pg_last_xact_replay_timestamp()` (every commit the standby misses is younger;
    ///   the two servers' clocks must agree, as NTP keeps them), and the time since a round last
    ///   found the standby caught up (what it misses was committed after that; this clock is
    ///   ours alone, and it keeps one write after a long idle time from looking like hours).
    ///
    /// With `synchronous_commit = off` on the primary a commit is visible there up to three
    /// `wal_writer_delay`s (600 ms by default) before `pg_current_wal_lsn()` passes it and before
    /// any standby can have it: staleness that small is below what this check sees.
    ///
    /// `pg_stat_replication.replay_lag` on the primary measures it too, but per walsender: a
    /// server behind a balancer cannot tell which row is the standby its read URL reaches.
    async fn round(&mut self) {
        let limit = self
            .standby
            .every
            .clamp(Duration::from_secs(1), Duration::from_secs(5));
        let primary_lsn = tokio::time::timeout(
            limit,
            sqlx::query_scalar!(r#"select pg_current_wal_lsn()::text as "lsn!""#)
                .fetch_one(&self.primary),
        )
        .await
        .ok()
        .and_then(Result::ok);
        let found = tokio::time::timeout(limit, self.check_standby(primary_lsn.as_deref())).await;
        let now = Instant::now();
        let (up, lag_s, verdict) = match found {
            Err(_) => (
                false,
                None,
                Verdict::Unreachable("no answer in time".into()),
            ),
            Ok(Err(e)) => (false, None, Verdict::Unreachable(e.to_string())),
            Ok(Ok(r)) if !r.in_recovery => (false, None, Verdict::NotAStandby),
            Ok(Ok(r)) => {
                if r.caught_up == Some(true) {
                    self.caught_up_at = Some(now);
                }
                let since_caught_up_s = self
                    .caught_up_at
                    .map(|t| now.duration_since(t).as_secs_f64());
                let lag_s = lag_bound(r.caught_up, since_caught_up_s, r.replay_age_s);
                let verdict = match lag_s {
                    None => Verdict::LagUnknown,
                    Some(l) if l > self.standby.max_lag.as_secs_f64() => {
                        Verdict::Lagging { lag_s: l }
                    }
                    Some(_) => Verdict::Standby,
                };
                (true, lag_s, verdict)
            }
        };
        self.shared.up.store(up, Ordering::Relaxed);
        self.shared
            .lag_s
            .store(lag_s.unwrap_or(f64::NAN).to_bits(), Ordering::Relaxed);
        self.shared
            .in_use
            .store(verdict == Verdict::Standby, Ordering::Relaxed);
        self.say(verdict);
    }

    /// The standby's state, on the probe's own connection (made again after an error or a
    /// timeout, which drop it).
    async fn check_standby(&mut self, primary_lsn: Option<&str>) -> Result<Found, sqlx::Error> {
        let mut conn = match self.conn.take() {
            Some(c) => c,
            None => self.standby.options.connect().await?,
        };
        let found = sqlx::query_as!(
            Found,
            r#"select pg_is_in_recovery() as "in_recovery!",
                      pg_last_wal_replay_lsn() >= $1::text::pg_lsn as "caught_up",
                      extract(epoch from now() - pg_last_xact_replay_timestamp())::float8 as "replay_age_s""#,
            primary_lsn
        )
        .fetch_one(&mut conn)
        .await?;
        self.conn = Some(conn);
        Ok(found)
    }

    /// Logs where reads go when it changes (not every round).
    fn say(&mut self, verdict: Verdict) {
        let changed = match (&self.verdict, &verdict) {
            (None, _) => true,
            (Some(Verdict::Lagging { .. }), Verdict::Lagging { .. }) => false,
            (Some(Verdict::Unreachable(_)), Verdict::Unreachable(_)) => false,
            (Some(a), b) => a != b,
        };
        if changed {
            let standby = &self.standby.name;
            match &verdict {
                Verdict::Standby => {
                    tracing::info!(%standby, "read-only work goes to the standby")
                }
                Verdict::Unreachable(e) => {
                    tracing::warn!(%standby, error = %e, "the standby does not answer: reads go to the primary")
                }
                Verdict::NotAStandby => {
                    tracing::warn!(%standby, "the read database is not in recovery (promoted, or not a standby): reads go to the primary")
                }
                Verdict::Lagging { lag_s } => {
                    tracing::warn!(%standby, lag_s, max_lag_s = self.standby.max_lag.as_secs(), "the standby lags beyond the bound: reads go to the primary")
                }
                Verdict::LagUnknown => {
                    tracing::warn!(%standby, "the standby's lag cannot be told (primary unreachable, nothing replayed yet): reads go to the primary")
                }
            }
        }
        self.verdict = Some(verdict);
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

    #[test]
    fn an_idle_primary_is_not_lag_and_one_write_after_long_idleness_is_not_hours() {
        // idle for an hour, everything replayed: the replay timestamp is old, the lag is 0
        assert_eq!(lag_bound(Some(true), Some(0.0), Some(3600.0)), Some(0.0));
        // a write after that hour, not yet replayed: at most the time since the last check
        // found the standby caught up, not the hour
        assert_eq!(lag_bound(Some(false), Some(2.0), Some(3600.0)), Some(2.0));
        // steady writes with replay just behind: the age of the last replayed commit
        assert_eq!(lag_bound(Some(false), Some(40.0), Some(0.3)), Some(0.3));
        // replay paused for a minute under writes: both grow past any bound
        assert_eq!(lag_bound(Some(false), Some(60.0), Some(61.0)), Some(60.0));
        // the primary does not answer: the standby's own figures only
        assert_eq!(lag_bound(None, Some(5.0), Some(7.0)), Some(5.0));
        assert_eq!(lag_bound(None, None, Some(7.0)), Some(7.0));
        // never caught up and nothing replayed: unknown, so not used
        assert_eq!(lag_bound(None, None, None), None);
        // a standby clock slightly ahead of the primary's does not make a negative lag
        assert_eq!(lag_bound(Some(false), None, Some(-0.2)), Some(0.0));
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
