//! iproute2, systemd and certificate-file fixtures in the layouts real tools print.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{TimeZone, Utc};
use common::{bytes, facts, route, text};
use stampbook_agent::parse::{linux, pem, systemd};
use stampbook_wire::ON_LINK;

#[test]
fn ip_route_gives_effective_routes_and_marks_static_ones_persistent() {
    let v4 = linux::parse_ip_route(&text("linux/ip-route.json")).unwrap();
    assert_eq!(v4.len(), 6, "the blackhole route has no next hop");
    assert_eq!(
        facts(route(&v4, "0.0.0.0/0", "10.0.0.1")),
        (100, true, Some("ens18"))
    );
    assert_eq!(
        facts(route(&v4, "0.0.0.0/0", "192.168.77.1")),
        (200, false, Some("ens19"))
    );
    assert_eq!(
        facts(route(&v4, "10.0.0.0/24", ON_LINK)),
        (100, false, Some("ens18"))
    );
    assert_eq!(
        facts(route(&v4, "10.10.0.0/16", "10.0.0.254")),
        (0, true, Some("ens18"))
    );
    assert_eq!(
        facts(route(&v4, "192.168.77.1/32", ON_LINK)),
        (200, false, Some("ens19"))
    );

    let v6 = linux::parse_ip_route(&text("linux/ip-6-route.json")).unwrap();
    assert_eq!(
        facts(route(&v6, "::/0", "fe80::1")),
        (100, false, Some("ens18"))
    );
    assert_eq!(
        facts(route(&v6, "::1/128", ON_LINK)),
        (256, false, Some("lo"))
    );
}

#[test]
fn ip_addr_gives_interfaces_with_their_default_gateway() {
    let mut routes = linux::parse_ip_route(&text("linux/ip-route.json")).unwrap();
    routes.extend(linux::parse_ip_route(&text("linux/ip-6-route.json")).unwrap());
    let ifs = linux::parse_ip_addr(&text("linux/ip-addr.json"), &routes).unwrap();
    let names: Vec<_> = ifs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["ens18", "ens19", "ens20"], "loopback left out");
    assert_eq!(
        ifs[0].addresses,
        ["10.0.0.40/24", "2001:db8:40::40/64"],
        "link-local left out"
    );
    assert_eq!(ifs[0].gateway.as_deref(), Some("10.0.0.1"));
    assert_eq!(
        ifs[1].addresses,
        ["192.168.77.40/24"],
        "empty addr_info entries skipped"
    );
    assert_eq!(ifs[1].gateway.as_deref(), Some("192.168.77.1"));
    assert!(ifs[2].addresses.is_empty() && ifs[2].gateway.is_none());
}

#[test]
fn systemctl_show_running_and_missing_units() {
    let nginx = systemd::parse_systemctl_show("nginx", &text("linux/systemctl-show-nginx.txt"))
        .unwrap()
        .unwrap();
    assert_eq!(nginx.state, "running");
    assert_eq!(
        nginx.started_at,
        Some(Utc.with_ymd_and_hms(2026, 11, 26, 5, 28, 4).unwrap())
    );
    assert_eq!(
        systemd::parse_systemctl_show("gone", &text("linux/systemctl-show-missing.txt")).unwrap(),
        None
    );
}

#[test]
fn pem_bundles_and_der_files_give_the_same_der_as_windows_exports() {
    let windows: serde_json::Value =
        serde_json::from_str(&text("windows/cert-my-rdgw-ps51.json")).unwrap();
    let raw = |i: usize| {
        STANDARD
            .decode(windows[i]["RawData"].as_str().unwrap())
            .unwrap()
    };
    let bundle = pem::parse_certificate_file(&bytes("linux/bundle.pem")).unwrap();
    assert_eq!(bundle.certificates, vec![raw(0), raw(2)]);
    assert!(!bundle.has_private_key);
    let der = pem::parse_certificate_file(&bytes("linux/console.der")).unwrap();
    assert_eq!(der.certificates, vec![raw(1)]);
}
