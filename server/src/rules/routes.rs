//! Default routes of multi-homed hosts (`route.*`): which stamp network a route leaves
//! through, which default route is in force, and the classic NVGRE gateway fault of a default
//! gateway on both NICs (SPEC §5).
//!
//! Routes are classified by stamp network in [`classify()`] (most specific CIDR containing the
//! next hop; on-link routes by their interface's address).
//!
//! Decisions where the SPEC is silent:
//! - IPv4 (`0.0.0.0/0`) and IPv6 (`::/0`) defaults are judged separately, never against each
//!   other, and a family is judged only when the stamp declares a network in it (in practice
//!   IPv4: a link-local IPv6 default from router advertisements on a stamp that declares no
//!   IPv6 network says nothing about the stamp's design).
//! - The effective default is every default route at the lowest metric. On a tie Windows may
//!   send traffic through any of them, so `route.default_via_management` fires when ANY tied
//!   route goes through management (the SPEC's "both NICs have a default gateway and no
//!   metrics" incident is exactly that tie), alongside `route.default_ambiguous`.
//! - Likewise `route.management_static_missing` applies when any effective default leaves
//!   through another network than the management one.
//! - A management network without a declared gateway accepts, as the static route, any route
//!   whose next hop lies inside that network.
//! - `routes: None` (not collected) yields nothing; an empty list is "no routes" and an NVGRE
//!   gateway with none gets `route.default_missing`.

mod classify;

use std::collections::BTreeSet;

use ipnet::IpNet;
use serde_json::{Value, json};
use stampbook_wire::Role;

use super::describe::host_finding;
use super::model::{Finding, HostFacts, NetworkFact, NetworkRole, Severity, StampContext};

pub use classify::{
    ClassifiedRoute, Family, classify, default_routes, effective_defaults, has_address_in,
    host_addresses, network_of,
};

pub const DEFAULT_VIA_MANAGEMENT: &str = "route.default_via_management";
pub const DEFAULT_AMBIGUOUS: &str = "route.default_ambiguous";
pub const DEFAULT_MISSING: &str = "route.default_missing";
pub const MANAGEMENT_STATIC_MISSING: &str = "route.management_static_missing";

/// All `route.*` findings for one host.
pub fn evaluate(ctx: &StampContext, host: &HostFacts) -> Vec<Finding> {
    if host.routes.is_none() {
        return Vec::new();
    }
    let mut findings = Vec::new();
    for family in [Family::V4, Family::V6] {
        if !ctx
            .networks
            .iter()
            .any(|n| Family::of_net(&n.cidr) == family)
        {
            continue;
        }
        let defaults = default_routes(ctx, host, family);
        let effective = effective_defaults(&defaults);
        // built only for a route that fires: most hosts' routes are fine
        let evidence = || {
            json!({
                "default_routes": defaults.iter().map(ClassifiedRoute::evidence).collect::<Vec<_>>(),
                "effective": effective.iter().map(ClassifiedRoute::evidence).collect::<Vec<_>>(),
            })
        };
        let subject = family.default_destination();
        findings.extend(via_management(ctx, host, &effective, subject, &evidence));
        findings.extend(ambiguous(host, &effective, subject, &evidence));
        findings.extend(missing(ctx, host, family, &defaults, subject, &evidence));
        findings.extend(static_missing(ctx, host, family, &effective));
    }
    findings
}

fn list(routes: &[ClassifiedRoute<'_>]) -> String {
    routes
        .iter()
        .map(ClassifiedRoute::describe)
        .collect::<Vec<_>>()
        .join("; ")
}

fn via_management(
    ctx: &StampContext,
    host: &HostFacts,
    effective: &[ClassifiedRoute<'_>],
    subject: &str,
    evidence: &dyn Fn() -> Value,
) -> Option<Finding> {
    let in_scope =
        host.has_role(Role::NvgreGateway) || has_address_in(ctx, host, NetworkRole::FrontEnd);
    let management: Vec<ClassifiedRoute<'_>> = effective
        .iter()
        .filter(|c| c.role() == Some(NetworkRole::Management))
        .cloned()
        .collect();
    if !in_scope || management.is_empty() {
        return None;
    }
    let what = if effective.len() > management.len() {
        format!(
            "default routes tie at metric {}, so traffic for {subject} may leave",
            management[0].route.metric
        )
    } else {
        format!("the effective default route {subject} leaves")
    };
    let message = format!(
        "{}: {what} through management network {} ({}); remove the default gateway from the \
         management NIC (route it only to the management prefixes) or give it a higher metric \
         than the front-end one",
        host.fqdn,
        management[0].label,
        list(&management)
    );
    Some(host_finding(
        DEFAULT_VIA_MANAGEMENT,
        Severity::Critical,
        host,
        subject,
        message,
        evidence(),
    ))
}

fn ambiguous(
    host: &HostFacts,
    effective: &[ClassifiedRoute<'_>],
    subject: &str,
    evidence: &dyn Fn() -> Value,
) -> Option<Finding> {
    let networks: BTreeSet<&str> = effective.iter().map(|c| c.label.as_str()).collect();
    if networks.len() < 2 {
        return None;
    }
    let message = format!(
        "{}: {} default routes through different networks tie at metric {} ({}); set distinct \
         metrics so the front-end route wins, or remove the extra default gateway",
        host.fqdn,
        effective.len(),
        effective[0].route.metric,
        list(effective)
    );
    Some(host_finding(
        DEFAULT_AMBIGUOUS,
        Severity::Warning,
        host,
        subject,
        message,
        evidence(),
    ))
}

fn missing(
    ctx: &StampContext,
    host: &HostFacts,
    family: Family,
    defaults: &[ClassifiedRoute<'_>],
    subject: &str,
    evidence: &dyn Fn() -> Value,
) -> Option<Finding> {
    let front_end = ctx
        .networks
        .iter()
        .find(|n| n.role == NetworkRole::FrontEnd && Family::of_net(&n.cidr) == family)?;
    if !host.has_role(Role::NvgreGateway)
        || defaults
            .iter()
            .any(|c| c.role() == Some(NetworkRole::FrontEnd))
    {
        return None;
    }
    let gateway = front_end
        .gateway
        .map_or_else(|| "the front-end gateway".to_owned(), |g| g.to_string());
    let now = if defaults.is_empty() {
        "it has no default route at all".to_owned()
    } else {
        format!("its default routes are {}", list(defaults))
    };
    let message = format!(
        "{}: NVGRE gateway has no default route through a front-end network ({now}); add \
         {subject} via {gateway} on the {} NIC",
        host.fqdn, front_end.name
    );
    Some(host_finding(
        DEFAULT_MISSING,
        Severity::Warning,
        host,
        subject,
        message,
        evidence(),
    ))
}

fn static_missing(
    ctx: &StampContext,
    host: &HostFacts,
    family: Family,
    effective: &[ClassifiedRoute<'_>],
) -> Vec<Finding> {
    let addresses = host_addresses(host);
    let mut findings = Vec::new();
    for mgmt in ctx.networks.iter().filter(|n| {
        n.role == NetworkRole::Management
            && Family::of_net(&n.cidr) == family
            && addresses
                .iter()
                .any(|a| network_of(ctx, *a).is_some_and(|net| net.name == n.name))
    }) {
        let Some(leaving) = effective.iter().find(|c| c.label != mgmt.name) else {
            continue;
        };
        for prefix in &mgmt.required_prefixes {
            if covered(ctx, host, mgmt, prefix) {
                continue;
            }
            findings.push(static_missing_finding(host, mgmt, prefix, leaving));
        }
    }
    findings
}

/// A non-default route covering `prefix` through the management network's gateway.
fn covered(ctx: &StampContext, host: &HostFacts, mgmt: &NetworkFact, prefix: &IpNet) -> bool {
    host.routes.iter().flatten().any(|r| {
        r.destination.prefix_len() > 0
            && r.destination.contains(prefix)
            && match (mgmt.gateway, r.next_hop.filter(|h| !h.is_unspecified())) {
                (Some(gateway), Some(hop)) => hop == gateway,
                (None, Some(_)) => classify(ctx, host, r)
                    .network
                    .is_some_and(|n| n.name == mgmt.name),
                (_, None) => false,
            }
    })
}

fn static_missing_finding(
    host: &HostFacts,
    mgmt: &NetworkFact,
    prefix: &IpNet,
    leaving: &ClassifiedRoute<'_>,
) -> Finding {
    let gateway = mgmt
        .gateway
        .map_or_else(|| format!("a gateway in {}", mgmt.cidr), |g| g.to_string());
    let fix = match (prefix, mgmt.gateway) {
        (IpNet::V4(p), Some(g)) => {
            format!(
                "; fix: route -p add {} mask {} {g}",
                p.network(),
                p.netmask()
            )
        }
        _ => String::new(),
    };
    let message = format!(
        "{}: no static route to {prefix} via {gateway} (management network {}), and the default \
         route leaves through {} ({}), so management traffic takes the wrong NIC{fix}",
        host.fqdn,
        mgmt.name,
        leaving.label,
        leaving.describe()
    );
    let routes: Vec<Value> = host
        .routes
        .iter()
        .flatten()
        .filter(|r| r.destination.prefix_len() > 0)
        .map(|r| json!({"destination": r.destination, "next_hop": r.next_hop, "metric": r.metric}))
        .collect();
    let evidence = json!({
        "management_network": mgmt.name,
        "required_prefix": prefix,
        "gateway": mgmt.gateway,
        "effective_default": leaving.evidence(),
        "non_default_routes": routes,
    });
    host_finding(
        MANAGEMENT_STATIC_MISSING,
        Severity::Warning,
        host,
        prefix.to_string(),
        message,
        evidence,
    )
}

#[cfg(test)]
mod tests;
