//! What the capacity page reads: every stamp's figures from `stamp_status` and its plans'
//! quotas, and the capacity history of the stamps compared.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use stampbook_wire::capacity::CapacityRow;

use crate::web::trends::{self, MAX_COMPARED};

/// One stamp's figures; memory in GiB.
#[derive(Debug, Clone)]
pub struct Cap {
    pub name: String,
    pub display_name: String,
    pub evaluated: bool,
    pub physical_cores: i64,
    pub cpu_overcommit: f64,
    pub vcpu_capacity: f64,
    pub used_vcpus: f64,
    pub alloc_vcpus: f64,
    pub physical_memory_gib: f64,
    pub memory_overcommit: f64,
    pub memory_capacity: f64,
    pub used_memory: f64,
    pub alloc_memory: f64,
    pub physical_storage_gb: f64,
    pub alloc_storage_gb: f64,
    pub used_vms: i64,
    pub alloc_vms: i64,
    pub plans: i64,
}

/// Every stamp in service, by name, with its figures.
pub async fn caps(pool: &PgPool) -> Result<Vec<Cap>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select s.name, s.display_name, s.cpu_overcommit, s.memory_overcommit,
                  st.stamp_id is not null as "evaluated!",
                  coalesce(st.physical_cores, 0) as "physical_cores!",
                  coalesce(st.physical_memory_mb, 0) as "physical_memory_mb!",
                  coalesce(st.physical_storage_gb, 0) as "physical_storage_gb!",
                  coalesce(st.used_vms, 0) as "used_vms!",
                  coalesce(st.used_vcpus, 0) as "used_vcpus!",
                  coalesce(st.used_memory_mb, 0) as "used_memory_mb!",
                  coalesce(p.vcpus, 0) as "alloc_vcpus!",
                  coalesce(p.memory_gb, 0) as "alloc_memory_gb!",
                  coalesce(p.storage_gb, 0) as "alloc_storage_gb!",
                  coalesce(p.vms, 0) as "alloc_vms!",
                  coalesce(p.plans, 0) as "plans!"
           from stamps s
           left join stamp_status st on st.stamp_id = s.id
           left join (select stamp_id, sum(quota_vcpus)::bigint as vcpus,
                             sum(quota_memory_gb)::bigint as memory_gb,
                             sum(quota_storage_gb)::bigint as storage_gb,
                             sum(quota_vms)::bigint as vms, count(*) as plans
                      from plans group by stamp_id) p on p.stamp_id = s.id
           where s.retired_at is null
           order by s.name"#
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let gib = |mb: i64| mb as f64 / 1024.0;
            Cap {
                name: r.name,
                display_name: r.display_name,
                evaluated: r.evaluated,
                physical_cores: r.physical_cores,
                cpu_overcommit: r.cpu_overcommit,
                vcpu_capacity: r.physical_cores as f64 * r.cpu_overcommit,
                used_vcpus: r.used_vcpus as f64,
                alloc_vcpus: r.alloc_vcpus as f64,
                physical_memory_gib: gib(r.physical_memory_mb),
                memory_overcommit: r.memory_overcommit,
                memory_capacity: gib(r.physical_memory_mb) * r.memory_overcommit,
                used_memory: gib(r.used_memory_mb),
                alloc_memory: r.alloc_memory_gb as f64,
                physical_storage_gb: r.physical_storage_gb as f64,
                alloc_storage_gb: r.alloc_storage_gb as f64,
                used_vms: r.used_vms,
                alloc_vms: r.alloc_vms,
                plans: r.plans,
            }
        })
        .collect())
}

/// The stamps to compare, as read: those found (at most [`MAX_COMPARED`]) with their history.
pub struct Compared {
    pub stamps: Vec<(String, Vec<CapacityRow>)>,
    /// Names that are no stamp, or beyond the most a chart shows.
    pub unknown: Vec<String>,
    pub dropped: Vec<String>,
}

/// What the capacity page shows, as read.
pub struct CapacityData {
    pub caps: Vec<Cap>,
    pub compared: Compared,
}

/// Reads the capacity page, comparing the stamps `chosen` (those with an open
/// `capacity.exhaustion_soon` first, then by name, when none is).
pub async fn capacity_page(
    pool: &PgPool,
    chosen: Vec<String>,
    now: DateTime<Utc>,
) -> Result<CapacityData, sqlx::Error> {
    let caps = caps(pool).await?;
    let compared = compared(pool, chosen, now).await?;
    Ok(CapacityData { caps, compared })
}

async fn compared(
    pool: &PgPool,
    chosen: Vec<String>,
    now: DateTime<Utc>,
) -> Result<Compared, sqlx::Error> {
    let explicit = !chosen.is_empty();
    let chosen = if explicit {
        chosen
    } else {
        sqlx::query_scalar!(
            r#"select s.name as "name!" from stamps s
               left join problems p on p.stamp_id = s.id and p.resolved_at is null
                    and p.rule = 'capacity.exhaustion_soon'
               where s.retired_at is null
               group by s.id, s.name
               order by max(case p.severity when 'critical' then 2 when 'warning' then 1 else 0 end) desc,
                        s.name
               limit 4"#
        )
        .fetch_all(pool)
        .await?
    };
    let mut unknown = Vec::new();
    let mut dropped = Vec::new();
    let mut stamps = Vec::new();
    for name in chosen {
        let id = sqlx::query_scalar!("select id from stamps where name = $1", name)
            .fetch_optional(pool)
            .await?;
        match id {
            None => unknown.push(name),
            Some(_) if stamps.len() >= MAX_COMPARED => dropped.push(name),
            Some(id) => stamps.push((name, trends::rows(pool, id, now).await?)),
        }
    }
    Ok(Compared {
        stamps,
        unknown,
        dropped,
    })
}
