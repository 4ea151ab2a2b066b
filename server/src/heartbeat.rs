//! The service's own pulse: each replica process, while it accepts reports, keeps one row of
//! `service_heartbeats` fresh; a stretch of time that no row covers is an outage of the whole
//! service, which `host.stale` does not blame on the hosts (SPEC §5, docs/ARCHITECTURE.md).
//!
//! A row covers `[started_at, last_beat_at + ALIVE_FOR]`. A fresh `replica_id` per process start
//! makes a restart's gap visible even on the same machine. Nothing before the first row ever
//! written is an outage (an upgraded installation has no history to judge by).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::rules::model::Outage;

/// How often a replica beats.
pub const BEAT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long one beat says the replica is alive: three beats, so that a slow database or a busy
/// replica is not taken for an outage.
pub const ALIVE_FOR_S: f64 = 30.0;
/// Rows older than this are forgotten (staleness looks back over days, not months).
const KEEP_DAYS: i32 = 90;

/// One beat of `replica`: its row, created at its first beat.
pub async fn beat(
    pool: &PgPool,
    replica: Uuid,
    hostname: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"insert into service_heartbeats (replica_id, hostname, started_at, last_beat_at)
           values ($1, $2, $3, $3)
           on conflict (replica_id) do update set last_beat_at = greatest(service_heartbeats.last_beat_at, excluded.last_beat_at)"#,
        replica,
        hostname,
        at
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The service's outages in the 30 days before `now`, oldest first; one still going on ends at
/// `now`.
pub async fn outages(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
) -> Result<Vec<Outage>, sqlx::Error> {
    // each row covers [started, last beat + ALIVE_FOR]; a gap is a start that no earlier row's
    // cover reaches
    let rows = sqlx::query!(
        r#"with beats as (
               select started_at as s, last_beat_at + make_interval(secs => $2) as e
               from service_heartbeats where started_at <= $1),
           ordered as (
               select s, max(e) over (order by s, e rows between unbounded preceding and 1 preceding) as covered
               from beats)
           select covered as "from!", s as "to!" from ordered
           where covered < s and s > $1 - interval '30 days'
           union all
           select max(e), $1 from beats having max(e) < $1
           order by 1"#,
        now,
        ALIVE_FOR_S
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Outage {
            from: r.from,
            to: r.to,
        })
        .collect())
}

/// This replica's heartbeat, for as long as it serves: a beat every [`BEAT`], old rows pruned
/// daily. A beat that fails (database down) is simply missing: nobody can report then either.
pub async fn run(pool: PgPool) {
    let replica = Uuid::new_v4();
    let hostname = std::env::var("HOSTNAME").unwrap_or_else(|_| "unknown".to_owned());
    let mut ticker = tokio::time::interval(BEAT);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pruned: Option<std::time::Instant> = None;
    tracing::info!(%replica, "heartbeat started");
    loop {
        ticker.tick().await;
        if let Err(e) = beat(&pool, replica, &hostname, Utc::now()).await {
            tracing::warn!(error = %e, "heartbeat not written");
            continue;
        }
        if pruned.is_none_or(|t| t.elapsed() > std::time::Duration::from_secs(86_400)) {
            pruned = Some(std::time::Instant::now());
            if let Err(e) = sqlx::query!(
                "delete from service_heartbeats where last_beat_at < now() - make_interval(days => $1)",
                KEEP_DAYS
            )
            .execute(&pool)
            .await
            {
                tracing::warn!(error = %e, "old heartbeats not pruned");
            }
        }
    }
}
