//! Every Windows capture fixture through its parser (a table that must list them all), and
//! the route captures with concrete expected values.

mod common;

use common::{facts, route, text};
use stampbook_agent::parse::{
    ParseError, capture_meta, certs, hostinfo, netipconfig, netroute, route_print, services,
    settings, wap,
};
use stampbook_wire::ON_LINK;

/// Which parser reads each fixture; the test below fails on a fixture not listed here.
const TABLE: &[(&str, &str)] = &[
    ("capture-ps51.json", "capture"),
    ("cert-my-empty-ps51.json", "certs"),
    ("cert-my-rdgw-ps51.json", "certs"),
    ("cert-root-empty-ps51-utf16.json", "certs"),
    ("cert-root-hyperv-single-ps51-utf16.json", "certs"),
    ("cert-root-registry-ps7.json", "certs"),
    ("cert-vmm-ps7.json", "certs"),
    ("components-spf-ps51.json", "components"),
    ("components-vmm-ps51.json", "components"),
    ("errors-empty-ps51.json", "errors"),
    ("errors-ps51.json", "errors"),
    ("fedauth-array-pasted-ps51.json", "fedauth"),
    ("fedauthsettings-ps51.json", "fedauth"),
    ("host-gateway-ps51.json", "host"),
    ("host-hyperv-not-elevated-ps51.json", "host"),
    ("msvm-terminalservicesettingdata-ps51.json", "tssettings"),
    ("netipconfiguration-gateway-ps51.json", "netipconfig"),
    ("netipconfiguration-wrapped-ps51-utf16.json", "netipconfig"),
    ("netroute-gateway-ps51.json", "netroute"),
    ("netroute-hyperv-store-numbers-ps51.json", "netroute"),
    ("route-print-gateway-fixed-en.txt", "route_print"),
    ("route-print-gateway-fr-utf16.txt", "route_print"),
    ("route-print-gateway-tie-en.txt", "route_print"),
    ("route-print-hyperv-de.txt", "route_print"),
    ("route-print-hyperv-es-bom.txt", "route_print"),
    ("service-vmms-ps51.json", "services"),
    ("services-hyperv-ps51-bom.json", "services"),
    ("services-vmms-denied-ps51.json", "services"),
    ("tsgateway-serversettings-hex-ps51.json", "tsgateway"),
    ("tsgateway-serversettings-ps51.json", "tsgateway"),
    ("tsgateway-serversettings-raw-ps51.json", "tsgateway"),
    ("vmm-not-a-vmm-server-null.json", "vmm"),
    ("vmm-vmconnect-ps51.json", "vmm"),
    ("wap-plans-ps51.json", "wap"),
    ("wap-plans-raw-ps51.json", "wap"),
];

/// Runs the parser a fixture of `kind` is read with; `Ok` means it parsed.
fn parse_as(kind: &str, t: &str) -> Result<(), ParseError> {
    match kind {
        "capture" => capture_meta::parse_capture_meta(t).map(|_| ()),
        "certs" => certs::parse_certificates(t, "LocalMachine\\My").map(|_| ()),
        "components" => settings::parse_components(t).map(|_| ()),
        "errors" => capture_meta::parse_errors(t).map(|_| ()),
        "fedauth" => settings::parse_fedauth(t).map(|_| ()),
        "host" => hostinfo::parse_host_capture(t).map(|_| ()),
        "tssettings" => settings::parse_ts_settings(t).map(|_| ()),
        "netipconfig" => netipconfig::parse_netipconfig(t).map(|_| ()),
        "netroute" => netroute::parse_netroute(t).map(|_| ()),
        "route_print" => route_print::parse_route_print(t).map(|_| ()),
        "services" => services::parse_services_capture(t).map(|_| ()),
        "tsgateway" => settings::parse_tsgateway(t).map(|_| ()),
        "vmm" => settings::parse_vmm(t).map(|_| ()),
        "wap" => wap::parse_wap_plans(t).map(|_| ()),
        other => panic!("unknown parser {other}"),
    }
}

#[test]
fn every_windows_fixture_parses_with_its_parser() {
    let dir = common::fixtures().join("windows");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let listed: Vec<&str> = TABLE.iter().map(|(f, _)| *f).collect();
    assert_eq!(names, listed, "every fixture must be in TABLE");
    for (file, kind) in TABLE {
        parse_as(kind, &text(&format!("windows/{file}"))).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
}

/// A bounded random-input loop over real layouts: every fixture, cut short at many points and
/// with bytes flipped (a deterministic xorshift, so a failure repeats), through its parser.
/// Errors are expected; a panic is the bug.
#[test]
fn damaged_fixtures_never_panic_their_parsers() {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for (file, kind) in TABLE {
        let bytes = common::bytes(&format!("windows/{file}"));
        for round in 0..200 {
            let mut damaged = bytes.clone();
            if round % 2 == 0 && !damaged.is_empty() {
                let cut = usize::try_from(next() % damaged.len() as u64).unwrap_or(0);
                damaged.truncate(cut);
            }
            for _ in 0..(next() % 4) {
                if !damaged.is_empty() {
                    let at = usize::try_from(next() % damaged.len() as u64).unwrap_or(0);
                    damaged[at] = (next() & 0xff) as u8;
                }
            }
            let t = stampbook_agent::parse::text::decode_lossy(&damaged);
            let _ = parse_as(kind, &t);
        }
    }
}

fn routes(file: &str) -> Vec<stampbook_wire::Route> {
    route_print::parse_route_print(&text(&format!("windows/{file}")))
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn tie_gateway_has_two_persistent_defaults_tied_at_266() {
    let r = routes("route-print-gateway-tie-en.txt");
    assert_eq!(
        facts(route(&r, "0.0.0.0/0", "10.0.0.1")),
        (266, true, Some("10.0.0.21"))
    );
    assert_eq!(
        facts(route(&r, "0.0.0.0/0", "77.233.248.1")),
        (266, true, Some("77.233.248.21"))
    );
    assert_eq!(
        facts(route(&r, "10.0.0.0/24", ON_LINK)),
        (266, false, Some("10.0.0.21"))
    );
    assert_eq!(r.iter().filter(|r| r.destination.contains('.')).count(), 17);
    // The wrapped IPv6 rows: destination on one line, "On-link" alone on the next.
    assert_eq!(
        facts(route(&r, "fe80::5d1b:2c0e:93a1:7f10/128", ON_LINK)),
        (266, false, Some("12"))
    );
    assert_eq!(
        facts(route(&r, "fe80::c4a2:61f7:1e0d:4b22/128", ON_LINK)),
        (266, false, Some("13"))
    );
    assert_eq!(r.iter().filter(|r| r.destination.contains(':')).count(), 8);
    let persistent =
        route_print::parse_persistent_routes(&text("windows/route-print-gateway-tie-en.txt"))
            .unwrap();
    assert_eq!(persistent.len(), 2);
    assert!(
        persistent.iter().all(|p| p.metric.is_none()),
        "Default means the interface metric"
    );
}

#[test]
fn fixed_gateway_shows_effective_metrics_205_and_305() {
    let r = routes("route-print-gateway-fixed-en.txt");
    assert_eq!(
        facts(route(&r, "0.0.0.0/0", "77.233.248.1")),
        (205, true, Some("77.233.248.21"))
    );
    assert_eq!(
        facts(route(&r, "0.0.0.0/0", "10.0.0.1")),
        (305, true, Some("10.0.0.21"))
    );
    assert_eq!(
        facts(route(&r, "10.0.0.0/24", "10.0.0.1")),
        (305, true, Some("10.0.0.21"))
    );
    assert_eq!(
        facts(route(&r, "10.0.0.0/24", ON_LINK)),
        (261, false, Some("10.0.0.21"))
    );
    assert_eq!(
        facts(route(&r, "::1/128", ON_LINK)),
        (306, false, Some("1"))
    );
    let persistent =
        route_print::parse_persistent_routes(&text("windows/route-print-gateway-fixed-en.txt"))
            .unwrap();
    let metrics: Vec<_> = persistent.iter().map(|p| p.metric).collect();
    assert_eq!(metrics, [Some(200), Some(300), Some(300)]);
}

#[test]
fn german_hyperv_reads_auf_verbindung_as_on_link() {
    let r = routes("route-print-hyperv-de.txt");
    assert_eq!(
        facts(route(&r, "0.0.0.0/0", "10.20.0.1")),
        (15, false, Some("10.20.0.41"))
    );
    assert_eq!(
        facts(route(&r, "10.20.0.0/24", ON_LINK)),
        (271, false, Some("10.20.0.41"))
    );
    assert_eq!(
        facts(route(&r, "ff00::/8", ON_LINK)),
        (306, false, Some("1"))
    );
    assert_eq!(r.len(), 13);
    assert!(r.iter().all(|r| !r.persistent), "Ständige Routen: Keine");
}

#[test]
fn french_gateway_reads_sur_la_liaison_from_utf16() {
    let r = routes("route-print-gateway-fr-utf16.txt");
    assert_eq!(
        facts(route(&r, "0.0.0.0/0", "77.233.249.1")),
        (210, true, Some("77.233.249.31"))
    );
    assert_eq!(
        facts(route(&r, "0.0.0.0/0", "10.30.0.1")),
        (310, true, Some("10.30.0.31"))
    );
    assert_eq!(
        facts(route(&r, "10.0.0.0/16", "10.30.0.1")),
        (20, true, Some("10.30.0.31"))
    );
    assert_eq!(
        facts(route(&r, "10.30.0.0/24", ON_LINK)),
        (266, false, Some("10.30.0.31"))
    );
    assert_eq!(
        facts(route(&r, "fe80::3c1e:9a0d:52f4:6b01/128", ON_LINK)),
        (266, false, Some("11"))
    );
    assert_eq!(r.len(), 18 + 5);
}

#[test]
fn spanish_hyperv_marks_ipv4_and_ipv6_persistent_routes() {
    let r = routes("route-print-hyperv-es-bom.txt");
    assert_eq!(
        facts(route(&r, "0.0.0.0/0", "172.16.8.1")),
        (25, true, Some("172.16.8.44"))
    );
    assert_eq!(
        facts(route(&r, "10.0.0.0/8", "172.16.8.254")),
        (35, true, Some("172.16.8.44"))
    );
    assert_eq!(
        facts(route(&r, "172.16.8.0/22", ON_LINK)),
        (281, false, Some("172.16.8.44"))
    );
    assert_eq!(
        facts(route(&r, "2001:db8:100::/48", "2001:db8:44::1")),
        (25, true, Some("14"))
    );
    assert_eq!(
        facts(route(&r, "2001:db8:44:0:5d1b:2c0e:93a1:7f10/128", ON_LINK)),
        (281, false, Some("14"))
    );
    let persistent =
        route_print::parse_persistent_routes(&text("windows/route-print-hyperv-es-bom.txt"))
            .unwrap();
    let metrics: Vec<_> = persistent
        .iter()
        .map(|p| (p.destination.as_str(), p.metric))
        .collect();
    assert_eq!(
        metrics,
        [
            ("0.0.0.0/0", None),
            ("10.0.0.0/8", Some(10)),
            ("2001:db8:100::/48", Some(0))
        ]
    );
}

#[test]
fn netroute_adds_interface_metric_and_treats_zero_next_hop_as_on_link() {
    let r = netroute::parse_netroute(&text("windows/netroute-gateway-ps51.json")).unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!(
        facts(route(&r, "0.0.0.0/0", "77.233.248.1")),
        (205, true, Some("Front-end"))
    );
    assert_eq!(
        facts(route(&r, "0.0.0.0/0", "10.0.0.1")),
        (305, true, Some("Management"))
    );
    assert_eq!(
        facts(route(&r, "10.0.0.0/24", ON_LINK)),
        (261, false, Some("Management"))
    );
}

#[test]
fn netroute_with_numeric_stores_merges_active_and_persistent_copies() {
    let r =
        netroute::parse_netroute(&text("windows/netroute-hyperv-store-numbers-ps51.json")).unwrap();
    let mgmt = Some("vEthernet (Management)");
    assert_eq!(r.len(), 4);
    assert_eq!(facts(route(&r, "0.0.0.0/0", "10.20.0.1")), (15, true, mgmt));
    assert_eq!(
        facts(route(&r, "10.20.0.0/24", ON_LINK)),
        (271, false, mgmt)
    );
    assert_eq!(
        facts(route(&r, "10.0.0.0/16", "10.20.0.1")),
        (115, true, mgmt)
    );
    assert_eq!(facts(route(&r, "fe80::/64", ON_LINK)), (271, false, mgmt));
}
