//! A whole capture folder, assembled from fixtures under the SPEC §8 names, into a report.

mod common;

use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use stampbook_agent::collect::{
    CollectError, HostOverrides, collect_capture_dir, collect_capture_dir_with,
};
use stampbook_wire::{
    Component, HypervTerminalService, ON_LINK, Part, RdGatewaySettings, Role, Settings, VmmSettings,
};

const RC: &str = "90D0A19F51A0EA8B4D9925D6A956485C8D06F805";

/// A scratch folder removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("stampbook-capture-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        Scratch(dir)
    }

    fn put(&self, name: &str, fixture: &str) -> &Self {
        std::fs::write(self.0.join(name), common::bytes(fixture))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        self
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every file of SPEC §8, taken from the shared fixtures and this crate's own captures.
fn full_capture() -> Scratch {
    let dir = Scratch::new();
    dir.put("host.json", "windows/host-gateway-ps51.json")
        .put(
            "route-print.txt",
            "windows/route-print-gateway-fixed-en.txt",
        )
        .put("netroute.json", "windows/netroute-gateway-ps51.json")
        .put(
            "netipconfiguration.json",
            "windows/netipconfiguration-gateway-ps51.json",
        )
        .put("cert-my.json", "windows/cert-my-rdgw-ps51.json")
        .put(
            "cert-root.json",
            "windows/cert-root-hyperv-single-ps51-utf16.json",
        )
        .put("cert-vmm.json", "windows/cert-vmm-ps7.json")
        .put("services.json", "windows/service-vmms-ps51.json")
        .put(
            "msvm-tssettings.json",
            "windows/msvm-terminalservicesettingdata-ps51.json",
        )
        .put("fedauth.json", "windows/fedauthsettings-ps51.json")
        .put(
            "tsgateway.json",
            "windows/tsgateway-serversettings-ps51.json",
        )
        .put("vmm.json", "windows/vmm-vmconnect-ps51.json")
        .put("components.json", "windows/components-vmm-ps51.json");
    dir
}

#[test]
fn a_full_capture_becomes_a_complete_report() {
    let dir = full_capture();
    let now = Utc.with_ymd_and_hms(2014, 2, 24, 10, 0, 0).unwrap();
    let report = collect_capture_dir(dir.path(), now).unwrap();

    assert_eq!(report.schema, "stampbook.report/v1");
    assert_eq!(report.report_id.get_version_num(), 4);
    assert_eq!(report.collected_at, now);
    let agent = report.agent.as_ref().unwrap();
    assert_eq!(
        (agent.name.as_str(), agent.version.as_str()),
        ("stampbook-agent", env!("CARGO_PKG_VERSION"))
    );

    let host = &report.host;
    assert_eq!(
        (host.fqdn.as_str(), host.stamp.as_str()),
        ("gw01.ams-01.example.net", "ams-01")
    );
    assert_eq!(host.scale_unit.as_deref(), Some("network-r3"));
    assert_eq!(host.roles, vec![Role::NvgreGateway]);
    assert_eq!(host.os.as_ref().unwrap().version, "6.3.9600");
    assert_eq!(host.vitals.as_ref().unwrap().cpu_cores, Some(8));

    // netroute.json wins over route-print.txt: interfaces are named by alias.
    let routes = report.routes.as_ref().unwrap();
    assert_eq!(routes.len(), 3);
    let front = common::route(routes, "0.0.0.0/0", "77.233.248.1");
    assert_eq!(common::facts(front), (205, true, Some("Front-end")));
    assert_eq!(common::route(routes, "10.0.0.0/24", ON_LINK).metric, 261);

    assert_eq!(report.interfaces.as_ref().unwrap().len(), 3);

    let certs = report.certificates.as_ref().unwrap();
    let stores: Vec<&str> = certs.iter().map(|c| c.store.as_str()).collect();
    assert_eq!(
        stores,
        ["LocalMachine\\My"; 3]
            .iter()
            .chain(&["LocalMachine\\Root", "VMM", "VMM"])
            .copied()
            .collect::<Vec<_>>()
    );
    assert!(certs[3].added_at.is_some() && certs[4].provider.is_some());

    let services = report.services.as_ref().unwrap();
    assert_eq!(
        (services[0].name.as_str(), services[0].state.as_str()),
        ("vmms", "running")
    );

    assert_eq!(
        report.settings,
        Some(Settings {
            vmm: Part::Collected(VmmSettings {
                vmconnect_gateway_certificate_thumbprint: Some(RC.into()),
                vmconnect_hyperv_certificate_thumbprint: Some(RC.into()),
                host_identification_mode: Some("FQDN".into()),
                vmconnect_ttl_minutes: Some(2),
            }),
            hyperv_terminal_service: Part::Collected(HypervTerminalService {
                trusted_issuer_certificate_hashes: vec![RC.into()],
                allowed_hash_algorithms: vec![],
            }),
            rd_gateway: Part::Collected(RdGatewaySettings {
                trusted_issuer_certificates: Some(vec![RC.into()]),
                authentication_plugin: Some("FedAuthorizationPlugin".into()),
                authorization_plugin: Some("FedAuthorizationPlugin".into()),
                ssl_certificate_thumbprint: None,
            }),
            components: Part::Collected(vec![
                Component {
                    name: "vmm_server".into(),
                    version: "3.2.7620.0".into()
                },
                Component {
                    name: "wap_admin_api".into(),
                    version: "3.19.8196.12".into()
                },
            ]),
        })
    );

    // The report is valid wire JSON and survives a round trip.
    let json = serde_json::to_string(&report).unwrap();
    assert_eq!(
        serde_json::from_str::<stampbook_wire::Report>(&json).unwrap(),
        report
    );
}

#[test]
fn only_host_json_means_every_section_not_collected() {
    let dir = Scratch::new();
    dir.put("host.json", "windows/host-gateway-ps51.json");
    let report = collect_capture_dir(dir.path(), Utc::now()).unwrap();
    assert_eq!(
        (
            report.routes,
            report.interfaces,
            report.certificates,
            report.services,
            report.settings
        ),
        (None, None, None, None, None)
    );
    let json = serde_json::to_value(collect_capture_dir(dir.path(), Utc::now()).unwrap()).unwrap();
    assert!(
        json.get("certificates").is_none(),
        "not collected is absent, not []"
    );
}

#[test]
fn route_print_is_used_without_netroute_and_empty_files_mean_collected_none() {
    let dir = Scratch::new();
    dir.put("host.json", "windows/host-gateway-ps51.json")
        .put("route-print.txt", "windows/route-print-gateway-tie-en.txt")
        .put("cert-my.json", "windows/cert-my-empty-ps51.json")
        .put("services.json", "windows/cert-my-empty-ps51.json")
        .put("fedauth.json", "windows/cert-root-empty-ps51-utf16.json");
    let report = collect_capture_dir(dir.path(), Utc::now()).unwrap();
    let routes = report.routes.unwrap();
    assert_eq!(
        common::facts(common::route(&routes, "0.0.0.0/0", "10.0.0.1")),
        (266, true, Some("10.0.0.21"))
    );
    assert_eq!(report.certificates, Some(vec![]));
    assert_eq!(report.services, Some(vec![]));
    let settings = report.settings.unwrap();
    assert_eq!(
        settings
            .rd_gateway
            .into_collected()
            .unwrap()
            .trusted_issuer_certificates,
        Some(Vec::<String>::new())
    );
    assert_eq!(
        (settings.vmm, settings.components),
        (Part::Absent, Part::Absent)
    );
}

#[test]
fn errors_name_the_file_and_the_problem() {
    let empty = Scratch::new();
    let err = collect_capture_dir(empty.path(), Utc::now()).unwrap_err();
    assert!(matches!(err, CollectError::MissingFile { .. }), "{err}");
    assert!(err.to_string().contains("host.json"), "{err}");

    let dir = Scratch::new();
    dir.put("host.json", "windows/host-gateway-ps51.json");
    std::fs::write(
        dir.path().join("netroute.json"),
        r#"[{"DestinationPrefix":"0.0.0.0/0","NextHop":"x","RouteMetric":1,"InterfaceMetric":1}]"#,
    )
    .unwrap();
    let report = collect_capture_dir(dir.path(), Utc::now()).unwrap();
    let errors = report.collection_errors.unwrap();
    assert_eq!(report.routes, None);
    assert_eq!(
        (errors[0].section.as_str(), errors[0].source.as_deref()),
        ("routes", Some("netroute.json"))
    );
    assert!(errors[0].message.contains("NextHop"), "{errors:?}");

    std::fs::remove_file(dir.path().join("netroute.json")).unwrap();
    std::fs::remove_file(dir.path().join("route-print.txt")).ok();
    std::fs::write(
        dir.path().join("host.json"),
        r#"{"Fqdn":"x","Stamp":"s","Roles":["toaster"]}"#,
    )
    .unwrap();
    let err = collect_capture_dir(dir.path(), Utc::now())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("host.json") && err.contains("toaster"),
        "{err}"
    );
}

fn sections(report: &stampbook_wire::Report) -> Vec<(String, String)> {
    report
        .collection_errors
        .iter()
        .flatten()
        .map(|e| (e.section.clone(), e.source.clone().unwrap_or_default()))
        .collect()
}

#[test]
fn a_damaged_file_is_a_collection_error_of_its_section_not_a_failed_collection() {
    let dir = full_capture();
    std::fs::write(dir.path().join("netipconfiguration.json"), "[{\"Interface").unwrap();
    std::fs::write(dir.path().join("cert-vmm.json"), [0x5b, 0xc3, 0x28]).unwrap();
    std::fs::write(dir.path().join("tsgateway.json"), r#"{"CertHash":[1,2,3]}"#).unwrap();
    let report = collect_capture_dir(dir.path(), Utc::now()).unwrap();

    assert_eq!(report.interfaces, None);
    assert_eq!(
        report.certificates, None,
        "one unreadable store withholds the section: the others would say My is all there is"
    );
    let settings = report.settings.as_ref().unwrap();
    assert_eq!(settings.rd_gateway, Part::Absent);
    assert!(settings.vmm.collected().is_some());
    assert!(report.routes.is_some() && report.services.is_some());
    assert_eq!(
        sections(&report),
        [
            (
                "interfaces".to_owned(),
                "netipconfiguration.json".to_owned()
            ),
            ("certificates".to_owned(), "cert-vmm.json".to_owned()),
            (
                "settings.rd_gateway".to_owned(),
                "tsgateway.json".to_owned()
            ),
        ]
    );
}

#[test]
fn the_scripts_errors_and_capture_time_are_carried_into_the_report() {
    let dir = full_capture();
    std::fs::write(
        dir.path().join("errors.json"),
        r#"{"value":[{"Section":"settings.vmm","Source":"Get-SCVMMServer","Message":"Access denied"}],"Count":1}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("capture.json"),
        r#"{"CapturedAt":"2014-02-24T09:30:00.0000000Z","ScriptVersion":"2","PSVersion":"4.0","Elevated":true}"#,
    )
    .unwrap();
    std::fs::remove_file(dir.path().join("vmm.json")).unwrap();
    let report = collect_capture_dir(dir.path(), Utc::now()).unwrap();
    assert_eq!(
        report.collected_at,
        Utc.with_ymd_and_hms(2014, 2, 24, 9, 30, 0).unwrap()
    );
    assert_eq!(
        sections(&report),
        [("settings.vmm".to_owned(), "Get-SCVMMServer".to_owned())]
    );
    assert_eq!(report.settings.unwrap().vmm, Part::Absent);
}

#[test]
fn host_json_may_be_absent_when_the_flags_name_the_host() {
    let dir = Scratch::new();
    dir.put("cert-my.json", "windows/cert-my-rdgw-ps51.json");
    let flags = HostOverrides {
        fqdn: Some("RDGW01.ams-01.example.net".into()),
        stamp: Some("ams-01".into()),
        scale_unit: None,
        roles: vec![Role::RdGateway],
    };
    let report = collect_capture_dir_with(dir.path(), Utc::now(), &flags).unwrap();
    assert_eq!(report.host.fqdn, "rdgw01.ams-01.example.net");
    assert_eq!(report.host.roles, vec![Role::RdGateway]);
    assert_eq!(report.certificates.map(|c| c.len()), Some(3));

    let without_stamp = HostOverrides {
        stamp: None,
        ..flags
    };
    let err = collect_capture_dir_with(dir.path(), Utc::now(), &without_stamp).unwrap_err();
    assert!(matches!(err, CollectError::MissingFile { .. }), "{err}");
}

#[test]
fn null_settings_files_clear_their_part_and_blank_ones_leave_it_alone() {
    let dir = Scratch::new();
    dir.put("host.json", "windows/host-gateway-ps51.json");
    for file in ["vmm.json", "fedauth.json", "tsgateway.json"] {
        std::fs::write(dir.path().join(file), "null\r\n").unwrap();
    }
    std::fs::write(dir.path().join("msvm-tssettings.json"), "").unwrap();
    let settings = collect_capture_dir(dir.path(), Utc::now())
        .unwrap()
        .settings
        .unwrap();
    assert_eq!(settings.vmm, Part::Cleared);
    assert_eq!(settings.rd_gateway, Part::Cleared);
    assert_eq!(settings.hyperv_terminal_service, Part::Absent);
    let json = serde_json::to_value(&settings).unwrap();
    assert_eq!(json, serde_json::json!({"vmm": null, "rd_gateway": null}));
}

#[test]
fn wap_plans_become_the_reports_wap_section() {
    let dir = Scratch::new();
    dir.put("host.json", "windows/host-gateway-ps51.json")
        .put("wap-plans.json", "windows/wap-plans-ps51.json");
    let wap = collect_capture_dir(dir.path(), Utc::now())
        .unwrap()
        .wap
        .unwrap();
    assert_eq!(wap.plans.len(), 2);
    let gold = &wap.plans[0];
    assert_eq!(
        (
            gold.id.as_str(),
            gold.state.as_str(),
            gold.subscription_count
        ),
        ("Goldjx0znyw0lvn", "public", Some(42))
    );
    assert_eq!(gold.quotas[0].service_name, "systemcenter");
    assert_eq!(gold.quotas[0].settings["VmCount"], "500");
    assert_eq!(wap.plans[1].state, "private");
}
