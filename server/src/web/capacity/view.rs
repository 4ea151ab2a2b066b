//! The capacity page as shown, built from what `read` returned (no database here): the table
//! sorted as asked, capacity, use and allocation as bars on one scale, the sort links and the
//! comparison chart.

use askama::Template;
use chrono::{DateTime, Utc};

use super::read::{Cap, CapacityData, Compared};
use crate::web::access::Ctx;
use crate::web::format;
use crate::web::page::{Chrome, Crumb};
use crate::web::svg::{self, TrendChart, Triple};
use crate::web::trends::{self, Compared as ComparedStamp};

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
    pub stamps: Vec<ComparedStamp>,
    pub choices: Vec<Choice>,
    pub resources: Vec<(&'static str, &'static str, bool)>,
    /// Names that are no stamp, or beyond the most a chart shows.
    pub unknown: Vec<String>,
    pub dropped: Vec<String>,
    pub sort: String,
    pub dir: String,
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

/// The columns the table sorts by, with their labels.
pub const SORTS: &[(&str, &str)] = &[
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

/// The capacity page of `data`, sorted by `sort` (one of [`SORTS`]), comparing `resource`.
pub fn capacity_page(
    ctx: &Ctx,
    data: CapacityData,
    sort: &str,
    ascending: bool,
    resource: Option<&str>,
) -> CapacityPage {
    let mut caps = data.caps;
    let mut compare = comparison(&caps, data.compared, resource, ctx.now);
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
    let rows = rows(caps);
    let columns = columns(sort, ascending, ctx.wallboard);
    CapacityPage {
        chrome: Chrome::new(ctx, "Capacity", "capacity")
            .crumbs(vec![Crumb::link("Overview", "/"), Crumb::here("Capacity")]),
        rows,
        columns,
        csv_href: "/capacity.csv".to_owned(),
        compare,
    }
}

/// The table's rows, each resource's bars on one scale across every stamp.
fn rows(caps: Vec<Cap>) -> Vec<Row> {
    let cpu_max = caps
        .iter()
        .map(|c| c.vcpu_capacity.max(c.used_vcpus).max(c.alloc_vcpus))
        .fold(0.0, f64::max);
    let mem_max = caps
        .iter()
        .map(|c| c.memory_capacity.max(c.used_memory).max(c.alloc_memory))
        .fold(0.0, f64::max);
    caps.into_iter()
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
        .collect()
}

/// The sort links: a click on the sorted column turns it around, others start with the largest.
fn columns(sort: &str, ascending: bool, wallboard: bool) -> Vec<Column> {
    let wb = wallboard.then_some("1");
    SORTS
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
        .collect()
}

/// The comparison chart of what `read` found, for `resource` (the first when not given).
fn comparison(
    caps: &[Cap],
    compared: Compared,
    resource: Option<&str>,
    now: DateTime<Utc>,
) -> Comparison {
    let (resource, title, _) = trends::RESOURCES
        .iter()
        .find(|(r, _, _)| Some(*r) == resource)
        .copied()
        .unwrap_or(trends::RESOURCES[0]);
    let Compared {
        stamps,
        unknown,
        dropped,
    } = compared;
    let (chart, compared) = if stamps.is_empty() {
        (None, Vec::new())
    } else {
        let (chart, compared) = trends::compare_chart(resource, &stamps, now);
        (Some(chart), compared)
    };
    let names: Vec<&str> = stamps.iter().map(|(n, _)| n.as_str()).collect();
    Comparison {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sorted_column_turns_around_and_the_others_start_with_the_largest() {
        let cols = columns("cpu_used", false, true);
        let col = |label: &str| cols.iter().find(|c| c.label == label).unwrap();
        assert_eq!(col("vCPU used").sorted, "descending");
        assert_eq!(
            col("vCPU used").href,
            "/capacity?sort=cpu_used&dir=asc&wallboard=1"
        );
        assert_eq!(col("Stamp").sorted, "");
        assert_eq!(col("Stamp").href, "/capacity?sort=name&dir=asc&wallboard=1");
        assert_eq!(col("VMs").href, "/capacity?sort=vms&dir=desc&wallboard=1");
        let by_name = columns("name", true, false);
        assert_eq!(by_name[0].sorted, "ascending");
        assert_eq!(by_name[0].href, "/capacity?sort=name&dir=desc");
    }
}
