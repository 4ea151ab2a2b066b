//! `--source windows` end to end on any OS: a fake `powershell.exe` decodes the
//! `-EncodedCommand` it is given and answers with the fixture that snippet would produce.
#![cfg(unix)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use chrono::Utc;
use stampbook_agent::collect::{WindowsOptions, collect_windows};
use stampbook_wire::{Part, Role};

/// Writes a fake PowerShell that fails for snippets containing `fail_on` (if any).
fn fake_powershell(fail_on: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stampbook-fakeps-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let w = common::fixtures().join("windows");
    let w = w.display();
    let script = format!(
        r#"#!/bin/sh
# The script is the argument after -EncodedCommand: base64 of UTF-16LE.
while [ "$#" -gt 1 ]; do shift; done
script=$(printf '%s' "$1" | base64 -d | iconv -f UTF-16LE -t UTF-8)
has() {{ printf '%s' "$script" | grep -qF -- "$1"; }}
if [ -n '{fail_on}' ] && has '{fail_on}'; then echo 'simulated failure' >&2; exit 1; fi
has "\$Stamp = 'ams-01'" || {{ echo 'prelude missing' >&2; exit 2; }}
has '[Console]' && {{ echo 'no console under WinRM' >&2; exit 4; }}
out() {{ base64 -w0 "$1"; }}
if has 'Get-StampbookCimPresence -Namespace root\CIMV2\TerminalServices -ClassName'; then printf '%s' 'absent' | base64 -w0
elif has 'Get-StampbookCimPresence -Namespace root\virtualization'; then printf '%s' 'unknown' | base64 -w0
elif has "if (Test-Path -LiteralPath 'HKLM:"; then printf '%s' 'absent' | base64 -w0
elif has 'Get-MgmtSvcPlan @planArgs'; then out '{w}/wap-plans-ps51.json'
elif has 'Installer\UserData'; then out '{w}/components-vmm-ps51.json'
elif has 'VMConnect${{kind}}Certificate'; then out '{w}/cert-vmm-ps7.json'
elif has 'VMConnectTimeToLiveInMinutes'; then out '{w}/vmm-vmconnect-ps51.json'
elif has 'Win32_OperatingSystem'; then out '{w}/host-gateway-ps51.json'
elif has 'Get-NetRoute'; then out '{w}/netroute-gateway-ps51.json'
elif has 'Get-NetIPConfiguration'; then out '{w}/netipconfiguration-gateway-ps51.json'
elif has 'Cert:\LocalMachine\Root'; then out '{w}/cert-root-hyperv-single-ps51-utf16.json'
elif has 'Cert:\LocalMachine\My'; then out '{w}/cert-my-rdgw-ps51.json'
elif has 'Win32_Service'; then out '{w}/service-vmms-ps51.json'
elif has 'Msvm_TerminalServiceSettingData'; then out '{w}/msvm-terminalservicesettingdata-ps51.json'
elif has 'FedAuthSettings'; then out '{w}/fedauthsettings-ps51.json'
elif has 'Win32_TSGatewayServerSettings'; then out '{w}/tsgateway-serversettings-raw-ps51.json'
else echo 'unexpected script' >&2; exit 3; fi
"#
    );
    let path = dir.join("powershell.exe");
    std::fs::write(&path, script).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    path
}

fn options(roles: Vec<Role>, powershell: PathBuf) -> WindowsOptions {
    let mut opts = WindowsOptions::new("ams-01", roles);
    opts.powershell = powershell.display().to_string();
    opts
}

#[test]
fn every_section_is_collected_through_powershell_for_every_role() {
    let ps = fake_powershell("");
    let opts = options(
        vec![Role::HypervHost, Role::RdGateway, Role::VmmServer],
        ps.clone(),
    );
    let report = collect_windows(&opts, Utc::now()).unwrap();
    std::fs::remove_dir_all(ps.parent().unwrap()).unwrap();

    assert_eq!(report.host.fqdn, "gw01.ams-01.example.net");
    assert_eq!(report.routes.as_ref().unwrap().len(), 3);
    assert_eq!(report.interfaces.as_ref().unwrap().len(), 3);
    let stores: Vec<&str> = report
        .certificates
        .iter()
        .flatten()
        .map(|c| c.store.as_str())
        .collect();
    assert_eq!(
        stores,
        [
            "LocalMachine\\My",
            "LocalMachine\\My",
            "LocalMachine\\My",
            "LocalMachine\\Root",
            "VMM",
            "VMM"
        ]
    );
    assert_eq!(report.services.as_ref().unwrap()[0].state, "running");
    let settings = report.settings.unwrap();
    assert!(
        settings.vmm.collected().is_some()
            && settings.hyperv_terminal_service.collected().is_some()
    );
    assert_eq!(
        settings
            .rd_gateway
            .into_collected()
            .unwrap()
            .trusted_issuer_certificates
            .map(|t| t.len()),
        Some(1)
    );
    assert_eq!(settings.components.into_collected().unwrap().len(), 2);
}

#[test]
fn role_sections_are_skipped_for_other_roles_and_a_failing_section_is_a_collection_error() {
    let ps = fake_powershell("Get-NetIPConfiguration");
    let report =
        collect_windows(&options(vec![Role::NvgreGateway], ps.clone()), Utc::now()).unwrap();
    std::fs::remove_dir_all(ps.parent().unwrap()).unwrap();

    assert!(
        report.interfaces.is_none(),
        "the failed section is not collected"
    );
    let errors = report.collection_errors.clone().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        (errors[0].section.as_str(), errors[0].source.as_deref()),
        ("interfaces", Some("Get-NetIPConfiguration"))
    );
    assert!(
        errors[0].message.contains("simulated failure"),
        "{errors:?}"
    );
    assert!(report.routes.is_some());
    assert!(
        report.services.is_none(),
        "no role service to watch on a gateway"
    );
    assert!(
        report
            .certificates
            .iter()
            .flatten()
            .all(|c| c.store != "VMM")
    );
    // Not claimed: the RD Gateway class and the VMM Setup key are certainly absent (cleared);
    // whether Hyper-V's class is there could not be told (left alone).
    let settings = report.settings.unwrap();
    assert_eq!(
        (
            settings.vmm,
            settings.hyperv_terminal_service,
            settings.rd_gateway
        ),
        (Part::Cleared, Part::Absent, Part::Cleared)
    );
    assert!(report.wap.is_none());
}

#[test]
fn a_wap_server_sends_its_plans() {
    let ps = fake_powershell("");
    let report = collect_windows(&options(vec![Role::WapServer], ps.clone()), Utc::now()).unwrap();
    std::fs::remove_dir_all(ps.parent().unwrap()).unwrap();
    assert_eq!(report.wap.unwrap().plans.len(), 2);
}

#[test]
fn failing_host_facts_fail_the_collection_unless_the_flags_name_the_host() {
    let ps = fake_powershell("Win32_OperatingSystem");
    let mut opts = options(vec![], ps.clone());
    opts.fqdn = Some("hv01.ams-01.example.net".into());
    let report = collect_windows(&opts, Utc::now()).unwrap();
    assert_eq!(report.host.fqdn, "hv01.ams-01.example.net");
    assert_eq!(report.collection_errors.unwrap()[0].section, "host");
    std::fs::remove_dir_all(ps.parent().unwrap()).unwrap();
}

#[test]
fn failing_host_facts_fail_the_collection() {
    let ps = fake_powershell("Win32_OperatingSystem");
    let err = collect_windows(&options(vec![], ps.clone()), Utc::now())
        .unwrap_err()
        .to_string();
    std::fs::remove_dir_all(ps.parent().unwrap()).unwrap();
    assert!(err.contains("simulated failure"), "{err}");
}
