//! Everything the stamp page reads: the inventory (declaration, health, status, networks, scale
//! units, plans), then at the same time one page of the stamp's hosts, its open problems, its
//! component versions, its server certificates' expiry by week, its hosts with failed sections
//! and its capacity history. Every query of this module starts from the stamp's hosts
//! (`host_id = any(array(...))`), so its cost follows the stamp's size, never the fleet's.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use stampbook_wire::capacity::CapacityRow;

use crate::facts::blind::{self, FailedHost};
use crate::health::{self, StampHealth};
use crate::inventory::model::ScaleUnit;
use crate::inventory::store::{self, PlanRow, StampRow};
use crate::inventory::validate::NetworkDecl;
use crate::problems::Problem;
use crate::web::error::WebError;
use crate::web::problems::query::open_for;
use crate::web::trends;

pub const HOSTS_PER_PAGE: i64 = 100;
/// Weeks the stamp's expiry timeline looks ahead.
pub const TIMELINE_WEEKS: i32 = 26;
/// Open problems listed on the stamp page (the rest are one click away).
const PROBLEMS_SHOWN: i64 = 25;
/// Hosts listed with their failed sections on the stamp page.
const FAILED_HOSTS_SHOWN: i64 = 50;

/// The stamp's row in `stamp_status` (none before its first evaluation).
pub struct Status {
    pub evaluated_at: DateTime<Utc>,
    pub hosts_total: i32,
    pub hosts_stale: i32,
    pub nearest_cert_expiry: Option<DateTime<Utc>>,
    pub nearest_cert_host: Option<String>,
    pub physical_cores: i64,
    pub physical_memory_mb: i64,
    pub physical_storage_gb: i64,
    pub used_vms: i64,
    pub used_vcpus: i64,
    pub used_memory_mb: i64,
}

/// What the stamp page shows, as read.
pub struct StampData {
    pub stamp: StampRow,
    pub health: StampHealth,
    pub status: Option<Status>,
    pub networks: Vec<NetworkDecl>,
    pub scale_units: Vec<ScaleUnit>,
    pub plans: Vec<PlanRow>,
    /// Hosts matching the search, and the page of them asked for.
    pub hosts_total: i64,
    pub hosts: Vec<HostLine>,
    pub problems: Vec<Problem>,
    pub weeks: Vec<WeekCount>,
    pub versions: Vec<VersionCount>,
    pub failed: Vec<FailedHost>,
    pub history: Vec<CapacityRow>,
}

/// Reads the stamp page of `name`: hosts whose FQDN contains `search`, page `page` of them.
pub async fn stamp_page(
    pool: &PgPool,
    name: &str,
    search: Option<&str>,
    page: i64,
    now: DateTime<Utc>,
) -> Result<StampData, WebError> {
    let mut conn = pool.acquire().await?;
    let stamp = store::fetch_stamp(&mut conn, name).await?.ok_or_else(|| {
        WebError::NotFound(format!(
            "There is no stamp named '{name}'. The overview lists every stamp."
        ))
    })?;
    let health = health::for_stamp(&mut conn, stamp.id)
        .await?
        .ok_or_else(|| WebError::NotFound(format!("stamp '{name}'")))?;
    let status = sqlx::query_as!(
        Status,
        "select evaluated_at, hosts_total, hosts_stale, nearest_cert_expiry, nearest_cert_host,
                physical_cores, physical_memory_mb, physical_storage_gb, used_vms, used_vcpus, used_memory_mb
         from stamp_status where stamp_id = $1",
        stamp.id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let networks = store::fetch_networks(&mut conn, stamp.id).await?;
    let scale_units = store::fetch_scale_units(&mut conn, stamp.id).await?;
    let plans = store::list_plans(&mut conn, Some(stamp.decl.name.as_str()), None, 10_000)
        .await?
        .rows;
    drop(conn);

    let (id, interval) = (stamp.id, stamp.decl.report_interval_s);
    // independent reads, each on its own pooled connection, at the same time
    let ((hosts_total, hosts), problems, weeks, versions, failed, history) = tokio::try_join!(
        hosts(pool, id, interval, search, page),
        open_for(pool, Some(id), None, PROBLEMS_SHOWN),
        expiry_weeks(pool, id),
        versions(pool, id),
        blind::failed_hosts(pool, id, FAILED_HOSTS_SHOWN),
        trends::rows(pool, id, now),
    )?;
    Ok(StampData {
        stamp,
        health,
        status,
        networks,
        scale_units,
        plans,
        hosts_total,
        hosts,
        problems,
        weeks,
        versions,
        failed,
        history,
    })
}

pub struct HostLine {
    pub fqdn: String,
    pub scale_unit: Option<String>,
    pub roles: Vec<String>,
    pub os: String,
    pub cpu_cores: Option<i32>,
    pub memory_mb: Option<i64>,
    pub vm_count: Option<i32>,
    pub agent_version: Option<String>,
    pub last_collected_at: DateTime<Utc>,
    pub stale: bool,
    pub open_problems: i64,
}

/// Hosts of the stamp whose FQDN contains `q` (when given): the count and one page by FQDN.
pub async fn hosts(
    pool: &PgPool,
    stamp_id: i64,
    report_interval_s: i32,
    q: Option<&str>,
    page: i64,
) -> Result<(i64, Vec<HostLine>), sqlx::Error> {
    let pattern = q.map(|q| {
        format!(
            "%{}%",
            q.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    });
    let total = sqlx::query_scalar!(
        r#"select count(*) as "n!" from hosts
           where stamp_id = $1 and ($2::text is null or fqdn::text ilike $2)"#,
        stamp_id,
        pattern
    )
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query!(
        r#"select h.fqdn::text as "fqdn!", h.scale_unit, h.roles, h.os_name, h.os_version,
                  h.cpu_cores, h.memory_mb, h.vm_count, h.agent_version, h.last_collected_at,
                  h.last_collected_at < now() - make_interval(secs => 3 * $2::int) as "stale!",
                  (select count(*) from problems p
                   where p.host_id = h.id and p.resolved_at is null) as "open_problems!"
           from hosts h
           where h.stamp_id = $1 and ($3::text is null or h.fqdn::text ilike $3)
           order by h.fqdn
           limit $4 offset $5"#,
        stamp_id,
        report_interval_s,
        pattern,
        HOSTS_PER_PAGE,
        (page - 1).max(0) * HOSTS_PER_PAGE
    )
    .fetch_all(pool)
    .await?;
    Ok((
        total,
        rows.into_iter()
            .map(|r| HostLine {
                fqdn: r.fqdn,
                scale_unit: r.scale_unit,
                roles: r.roles,
                os: [r.os_name, r.os_version]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" "),
                cpu_cores: r.cpu_cores,
                memory_mb: r.memory_mb,
                vm_count: r.vm_count,
                agent_version: r.agent_version,
                last_collected_at: r.last_collected_at,
                stale: r.stale,
                open_problems: r.open_problems,
            })
            .collect(),
    ))
}

pub struct VersionCount {
    pub component: String,
    pub version: String,
    pub hosts: i64,
}

/// Which versions of which components the stamp's hosts report, with how many hosts each.
pub async fn versions(pool: &PgPool, stamp_id: i64) -> Result<Vec<VersionCount>, sqlx::Error> {
    sqlx::query_as!(
        VersionCount,
        r#"select hc.name as component, hc.version, count(*) as "hosts!"
           from host_components hc
           where hc.host_id = any(array(select id from hosts where stamp_id = $1))
           group by 1, 2
           order by 1, 2"#,
        stamp_id
    )
    .fetch_all(pool)
    .await
}

pub struct WeekCount {
    /// Weeks from now (0: this week); -1 gathers the ones already expired.
    pub week: i32,
    pub certificates: i64,
}

/// Server certificates (with a private key in `LocalMachine\My`) of the stamp's hosts, counted
/// per host and certificate, by the week they expire in.
pub async fn expiry_weeks(pool: &PgPool, stamp_id: i64) -> Result<Vec<WeekCount>, sqlx::Error> {
    sqlx::query_as!(
        WeekCount,
        r#"select greatest(floor(extract(epoch from c.not_after - now()) / 604800), -1)::int as "week!",
                  count(*) as "certificates!"
           from host_certificates hc
           join certificates c on c.thumbprint = hc.thumbprint
           where hc.host_id = any(array(select id from hosts where stamp_id = $1))
             and hc.store = 'LocalMachine\My' and hc.has_private_key
             and c.not_after < now() + make_interval(weeks => $2)
           group by 1
           order by 1"#,
        stamp_id,
        TIMELINE_WEEKS
    )
    .fetch_all(pool)
    .await
}
