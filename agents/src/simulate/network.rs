//! A simulated host's interfaces and active routes, as `route print` would show them (metrics
//! are effective: route metric 256 plus the interface metric).
//!
//! Single-homed hosts default through management. Multi-homed edge hosts (WAP, NVGRE gateways,
//! RD Gateways) default through the front end and reach the management supernet through a
//! static route via the management gateway; the first of each pair also keeps a management
//! default with a worse metric, the second has no management default at all (best practice).

use std::net::Ipv4Addr;

use stampbook_wire::{Interface, ON_LINK, Route};

use super::faults::FaultKind;
use super::fleet::{HostModel, NetRole, NetworkModel, StampModel};

/// Effective metric of a default route through a NIC left on automatic metric (1 GbE).
pub const AUTOMATIC: u32 = 266;
/// Effective metric through a NIC given a preferred (low) interface metric.
pub const PREFERRED: u32 = 261;
/// Effective metric through a NIC given a deprioritised (high) interface metric.
pub const DEPRIORITISED: u32 = 291;

/// The interfaces and routes of `host`.
pub fn interfaces_and_routes(stamp: &StampModel, host: &HostModel) -> (Vec<Interface>, Vec<Route>) {
    let fault = host.fault;
    let edge = host.address(NetRole::FrontEnd).is_some();
    let mut interfaces = Vec::new();
    let mut routes = Vec::new();
    let mut defaults: Vec<(NetRole, u32)> = Vec::new();
    for (role, address) in &host.addresses {
        let Some(network) = stamp.network(*role) else {
            continue;
        };
        let metric = interface_metric(*role, edge, fault);
        let gateway = network_gateway(network, *role, edge, fault, host);
        interfaces.push(Interface {
            name: network.interface.to_owned(),
            addresses: vec![format!("{address}/{}", network.cidr.prefix_len())],
            gateway: gateway.map(|g| g.to_string()),
        });
        routes.push(Route {
            destination: network.cidr.to_string(),
            next_hop: ON_LINK.to_owned(),
            interface: Some(network.interface.to_owned()),
            metric,
            persistent: false,
        });
        if let Some(gateway) = gateway {
            defaults.push((*role, metric));
            routes.push(Route {
                destination: "0.0.0.0/0".to_owned(),
                next_hop: gateway.to_string(),
                interface: Some(network.interface.to_owned()),
                metric,
                persistent: true,
            });
        }
    }
    if edge && fault != Some(FaultKind::ManagementStaticMissing) {
        routes.extend(required_routes(stamp, host));
    }
    // Defaults first, lowest metric first, like `route print`.
    routes.sort_by_key(|r| (r.destination != "0.0.0.0/0", r.metric));
    (interfaces, routes)
}

/// The effective metric of routes through the NIC on `role`.
fn interface_metric(role: NetRole, edge: bool, fault: Option<FaultKind>) -> u32 {
    if !edge {
        return match role {
            NetRole::Storage => PREFERRED,
            _ => AUTOMATIC,
        };
    }
    match (fault, role) {
        // Nobody set metrics: both NICs on automatic, the defaults tie.
        (Some(FaultKind::GwDefaultTie | FaultKind::GwNoFrontEndDefault), _) => AUTOMATIC,
        // Metrics set the wrong way round.
        (Some(FaultKind::GwDefaultViaManagement), NetRole::Management) => PREFERRED,
        (Some(FaultKind::GwDefaultViaManagement), NetRole::FrontEnd) => DEPRIORITISED,
        (_, NetRole::FrontEnd) => PREFERRED,
        (_, NetRole::Management) => DEPRIORITISED,
        _ => AUTOMATIC,
    }
}

/// The default gateway configured on the NIC on `role`, if any.
fn network_gateway(
    network: &NetworkModel,
    role: NetRole,
    edge: bool,
    fault: Option<FaultKind>,
    host: &HostModel,
) -> Option<Ipv4Addr> {
    match role {
        NetRole::Management if edge => {
            let faulty_routing = matches!(
                fault,
                Some(
                    FaultKind::GwDefaultTie
                        | FaultKind::GwDefaultViaManagement
                        | FaultKind::GwNoFrontEndDefault
                )
            );
            // Second host of a pair: no management default (reaches it by static route).
            let second = host.fqdn.starts_with("gw02") || host.fqdn.starts_with("rdgw02");
            if faulty_routing || !second {
                network.gateway
            } else {
                None
            }
        }
        NetRole::Management => network.gateway,
        NetRole::FrontEnd if fault == Some(FaultKind::GwNoFrontEndDefault) => None,
        NetRole::FrontEnd => network.gateway,
        NetRole::Provider | NetRole::Storage => None,
    }
}

/// Static routes for the management network's required prefixes via its gateway.
fn required_routes<'a>(
    stamp: &'a StampModel,
    host: &'a HostModel,
) -> impl Iterator<Item = Route> + 'a {
    let management = stamp
        .network(NetRole::Management)
        .filter(|_| host.address(NetRole::Management).is_some());
    management.into_iter().flat_map(|network| {
        network.required_prefixes.iter().filter_map(|prefix| {
            Some(Route {
                destination: prefix.to_string(),
                next_hop: network.gateway?.to_string(),
                interface: Some(network.interface.to_owned()),
                metric: DEPRIORITISED,
                persistent: true,
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::topology::build_stamp;
    use chrono::{TimeZone, Utc};

    fn stamp() -> StampModel {
        build_stamp(
            1,
            0,
            12,
            Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap(),
        )
    }

    fn effective_defaults(routes: &[Route]) -> Vec<(String, u32)> {
        let defaults: Vec<&Route> = routes
            .iter()
            .filter(|r| r.destination == "0.0.0.0/0")
            .collect();
        let best = defaults.iter().map(|r| r.metric).min().unwrap_or(u32::MAX);
        defaults
            .iter()
            .filter(|r| r.metric == best)
            .map(|r| (r.interface.clone().unwrap_or_default(), r.metric))
            .collect()
    }

    fn host<'a>(stamp: &'a mut StampModel, name: &str) -> &'a mut HostModel {
        stamp
            .hosts
            .iter_mut()
            .find(|h| h.fqdn.starts_with(name))
            .unwrap()
    }

    #[test]
    fn healthy_gateways_default_through_the_front_end_and_route_the_supernet_via_management() {
        let s = stamp();
        for name in ["gw01", "gw02", "rdgw01", "rdgw02", "wap01"] {
            let h = s.hosts.iter().find(|h| h.fqdn.starts_with(name)).unwrap();
            let (interfaces, routes) = interfaces_and_routes(&s, h);
            assert_eq!(
                effective_defaults(&routes),
                vec![("Front-end".into(), PREFERRED)],
                "{name}"
            );
            assert!(
                routes
                    .iter()
                    .any(|r| r.destination == "10.0.0.0/8" && r.next_hop == "10.1.0.1")
            );
            assert!(interfaces.iter().any(|i| i.name == "Management"));
        }
    }

    #[test]
    fn routing_faults_look_as_described() {
        let mut s = stamp();
        host(&mut s, "gw01").fault = Some(FaultKind::GwDefaultTie);
        host(&mut s, "gw02").fault = Some(FaultKind::GwNoFrontEndDefault);
        host(&mut s, "wap01").fault = Some(FaultKind::ManagementStaticMissing);
        let routes = |s: &StampModel, n: &str| {
            interfaces_and_routes(s, s.hosts.iter().find(|h| h.fqdn.starts_with(n)).unwrap()).1
        };
        let tie = effective_defaults(&routes(&s, "gw01"));
        assert_eq!(tie.len(), 2, "two defaults tie: {tie:?}");
        assert!(tie.iter().all(|(_, m)| *m == AUTOMATIC));
        assert_eq!(
            effective_defaults(&routes(&s, "gw02")),
            vec![("Management".into(), AUTOMATIC)]
        );
        let wap = routes(&s, "wap01");
        assert!(!wap.iter().any(|r| r.destination == "10.0.0.0/8"));
        assert_eq!(
            effective_defaults(&wap),
            vec![("Front-end".into(), PREFERRED)]
        );

        host(&mut s, "gw01").fault = Some(FaultKind::GwDefaultViaManagement);
        assert_eq!(
            effective_defaults(&routes(&s, "gw01")),
            vec![("Management".into(), PREFERRED)]
        );
    }

    #[test]
    fn hyperv_hosts_default_through_management_only() {
        let s = stamp();
        let h = s
            .hosts
            .iter()
            .find(|h| h.fqdn.starts_with("hv001"))
            .unwrap();
        let (interfaces, routes) = interfaces_and_routes(&s, h);
        assert_eq!(
            effective_defaults(&routes),
            vec![("Management".into(), AUTOMATIC)]
        );
        assert_eq!(interfaces.len(), 2);
        assert_eq!(interfaces[0].addresses, vec!["10.1.1.4/17".to_owned()]);
    }
}
