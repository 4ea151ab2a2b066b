//! The stamp page as shown, built from what `read` returned (no database here): the summary,
//! the Remote Console chain, the hosts with their pager, and the panels of `panels`.

use askama::Template;

use super::panels::{ComponentRow, components, timeline};
use super::read::{self, HOSTS_PER_PAGE, StampData};
use crate::facts::blind::FailedHost;
use crate::health::{ChainLink, StampHealth};
use crate::inventory::model::{ScaleUnit, Thresholds};
use crate::inventory::store::PlanRow;
use crate::inventory::validate::{NetworkDecl, StampDecl};
use crate::web::access::Ctx;
use crate::web::format::{self, Badge, When};
use crate::web::overview::{CertSoon, console_detail, expiry_class};
use crate::web::page::{Chrome, Crumb};
use crate::web::problems::view::ProblemView;
use crate::web::svg::Columns;
use crate::web::trends::{self, ResourceChart};

pub struct ChainStep {
    pub label: &'static str,
    /// `fine`, `unknown` (an input was not collected) or `broken` (a problem is open).
    pub state: &'static str,
}

/// An input of the chain some hosts did not collect.
pub struct UnknownRow {
    pub link: &'static str,
    pub input: String,
    pub hosts: Vec<String>,
    pub more: i64,
}

pub struct HostRow {
    pub fqdn: String,
    pub scale_unit: String,
    pub roles: String,
    pub os: String,
    pub cores: String,
    pub memory: String,
    pub vms: String,
    pub agent: String,
    pub last: When,
    pub stale: bool,
    pub open_problems: i64,
}

pub struct NetworkRow {
    pub name: String,
    pub role: String,
    pub cidr: String,
    pub gateway: String,
    pub required_prefixes: String,
}

pub struct PlanLine {
    pub wap_plan_id: String,
    pub name: String,
    pub public: bool,
    pub cloud: String,
    pub remote_console: bool,
    pub quota: String,
    pub subscriptions: i64,
}

pub struct Summary {
    pub evaluated: Option<When>,
    pub hosts_total: i64,
    pub hosts_stale: i64,
    pub cert: Option<CertSoon>,
    pub cores: String,
    pub memory: String,
    pub storage: String,
    pub vms: String,
}

#[derive(Template)]
#[template(path = "stamp.html")]
pub struct StampPage {
    pub chrome: Chrome,
    pub name: String,
    pub display_name: String,
    pub facts: Vec<(&'static str, String)>,
    pub retired: Option<When>,
    pub badge: Badge,
    pub critical: i64,
    pub warning: i64,
    pub acknowledged: i64,
    /// `ready`, `unknown` or `broken`.
    pub console: &'static str,
    pub console_detail: String,
    pub chain: Vec<ChainStep>,
    pub console_unknown: Vec<UnknownRow>,
    /// Hosts whose newest report lists sections it could not collect.
    pub failed: Vec<FailedHost>,
    pub summary: Summary,
    pub problems: Vec<ProblemView>,
    pub problems_more: i64,
    pub can_ack: bool,
    pub hosts: Vec<HostRow>,
    pub hosts_total: i64,
    pub page: i64,
    pub pages: i64,
    pub q: String,
    pub prev_href: String,
    pub next_href: String,
    pub timeline: Columns,
    pub timeline_total: i64,
    pub components: Vec<ComponentRow>,
    pub networks: Vec<NetworkRow>,
    pub scale_units: Vec<ScaleUnit>,
    pub plans: Vec<PlanLine>,
    /// Capacity over time, one chart per resource.
    pub trends: Vec<ResourceChart>,
    pub origin: String,
    pub acked: Option<i64>,
}

/// The stamp page of `data`, showing hosts page `page_no` of those whose FQDN contains `search`.
pub fn stamp_page(
    ctx: &Ctx,
    data: StampData,
    search: Option<&str>,
    page_no: i64,
    acked: Option<i64>,
) -> StampPage {
    let now = ctx.now;
    let d = &data.stamp.decl;
    let h = &data.health;
    let t = &d.thresholds;
    let pages = page_count(data.hosts_total);
    let (prev_href, next_href) = page_links(page_no, pages, |p| {
        format!(
            "/stamps/{}{}#hosts",
            d.name,
            format::query(&[
                ("q", search),
                ("page", Some(&p.to_string())),
                ("wallboard", ctx.wallboard.then_some("1")),
            ])
        )
    });
    let open_total = h.open.critical + h.open.warning + h.open.info + h.acknowledged;
    let (timeline, timeline_total) =
        timeline(&data.weeks, t.cert_warning_days, t.cert_critical_days);
    let overview = format!("/{}", if ctx.wallboard { "?wallboard=1" } else { "" });
    StampPage {
        chrome: Chrome::new(ctx, format!("{} ({})", d.display_name, d.name), "overview").crumbs(
            vec![
                Crumb::link("Overview", overview),
                Crumb::here(d.display_name.clone()),
            ],
        ),
        name: d.name.to_string(),
        display_name: d.display_name.clone(),
        facts: declaration(d),
        retired: When::opt(data.stamp.retired_at, now),
        badge: format::health_badge(h.health),
        critical: h.open.critical,
        warning: h.open.warning,
        acknowledged: h.acknowledged,
        console: h.remote_console.state.as_str(),
        console_detail: console_detail(h),
        chain: chain(h),
        console_unknown: console_unknown(h),
        failed: data.failed,
        summary: summary(data.status, data.hosts_total, t, now),
        problems_more: (open_total - data.problems.len() as i64).max(0),
        problems: (data.problems.into_iter())
            .map(|p| ProblemView::new(p, now))
            .collect(),
        can_ack: ctx.can_operate() && !ctx.wallboard,
        hosts: (data.hosts.into_iter()).map(|l| host_row(l, now)).collect(),
        hosts_total: data.hosts_total,
        page: page_no,
        pages,
        q: search.unwrap_or_default().to_owned(),
        prev_href,
        next_href,
        timeline,
        timeline_total,
        components: components(data.versions, &d.target_versions),
        networks: data.networks.into_iter().map(network_row).collect(),
        scale_units: data.scale_units,
        plans: data.plans.into_iter().map(plan_line).collect(),
        trends: trends::stamp_charts(
            d.name.as_str(),
            &data.history,
            now,
            t.exhaustion_warning_days,
            t.exhaustion_critical_days,
        ),
        origin: ctx.origin.clone(),
        acked,
    }
}

/// Pages of [`HOSTS_PER_PAGE`] hosts that `total` hosts fill (at least one).
pub fn page_count(total: i64) -> i64 {
    ((total + HOSTS_PER_PAGE - 1) / HOSTS_PER_PAGE).max(1)
}

/// The links to the previous and next page of hosts (empty where there is none).
pub fn page_links(page: i64, pages: i64, href: impl Fn(i64) -> String) -> (String, String) {
    let prev = if page > 1 {
        href(page - 1)
    } else {
        String::new()
    };
    let next = if page < pages {
        href(page + 1)
    } else {
        String::new()
    };
    (prev, next)
}

/// The declaration as label and value pairs, without the empty ones.
fn declaration(d: &StampDecl) -> Vec<(&'static str, String)> {
    let t = &d.thresholds;
    let mut facts: Vec<(&'static str, String)> = vec![
        ("Region", d.region.clone()),
        ("Location", d.location.clone()),
        ("Purpose", d.purpose.clone()),
        ("VMM server", d.vmm_server.clone().unwrap_or_default()),
        ("SPF endpoint", d.spf_endpoint.clone().unwrap_or_default()),
        (
            "Remote Console gateway",
            d.rd_gateway_fqdn.clone().unwrap_or_default(),
        ),
        ("Report interval", format!("{} s", d.report_interval_s)),
        (
            "Thresholds",
            format!(
                "certificates warn at {} d, critical at {} d · overcommit CPU {}×, memory {}×",
                t.cert_warning_days, t.cert_critical_days, t.cpu_overcommit, t.memory_overcommit
            ),
        ),
    ];
    facts.retain(|(_, v)| !v.is_empty());
    facts
}

/// The summary from `stamp_status`; before the first evaluation only the host count is known.
fn summary(
    status: Option<read::Status>,
    hosts_total: i64,
    t: &Thresholds,
    now: chrono::DateTime<chrono::Utc>,
) -> Summary {
    match status {
        Some(s) => Summary {
            evaluated: Some(When::at(s.evaluated_at, now)),
            hosts_total: i64::from(s.hosts_total),
            hosts_stale: i64::from(s.hosts_stale),
            cert: s.nearest_cert_expiry.map(|e| {
                let days = format::days_until(e, now);
                CertSoon {
                    when: When::at(e, now),
                    days,
                    class: expiry_class(days, t.cert_warning_days, t.cert_critical_days),
                    host: s.nearest_cert_host.clone().unwrap_or_default(),
                }
            }),
            cores: format!("{} cores", format::int(s.physical_cores)),
            memory: format::mib(s.physical_memory_mb),
            storage: format::gb(s.physical_storage_gb),
            vms: format!(
                "{} VMs · {} vCPUs · {}",
                format::int(s.used_vms),
                format::int(s.used_vcpus),
                format::mib(s.used_memory_mb)
            ),
        },
        None => Summary {
            evaluated: None,
            hosts_total,
            hosts_stale: 0,
            cert: None,
            cores: String::new(),
            memory: String::new(),
            storage: String::new(),
            vms: String::new(),
        },
    }
}

/// The Remote Console chain link by link: broken (a problem is open), unknown or fine.
fn chain(h: &StampHealth) -> Vec<ChainStep> {
    [
        ChainLink::VmmCertificate,
        ChainLink::HostTrust,
        ChainLink::RdGatewayTrust,
    ]
    .into_iter()
    .map(|l| ChainStep {
        label: l.describe(),
        state: if h.remote_console.broken_links.contains(&l) {
            "broken"
        } else if h.remote_console.unknown_links.contains(&l) {
            "unknown"
        } else {
            "fine"
        },
    })
    .collect()
}

fn console_unknown(h: &StampHealth) -> Vec<UnknownRow> {
    h.remote_console
        .unknown
        .iter()
        .map(|u| UnknownRow {
            link: u.link.describe(),
            input: u.input.clone(),
            more: u.hosts_total - u.hosts.len() as i64,
            hosts: u.hosts.clone(),
        })
        .collect()
}

fn host_row(l: read::HostLine, now: chrono::DateTime<chrono::Utc>) -> HostRow {
    HostRow {
        scale_unit: l.scale_unit.unwrap_or_default(),
        roles: l.roles.join(", "),
        os: l.os,
        cores: l.cpu_cores.map(|c| c.to_string()).unwrap_or_default(),
        memory: l.memory_mb.map(format::mib).unwrap_or_default(),
        vms: l.vm_count.map(|c| c.to_string()).unwrap_or_default(),
        agent: l.agent_version.unwrap_or_default(),
        last: When::at(l.last_collected_at, now),
        stale: l.stale,
        open_problems: l.open_problems,
        fqdn: l.fqdn,
    }
}

fn network_row(n: NetworkDecl) -> NetworkRow {
    NetworkRow {
        name: n.name,
        role: n.role,
        cidr: n.cidr.to_string(),
        gateway: n.gateway.map(|g| g.to_string()).unwrap_or_default(),
        required_prefixes: n
            .required_prefixes
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn plan_line(p: PlanRow) -> PlanLine {
    let d = p.decl;
    PlanLine {
        quota: format::quota(&d.quota),
        wap_plan_id: d.wap_plan_id,
        name: d.name,
        public: d.public,
        cloud: d.cloud,
        remote_console: d.remote_console,
        subscriptions: d.subscriptions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_fill_pages_of_a_hundred_and_link_only_to_pages_that_exist() {
        assert_eq!(page_count(0), 1);
        assert_eq!(page_count(100), 1);
        assert_eq!(page_count(101), 2);
        let href = |p: i64| format!("p{p}");
        assert_eq!(page_links(1, 1, href), (String::new(), String::new()));
        assert_eq!(page_links(1, 3, href), (String::new(), "p2".to_owned()));
        assert_eq!(page_links(2, 3, href), ("p1".to_owned(), "p3".to_owned()));
        assert_eq!(page_links(3, 3, href), ("p2".to_owned(), String::new()));
    }
}
