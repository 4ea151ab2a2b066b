//! The fleet's host and certificate lists, one statement per path through the indexes: a page
//! reads about the rows it returns, whatever the fleet's size (the statements are in `sql/`,
//! exposed here so the plan checks run exactly what the lists run).

use chrono::Utc;
use sqlx::PgPool;

use super::read::{CertFilter, CertificateRow, HostFilter, HostSummary, Vitals, days_left};

/// Hosts of the fleet by FQDN, from the cursor ($1); role, stale, name part ($2..$4); limit ($5).
pub const HOSTS_PAGE: &str = include_str!("sql/hosts_page.sql");
/// Hosts of one stamp ($1) by FQDN, from the cursor ($2); limit ($3).
pub const HOSTS_OF_STAMP_PAGE: &str = include_str!("sql/hosts_of_stamp_page.sql");
/// Hosts of one stamp ($1) by FQDN, from the cursor ($2); role, stale, name part ($3..$5); limit ($6).
pub const HOSTS_OF_STAMP_FILTERED_PAGE: &str = include_str!("sql/hosts_of_stamp_filtered_page.sql");
/// One host's summary by FQDN ($1).
pub const HOST_BY_FQDN: &str = include_str!("sql/host_by_fqdn.sql");
/// Certificate installations fleet-wide (parameters in the file's header).
pub const CERTIFICATES_PAGE: &str = include_str!("sql/certificates_page.sql");
/// Certificate installations of one stamp.
pub const CERTIFICATES_OF_STAMP_PAGE: &str = include_str!("sql/certificates_of_stamp_page.sql");
/// Certificate installations of one host.
pub const CERTIFICATES_OF_HOST_PAGE: &str = include_str!("sql/certificates_of_host_page.sql");
/// Installations of one certificate.
pub const CERTIFICATES_BY_THUMBPRINT_PAGE: &str =
    include_str!("sql/certificates_by_thumbprint_page.sql");

/// A `LIKE` pattern matching names that contain `q` literally.
pub fn like(q: &str) -> String {
    let escaped = q
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

macro_rules! host_summary {
    ($r:expr) => {{
        let r = $r;
        HostSummary {
            fqdn: r.fqdn,
            stamp: r.stamp,
            scale_unit: r.scale_unit,
            roles: r.roles,
            os_name: r.os_name,
            os_version: r.os_version,
            vitals: Vitals {
                cpu_cores: r.cpu_cores,
                memory_mb: r.memory_mb,
                storage_gb: r.storage_gb,
                vm_count: r.vm_count,
                vm_vcpus: r.vm_vcpus,
                vm_memory_mb: r.vm_memory_mb,
            },
            agent_version: r.agent_version,
            first_seen_at: r.first_seen_at,
            last_report_at: r.last_report_at,
            last_collected_at: r.last_collected_at,
            stale: r.stale,
            open_problems: r.open_problems,
        }
    }};
}

/// Up to `limit` hosts by FQDN after `f.after`: through the stamp's (stamp_id, fqdn) index when
/// a stamp is given, through the FQDN index otherwise. Every statement's generic plan walks its
/// index (`tests/query_plans.rs`): `pool` may be a list pool (`db::LIST_SETTINGS`).
pub async fn list_hosts(
    pool: &PgPool,
    f: &HostFilter,
    limit: i64,
) -> Result<Vec<HostSummary>, sqlx::Error> {
    let q = f.q.as_deref().map(like);
    let filtered = f.role.is_some() || f.stale.is_some() || q.is_some();
    Ok(match &f.stamp {
        Some(stamp) if filtered => sqlx::query_file!(
            "src/facts/sql/hosts_of_stamp_filtered_page.sql",
            stamp,
            f.after,
            f.role,
            f.stale,
            q,
            limit
        )
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| host_summary!(r))
        .collect(),
        Some(stamp) => sqlx::query_file!(
            "src/facts/sql/hosts_of_stamp_page.sql",
            stamp,
            f.after,
            limit
        )
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| host_summary!(r))
        .collect(),
        None => sqlx::query_file!(
            "src/facts/sql/hosts_page.sql",
            f.after,
            f.role,
            f.stale,
            q,
            limit
        )
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| host_summary!(r))
        .collect(),
    })
}

/// One host's summary by its FQDN (any case).
pub async fn host_summary(pool: &PgPool, fqdn: &str) -> Result<Option<HostSummary>, sqlx::Error> {
    Ok(sqlx::query_file!("src/facts/sql/host_by_fqdn.sql", fqdn)
        .fetch_optional(pool)
        .await?
        .map(|r| host_summary!(r)))
}

macro_rules! certificate_row {
    ($r:expr, $now:expr) => {{
        let r = $r;
        CertificateRow {
            days_left: days_left(r.not_after, $now),
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
            stamp: r.stamp,
        }
    }};
}

/// Runs one of the certificate statements (they share their parameters) and maps its rows.
macro_rules! certificate_page {
    ($file:literal, $pool:expr, $f:expr, $cursor:expr, $limit:expr) => {{
        let f = $f;
        let (c_na, c_t, c_h, c_s) = $cursor;
        let now = Utc::now();
        sqlx::query_file!(
            $file,
            f.stamp,
            f.within_days,
            f.store,
            f.has_private_key,
            f.host,
            f.thumbprint,
            c_na,
            c_t,
            c_h,
            c_s,
            $limit
        )
        .fetch_all($pool)
        .await?
        .into_iter()
        .map(|r| certificate_row!(r, now))
        .collect()
    }};
}

/// Up to `limit` installations in expiry order after `f.after`, read from the narrowest filter
/// given: one host, one certificate, one stamp, else the fleet's expiry index.
pub async fn list_certificates(
    pool: &PgPool,
    f: &CertFilter,
    limit: i64,
) -> Result<Vec<CertificateRow>, sqlx::Error> {
    let cursor = match &f.after {
        Some(c) => (
            Some(c.not_after),
            Some(c.thumbprint.clone()),
            Some(c.host.clone()),
            Some(c.store.clone()),
        ),
        None => (None, None, None, None),
    };
    Ok(if f.host.is_some() {
        certificate_page!(
            "src/facts/sql/certificates_of_host_page.sql",
            pool,
            f,
            cursor,
            limit
        )
    } else if f.thumbprint.is_some() {
        certificate_page!(
            "src/facts/sql/certificates_by_thumbprint_page.sql",
            pool,
            f,
            cursor,
            limit
        )
    } else if f.stamp.is_some() {
        certificate_page!(
            "src/facts/sql/certificates_of_stamp_page.sql",
            pool,
            f,
            cursor,
            limit
        )
    } else {
        certificate_page!(
            "src/facts/sql/certificates_page.sql",
            pool,
            f,
            cursor,
            limit
        )
    })
}
