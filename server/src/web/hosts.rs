//! `/hosts/{fqdn}`: everything one host told us: certificates with days left, routes with the
//! effective default marked, interfaces, services, role settings, component versions, its open
//! problems and its change history (50 changes a page, newest first). Each fact table shows at
//! most 200 rows, with the count of the rest and a link to the next rows (`?routes=200#routes`).

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::Value;

use super::access::Ctx;
use super::error::WebError;
use super::format::{self, When};
use super::overview::expiry_class;
use super::page::{self, Chrome, Crumb};
use super::problems::view::{self, ProblemView, compact_json};
use crate::facts::read::{self as facts, HostCertificate, HostWindows, RouteOut, Window};
use crate::state::AppState;

const HISTORY_PAGE: i64 = 50;
/// Rows of each fact table (certificates, routes, interfaces, services, components) a page shows.
pub const TABLE_PAGE: i64 = 200;

#[derive(Debug, Default, Deserialize)]
pub struct HostQuery {
    /// History page start: changes with a smaller id.
    pub before: Option<i64>,
    pub wallboard: Option<String>,
    pub acked: Option<i64>,
    /// Where each fact table's rows start (0 when not given).
    pub certificates: Option<u32>,
    pub routes: Option<u32>,
    pub interfaces: Option<u32>,
    pub services: Option<u32>,
    pub components: Option<u32>,
}

/// Where one fact table's shown rows sit among all of them, with links to the rows before and
/// after (empty when there are none).
pub struct TablePager {
    pub first: i64,
    pub last: i64,
    pub total: i64,
    pub rest: i64,
    pub prev: String,
    pub next: String,
}

impl TablePager {
    fn new(base: &str, param: &str, offset: i64, shown: usize, total: i64) -> TablePager {
        let last = offset + shown as i64;
        let link = |at: i64| {
            if at == 0 {
                format!("{base}#{param}")
            } else {
                format!("{base}?{param}={at}#{param}")
            }
        };
        TablePager {
            first: offset + 1,
            last,
            total,
            rest: (total - last).max(0),
            prev: if offset > 0 {
                link((offset - TABLE_PAGE).max(0))
            } else {
                String::new()
            },
            next: if last < total {
                link(last)
            } else {
                String::new()
            },
        }
    }

    /// Whether the table has rows outside this page (then the page says which rows it shows).
    pub fn partial(&self) -> bool {
        !self.prev.is_empty() || !self.next.is_empty()
    }
}

pub struct CertRow {
    pub store: String,
    pub name: String,
    pub subject: String,
    pub issuer: String,
    pub thumbprint: String,
    pub not_after: When,
    pub days_left: i64,
    pub class: &'static str,
    pub key: String,
    pub signature: String,
    pub usage: String,
    pub san: String,
    pub self_signed: bool,
    pub private_key: bool,
    pub provider: String,
}

pub struct ServiceRow {
    pub name: String,
    pub state: String,
    pub started: Option<When>,
}

pub struct SettingRow {
    pub section: String,
    pub key: String,
    pub value: String,
}

pub struct ChangeRow {
    pub at: When,
    pub kind: String,
    pub key: String,
    pub change: String,
    pub before: String,
    pub after: String,
}

#[derive(Template)]
#[template(path = "host.html")]
pub struct HostPage {
    pub chrome: Chrome,
    pub fqdn: String,
    pub stamp: String,
    pub facts: Vec<(&'static str, String)>,
    pub last_report: When,
    pub stale: bool,
    pub problems: Vec<ProblemView>,
    pub can_ack: bool,
    pub certificates: Vec<CertRow>,
    pub routes: Vec<RouteOut>,
    pub interfaces: Vec<facts::InterfaceOut>,
    pub services: Vec<ServiceRow>,
    pub settings: Vec<SettingRow>,
    pub components: Vec<facts::ComponentOut>,
    pub certificates_pager: TablePager,
    pub routes_pager: TablePager,
    pub interfaces_pager: TablePager,
    pub services_pager: TablePager,
    pub components_pager: TablePager,
    /// Sections the newest report could not collect (none: it collected all or did not say).
    pub collection_errors: Vec<stampbook_wire::CollectionError>,
    /// Reports the agent's spool dropped before the newest one (0 or not said: none).
    pub spool_dropped: i64,
    pub spool_rejected: i64,
    pub history: Vec<ChangeRow>,
    pub history_next: String,
    pub history_first: String,
    pub acked: Option<i64>,
}

/// Friendly names of the EKU OIDs that matter here.
fn eku_name(oid: &str) -> &str {
    match oid {
        "1.3.6.1.5.5.7.3.1" => "Server Authentication",
        "1.3.6.1.5.5.7.3.2" => "Client Authentication",
        "1.3.6.1.5.5.7.3.3" => "Code Signing",
        "1.3.6.1.5.5.7.3.4" => "Secure Email",
        "1.3.6.1.4.1.311.54.1.2" => "Remote Desktop Authentication",
        other => other,
    }
}

fn cert_row(
    c: HostCertificate,
    warn: i32,
    crit: i32,
    now: chrono::DateTime<chrono::Utc>,
) -> CertRow {
    let ku = match &c.key_usage {
        None => "no Key Usage".to_owned(),
        Some(v) => v.join(", "),
    };
    let eku = match &c.eku {
        None => "no EKU".to_owned(),
        Some(v) => v.iter().map(|o| eku_name(o)).collect::<Vec<_>>().join(", "),
    };
    CertRow {
        name: c.subject_cn.clone().unwrap_or_else(|| c.subject.clone()),
        class: expiry_class(c.days_left, warn, crit),
        not_after: When::at(c.not_after, now),
        days_left: c.days_left,
        key: match c.key_bits {
            Some(b) => format!("{} {b}", c.key_algorithm),
            None => c.key_algorithm,
        },
        signature: c.signature_hash.unwrap_or(c.signature_algorithm),
        usage: format!("{ku} · {eku}"),
        san: c.san_dns.join(", "),
        store: c.store,
        subject: c.subject,
        issuer: c.issuer,
        thumbprint: c.thumbprint,
        self_signed: c.self_signed,
        private_key: c.has_private_key,
        provider: c.provider.unwrap_or_default(),
    }
}

/// The update rollup a component build is, when known (empty otherwise).
pub fn rollup(component: &str, version: &str) -> &'static str {
    super::stamps::rollup_name(component, version).unwrap_or_default()
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "—".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            if items.is_empty() {
                "(none)".to_owned()
            } else {
                items.iter().map(scalar).collect::<Vec<_>>().join(", ")
            }
        }
        other if other.is_object() || other.is_array() => compact_json(other, 400),
        other => other.to_string(),
    }
}

/// The role settings as `section / key = value` rows.
pub fn settings_rows(settings: &Value) -> Vec<SettingRow> {
    let mut out = Vec::new();
    if let Value::Object(sections) = settings {
        for (section, body) in sections {
            match body {
                Value::Object(keys) => out.extend(keys.iter().map(|(k, v)| SettingRow {
                    section: section.clone(),
                    key: k.clone(),
                    value: scalar(v),
                })),
                Value::Null => {}
                other => out.push(SettingRow {
                    section: section.clone(),
                    key: String::new(),
                    value: scalar(other),
                }),
            }
        }
    }
    out
}

pub async fn show(
    state: web::Data<AppState>,
    ctx: Ctx,
    fqdn: web::Path<String>,
    q: web::Query<HostQuery>,
) -> Result<HttpResponse, WebError> {
    let db = super::reads::pool(&state, &ctx);
    let offset = |o: Option<u32>| Window::page(i64::from(o.unwrap_or(0)), TABLE_PAGE);
    let windows = HostWindows {
        certificates: offset(q.certificates),
        routes: offset(q.routes),
        interfaces: offset(q.interfaces),
        services: offset(q.services),
        components: offset(q.components),
    };
    let (detail, totals) = facts::host_detail_window(db, &fqdn, &windows)
        .await?
        .ok_or_else(|| {
        WebError::NotFound(format!(
            "No host '{fqdn}' has reported. Hosts appear once their agent's first report is accepted."
        ))
    })?;
    let ids = sqlx::query!(
        r#"select h.id, s.display_name, s.cert_warning_days, s.cert_critical_days
           from hosts h join stamps s on s.id = h.stamp_id where h.fqdn = $1::text::citext"#,
        fqdn.as_str()
    )
    .fetch_one(db)
    .await?;
    let problems = view::open_for(db, None, Some(ids.id), 100).await?;
    let changes = sqlx::query!(
        r#"select id, at, kind, key, change, before, after from fact_changes
           where host_id = $1 and id < coalesce($2::bigint, 9223372036854775807)
           order by id desc limit $3"#,
        ids.id,
        q.before,
        HISTORY_PAGE + 1
    )
    .fetch_all(db)
    .await?;
    let now = ctx.now;
    let h = &detail.host;
    let more = changes.len() as i64 > HISTORY_PAGE;
    let base = format!("/hosts/{}", h.fqdn);
    let history_next = match changes.get(HISTORY_PAGE as usize - 1) {
        Some(last) if more => format!("{base}?before={}#history", last.id),
        _ => String::new(),
    };
    let v = &h.vitals;
    let mut facts_list: Vec<(&'static str, String)> = vec![
        ("Stamp", format!("{} ({})", ids.display_name, h.stamp)),
        ("Roles", h.roles.join(", ")),
        ("Scale unit", h.scale_unit.clone().unwrap_or_default()),
        (
            "OS",
            [h.os_name.clone(), h.os_version.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
        ),
        (
            "CPU cores",
            v.cpu_cores.map(format::int).unwrap_or_default(),
        ),
        ("Memory", v.memory_mb.map(format::mib).unwrap_or_default()),
        ("Storage", v.storage_gb.map(format::gb).unwrap_or_default()),
        (
            "VMs",
            [
                v.vm_count.map(|c| format!("{} VMs", format::int(c))),
                v.vm_vcpus.map(|c| format!("{} vCPUs", format::int(c))),
                v.vm_memory_mb.map(format::mib),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · "),
        ),
        ("Agent", h.agent_version.clone().unwrap_or_default()),
        ("First seen", When::at(h.first_seen_at, now).abs),
        ("Last report received", When::at(h.last_report_at, now).abs),
    ];
    facts_list.retain(|(_, v)| !v.is_empty());
    let pager = |param: &str, w: Window, shown: usize, total: i64| {
        TablePager::new(&base, param, w.offset, shown, total)
    };
    let certificates_pager = pager(
        "certificates",
        windows.certificates,
        detail.certificates.len(),
        totals.certificates,
    );
    let routes_pager = pager("routes", windows.routes, detail.routes.len(), totals.routes);
    let interfaces_pager = pager(
        "interfaces",
        windows.interfaces,
        detail.interfaces.len(),
        totals.interfaces,
    );
    let services_pager = pager(
        "services",
        windows.services,
        detail.services.len(),
        totals.services,
    );
    let components_pager = pager(
        "components",
        windows.components,
        detail.components.len(),
        totals.components,
    );
    let page = HostPage {
        chrome: Chrome::new(&ctx, h.fqdn.clone(), "overview").crumbs(vec![
            Crumb::link("Overview", "/"),
            Crumb::link(ids.display_name.clone(), format!("/stamps/{}", h.stamp)),
            Crumb::here(h.fqdn.clone()),
        ]),
        fqdn: h.fqdn.clone(),
        stamp: h.stamp.clone(),
        facts: facts_list,
        last_report: When::at(h.last_collected_at, now),
        stale: h.stale,
        problems: problems
            .into_iter()
            .map(|p| ProblemView::new(p, now))
            .collect(),
        can_ack: ctx.can_operate() && !ctx.wallboard,
        certificates: detail
            .certificates
            .into_iter()
            .map(|c| cert_row(c, ids.cert_warning_days, ids.cert_critical_days, now))
            .collect(),
        routes: detail.routes,
        interfaces: detail.interfaces,
        services: detail
            .services
            .into_iter()
            .map(|s| ServiceRow {
                name: s.name,
                state: s.state,
                started: When::opt(s.started_at, now),
            })
            .collect(),
        settings: settings_rows(&detail.settings),
        components: detail.components,
        certificates_pager,
        routes_pager,
        interfaces_pager,
        services_pager,
        components_pager,
        collection_errors: detail.collection.collection_errors.unwrap_or_default(),
        spool_dropped: detail.collection.spool_dropped.unwrap_or(0),
        spool_rejected: detail.collection.spool_rejected.unwrap_or(0),
        history: changes
            .into_iter()
            .take(HISTORY_PAGE as usize)
            .map(|c| ChangeRow {
                at: When::at(c.at, now),
                kind: c.kind,
                key: c.key,
                change: c.change,
                before: c
                    .before
                    .as_ref()
                    .map(|v| compact_json(v, 200))
                    .unwrap_or_default(),
                after: c
                    .after
                    .as_ref()
                    .map(|v| compact_json(v, 200))
                    .unwrap_or_default(),
            })
            .collect(),
        history_next,
        history_first: if q.before.is_some() {
            format!("{base}#history")
        } else {
            String::new()
        },
        acked: q.acked,
    };
    page::render(&page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_flatten_to_rows_with_readable_values() {
        let rows = settings_rows(&serde_json::json!({
            "vmm": {"vmconnect_ttl_minutes": 2, "host_identification_mode": "FQDN"},
            "hyperv_terminal_service": {"trusted_issuer_certificate_hashes": ["AB", "CD"], "allowed_hash_algorithms": []},
            "rd_gateway": null
        }));
        let text: Vec<String> = rows
            .iter()
            .map(|r| format!("{}/{}={}", r.section, r.key, r.value))
            .collect();
        assert_eq!(
            text,
            [
                "hyperv_terminal_service/allowed_hash_algorithms=(none)",
                "hyperv_terminal_service/trusted_issuer_certificate_hashes=AB, CD",
                "vmm/host_identification_mode=FQDN",
                "vmm/vmconnect_ttl_minutes=2"
            ]
        );
    }

    #[test]
    fn well_known_ekus_have_names() {
        assert_eq!(eku_name("1.3.6.1.5.5.7.3.2"), "Client Authentication");
        assert_eq!(eku_name("1.2.3"), "1.2.3");
    }
}
