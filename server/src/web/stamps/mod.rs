//! `/stamps/{name}`: one stamp on one page: summary and health, the Remote Console chain, open
//! problems, hosts (100 a page), server-certificate expiry by week, component versions,
//! networks, scale units and the plans sold on it.

pub mod read;
pub mod view;

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::access::Ctx;
use super::error::WebError;
use super::format::{self, Badge, When};
use super::overview::{CertSoon, console_detail, expiry_class};
use super::page::{self, Chrome, Crumb};
use super::problems::view::{self as problem_view, ProblemView};
use super::svg::Columns;
use super::trends::{self, ResourceChart};
use crate::facts::blind::{self, FailedHost};
use crate::health::{self, ChainLink};
use crate::inventory::store;
use crate::state::AppState;
use read::HOSTS_PER_PAGE;
use view::{ComponentRow, components, timeline};

pub use view::rollup_name;

/// Open problems listed on the stamp page (the rest are one click away).
const PROBLEMS_SHOWN: i64 = 25;

#[derive(Debug, Default, Deserialize)]
pub struct StampQuery {
    pub page: Option<i64>,
    /// Hosts whose FQDN contains this.
    pub q: Option<String>,
    pub wallboard: Option<String>,
    pub acked: Option<i64>,
}

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

/// Hosts listed with their failed sections on the stamp page.
const FAILED_HOSTS_SHOWN: i64 = 50;

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
    pub scale_units: Vec<crate::inventory::model::ScaleUnit>,
    pub plans: Vec<PlanLine>,
    /// Capacity over time, one chart per resource.
    pub trends: Vec<ResourceChart>,
    pub origin: String,
    pub acked: Option<i64>,
}

pub async fn show(
    state: web::Data<AppState>,
    ctx: Ctx,
    name: web::Path<String>,
    q: web::Query<StampQuery>,
) -> Result<HttpResponse, WebError> {
    let db = super::reads::pool(&state, &ctx);
    let mut conn = db.acquire().await?;
    let stamp = store::fetch_stamp(&mut conn, &name).await?.ok_or_else(|| {
        WebError::NotFound(format!(
            "There is no stamp named '{name}'. The overview lists every stamp."
        ))
    })?;
    let d = &stamp.decl;
    let h = health::for_stamp(&mut conn, stamp.id)
        .await?
        .ok_or_else(|| WebError::NotFound(format!("stamp '{name}'")))?;
    let status = sqlx::query!(
        "select evaluated_at, hosts_total, hosts_stale, nearest_cert_expiry, nearest_cert_host,
                physical_cores, physical_memory_mb, physical_storage_gb, used_vms, used_vcpus, used_memory_mb
         from stamp_status where stamp_id = $1",
        stamp.id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let networks = store::fetch_networks(&mut conn, stamp.id).await?;
    let scale_units = store::fetch_scale_units(&mut conn, stamp.id).await?;
    let plans = store::list_plans(&mut conn, Some(d.name.as_str()), None, 10_000).await?;
    drop(conn);

    let now = ctx.now;
    let search = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let page_no = q.page.unwrap_or(1).max(1);
    // independent reads, each on its own pooled connection, at the same time
    let ((hosts_total, hosts), problems, weeks, versions, failed, history) = tokio::try_join!(
        read::hosts(db, stamp.id, d.report_interval_s, search, page_no),
        problem_view::open_for(db, Some(stamp.id), None, PROBLEMS_SHOWN),
        read::expiry_weeks(db, stamp.id),
        read::versions(db, stamp.id),
        blind::failed_hosts(db, stamp.id, FAILED_HOSTS_SHOWN),
        trends::rows(db, stamp.id, now),
    )?;
    let pages = ((hosts_total + HOSTS_PER_PAGE - 1) / HOSTS_PER_PAGE).max(1);
    let open_total = h.open.critical + h.open.warning + h.open.info + h.acknowledged;

    let t = &d.thresholds;
    let (chart, timeline_total) = timeline(&weeks, t.cert_warning_days, t.cert_critical_days);
    let page_href = |p: i64| {
        format!(
            "/stamps/{}{}#hosts",
            d.name,
            format::query(&[
                ("q", search),
                ("page", Some(&p.to_string())),
                ("wallboard", ctx.wallboard.then_some("1")),
            ])
        )
    };
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
    let summary = match status {
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
    };
    let page = StampPage {
        chrome: Chrome::new(&ctx, format!("{} ({})", d.display_name, d.name), "overview").crumbs(
            vec![
                Crumb::link(
                    "Overview",
                    format!("/{}", if ctx.wallboard { "?wallboard=1" } else { "" }),
                ),
                Crumb::here(d.display_name.clone()),
            ],
        ),
        name: d.name.to_string(),
        display_name: d.display_name.clone(),
        facts,
        retired: When::opt(stamp.retired_at, now),
        badge: format::health_badge(h.health),
        critical: h.open.critical,
        warning: h.open.warning,
        acknowledged: h.acknowledged,
        console: h.remote_console.state.as_str(),
        console_detail: console_detail(&h),
        chain: [
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
        .collect(),
        console_unknown: h
            .remote_console
            .unknown
            .iter()
            .map(|u| UnknownRow {
                link: u.link.describe(),
                input: u.input.clone(),
                more: u.hosts_total - u.hosts.len() as i64,
                hosts: u.hosts.clone(),
            })
            .collect(),
        failed,
        summary,
        problems_more: (open_total - problems.len() as i64).max(0),
        problems: problems
            .into_iter()
            .map(|p| ProblemView::new(p, now))
            .collect(),
        can_ack: ctx.can_operate() && !ctx.wallboard,
        hosts: hosts
            .into_iter()
            .map(|l| HostRow {
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
            })
            .collect(),
        hosts_total,
        page: page_no,
        pages,
        q: search.unwrap_or_default().to_owned(),
        prev_href: if page_no > 1 {
            page_href(page_no - 1)
        } else {
            String::new()
        },
        next_href: if page_no < pages {
            page_href(page_no + 1)
        } else {
            String::new()
        },
        timeline: chart,
        timeline_total,
        components: components(versions, &d.target_versions),
        networks: networks
            .into_iter()
            .map(|n| NetworkRow {
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
            })
            .collect(),
        scale_units,
        plans: plans
            .into_iter()
            .map(|p| {
                let d = p.decl;
                PlanLine {
                    quota: format!(
                        "{} VMs · {} vCPUs · {} GiB · {}",
                        format::int(d.quota.vms),
                        format::int(d.quota.vcpus),
                        format::int(d.quota.memory_gb),
                        format::gb(d.quota.storage_gb)
                    ),
                    wap_plan_id: d.wap_plan_id,
                    name: d.name,
                    public: d.public,
                    cloud: d.cloud,
                    remote_console: d.remote_console,
                    subscriptions: d.subscriptions,
                }
            })
            .collect(),
        trends: trends::stamp_charts(
            d.name.as_str(),
            &history,
            now,
            t.exhaustion_warning_days,
            t.exhaustion_critical_days,
        ),
        origin: ctx.origin.clone(),
        acked: q.acked,
    };
    page::render(&page)
}
