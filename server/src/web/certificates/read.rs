//! The certificates page's queries, each shaped so that its cost follows what is shown, not the
//! fleet: the fleet-wide timeline of a large fleet is read from the kept tally
//! (`crate::facts::expiry_tally`), a small fleet's is counted live (walking the certificates that
//! expire in the window, index only, and counting each one's installations by index); with a
//! stamp chosen, everything starts from that stamp's hosts.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::WINDOW_DAYS;
use crate::facts::expiry_tally;
use crate::facts::read::{CertFilter, CertificateRow};

pub use crate::facts::expiry_tally::DayCount;

/// What the certificates page shows, as read.
pub struct CertificatesData {
    pub days: Vec<DayCount>,
    /// When the timeline was counted, when it comes from the kept tally (else it is live).
    pub counted_at: Option<DateTime<Utc>>,
    /// One page of rows, and whether more follow.
    pub rows: Vec<CertificateRow>,
    pub more: bool,
    /// Every stamp's certificate thresholds (warning days, critical days), by name.
    pub thresholds: HashMap<String, (i32, i32)>,
}

/// Where the page reads and what decides its timeline.
pub struct Sources<'a> {
    /// Reads (the standby when there is one).
    pub reads: &'a PgPool,
    /// Counts the tally again when it is stale (the primary's background pool).
    pub counter: &'a PgPool,
    /// Installations from which the fleet-wide timeline comes from the tally.
    pub tally_from: i64,
}

/// Reads the certificates page: the timeline, `page_size` rows of the table and the thresholds.
pub async fn certificates_page(
    src: &Sources<'_>,
    filter: &CertFilter,
    page_size: i64,
) -> Result<CertificatesData, sqlx::Error> {
    let (stamp, store) = (filter.stamp.as_deref(), filter.store.as_deref());
    // the timeline, the table and the thresholds are independent: read them at the same time
    let ((days, counted_at), mut rows, thresholds) = tokio::try_join!(
        timeline(src, stamp, store),
        page(src.reads, filter, page_size + 1),
        thresholds(src.reads),
    )?;
    let more = rows.len() as i64 > page_size;
    rows.truncate(page_size as usize);
    Ok(CertificatesData {
        days,
        counted_at,
        rows,
        more,
        thresholds,
    })
}

/// The timeline: of a stamp, or of a small fleet, counted live; of a large fleet, the tally (and
/// when it was counted), counted again in the background when stale.
pub async fn timeline(
    src: &Sources<'_>,
    stamp: Option<&str>,
    store: Option<&str>,
) -> Result<(Vec<DayCount>, Option<DateTime<Utc>>), sqlx::Error> {
    if stamp.is_some() || !expiry_tally::fleet_is_large(src.reads, src.tally_from).await? {
        return Ok((per_day(src.reads, WINDOW_DAYS, stamp, store).await?, None));
    }
    let last = expiry_tally::last_run(src.reads).await?;
    expiry_tally::count_if_stale(src.counter, last.as_ref(), Utc::now());
    match last {
        Some(run) => Ok((
            expiry_tally::days(src.reads, WINDOW_DAYS, store).await?,
            Some(run.counted_at),
        )),
        // never counted yet: this once, live
        None => Ok((per_day(src.reads, WINDOW_DAYS, None, store).await?, None)),
    }
}

/// Installations (host, store, certificate) expiring per day within `days`, expired ones at -1.
pub async fn per_day(
    pool: &PgPool,
    days: i32,
    stamp: Option<&str>,
    store: Option<&str>,
) -> Result<Vec<DayCount>, sqlx::Error> {
    match stamp {
        None => {
            sqlx::query_as!(
                DayCount,
                r#"select greatest(floor(extract(epoch from c.not_after - now()) / 86400), -1)::int as "day!",
                          sum((select count(*) from host_certificates hc
                               where hc.thumbprint = c.thumbprint
                                 and ($2::text is null or hc.store = $2)))::bigint as "installations!"
                   from certificates c
                   where c.not_after < now() + make_interval(days => $1)
                   group by 1
                   order by 1"#,
                days,
                store
            )
            .fetch_all(pool)
            .await
        }
        Some(stamp) => {
            sqlx::query_as!(
                DayCount,
                r#"select greatest(floor(extract(epoch from c.not_after - now()) / 86400), -1)::int as "day!",
                          count(*) as "installations!"
                   from host_certificates hc
                   join certificates c on c.thumbprint = hc.thumbprint
                   where hc.host_id = any(array(select h.id from hosts h
                                                where h.stamp_id = (select id from stamps where name = $2)))
                     and c.not_after < now() + make_interval(days => $1)
                     and ($3::text is null or hc.store = $3)
                   group by 1
                   order by 1"#,
                days,
                stamp,
                store
            )
            .fetch_all(pool)
            .await
        }
    }
}

/// One page of installations in expiry order: the API's list (fleet-wide it walks the
/// `not_after` index, for a stamp it starts from the stamp's hosts), so both map rows alike.
pub async fn page(
    pool: &PgPool,
    f: &CertFilter,
    limit: i64,
) -> Result<Vec<CertificateRow>, sqlx::Error> {
    crate::facts::read::list_certificates(pool, f, limit).await
}

/// Every stamp's certificate thresholds (warning days, critical days), by name.
pub async fn thresholds(pool: &PgPool) -> Result<HashMap<String, (i32, i32)>, sqlx::Error> {
    Ok(
        sqlx::query!(
            "select name, cert_warning_days, cert_critical_days from stamps order by name"
        )
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| (r.name, (r.cert_warning_days, r.cert_critical_days)))
        .collect(),
    )
}
