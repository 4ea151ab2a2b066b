//! The check of the hot standby behind `db::read`: every interval, is it reachable, still in
//! recovery, and how far behind the primary; from that, whether reads go to it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use sqlx::{ConnectOptions, PgConnection, PgPool};

use super::{Shared, Standby};

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
    pub(super) fn new(primary: PgPool, standby: Standby, shared: Arc<Shared>) -> Probe {
        Probe {
            primary,
            standby,
            shared,
            conn: None,
            caught_up_at: None,
            verdict: None,
        }
    }

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
}
