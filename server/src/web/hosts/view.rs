//! The host page as shown, built from what `read` returned (no database here): the host's facts
//! with readable values (certificates with days left, EKU names, settings as rows), each fact
//! table's pager (`pager`) and the change history.

use askama::Template;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::HISTORY_PAGE;
use super::pager::{Pagers, TablePager};
use super::read::{Change, HostData};
use crate::facts::read::{self as facts, HostCertificate, HostDetail, HostWindows, RouteOut};
use crate::web::access::Ctx;
use crate::web::format::{self, When};
use crate::web::overview::expiry_class;
use crate::web::page::{Chrome, Crumb};
use crate::web::problems::view::{ProblemView, compact_json};

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

fn cert_row(c: HostCertificate, warn: i32, crit: i32, now: DateTime<Utc>) -> CertRow {
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
    crate::web::stamps::rollup_name(component, version).unwrap_or_default()
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

/// The host page of `data`, each fact table shown through its window; `paged` when the history
/// does not start at the newest change.
pub fn host_page(
    ctx: &Ctx,
    data: HostData,
    windows: &HostWindows,
    paged: bool,
    acked: Option<i64>,
) -> HostPage {
    let now = ctx.now;
    let HostData {
        detail,
        totals,
        stamp,
        problems,
        changes,
    } = data;
    let h = &detail.host;
    let base = format!("/hosts/{}", h.fqdn);
    let pagers = Pagers::new(&base, windows, &detail, &totals);
    let (history, history_next) = history(&base, changes, now);
    HostPage {
        chrome: Chrome::new(ctx, h.fqdn.clone(), "overview").crumbs(vec![
            Crumb::link("Overview", "/"),
            Crumb::link(stamp.display_name.clone(), format!("/stamps/{}", h.stamp)),
            Crumb::here(h.fqdn.clone()),
        ]),
        fqdn: h.fqdn.clone(),
        stamp: h.stamp.clone(),
        facts: facts_list(&detail, &stamp.display_name, now),
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
            .map(|c| cert_row(c, stamp.cert_warning_days, stamp.cert_critical_days, now))
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
        certificates_pager: pagers.certificates,
        routes_pager: pagers.routes,
        interfaces_pager: pagers.interfaces,
        services_pager: pagers.services,
        components_pager: pagers.components,
        collection_errors: detail.collection.collection_errors.unwrap_or_default(),
        spool_dropped: detail.collection.spool_dropped.unwrap_or(0),
        spool_rejected: detail.collection.spool_rejected.unwrap_or(0),
        history,
        history_next,
        history_first: if paged {
            format!("{base}#history")
        } else {
            String::new()
        },
        acked,
    }
}

/// The host's facts as label and value pairs, without the empty ones.
fn facts_list(
    detail: &HostDetail,
    stamp_name: &str,
    now: DateTime<Utc>,
) -> Vec<(&'static str, String)> {
    let h = &detail.host;
    let v = &h.vitals;
    let mut facts_list: Vec<(&'static str, String)> = vec![
        ("Stamp", format!("{} ({})", stamp_name, h.stamp)),
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
    facts_list
}

/// One page of the change history (`changes` holds one more than a page when there are older
/// ones) and the link to the older changes (empty when there are none).
fn history(base: &str, changes: Vec<Change>, now: DateTime<Utc>) -> (Vec<ChangeRow>, String) {
    let more = changes.len() as i64 > HISTORY_PAGE;
    let next = match changes.get(HISTORY_PAGE as usize - 1) {
        Some(last) if more => format!("{base}?before={}#history", last.id),
        _ => String::new(),
    };
    let rows = changes
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
        .collect();
    (rows, next)
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
    fn history_shows_a_page_and_links_to_the_older_changes_only_when_there_are_some() {
        let now = Utc::now();
        let change = |id| Change {
            id,
            at: now,
            kind: "route".to_owned(),
            key: format!("r{id}"),
            change: "added".to_owned(),
            before: None,
            after: Some(serde_json::json!({"next_hop": "10.0.0.1"})),
        };
        let (rows, next) = history(
            "/hosts/a",
            (1..=HISTORY_PAGE).rev().map(change).collect(),
            now,
        );
        assert_eq!(rows.len() as i64, HISTORY_PAGE);
        assert_eq!(next, "");
        let (rows, next) = history(
            "/hosts/a",
            (1..=HISTORY_PAGE + 1).rev().map(change).collect(),
            now,
        );
        assert_eq!(rows.len() as i64, HISTORY_PAGE);
        assert_eq!(next, "/hosts/a?before=2#history");
        assert_eq!(rows[0].after, r#"{"next_hop":"10.0.0.1"}"#);
    }

    #[test]
    fn well_known_ekus_have_names() {
        assert_eq!(eku_name("1.3.6.1.5.5.7.3.2"), "Client Authentication");
        assert_eq!(eku_name("1.2.3"), "1.2.3");
    }
}
