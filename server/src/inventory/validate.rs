//! Specs in, declarations out: every inventory value checked once, at the edge, with the path of
//! the field that is wrong (`stamps[0].networks[1].gateway`). Declarations are canonical, so that
//! comparing one with what is stored tells whether anything would change.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

use super::model::{
    Network, NetworkSpec, PlanSpec, Quota, ScaleUnit, ScaleUnitSpec, StampSpec, Thresholds,
    ThresholdsSpec,
};
use crate::domain::{
    Fqdn, StampName, overlaps, parse_ip, parse_network_cidr, parse_object_name, parse_plan_id,
};
use crate::error::ApiError;

pub const PURPOSES: [&str; 3] = ["public", "private", "mixed"];
pub const NETWORK_ROLES: [&str; 5] = ["management", "front_end", "provider", "storage", "other"];
pub const SCALE_UNIT_KINDS: [&str; 3] = ["compute", "storage", "network"];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StampDecl {
    pub name: StampName,
    pub display_name: String,
    pub region: String,
    pub location: String,
    pub purpose: String,
    pub vmm_server: Option<String>,
    pub spf_endpoint: Option<String>,
    pub rd_gateway_fqdn: Option<String>,
    pub report_interval_s: i32,
    pub thresholds: Thresholds,
    pub target_versions: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NetworkDecl {
    pub name: String,
    pub role: String,
    pub cidr: IpNet,
    pub gateway: Option<IpAddr>,
    pub required_prefixes: Vec<IpNet>,
}

impl NetworkDecl {
    pub fn to_api(&self) -> Network {
        Network {
            name: self.name.clone(),
            role: self.role.clone(),
            cidr: self.cidr.to_string(),
            gateway: self.gateway.map(|g| g.to_string()),
            required_prefixes: self
                .required_prefixes
                .iter()
                .map(|p| p.to_string())
                .collect(),
        }
    }
}

pub type ScaleUnitDecl = ScaleUnit;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanDecl {
    pub wap_plan_id: String,
    pub name: String,
    pub public: bool,
    pub stamp: StampName,
    pub cloud: String,
    pub remote_console: bool,
    pub quota: Quota,
    pub subscriptions: i64,
}

/// `at` + `.field`, or just `field` at the top.
pub fn path(at: &str, field: &str) -> String {
    if at.is_empty() {
        field.to_owned()
    } else if field.starts_with('[') {
        format!("{at}{field}")
    } else {
        format!("{at}.{field}")
    }
}

fn bad(code: &'static str, message: String, at: &str, field: &str) -> ApiError {
    ApiError::invalid(code, message, path(at, field))
}

fn text(v: &Option<String>, max: usize, at: &str, field: &str) -> Result<String, ApiError> {
    let s = v.as_deref().unwrap_or("").trim().to_owned();
    if s.chars().count() > max || s.chars().any(char::is_control) {
        return Err(bad(
            "invalid_value",
            format!("{field} must be at most {max} printable characters"),
            at,
            field,
        ));
    }
    Ok(s)
}

fn opt_fqdn(v: &Option<String>, at: &str, field: &str) -> Result<Option<String>, ApiError> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => Fqdn::parse(s)
            .map(|f| Some(f.as_str().to_owned()))
            .map_err(|m| bad("invalid_fqdn", m, at, field)),
    }
}

pub fn stamp_name(s: &str, at: &str, field: &str) -> Result<StampName, ApiError> {
    StampName::parse(s).map_err(|m| bad("invalid_name", m, at, field))
}

fn one_of(v: &str, allowed: &[&str], at: &str, field: &str) -> Result<String, ApiError> {
    if allowed.contains(&v) {
        Ok(v.to_owned())
    } else {
        Err(bad(
            "invalid_value",
            format!("'{v}' is not one of {}", allowed.join(", ")),
            at,
            field,
        ))
    }
}

pub fn thresholds(spec: Option<&ThresholdsSpec>, at: &str) -> Result<Thresholds, ApiError> {
    let d = Thresholds::default();
    let Some(s) = spec else { return Ok(d) };
    let t = Thresholds {
        cert_warning_days: s.cert_warning_days.unwrap_or(d.cert_warning_days),
        cert_critical_days: s.cert_critical_days.unwrap_or(d.cert_critical_days),
        cpu_overcommit: s.cpu_overcommit.unwrap_or(d.cpu_overcommit),
        memory_overcommit: s.memory_overcommit.unwrap_or(d.memory_overcommit),
        exhaustion_warning_days: s
            .exhaustion_warning_days
            .unwrap_or(d.exhaustion_warning_days),
        exhaustion_critical_days: s
            .exhaustion_critical_days
            .unwrap_or(d.exhaustion_critical_days),
    };
    let at = path(at, "thresholds");
    if !(0..=3650).contains(&t.cert_warning_days) {
        return Err(bad(
            "invalid_value",
            "cert_warning_days must be 0 to 3650".into(),
            &at,
            "cert_warning_days",
        ));
    }
    if !(0..=3650).contains(&t.exhaustion_warning_days) {
        return Err(bad(
            "invalid_value",
            "exhaustion_warning_days must be 0 to 3650".into(),
            &at,
            "exhaustion_warning_days",
        ));
    }
    if !(0..=t.exhaustion_warning_days).contains(&t.exhaustion_critical_days) {
        return Err(bad(
            "invalid_value",
            "exhaustion_critical_days must be between 0 and exhaustion_warning_days".into(),
            &at,
            "exhaustion_critical_days",
        ));
    }
    if !(0..=t.cert_warning_days).contains(&t.cert_critical_days) {
        return Err(bad(
            "invalid_value",
            "cert_critical_days must be between 0 and cert_warning_days".into(),
            &at,
            "cert_critical_days",
        ));
    }
    for (v, f) in [
        (t.cpu_overcommit, "cpu_overcommit"),
        (t.memory_overcommit, "memory_overcommit"),
    ] {
        if !(v.is_finite() && v > 0.0 && v <= 100.0) {
            return Err(bad(
                "invalid_value",
                format!("{f} must be above 0 and at most 100"),
                &at,
                f,
            ));
        }
    }
    Ok(t)
}

fn versions(
    v: Option<&BTreeMap<String, String>>,
    at: &str,
) -> Result<BTreeMap<String, String>, ApiError> {
    let mut out = BTreeMap::new();
    for (component, version) in v.into_iter().flatten() {
        let field = format!("target_versions.{component}");
        parse_object_name(component).map_err(|m| bad("invalid_name", m, at, &field))?;
        let ok = !version.is_empty()
            && version.len() <= 64
            && version
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if !ok {
            return Err(bad(
                "invalid_version",
                format!("'{version}' is not a dotted version like 3.2.7620.0"),
                at,
                &field,
            ));
        }
        out.insert(component.clone(), version.clone());
    }
    Ok(out)
}

/// A stamp spec as a declaration; `name_from_path` (PUT) must agree with the body's name.
pub fn stamp(
    spec: &StampSpec,
    name_from_path: Option<&str>,
    at: &str,
) -> Result<StampDecl, ApiError> {
    let name = match (name_from_path, spec.name.as_deref()) {
        (Some(p), Some(b)) if p != b => {
            return Err(bad(
                "name_mismatch",
                format!("the body names stamp '{b}' but the path '{p}'"),
                at,
                "name",
            ));
        }
        (Some(p), _) => stamp_name(p, at, "name")?,
        (None, Some(b)) => stamp_name(b, at, "name")?,
        (None, None) => {
            return Err(bad(
                "missing_field",
                "a stamp needs a name".into(),
                at,
                "name",
            ));
        }
    };
    let display_name = match text(&spec.display_name, 200, at, "display_name")? {
        s if s.is_empty() => name.as_str().to_owned(),
        s => s,
    };
    let purpose = one_of(
        spec.purpose.as_deref().unwrap_or("public"),
        &PURPOSES,
        at,
        "purpose",
    )?;
    let spf_endpoint = match spec.spf_endpoint.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(u)
            if (u.starts_with("https://") || u.starts_with("http://"))
                && u.len() <= 300
                && !u.contains(char::is_whitespace) =>
        {
            Some(u.to_owned())
        }
        Some(u) => {
            return Err(bad(
                "invalid_url",
                format!("'{u}' is not an http(s) URL"),
                at,
                "spf_endpoint",
            ));
        }
    };
    let report_interval_s = spec.report_interval_s.unwrap_or(300);
    if !(10..=86_400).contains(&report_interval_s) {
        return Err(bad(
            "invalid_value",
            "report_interval_s must be 10 to 86400".into(),
            at,
            "report_interval_s",
        ));
    }
    Ok(StampDecl {
        display_name,
        region: text(&spec.region, 100, at, "region")?,
        location: text(&spec.location, 200, at, "location")?,
        purpose,
        vmm_server: opt_fqdn(&spec.vmm_server, at, "vmm_server")?,
        spf_endpoint,
        rd_gateway_fqdn: opt_fqdn(&spec.rd_gateway_fqdn, at, "rd_gateway_fqdn")?,
        report_interval_s,
        thresholds: thresholds(spec.thresholds.as_ref(), at)?,
        target_versions: versions(spec.target_versions.as_ref(), at)?,
        name,
    })
}

pub fn network(spec: &NetworkSpec, at: &str) -> Result<NetworkDecl, ApiError> {
    let name = parse_object_name(&spec.name).map_err(|m| bad("invalid_name", m, at, "name"))?;
    let role = one_of(&spec.role, &NETWORK_ROLES, at, "role")?;
    let cidr = parse_network_cidr(&spec.cidr).map_err(|m| bad("invalid_cidr", m, at, "cidr"))?;
    let gateway = match spec.gateway.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(g) => {
            let ip = parse_ip(g).map_err(|m| bad("invalid_ip", m, at, "gateway"))?;
            if !cidr.contains(&ip) || ip == cidr.network() {
                return Err(bad(
                    "gateway_outside_network",
                    format!("gateway {ip} is not a host address of {cidr}"),
                    at,
                    "gateway",
                ));
            }
            Some(ip)
        }
    };
    let mut required_prefixes = Vec::new();
    for (i, p) in spec.required_prefixes.iter().enumerate() {
        let net = parse_network_cidr(p)
            .map_err(|m| bad("invalid_cidr", m, at, &format!("required_prefixes[{i}]")))?;
        if gateway.is_none() {
            return Err(bad(
                "gateway_required",
                "a network with required_prefixes needs a gateway to route them through".into(),
                at,
                "gateway",
            ));
        }
        required_prefixes.push(net);
    }
    Ok(NetworkDecl {
        name,
        role,
        cidr,
        gateway,
        required_prefixes,
    })
}

/// A stamp's whole set of networks: each valid, names unique, no two overlapping.
pub fn networks(specs: &[NetworkSpec], at: &str) -> Result<Vec<NetworkDecl>, ApiError> {
    let mut out: Vec<NetworkDecl> = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        let here = path(at, &format!("networks[{i}]"));
        let n = network(spec, &here)?;
        check_fits(&out, &n, &here)?;
        out.push(n);
    }
    Ok(out)
}

/// Does `n` fit beside `existing` (unique name, no overlap)?
pub fn check_fits(existing: &[NetworkDecl], n: &NetworkDecl, at: &str) -> Result<(), ApiError> {
    for other in existing {
        if other.name == n.name {
            return Err(ApiError::conflict(
                "network_exists",
                format!("two networks are named '{}'", n.name),
            )
            .with_field(path(at, "name")));
        }
        if overlaps(&other.cidr, &n.cidr) {
            return Err(bad(
                "overlapping_networks",
                format!(
                    "{} ({}) overlaps network '{}' ({})",
                    n.name, n.cidr, other.name, other.cidr
                ),
                at,
                "cidr",
            ));
        }
    }
    Ok(())
}

pub fn scale_unit(spec: &ScaleUnitSpec, at: &str) -> Result<ScaleUnitDecl, ApiError> {
    Ok(ScaleUnit {
        name: parse_object_name(&spec.name).map_err(|m| bad("invalid_name", m, at, "name"))?,
        kind: one_of(&spec.kind, &SCALE_UNIT_KINDS, at, "kind")?,
        rack: text(&spec.rack, 100, at, "rack")?,
        notes: text(&spec.notes, 2000, at, "notes")?,
    })
}

pub fn scale_units(specs: &[ScaleUnitSpec], at: &str) -> Result<Vec<ScaleUnitDecl>, ApiError> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        let here = path(at, &format!("scale_units[{i}]"));
        let su = scale_unit(spec, &here)?;
        if !seen.insert(su.name.clone()) {
            return Err(ApiError::conflict(
                "scale_unit_exists",
                format!("two scale units are named '{}'", su.name),
            )
            .with_field(path(&here, "name")));
        }
        out.push(su);
    }
    Ok(out)
}

pub fn plan(spec: &PlanSpec, id_from_path: Option<&str>, at: &str) -> Result<PlanDecl, ApiError> {
    let wap_plan_id = match (id_from_path, spec.wap_plan_id.as_deref()) {
        (Some(p), Some(b)) if p != b => {
            return Err(bad(
                "id_mismatch",
                format!("the body names plan '{b}' but the path '{p}'"),
                at,
                "wap_plan_id",
            ));
        }
        (Some(p), _) => p,
        (None, Some(b)) => b,
        (None, None) => {
            return Err(bad(
                "missing_field",
                "a plan needs a wap_plan_id".into(),
                at,
                "wap_plan_id",
            ));
        }
    };
    let wap_plan_id =
        parse_plan_id(wap_plan_id).map_err(|m| bad("invalid_name", m, at, "wap_plan_id"))?;
    let name = text(&Some(spec.name.clone()), 200, at, "name")?;
    if name.is_empty() {
        return Err(bad(
            "missing_field",
            "a plan needs a name".into(),
            at,
            "name",
        ));
    }
    let q = spec.quota.clone().unwrap_or_default();
    let quota = Quota {
        vms: q.vms.unwrap_or(0),
        vcpus: q.vcpus.unwrap_or(0),
        memory_gb: q.memory_gb.unwrap_or(0),
        storage_gb: q.storage_gb.unwrap_or(0),
    };
    for (v, f) in [
        (quota.vms, "vms"),
        (quota.vcpus, "vcpus"),
        (quota.memory_gb, "memory_gb"),
        (quota.storage_gb, "storage_gb"),
    ] {
        if v < 0 {
            return Err(bad(
                "invalid_value",
                format!("quota.{f} cannot be negative"),
                at,
                &format!("quota.{f}"),
            ));
        }
    }
    let subscriptions = spec.subscriptions.unwrap_or(0);
    if subscriptions < 0 {
        return Err(bad(
            "invalid_value",
            "subscriptions cannot be negative".into(),
            at,
            "subscriptions",
        ));
    }
    Ok(PlanDecl {
        wap_plan_id,
        name,
        public: spec.public.unwrap_or(true),
        stamp: stamp_name(&spec.stamp, at, "stamp")?,
        cloud: text(&spec.cloud, 200, at, "cloud")?,
        remote_console: spec.remote_console.unwrap_or(false),
        quota,
        subscriptions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(name: &str, cidr: &str, gw: Option<&str>) -> NetworkSpec {
        NetworkSpec {
            name: name.into(),
            role: "management".into(),
            cidr: cidr.into(),
            gateway: gw.map(Into::into),
            required_prefixes: vec![],
        }
    }

    #[test]
    fn gateway_outside_its_network_names_the_field() {
        let err =
            networks(&[net("mgmt", "10.0.0.0/24", Some("10.0.1.1"))], "stamps[2]").unwrap_err();
        assert_eq!(err.code, "gateway_outside_network");
        assert_eq!(err.field.as_deref(), Some("stamps[2].networks[0].gateway"));
    }

    #[test]
    fn overlapping_networks_are_refused() {
        let err = networks(
            &[net("a", "10.0.0.0/16", None), net("b", "10.0.7.0/24", None)],
            "",
        )
        .unwrap_err();
        assert_eq!(err.code, "overlapping_networks");
        assert_eq!(err.field.as_deref(), Some("networks[1].cidr"));
    }

    #[test]
    fn bad_cidr_and_defaults() {
        let err = networks(&[net("a", "10.0.0.1/24", None)], "").unwrap_err();
        assert_eq!(err.code, "invalid_cidr");
        let spec = StampSpec {
            name: Some("ams-01".into()),
            ..Default::default()
        };
        let d = stamp(&spec, None, "").unwrap();
        assert_eq!(d.display_name, "ams-01");
        assert_eq!(d.report_interval_s, 300);
        assert_eq!(d.thresholds, Thresholds::default());
    }

    #[test]
    fn path_and_body_names_must_agree() {
        let spec = StampSpec {
            name: Some("ams-02".into()),
            ..Default::default()
        };
        assert_eq!(
            stamp(&spec, Some("ams-01"), "").unwrap_err().code,
            "name_mismatch"
        );
    }
}
