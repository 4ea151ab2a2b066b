//! Windows JSON captures (certificate stores, services, role settings, host facts) through
//! their parsers, with concrete expected values.

mod common;

use chrono::{TimeZone, Utc};
use common::text;
use stampbook_agent::parse::{capture_meta, certs, hostinfo, netipconfig, services, settings, wap};
use stampbook_wire::{Role, normalize_thumbprint};

const RC: &str = "90D0A19F51A0EA8B4D9925D6A956485C8D06F805";

#[test]
fn certificate_stores_in_every_encoding_and_date_form() {
    let my = certs::parse_certificates(&text("windows/cert-my-rdgw-ps51.json"), "LocalMachine\\My")
        .unwrap();
    assert_eq!(my.len(), 3);
    assert!(
        my.iter()
            .all(|c| c.has_private_key && c.store == "LocalMachine\\My" && c.added_at.is_none())
    );
    assert!(my[0].der.starts_with("MIIC9DCCAdygAwIBAgIURWHLEzvajZwgOb"));

    let root = certs::parse_certificates(
        &text("windows/cert-root-hyperv-single-ps51-utf16.json"),
        "LocalMachine\\Root",
    )
    .unwrap();
    assert_eq!(root.len(), 1, "a lone object is a one-certificate store");
    assert_eq!(root[0].der, my[0].der);
    assert!(!root[0].has_private_key);
    assert_eq!(
        root[0].added_at,
        Some(Utc.with_ymd_and_hms(2014, 2, 6, 8, 0, 0).unwrap())
    );

    let vmm = certs::parse_certificates(&text("windows/cert-vmm-ps7.json"), "VMM").unwrap();
    assert_eq!(vmm[0].der, my[0].der);
    assert_eq!(
        vmm[0].provider.as_deref(),
        Some("Microsoft Enhanced RSA and AES Cryptographic Provider")
    );
    assert_eq!(
        vmm[0].added_at,
        Some(Utc.with_ymd_and_hms(2014, 2, 6, 9, 12, 0).unwrap())
    );
    assert_eq!(
        vmm[1].provider.as_deref(),
        Some("Microsoft Strong Cryptographic Provider")
    );
    assert_eq!(vmm[1].der, my[2].der);

    for empty in [
        "windows/cert-my-empty-ps51.json",
        "windows/cert-root-empty-ps51-utf16.json",
    ] {
        assert_eq!(
            certs::parse_certificates(&text(empty), "LocalMachine\\My").unwrap(),
            vec![],
            "{empty}"
        );
    }
}

#[test]
fn services_read_status_numbers_names_and_start_times() {
    let vmms = services::parse_services(&text("windows/service-vmms-ps51.json")).unwrap();
    assert_eq!(vmms.len(), 1);
    assert_eq!(
        (vmms[0].name.as_str(), vmms[0].state.as_str()),
        ("vmms", "running")
    );
    assert_eq!(
        vmms[0].started_at,
        Some(Utc.with_ymd_and_hms(2014, 1, 15, 10, 0, 0).unwrap())
    );

    let all = services::parse_services(&text("windows/services-hyperv-ps51-bom.json")).unwrap();
    let states: Vec<_> = all
        .iter()
        .map(|s| (s.name.as_str(), s.state.as_str(), s.started_at.is_some()))
        .collect();
    assert_eq!(
        states,
        [
            ("vmms", "running", true),
            ("vmcompute", "stopped", false),
            ("SCVMMAgent", "running", true)
        ]
    );
    assert_eq!(
        all[2].started_at,
        Some(Utc.with_ymd_and_hms(2014, 1, 15, 9, 0, 0).unwrap())
    );
}

#[test]
fn remote_console_settings_read_as_written() {
    let ts =
        settings::parse_ts_settings(&text("windows/msvm-terminalservicesettingdata-ps51.json"))
            .unwrap()
            .unwrap();
    assert_eq!(ts.trusted_issuer_certificate_hashes, vec![RC]);
    assert!(ts.allowed_hash_algorithms.is_empty());

    assert_eq!(
        settings::parse_fedauth(&text("windows/fedauthsettings-ps51.json")).unwrap(),
        vec![RC]
    );
    let pasted = settings::parse_fedauth(&text("windows/fedauth-array-pasted-ps51.json")).unwrap();
    assert_eq!(pasted.len(), 3, "{pasted:?}");
    assert!(
        pasted[0].starts_with('\u{200e}'),
        "kept as pasted; the server normalises"
    );
    assert_eq!(normalize_thumbprint(&pasted[0]).as_deref(), Some(RC));
    assert_eq!(pasted[2], "CACDDE3EC06BF137B580C0299D2973293DEB14D1");

    let gw = settings::parse_tsgateway(&text("windows/tsgateway-serversettings-ps51.json"))
        .unwrap()
        .unwrap();
    assert_eq!(
        gw.authentication_plugin.as_deref(),
        Some("FedAuthorizationPlugin")
    );
    assert_eq!(
        gw.authorization_plugin.as_deref(),
        Some("FedAuthorizationPlugin")
    );
    assert_eq!(gw.ssl_certificate_thumbprint, None);

    let vmm = settings::parse_vmm(&text("windows/vmm-vmconnect-ps51.json"))
        .unwrap()
        .unwrap();
    assert_eq!(
        vmm.vmconnect_gateway_certificate_thumbprint.as_deref(),
        Some(RC)
    );
    assert_eq!(vmm.host_identification_mode.as_deref(), Some("FQDN"));
    assert_eq!(vmm.vmconnect_ttl_minutes, Some(2));
}

#[test]
fn rd_gateway_reads_the_class_property_names_and_cert_hash_bytes() {
    let gw = settings::parse_tsgateway(&text("windows/tsgateway-serversettings-raw-ps51.json"))
        .unwrap()
        .unwrap();
    // The installer's plugin names pass through as-is: the server judges them.
    assert_eq!(
        gw.authentication_plugin.as_deref(),
        Some("FedAuthAuthenticationPlugin")
    );
    assert_eq!(
        gw.authorization_plugin.as_deref(),
        Some("FedAuthAuthorizationPlugin")
    );
    // CertHash as the byte array WMI hands over, as an uppercase hex thumbprint.
    assert_eq!(
        gw.ssl_certificate_thumbprint.as_deref(),
        Some("F587AA347E86BA5E2B5728654659B1B2901CAD7A")
    );
}

#[test]
fn cert_hash_may_be_base64_hex_or_the_older_thumbprint_key() {
    const HEX: &str = "F587AA347E86BA5E2B5728654659B1B2901CAD7A";
    for (json, want) in [
        (r#"{"CertHash":"9YeqNH6Gul4rVyhlRlmxspAcrXo="}"#, HEX),
        (
            r#"{"CertHash":"f587aa347e86ba5e2b5728654659b1b2901cad7a"}"#,
            HEX,
        ),
        (
            r#"{"SslCertificateThumbprint":"F587AA347E86BA5E2B5728654659B1B2901CAD7A"}"#,
            HEX,
        ),
    ] {
        let gw = settings::parse_tsgateway(json).unwrap().unwrap();
        assert_eq!(
            gw.ssl_certificate_thumbprint.as_deref(),
            Some(want),
            "{json}"
        );
    }
    let err = settings::parse_tsgateway(r#"{"CertHash":[1,2,300]}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("CertHash"), "{err}");
}

#[test]
fn windows_powershell_array_wrappers_are_unwrapped() {
    // 5.1 serialises an array that carries the ETS Count property as an object.
    let wrapped =
        r#"{"value":[{"Name":"vmms","Status":4},{"Name":"TSGateway","Status":1}],"Count":2}"#;
    let all = services::parse_services(wrapped).unwrap();
    assert_eq!(all.len(), 2);
    let ts = settings::parse_ts_settings(
        r#"{"TrustedIssuerCertificateHashes":{"value":["AB","CD"],"Count":2},"AllowedHashAlgorithms":{"value":[],"Count":0}}"#,
    )
    .unwrap()
    .unwrap();
    assert_eq!(ts.trusted_issuer_certificate_hashes, vec!["AB", "CD"]);
    assert!(ts.allowed_hash_algorithms.is_empty());
}

#[test]
fn host_interfaces_and_components_read_from_bom_files() {
    let host = hostinfo::parse_host(&text("windows/host-gateway-ps51.json")).unwrap();
    assert_eq!(
        (host.fqdn.as_str(), host.stamp.as_str()),
        ("gw01.ams-01.example.net", "ams-01")
    );
    assert_eq!(host.roles, vec![Role::NvgreGateway]);
    assert_eq!(host.vitals.unwrap().memory_mb, Some(16384));

    let ifs = netipconfig::parse_netipconfig(&text("windows/netipconfiguration-gateway-ps51.json"))
        .unwrap();
    let summary: Vec<_> = ifs
        .iter()
        .map(|i| (i.name.as_str(), i.addresses.len(), i.gateway.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            ("Management", 1, Some("10.0.0.1")),
            ("Front-end", 1, Some("77.233.248.1")),
            ("Provider", 2, None)
        ]
    );

    let comps = settings::parse_components(&text("windows/components-vmm-ps51.json")).unwrap();
    assert_eq!(
        (comps[0].name.as_str(), comps[0].version.as_str()),
        ("vmm_server", "3.2.7620.0")
    );
}

#[test]
fn partial_facts_name_what_is_missing_and_why() {
    let (host, errors) =
        hostinfo::parse_host_capture(&text("windows/host-hyperv-not-elevated-ps51.json")).unwrap();
    assert_eq!(host.roles, vec![Role::HypervHost], "a wrapped Roles array");
    let vitals = host.vitals.unwrap();
    assert_eq!((vitals.cpu_cores, vitals.vm_count), (Some(32), None));
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (errors[0].section.as_str(), errors[0].source.as_deref()),
        ("host.vitals", Some("Get-VM"))
    );

    let (found, errors) =
        services::parse_services_capture(&text("windows/services-vmms-denied-ps51.json")).unwrap();
    assert_eq!(
        (found[0].state.as_str(), found[0].started_at),
        ("running", None)
    );
    assert_eq!(errors[0].section, "services.started_at");
    assert!(errors[0].message.starts_with("vmms: "), "{errors:?}");
}

#[test]
fn a_root_added_time_from_the_registry_is_flagged_as_an_upper_bound() {
    let root = certs::parse_certificates(
        &text("windows/cert-root-registry-ps7.json"),
        "LocalMachine\\Root",
    )
    .unwrap();
    assert_eq!(
        root[0].added_at,
        Some(Utc.with_ymd_and_hms(2014, 2, 6, 8, 0, 0).unwrap())
    );
    assert_eq!(
        root[0].added_at_source.as_deref(),
        Some("registry_last_write")
    );
}

#[test]
fn capture_facts_errors_components_and_wap_plans_read_as_written() {
    let meta = capture_meta::parse_capture_meta(&text("windows/capture-ps51.json")).unwrap();
    assert_eq!(
        meta.captured_at,
        Utc.with_ymd_and_hms(2014, 2, 24, 10, 0, 0).unwrap()
    );
    assert_eq!(
        (meta.ps_version.as_deref(), meta.elevated),
        (Some("4.0"), Some(true))
    );
    let errors = capture_meta::parse_errors(&text("windows/errors-ps51.json")).unwrap();
    assert_eq!(errors[0].source.as_deref(), Some("Get-SCVMMServer"));
    assert!(
        capture_meta::parse_errors(&text("windows/errors-empty-ps51.json"))
            .unwrap()
            .is_empty()
    );

    let comps = settings::parse_components(&text("windows/components-spf-ps51.json")).unwrap();
    assert_eq!(
        (comps[1].name.as_str(), comps[1].version.as_str()),
        ("spf_update_rollup", "5")
    );
    let gw = settings::parse_tsgateway(&text("windows/tsgateway-serversettings-hex-ps51.json"))
        .unwrap()
        .unwrap();
    assert_eq!(
        gw.ssl_certificate_thumbprint.as_deref(),
        Some("F587AA347E86BA5E2B5728654659B1B2901CAD7A")
    );
    assert_eq!(
        settings::parse_vmm(&text("windows/vmm-not-a-vmm-server-null.json")).unwrap(),
        None
    );

    let raw = wap::parse_wap_plans(&text("windows/wap-plans-raw-ps51.json")).unwrap();
    let plan = &raw.plans[0];
    assert_eq!(
        (plan.state.as_str(), plan.subscription_count),
        ("private", Some(0))
    );
    assert_eq!(plan.quotas[0].service_name, "mysqlservers");
    assert!(plan.quotas[0].settings["Editions"].starts_with("[{"));

    let ifs =
        netipconfig::parse_netipconfig(&text("windows/netipconfiguration-wrapped-ps51-utf16.json"))
            .unwrap();
    assert_eq!(ifs[0].addresses, vec!["10.20.0.41/24"]);
    assert_eq!(ifs[0].gateway.as_deref(), Some("10.20.0.1"));
}
