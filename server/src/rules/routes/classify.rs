//! Which stamp network a route leaves through, and which default routes are in force: the
//! classification the route rules judge and the host page shows (the effective default
//! marked).
//!
//! A route with a next hop belongs to the most specific stamp network whose CIDR contains the
//! next hop; an on-link route to the network of its interface's address (the `interface`
//! field is an address with `route print`, a name with `Get-NetRoute`, matched to
//! `InterfaceFact.name` case-insensitively). A next hop of `0.0.0.0`/`::` is on-link, as in
//! `Get-NetRoute`. Routes through no declared network are labelled by the host's own subnet
//! containing the hop (else the interface, else the hop), so two such routes are "different
//! networks" only when they plainly are.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::{Value, json};

use crate::rules::model::{HostFacts, NetworkFact, NetworkRole, RouteFact, StampContext};

/// An address family, judged on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of_net(net: &IpNet) -> Family {
        match net {
            IpNet::V4(_) => Family::V4,
            IpNet::V6(_) => Family::V6,
        }
    }

    pub fn of_addr(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// The default destination, also the subject of default-route findings.
    pub fn default_destination(self) -> &'static str {
        match self {
            Family::V4 => "0.0.0.0/0",
            Family::V6 => "::/0",
        }
    }
}

/// A route and the network it leaves through.
#[derive(Debug, Clone)]
pub struct ClassifiedRoute<'a> {
    pub route: &'a RouteFact,
    /// The declared stamp network, if the route goes through one.
    pub network: Option<&'a NetworkFact>,
    /// The address classification used: the next hop, or the interface's address when on-link.
    pub via: Option<IpAddr>,
    /// The network's name, or a label for an undeclared one; equal labels = same network.
    pub label: String,
}

impl ClassifiedRoute<'_> {
    pub fn role(&self) -> Option<NetworkRole> {
        self.network.map(|n| n.role)
    }

    /// `0.0.0.0/0 via 10.0.0.1 (mgmt, metric 266)`.
    pub fn describe(&self) -> String {
        let hop = match self.route.next_hop.filter(|h| !h.is_unspecified()) {
            Some(hop) => format!("via {hop}"),
            None => format!("on-link {}", self.route.interface.as_deref().unwrap_or("?")),
        };
        format!(
            "{} {hop} ({}, metric {})",
            self.route.destination, self.label, self.route.metric
        )
    }

    pub fn evidence(&self) -> Value {
        json!({
            "destination": self.route.destination,
            "next_hop": self.route.next_hop.map_or("on-link".to_owned(), |h| h.to_string()),
            "interface": self.route.interface,
            "metric": self.route.metric,
            "persistent": self.route.persistent,
            "network": self.network.map(|n| &n.name),
            "role": self.role(),
            "via": self.via,
            "classified_as": self.label,
        })
    }
}

/// The most specific stamp network containing `addr`.
pub fn network_of(ctx: &StampContext, addr: IpAddr) -> Option<&NetworkFact> {
    ctx.networks
        .iter()
        .filter(|n| n.cidr.contains(&addr))
        .max_by_key(|n| n.cidr.prefix_len())
}

/// The host's own addresses: its interfaces', plus interface addresses named by routes (a
/// `route print` capture may come without interfaces).
pub fn host_addresses(host: &HostFacts) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = host
        .interfaces
        .iter()
        .flatten()
        .flat_map(|i| i.addresses.iter().map(IpNet::addr))
        .collect();
    for route in host.routes.iter().flatten() {
        if let Some(addr) = route
            .interface
            .as_deref()
            .and_then(|i| i.trim().parse().ok())
            && !out.contains(&addr)
        {
            out.push(addr);
        }
    }
    out
}

/// Whether the host has an address in a network with `role`.
pub fn has_address_in(ctx: &StampContext, host: &HostFacts, role: NetworkRole) -> bool {
    host_addresses(host)
        .into_iter()
        .any(|a| network_of(ctx, a).is_some_and(|n| n.role == role))
}

pub fn classify<'a>(
    ctx: &'a StampContext,
    host: &'a HostFacts,
    route: &'a RouteFact,
) -> ClassifiedRoute<'a> {
    let family = Family::of_net(&route.destination);
    let via = match route.next_hop.filter(|h| !h.is_unspecified()) {
        Some(hop) => Some(hop),
        None => interface_address(ctx, host, route.interface.as_deref(), family),
    };
    let network = via.and_then(|a| network_of(ctx, a));
    let label = match network {
        Some(n) => n.name.clone(),
        None => undeclared_label(host, route, via),
    };
    ClassifiedRoute {
        route,
        network,
        via,
        label,
    }
}

/// The address of a route's interface: the field itself when it is an address, else the
/// named interface's address in the family (preferring one inside a stamp network).
fn interface_address(
    ctx: &StampContext,
    host: &HostFacts,
    interface: Option<&str>,
    family: Family,
) -> Option<IpAddr> {
    let interface = interface?.trim();
    if let Ok(addr) = interface.parse::<IpAddr>() {
        return Some(addr);
    }
    let found = host
        .interfaces
        .iter()
        .flatten()
        .find(|i| i.name.trim().eq_ignore_ascii_case(interface))?;
    let candidates: Vec<IpAddr> = found
        .addresses
        .iter()
        .map(IpNet::addr)
        .filter(|a| Family::of_addr(a) == family)
        .collect();
    candidates
        .iter()
        .find(|a| network_of(ctx, **a).is_some())
        .or(candidates.first())
        .copied()
}

fn undeclared_label(host: &HostFacts, route: &RouteFact, via: Option<IpAddr>) -> String {
    let subnet = via.and_then(|a| {
        host.interfaces
            .iter()
            .flatten()
            .flat_map(|i| &i.addresses)
            .find(|net| net.prefix_len() > 0 && net.trunc().contains(&a))
            .map(IpNet::trunc)
    });
    match (subnet, route.interface.as_deref(), via) {
        (Some(subnet), _, _) => format!("undeclared network {subnet}"),
        (None, Some(interface), _) => format!("undeclared network on interface {interface}"),
        (None, None, Some(via)) => format!("undeclared network via {via}"),
        (None, None, None) => "unknown network".to_owned(),
    }
}

/// Every default route of `family`, classified, lowest metric first.
pub fn default_routes<'a>(
    ctx: &'a StampContext,
    host: &'a HostFacts,
    family: Family,
) -> Vec<ClassifiedRoute<'a>> {
    let mut defaults: Vec<ClassifiedRoute<'a>> = host
        .routes
        .iter()
        .flatten()
        .filter(|r| r.destination.prefix_len() == 0 && Family::of_net(&r.destination) == family)
        .map(|r| classify(ctx, host, r))
        .collect();
    defaults.sort_by_key(|c| c.route.metric);
    defaults
}

/// The effective default routes: those tied at the lowest metric (the page marks these).
pub fn effective_defaults<'a>(defaults: &[ClassifiedRoute<'a>]) -> Vec<ClassifiedRoute<'a>> {
    let Some(lowest) = defaults.iter().map(|c| c.route.metric).min() else {
        return Vec::new();
    };
    defaults
        .iter()
        .filter(|c| c.route.metric == lowest)
        .cloned()
        .collect()
}
