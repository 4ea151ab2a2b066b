//! The certificates page's queries, each shaped so that its cost follows what is shown, not the
//! fleet: a fleet-wide count walks the certificates that expire in the window (index only) and
//! counts each one's installations by index; with a stamp chosen, everything starts from that
//! stamp's hosts.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::facts::read::{self as facts, CertCursor, CertFilter, CertificateRow};

pub struct DayCount {
    /// Days from now (0: today); -1 gathers the ones already expired.
    pub day: i32,
    pub installations: i64,
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

/// One page of installations in expiry order: fleet-wide through the API's list (it walks the
/// `not_after` index), for a stamp from the stamp's hosts.
pub async fn page(
    pool: &PgPool,
    f: &CertFilter,
    limit: i64,
) -> Result<Vec<CertificateRow>, sqlx::Error> {
    let Some(stamp) = f.stamp.as_deref() else {
        return facts::list_certificates(pool, f, limit).await;
    };
    let now = Utc::now();
    let (c_na, c_t, c_h, c_s): (Option<DateTime<Utc>>, _, _, _) = match &f.after {
        Some(CertCursor {
            not_after,
            thumbprint,
            host,
            store,
        }) => (
            Some(*not_after),
            Some(thumbprint.clone()),
            Some(host.clone()),
            Some(store.clone()),
        ),
        None => (None, None, None, None),
    };
    let rows = sqlx::query!(
        r#"select c.thumbprint, c.subject, c.subject_cn, c.issuer, c.not_after, c.signature_algorithm,
                  c.key_algorithm, c.key_bits, c.self_signed, hc.store, hc.has_private_key,
                  h.fqdn::text as "host!"
           from host_certificates hc
           join certificates c on c.thumbprint = hc.thumbprint
           join hosts h on h.id = hc.host_id
           where hc.host_id = any(array(select h2.id from hosts h2
                                        where h2.stamp_id = (select id from stamps where name = $1)))
             and c.not_after <= now() + make_interval(days => $2)
             and ($3::text is null or hc.store = $3)
             and ($4::timestamptz is null
                  or (c.not_after, c.thumbprint, h.fqdn::text, hc.store) > ($4, $5::text, $6::text, $7::text))
           order by c.not_after, c.thumbprint, h.fqdn::text, hc.store
           limit $8"#,
        stamp,
        f.within_days.unwrap_or(super::WINDOW_DAYS),
        f.store,
        c_na,
        c_t,
        c_h,
        c_s,
        limit
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| CertificateRow {
            days_left: facts::days_left(r.not_after, now),
            thumbprint: r.thumbprint,
            subject: r.subject,
            subject_cn: r.subject_cn,
            issuer: r.issuer,
            not_after: r.not_after,
            signature_algorithm: r.signature_algorithm,
            key_algorithm: r.key_algorithm,
            key_bits: r.key_bits,
            self_signed: r.self_signed,
            store: r.store,
            has_private_key: r.has_private_key,
            host: r.host,
            stamp: stamp.to_owned(),
        })
        .collect())
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
