//! `/capacity`: stamps side by side: Hyper-V capacity (physical × the stamp's overcommit), what
//! VMs use and what plans allocate, as bars on one scale; sortable by plain links; and
//! `/capacity.csv`, the same table for spreadsheets. Reads `stamp_status` and plans only.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::access::Ctx;
use super::error::WebError;
use super::format;
use super::page::{self, Chrome, Crumb};
use super::svg::{self, TrendChart, Triple};
use super::trends::{self, Compared, MAX_COMPARED};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct CapacityQuery {
    pub sort: Option<String>,
    pub dir: Option<String>,
    pub wallboard: Option<String>,
    /// The resource the comparison chart shows (`vcpus`, `memory_gb`, `storage_gb`).
    pub resource: Option<String>,
}

/// The stamps named by `stamp=` (repeated) in a query string, in order, without repeats.
pub fn chosen_stamps(query: &str) -> Vec<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let mut out: Vec<String> = Vec::new();
    for (k, v) in pairs {
        let v = v.trim().to_owned();
        if k == "stamp" && !v.is_empty() && !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// A stamp the compare form offers.
pub struct Choice {
    pub name: String,
    pub display_name: String,
    pub checked: bool,
}

/// The comparison of chosen stamps over time.
pub struct Comparison {
    pub resource: &'static str,
    pub title: &'static str,
    pub chart: Option<TrendChart>,
    pub stamps: Vec<Compared>,
    pub choices: Vec<Choice>,
    pub resources: Vec<(&'static str, &'static str, bool)>,
    /// Names that are no stamp, or beyond the most a chart shows.
    pub unknown: Vec<String>,
    pub dropped: Vec<String>,
    pub sort: String,
    pub dir: String,
}

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

fn ratio(part: f64, whole: f64) -> f64 {
    if whole > 0.0 { part / whole } else { 0.0 }
}

impl Cap {
    fn key(&self, sort: &str) -> f64 {
        match sort {
            "cpu_used" => ratio(self.used_vcpus, self.vcpu_capacity),
            "cpu_headroom" => self.vcpu_capacity - self.alloc_vcpus,
            "mem_alloc" => ratio(self.alloc_memory, self.memory_capacity),
            "mem_used" => ratio(self.used_memory, self.memory_capacity),
            "mem_headroom" => self.memory_capacity - self.alloc_memory,
            "storage_alloc" => ratio(self.alloc_storage_gb, self.physical_storage_gb),
            "vms" => self.used_vms as f64,
            _ => ratio(self.alloc_vcpus, self.vcpu_capacity),
        }
    }
}

pub async fn fetch(db: &sqlx::PgPool) -> Result<Vec<Cap>, sqlx::Error> {
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
    .fetch_all(db)
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

pub struct Row {
    pub cap: Cap,
    pub cpu: Triple,
    pub mem: Triple,
    pub cpu_alloc_pct: String,
    pub cpu_used_pct: String,
    pub mem_alloc_pct: String,
    pub mem_used_pct: String,
    pub storage_pct: String,
    pub cpu_over: bool,
    pub mem_over: bool,
}

pub struct Column {
    pub label: &'static str,
    pub href: String,
    /// `ascending`/`descending` on the column the table is sorted by.
    pub sorted: &'static str,
}

#[derive(Template)]
#[template(path = "capacity.html")]
pub struct CapacityPage {
    pub chrome: Chrome,
    pub rows: Vec<Row>,
    pub columns: Vec<Column>,
    pub csv_href: String,
    pub compare: Comparison,
}

const SORTS: &[(&str, &str)] = &[
    ("name", "Stamp"),
    ("cpu_alloc", "vCPU allocated"),
    ("cpu_used", "vCPU used"),
    ("cpu_headroom", "vCPU headroom"),
    ("mem_alloc", "Memory allocated"),
    ("mem_used", "Memory used"),
    ("mem_headroom", "Memory headroom"),
    ("storage_alloc", "Storage allocated"),
    ("vms", "VMs"),
];

/// The comparison: the stamps `chosen` (those with an open `capacity.exhaustion_soon` first,
/// then by name, when none is), at most [`MAX_COMPARED`].
async fn comparison(
    db: &sqlx::PgPool,
    caps: &[Cap],
    chosen: Vec<String>,
    resource: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Comparison, WebError> {
    let (resource, title, _) = trends::RESOURCES
        .iter()
        .find(|(r, _, _)| Some(*r) == resource)
        .copied()
        .unwrap_or(trends::RESOURCES[0]);
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
        .fetch_all(db)
        .await?
    };
    let mut unknown = Vec::new();
    let mut dropped = Vec::new();
    let mut stamps = Vec::new();
    for name in chosen {
        let id = sqlx::query_scalar!("select id from stamps where name = $1", name)
            .fetch_optional(db)
            .await?;
        match id {
            None => unknown.push(name),
            Some(_) if stamps.len() >= MAX_COMPARED => dropped.push(name),
            Some(id) => stamps.push((name, trends::rows(db, id, now).await?)),
        }
    }
    let (chart, compared) = if stamps.is_empty() {
        (None, Vec::new())
    } else {
        let (chart, compared) = trends::compare_chart(resource, &stamps, now);
        (Some(chart), compared)
    };
    let names: Vec<&str> = stamps.iter().map(|(n, _)| n.as_str()).collect();
    Ok(Comparison {
        resource,
        title,
        chart,
        stamps: compared,
        choices: caps
            .iter()
            .map(|c| Choice {
                name: c.name.clone(),
                display_name: c.display_name.clone(),
                checked: names.contains(&c.name.as_str()),
            })
            .collect(),
        resources: trends::RESOURCES
            .iter()
            .map(|(r, t, _)| (*r, *t, *r == resource))
            .collect(),
        unknown,
        dropped,
        sort: String::new(),
        dir: String::new(),
    })
}

pub async fn show(
    state: web::Data<AppState>,
    ctx: Ctx,
    req: HttpRequest,
    q: web::Query<CapacityQuery>,
) -> Result<HttpResponse, WebError> {
    let sort = q
        .sort
        .as_deref()
        .filter(|s| SORTS.iter().any(|(k, _)| k == s))
        .unwrap_or("name");
    let ascending = match q.dir.as_deref() {
        Some("asc") => true,
        Some("desc") => false,
        _ => sort == "name",
    };
    let db = super::reads::pool(&state, &ctx);
    let mut caps = fetch(db).await?;
    let mut compare = comparison(
        db,
        &caps,
        chosen_stamps(req.query_string()),
        q.resource.as_deref(),
        ctx.now,
    )
    .await?;
    compare.sort = sort.to_owned();
    compare.dir = if ascending { "asc" } else { "desc" }.to_owned();
    if sort == "name" {
        caps.sort_by(|a, b| a.name.cmp(&b.name));
    } else {
        caps.sort_by(|a, b| {
            a.key(sort)
                .total_cmp(&b.key(sort))
                .then(a.name.cmp(&b.name))
        });
    }
    if !ascending {
        caps.reverse();
    }
    let cpu_max = caps
        .iter()
        .map(|c| c.vcpu_capacity.max(c.used_vcpus).max(c.alloc_vcpus))
        .fold(0.0, f64::max);
    let mem_max = caps
        .iter()
        .map(|c| c.memory_capacity.max(c.used_memory).max(c.alloc_memory))
        .fold(0.0, f64::max);
    let rows = caps
        .into_iter()
        .map(|c| Row {
            cpu: svg::triple(
                c.vcpu_capacity,
                c.used_vcpus,
                c.alloc_vcpus,
                cpu_max,
                "vCPUs",
            ),
            mem: svg::triple(
                c.memory_capacity,
                c.used_memory,
                c.alloc_memory,
                mem_max,
                "GiB",
            ),
            cpu_alloc_pct: format::percent(c.alloc_vcpus, c.vcpu_capacity),
            cpu_used_pct: format::percent(c.used_vcpus, c.vcpu_capacity),
            mem_alloc_pct: format::percent(c.alloc_memory, c.memory_capacity),
            mem_used_pct: format::percent(c.used_memory, c.memory_capacity),
            storage_pct: format::percent(c.alloc_storage_gb, c.physical_storage_gb),
            cpu_over: c.vcpu_capacity > 0.0 && c.alloc_vcpus > c.vcpu_capacity,
            mem_over: c.memory_capacity > 0.0 && c.alloc_memory > c.memory_capacity,
            cap: c,
        })
        .collect();
    let wb = ctx.wallboard.then_some("1");
    let columns = SORTS
        .iter()
        .map(|(key, label)| {
            let current = *key == sort;
            // a click on the sorted column turns it around; others start with the largest
            let dir = match (current, ascending) {
                (true, true) => "desc",
                (true, false) => "asc",
                (false, _) if *key == "name" => "asc",
                (false, _) => "desc",
            };
            Column {
                label,
                href: format!(
                    "/capacity{}",
                    format::query(&[("sort", Some(key)), ("dir", Some(dir)), ("wallboard", wb)])
                ),
                sorted: match (current, ascending) {
                    (true, true) => "ascending",
                    (true, false) => "descending",
                    _ => "",
                },
            }
        })
        .collect();
    page::render(&CapacityPage {
        chrome: Chrome::new(&ctx, "Capacity", "capacity")
            .crumbs(vec![Crumb::link("Overview", "/"), Crumb::here("Capacity")]),
        rows,
        columns,
        csv_href: "/capacity.csv".to_owned(),
        compare,
    })
}

/// A CSV field: quoted when needed, and never read as a formula by a spreadsheet.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

pub async fn csv(state: web::Data<AppState>, ctx: Ctx) -> Result<HttpResponse, WebError> {
    let mut out = String::from(
        "stamp,display_name,physical_cores,cpu_overcommit,vcpu_capacity,used_vcpus,allocated_vcpus,\
         physical_memory_gib,memory_overcommit,memory_capacity_gib,used_memory_gib,allocated_memory_gib,\
         physical_storage_gb,allocated_storage_gb,used_vms,allocated_vms,plans\r\n",
    );
    for c in fetch(super::reads::pool(&state, &ctx)).await? {
        out.push_str(&format!(
            "{},{},{},{},{:.0},{:.0},{:.0},{:.1},{},{:.1},{:.1},{:.0},{:.0},{:.0},{},{},{}\r\n",
            csv_field(&c.name),
            csv_field(&c.display_name),
            c.physical_cores,
            c.cpu_overcommit,
            c.vcpu_capacity,
            c.used_vcpus,
            c.alloc_vcpus,
            c.physical_memory_gib,
            c.memory_overcommit,
            c.memory_capacity,
            c.used_memory,
            c.alloc_memory,
            c.physical_storage_gb,
            c.alloc_storage_gb,
            c.used_vms,
            c.alloc_vms,
            c.plans
        ));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"stampbook-capacity.csv\"",
        ))
        .body(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("ams-01"), "ams-01");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
    }
}
