//! The fleet-wide certificate expiry timeline counted ahead (`cert_expiry_tally`): installations
//! per store and hour of expiry, the ones already expired when counted together. Counting the
//! timeline live walks every certificate that expires within the window and its installations,
//! which grows with the fleet (3 to 4 s at 1,000,000 hosts); a large fleet's certificates page
//! reads this tally instead and has it counted again in the background once it is older than
//! [`FRESH_FOR`] (on the background pool, one server at a time). A small fleet counts live.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// Installations (host, store, certificate) the fleet holds, as PostgreSQL's statistics estimate
/// them, from which the fleet-wide timeline is read from the tally rather than counted live
/// (about 10,000 hosts; below it a live count takes a few milliseconds).
pub const TALLY_FROM_INSTALLATIONS: i64 = 100_000;

/// A tally older than this is counted again; the page shows the older one meanwhile.
pub const FRESH_FOR: Duration = Duration::from_secs(300);

/// The last count.
#[derive(Debug, Clone)]
pub struct Run {
    pub counted_at: DateTime<Utc>,
    /// Installations counted (expired ones still installed included).
    pub installations: i64,
}

/// Installations expiring on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayCount {
    /// Days from now (0: today); -1 gathers the ones already expired.
    pub day: i32,
    pub installations: i64,
}

/// Whether the fleet holds enough installations for the tally ([`TALLY_FROM_INSTALLATIONS`]):
/// the planner's estimate, free to read (a table never analysed counts as small).
pub async fn fleet_is_large(pool: &PgPool, from: i64) -> Result<bool, sqlx::Error> {
    let estimate = sqlx::query_scalar!(
        r#"select greatest(reltuples, 0)::bigint as "n!" from pg_class where oid = 'host_certificates'::regclass"#
    )
    .fetch_one(pool)
    .await?;
    Ok(estimate >= from)
}

/// The last count, if any.
pub async fn last_run(pool: &PgPool) -> Result<Option<Run>, sqlx::Error> {
    sqlx::query_as!(
        Run,
        "select counted_at, installations from cert_expiry_tally_runs"
    )
    .fetch_optional(pool)
    .await
}

/// The tallied installations per day from now within `days` (of `store` when given), the ones
/// expired at -1. To the hour: an installation counts from the end of the hour it expires in.
pub async fn days(
    pool: &PgPool,
    days: i32,
    store: Option<&str>,
) -> Result<Vec<DayCount>, sqlx::Error> {
    sqlx::query_as!(
        DayCount,
        r#"select greatest(floor(extract(epoch from t.hour + interval '1 hour' - now()) / 86400), -1)::int as "day!",
                  sum(t.installations)::bigint as "installations!"
           from cert_expiry_tally t
           where t.hour < now() + make_interval(days => $1)
             and ($2::text is null or t.store = $2)
           group by 1
           order by 1"#,
        days,
        store
    )
    .fetch_all(pool)
    .await
}

/// Counts the tally again in one transaction, unless another server is counting it: true when
/// this call counted.
pub async fn count(pool: &PgPool) -> Result<bool, sqlx::Error> {
    let started = Instant::now();
    let mut tx = pool.begin().await?;
    let mine = sqlx::query_scalar!(
        r#"select pg_try_advisory_xact_lock(hashtext('stampbook.cert_expiry_tally')) as "mine!""#
    )
    .fetch_one(&mut *tx)
    .await?;
    if !mine {
        return Ok(false);
    }
    sqlx::query!("delete from cert_expiry_tally")
        .execute(&mut *tx)
        .await?;
    // two days past the page's window: a tally read late still covers it
    let counted = sqlx::query_scalar!(
        r#"with counted as (
               insert into cert_expiry_tally (store, hour, installations)
               select hc.store,
                      greatest(date_trunc('hour', c.not_after), date_trunc('hour', now()) - interval '1 day'),
                      count(*)
               from certificates c join host_certificates hc on hc.thumbprint = c.thumbprint
               where c.not_after < now() + interval '92 days'
               group by 1, 2
               returning installations)
           select coalesce(sum(installations), 0)::bigint as "n!" from counted"#
    )
    .fetch_one(&mut *tx)
    .await?;
    let took_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    sqlx::query!(
        r#"insert into cert_expiry_tally_runs (id, counted_at, installations, took_ms)
           values (true, now(), $1, $2)
           on conflict (id) do update
           set counted_at = excluded.counted_at, installations = excluded.installations,
               took_ms = excluded.took_ms"#,
        counted,
        took_ms
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(
        installations = counted,
        took_ms,
        "certificate expiry tally counted"
    );
    Ok(true)
}

/// A count under way in this process (the advisory lock keeps other servers out).
static COUNTING: AtomicBool = AtomicBool::new(false);

/// Has the tally counted again in the background when `last` is missing or older than
/// [`FRESH_FOR`], once at a time in this process; returns at once.
pub fn count_if_stale(pool: &PgPool, last: Option<&Run>, now: DateTime<Utc>) {
    let fresh = last.is_some_and(|r| {
        (now - r.counted_at)
            .to_std()
            .is_ok_and(|age| age < FRESH_FOR)
            || r.counted_at > now
    });
    if fresh || COUNTING.swap(true, Ordering::AcqRel) {
        return;
    }
    let pool = pool.clone();
    tokio::spawn(async move {
        if let Err(e) = count(&pool).await {
            tracing::warn!(error = %e, "counting the certificate expiry tally failed");
        }
        COUNTING.store(false, Ordering::Release);
    });
}
