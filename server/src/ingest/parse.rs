//! A wire report (SPEC §4) checked and parsed into domain facts: certificates decoded and parsed
//! (the thumbprint is ours, not the agent's), addresses and prefixes parsed, thumbprints in
//! settings kept as sent. Every error names the field (`certificates[3].der`).

use std::collections::BTreeSet;
use std::net::IpAddr;

use base64::Engine;
use ipnet::IpNet;
use stampbook_wire::{Component, ON_LINK, Report, Role};

use crate::domain::{Fqdn, StampName};
use crate::error::ApiError;
pub use crate::facts::model::{CertIn, HostIn, ParsedReport, SettingsIn};
use crate::facts::model::{InterfaceFact, RouteFact, ServiceFact, VitalsFact};
use crate::facts::wap::WapPlanFact;
use crate::facts::x509;

fn bad(code: &'static str, message: impl Into<String>, field: impl Into<String>) -> ApiError {
    ApiError::invalid(code, message, field)
}

/// Only the host section: enough to authorise and route the report before the rest is parsed.
pub fn host(report: &Report) -> Result<HostIn, ApiError> {
    let h = &report.host;
    let fqdn = Fqdn::parse(&h.fqdn).map_err(|m| bad("invalid_fqdn", m, "host.fqdn"))?;
    let stamp = StampName::parse(&h.stamp).map_err(|m| bad("invalid_stamp", m, "host.stamp"))?;
    let scale_unit = match h.scale_unit.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(
            crate::domain::parse_object_name(s)
                .map_err(|m| bad("invalid_name", m, "host.scale_unit"))?,
        ),
    };
    let roles: BTreeSet<Role> = h.roles.iter().copied().collect();
    let vitals = h.vitals.as_ref().map(|v| VitalsFact {
        cpu_cores: v.cpu_cores.map(i64::from),
        memory_mb: v.memory_mb.and_then(|x| i64::try_from(x).ok()),
        storage_gb: v.storage_gb.and_then(|x| i64::try_from(x).ok()),
        vm_count: v.vm_count.map(i64::from),
        vm_vcpus: v.vm_vcpus.map(i64::from),
        vm_memory_mb: v.vm_memory_mb.and_then(|x| i64::try_from(x).ok()),
    });
    Ok(HostIn {
        fqdn,
        stamp,
        scale_unit,
        roles: roles.into_iter().collect(),
        os_name: h
            .os
            .as_ref()
            .map(|o| o.name.trim().to_owned())
            .filter(|s| !s.is_empty()),
        os_version: h
            .os
            .as_ref()
            .map(|o| o.version.trim().to_owned())
            .filter(|s| !s.is_empty()),
        vitals,
    })
}

fn short(s: &str, max: usize, field: &str) -> Result<String, ApiError> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > max {
        return Err(bad(
            "invalid_value",
            format!("must be 1 to {max} characters"),
            field,
        ));
    }
    Ok(s.to_owned())
}

fn ip(s: &str, field: &str) -> Result<IpAddr, ApiError> {
    s.trim()
        .parse()
        .map_err(|_| bad("invalid_ip", format!("'{s}' is not an IP address"), field))
}

/// An address with its prefix length; a bare address is a host address (/32, /128).
fn address(s: &str, field: &str) -> Result<IpNet, ApiError> {
    let s = s.trim();
    if let Ok(n) = s.parse::<IpNet>() {
        return Ok(n);
    }
    ip(s, field).map(IpNet::from)
}

fn prefix(s: &str, field: &str) -> Result<IpNet, ApiError> {
    s.trim().parse::<IpNet>().map(|n| n.trunc()).map_err(|_| {
        bad(
            "invalid_cidr",
            format!("'{s}' is not a destination prefix like 10.0.0.0/24"),
            field,
        )
    })
}

/// The whole report; certificates that do not parse refuse the report.
pub fn parse(report: &Report, host: HostIn) -> Result<ParsedReport, ApiError> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let certificates = match &report.certificates {
        None => None,
        Some(list) => {
            let mut out = Vec::with_capacity(list.len());
            let mut seen = BTreeSet::new();
            for (i, c) in list.iter().enumerate() {
                let field = format!("certificates[{i}]");
                let store = short(&c.store, 200, &format!("{field}.store"))?;
                let der: String = c.der.chars().filter(|ch| !ch.is_whitespace()).collect();
                let der = b64.decode(der.as_bytes()).map_err(|e| {
                    bad(
                        "invalid_certificate",
                        format!("certificate {i} is not base64: {e}"),
                        format!("{field}.der"),
                    )
                })?;
                let parsed = x509::parse_der(&der).map_err(|e| {
                    bad(
                        "invalid_certificate",
                        format!("certificate {i} does not parse as X.509 DER: {e}"),
                        format!("{field}.der"),
                    )
                })?;
                // the same certificate listed twice in one store is one fact
                if !seen.insert((store.clone(), parsed.thumbprint.clone())) {
                    continue;
                }
                out.push(CertIn {
                    store,
                    der,
                    parsed,
                    has_private_key: c.has_private_key,
                    provider: c
                        .provider
                        .as_deref()
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(str::to_owned),
                    // as the database will keep it, so that the next report compares equal
                    added_at: c.added_at.map(crate::domain::stored_time),
                    added_at_upper_bound: c.added_at.is_some()
                        && c.added_at_source.as_deref()
                            == Some(stampbook_wire::ADDED_AT_REGISTRY_LAST_WRITE),
                });
            }
            Some(out)
        }
    };
    let interfaces = match &report.interfaces {
        None => None,
        Some(list) => {
            let mut out: Vec<InterfaceFact> = Vec::with_capacity(list.len());
            for (i, n) in list.iter().enumerate() {
                let field = format!("interfaces[{i}]");
                let name = short(&n.name, 256, &format!("{field}.name"))?;
                if out.iter().any(|o| o.name == name) {
                    return Err(bad(
                        "duplicate_interface",
                        format!("interface '{name}' is listed twice"),
                        format!("{field}.name"),
                    ));
                }
                let addresses = n
                    .addresses
                    .iter()
                    .enumerate()
                    .map(|(j, a)| address(a, &format!("{field}.addresses[{j}]")))
                    .collect::<Result<Vec<_>, _>>()?;
                let gateway = match n.gateway.as_deref().map(str::trim) {
                    None | Some("") => None,
                    Some(g) => Some(ip(g, &format!("{field}.gateway"))?),
                };
                out.push(InterfaceFact {
                    name,
                    addresses,
                    gateway,
                });
            }
            Some(out)
        }
    };
    let routes = match &report.routes {
        None => None,
        Some(list) => {
            let mut out = Vec::with_capacity(list.len());
            for (i, r) in list.iter().enumerate() {
                let field = format!("routes[{i}]");
                let destination = prefix(&r.destination, &format!("{field}.destination"))?;
                let hop = r.next_hop.trim();
                let next_hop = if hop.eq_ignore_ascii_case(ON_LINK) {
                    None
                } else {
                    Some(ip(hop, &format!("{field}.next_hop"))?)
                };
                let interface = r
                    .interface
                    .as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned);
                out.push(RouteFact {
                    destination,
                    next_hop,
                    interface,
                    metric: r.metric,
                    persistent: r.persistent,
                });
            }
            Some(out)
        }
    };
    let services = match &report.services {
        None => None,
        Some(list) => {
            let mut out: Vec<ServiceFact> = Vec::with_capacity(list.len());
            for (i, s) in list.iter().enumerate() {
                let field = format!("services[{i}]");
                let name = short(&s.name, 256, &format!("{field}.name"))?;
                if out.iter().any(|o| o.name.eq_ignore_ascii_case(&name)) {
                    return Err(bad(
                        "duplicate_service",
                        format!("service '{name}' is listed twice"),
                        format!("{field}.name"),
                    ));
                }
                let state = short(&s.state, 64, &format!("{field}.state"))?.to_ascii_lowercase();
                out.push(ServiceFact {
                    name,
                    state,
                    started_at: s.started_at.map(crate::domain::stored_time),
                });
            }
            Some(out)
        }
    };
    let settings = match &report.settings {
        None => SettingsIn::default(),
        Some(s) => {
            if let Some(list) = s.components.collected() {
                let mut names = BTreeSet::new();
                for (i, c) in list.iter().enumerate() {
                    let field = format!("settings.components[{i}]");
                    short(&c.name, 128, &format!("{field}.name"))?;
                    short(&c.version, 128, &format!("{field}.version"))?;
                    if !names.insert(c.name.trim().to_owned()) {
                        return Err(bad(
                            "duplicate_component",
                            format!("component '{}' is listed twice", c.name),
                            format!("{field}.name"),
                        ));
                    }
                }
            }
            SettingsIn {
                vmm: s.vmm.clone(),
                hyperv_terminal_service: s.hyperv_terminal_service.clone(),
                rd_gateway: s.rd_gateway.clone(),
                components: s.components.as_ref().map(|l| {
                    l.iter()
                        .map(|c| Component {
                            name: c.name.trim().to_owned(),
                            version: c.version.trim().to_owned(),
                        })
                        .collect()
                }),
            }
        }
    };
    let wap = report.wap.as_ref().map(wap_plans).transpose()?;
    Ok(ParsedReport {
        host,
        certificates,
        interfaces,
        routes,
        services,
        settings,
        wap,
    })
}

/// Settings one WAP quota may carry (WAP's VM Clouds quota has about a dozen).
const MAX_QUOTA_SETTINGS: usize = 64;
/// A setting's value: WAP keeps lists (`Clouds`, `Networks`, ...) as XML text in one value.
const MAX_SETTING_VALUE: usize = 16_384;

/// `report.wap`: ids as the inventory takes them, each once (case-insensitively, as WAP compares
/// them), text within the columns' reach, states WAP knows.
fn wap_plans(wap: &stampbook_wire::WapSection) -> Result<Vec<WapPlanFact>, ApiError> {
    let mut out: Vec<WapPlanFact> = Vec::with_capacity(wap.plans.len());
    let mut keys = BTreeSet::new();
    for (i, p) in wap.plans.iter().enumerate() {
        let field = format!("wap.plans[{i}]");
        let id = crate::domain::parse_plan_id(p.id.trim())
            .map_err(|m| bad("invalid_plan_id", m, format!("{field}.id")))?;
        if !keys.insert(id.to_lowercase()) {
            return Err(bad(
                "duplicate_plan",
                format!("plan '{id}' is listed twice (WAP compares plan ids ignoring case)"),
                format!("{field}.id"),
            ));
        }
        let display_name = match p.display_name.trim() {
            "" => String::new(),
            n => short(n, 256, &format!("{field}.display_name"))?,
        };
        let state = p.state.trim().to_ascii_lowercase();
        if !matches!(state.as_str(), "" | "private" | "public" | "decommissioned") {
            return Err(bad(
                "invalid_value",
                "must be private, public or decommissioned",
                format!("{field}.state"),
            ));
        }
        let mut quotas = Vec::with_capacity(p.quotas.len());
        for (j, q) in p.quotas.iter().enumerate() {
            let qf = format!("{field}.quotas[{j}]");
            let service_name = short(&q.service_name, 128, &format!("{qf}.service_name"))?;
            let instance_id = match q.instance_id.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(s) => Some(short(s, 128, &format!("{qf}.instance_id"))?),
            };
            if q.settings.len() > MAX_QUOTA_SETTINGS {
                return Err(bad(
                    "too_many",
                    format!(
                        "{qf}.settings has {} items; a quota may carry at most {MAX_QUOTA_SETTINGS} (server limit)",
                        q.settings.len()
                    ),
                    format!("{qf}.settings"),
                ));
            }
            for (k, v) in &q.settings {
                let at = format!("{qf}.settings.{}", k.chars().take(64).collect::<String>());
                short(k, 128, &at)?;
                if v.chars().count() > MAX_SETTING_VALUE {
                    return Err(bad(
                        "invalid_value",
                        format!("must be at most {MAX_SETTING_VALUE} characters"),
                        at,
                    ));
                }
            }
            quotas.push(stampbook_wire::WapQuota {
                service_name,
                instance_id,
                settings: q.settings.clone(),
            });
        }
        out.push(WapPlanFact {
            id,
            display_name,
            state,
            subscription_count: p.subscription_count.and_then(|c| i64::try_from(c).ok()),
            quotas,
        });
    }
    Ok(out)
}
