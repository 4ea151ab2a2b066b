//! Route rules over hand-built routes and over the shared `route print` captures of a gateway
//! VM (the real Windows layout, parsed by the agent's parser).

use stampbook_agent::parse::route_print::parse_route_print;
use stampbook_wire::{ON_LINK, Role};

use super::super::model::RouteFact;
use super::super::testkit::{host, interface, stamp};
use super::*;

const FIXED: &str =
    include_str!("../../../../agents/tests/fixtures/windows/route-print-gateway-fixed-en.txt");
const TIE: &str =
    include_str!("../../../../agents/tests/fixtures/windows/route-print-gateway-tie-en.txt");

fn route(destination: &str, next_hop: &str, interface: &str, metric: u32) -> RouteFact {
    RouteFact {
        destination: destination.parse().unwrap(),
        next_hop: (next_hop != ON_LINK).then(|| next_hop.parse().unwrap()),
        interface: Some(interface.into()),
        metric,
        persistent: false,
    }
}

/// What the engine does with a report's routes: `on-link` becomes no next hop.
fn from_route_print(text: &str) -> Vec<RouteFact> {
    parse_route_print(text)
        .unwrap()
        .into_iter()
        .map(|r| RouteFact {
            destination: r.destination.parse().unwrap(),
            next_hop: r.next_hop.parse().ok(),
            interface: r.interface,
            metric: r.metric,
            persistent: r.persistent,
        })
        .collect()
}

fn gateway_vm(routes: Vec<RouteFact>) -> HostFacts {
    let mut h = host(21, "gw01.ams-01.example.net", &[Role::NvgreGateway]);
    h.routes = Some(routes);
    h
}

fn rules_of(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.rule).collect()
}

fn find<'a>(findings: &'a [Finding], rule: &str) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.rule == rule)
        .unwrap_or_else(|| panic!("no {rule} in {findings:#?}"))
}

#[test]
fn single_homed_management_host_with_default_via_management_is_normal() {
    let mut h = host(5, "hv05.ams-01.example.net", &[Role::HypervHost]);
    h.interfaces = Some(vec![interface("Management", "10.0.0.25/24")]);
    h.routes = Some(vec![
        route("0.0.0.0/0", "10.0.0.1", "Management", 266),
        route("10.0.0.0/24", ON_LINK, "Management", 266),
    ]);
    assert!(evaluate(&stamp(), &h).is_empty());
}

#[test]
fn route_print_fixed_layout_front_end_wins_and_no_default_rule_fires() {
    let h = gateway_vm(from_route_print(FIXED));
    let findings = evaluate(&stamp(), &h);
    // The capture's only management route is 10.0.0.0/24: the SPEC stamp requires /16.
    assert_eq!(rules_of(&findings), [MANAGEMENT_STATIC_MISSING]);
    assert_eq!(findings[0].subject, "10.0.0.0/16");

    let mut ctx = stamp();
    ctx.networks[0].required_prefixes = vec!["10.0.0.0/24".parse().unwrap()];
    assert!(evaluate(&ctx, &h).is_empty());

    let defaults = default_routes(&ctx, &h, Family::V4);
    let effective = effective_defaults(&defaults);
    assert_eq!(effective.len(), 1);
    assert_eq!(
        (effective[0].label.as_str(), effective[0].route.metric),
        ("frontend", 205)
    );
}

#[test]
fn route_print_tie_through_management_and_front_end_is_ambiguous_and_via_management() {
    let h = gateway_vm(from_route_print(TIE));
    let findings = evaluate(&stamp(), &h);
    let via = find(&findings, DEFAULT_VIA_MANAGEMENT);
    assert_eq!((via.severity, via.host_id), (Severity::Critical, Some(21)));
    assert_eq!(via.subject, "0.0.0.0/0");
    assert!(
        via.message
            .starts_with("gw01.ams-01.example.net: default routes tie at metric 266")
    );
    assert!(
        via.message
            .contains("0.0.0.0/0 via 10.0.0.1 (mgmt, metric 266)"),
        "{}",
        via.message
    );

    let tie = find(&findings, DEFAULT_AMBIGUOUS);
    assert_eq!(
        (tie.severity, tie.subject.as_str()),
        (Severity::Warning, "0.0.0.0/0")
    );
    assert!(
        tie.message.contains("77.233.248.1 (frontend, metric 266)"),
        "{}",
        tie.message
    );
    assert_eq!(tie.evidence["effective"].as_array().unwrap().len(), 2);

    find(&findings, MANAGEMENT_STATIC_MISSING);
    assert!(!rules_of(&findings).contains(&DEFAULT_MISSING));
}

#[test]
fn two_defaults_tied_through_the_same_network_are_not_ambiguous() {
    let mut h = host(6, "hv06.ams-01.example.net", &[Role::HypervHost]);
    h.routes = Some(vec![
        route("0.0.0.0/0", "10.0.0.1", "10.0.0.26", 266),
        route("0.0.0.0/0", "10.0.0.1", "10.0.0.27", 266),
    ]);
    assert!(evaluate(&stamp(), &h).is_empty());
}

#[test]
fn gateway_default_through_management_at_lower_metric_fires() {
    let h = gateway_vm(vec![
        route("0.0.0.0/0", "10.0.0.1", "10.0.0.21", 205),
        route("0.0.0.0/0", "77.233.248.1", "77.233.248.21", 305),
        route("10.0.0.0/16", "10.0.0.1", "10.0.0.21", 305),
    ]);
    let findings = evaluate(&stamp(), &h);
    assert_eq!(rules_of(&findings), [DEFAULT_VIA_MANAGEMENT]);
    assert!(
        findings[0]
            .message
            .contains("the effective default route 0.0.0.0/0 leaves")
    );
}

#[test]
fn any_host_with_a_front_end_address_is_in_scope_of_via_management() {
    let mut h = host(30, "rdgw01.ams-01.example.net", &[Role::RdGateway]);
    h.interfaces = Some(vec![
        interface("Management", "10.0.0.30/24"),
        interface("Front-end", "77.233.248.30/24"),
    ]);
    h.routes = Some(vec![route("0.0.0.0/0", "10.0.0.1", "Management", 10)]);
    assert_eq!(rules_of(&evaluate(&stamp(), &h))[0], DEFAULT_VIA_MANAGEMENT);
    // Without the front-end address it is a single-homed management host.
    h.interfaces = Some(vec![interface("Management", "10.0.0.30/24")]);
    assert!(evaluate(&stamp(), &h).is_empty());
}

#[test]
fn on_link_default_is_classified_by_the_named_interface_address() {
    let mut h = gateway_vm(vec![
        route("0.0.0.0/0", ON_LINK, "Front-end", 10),
        route("0.0.0.0/0", "0.0.0.0", "Management", 10),
    ]);
    h.interfaces = Some(vec![
        interface("management", "10.0.0.21/24"),
        interface("Front-end", "77.233.248.21/24"),
    ]);
    let labels: Vec<String> = default_routes(&stamp(), &h, Family::V4)
        .into_iter()
        .map(|c| c.label)
        .collect();
    assert_eq!(labels, ["frontend", "mgmt"]);
    assert_eq!(
        rules_of(&evaluate(&stamp(), &h))[..2],
        [DEFAULT_VIA_MANAGEMENT, DEFAULT_AMBIGUOUS]
    );
}

#[test]
fn the_most_specific_network_classifies_a_next_hop() {
    let mut ctx = stamp();
    ctx.networks.push(NetworkFact {
        name: "dc-supernet".into(),
        role: NetworkRole::Other,
        cidr: "10.0.0.0/8".parse().unwrap(),
        gateway: None,
        required_prefixes: vec![],
    });
    let ip = "10.0.0.1".parse().unwrap();
    assert_eq!(network_of(&ctx, ip).map(|n| n.name.as_str()), Some("mgmt"));
    let ip = "10.9.0.1".parse().unwrap();
    assert_eq!(
        network_of(&ctx, ip).map(|n| n.name.as_str()),
        Some("dc-supernet")
    );
}

#[test]
fn nvgre_gateway_without_front_end_default_is_missing_one() {
    let h = gateway_vm(vec![route("0.0.0.0/0", "10.0.0.1", "10.0.0.21", 266)]);
    let findings = evaluate(&stamp(), &h);
    let f = find(&findings, DEFAULT_MISSING);
    assert_eq!(
        (f.severity, f.subject.as_str()),
        (Severity::Warning, "0.0.0.0/0")
    );
    assert!(
        f.message.contains("add 0.0.0.0/0 via 77.233.248.1"),
        "{}",
        f.message
    );

    assert_eq!(
        rules_of(&evaluate(&stamp(), &gateway_vm(vec![]))),
        [DEFAULT_MISSING]
    );
    // A front-end default at a worse metric is still a default through front-end.
    let h = gateway_vm(vec![
        route("0.0.0.0/0", "10.0.0.1", "10.0.0.21", 266),
        route("0.0.0.0/0", "77.233.248.1", "77.233.248.21", 300),
    ]);
    assert!(!rules_of(&evaluate(&stamp(), &h)).contains(&DEFAULT_MISSING));
    // Not a gateway: nothing required.
    let mut hv = host(5, "hv05", &[Role::HypervHost]);
    hv.routes = Some(vec![]);
    assert!(evaluate(&stamp(), &hv).is_empty());
}

#[test]
fn management_static_route_must_cover_each_required_prefix_via_its_gateway() {
    let with = |extra: Option<RouteFact>| {
        let mut routes = vec![
            route("0.0.0.0/0", "77.233.248.1", "77.233.248.21", 205),
            route("0.0.0.0/0", "10.0.0.1", "10.0.0.21", 305),
        ];
        routes.extend(extra);
        evaluate(&stamp(), &gateway_vm(routes))
    };
    let findings = with(None);
    let f = find(&findings, MANAGEMENT_STATIC_MISSING);
    assert_eq!(
        (f.severity, f.host_id, f.subject.as_str()),
        (Severity::Warning, Some(21), "10.0.0.0/16")
    );
    assert!(
        f.message
            .contains("no static route to 10.0.0.0/16 via 10.0.0.1 (management network mgmt)"),
        "{}",
        f.message
    );
    assert!(
        f.message
            .contains("route -p add 10.0.0.0 mask 255.255.0.0 10.0.0.1")
    );

    assert!(with(Some(route("10.0.0.0/16", "10.0.0.1", "10.0.0.21", 305))).is_empty());
    assert!(with(Some(route("10.0.0.0/8", "10.0.0.1", "10.0.0.21", 305))).is_empty());
    let narrower = with(Some(route("10.0.0.0/24", "10.0.0.1", "10.0.0.21", 305)));
    assert_eq!(rules_of(&narrower), [MANAGEMENT_STATIC_MISSING]);
    let wrong_hop = with(Some(route(
        "10.0.0.0/16",
        "77.233.248.1",
        "77.233.248.21",
        305,
    )));
    assert_eq!(rules_of(&wrong_hop), [MANAGEMENT_STATIC_MISSING]);
}

#[test]
fn routes_not_collected_and_undeclared_families_are_not_judged() {
    assert!(evaluate(&stamp(), &host(21, "gw01", &[Role::NvgreGateway])).is_empty());
    // An IPv6 default alone on a stamp without IPv6 networks: only IPv4 is judged.
    let h = gateway_vm(vec![
        route("0.0.0.0/0", "77.233.248.1", "77.233.248.21", 205),
        route("::/0", "fe80::1", "Front-end", 10),
        route("10.0.0.0/16", "10.0.0.1", "10.0.0.21", 305),
    ]);
    assert!(evaluate(&stamp(), &h).is_empty());
}
