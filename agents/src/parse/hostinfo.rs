//! `host.json` (written by the capture script from its parameters and WMI) into the report's
//! host section, and the role names operators type into wire roles.

use serde_json::{Map, Value};
use stampbook_wire::{CollectionError, HostSection, Os, Role, Vitals};

use super::{ParseError, psjson};

/// Parses `{Fqdn, Stamp, ScaleUnit, Roles, OsName, OsVersion, CpuCores, MemoryMB, StorageGB,
/// VmCount, VmVcpus, VmMemoryMB}`. `Fqdn` and `Stamp` are required: a report without them
/// cannot be placed.
pub fn parse_host(text: &str) -> Result<HostSection, ParseError> {
    let obj = psjson::parse_object(text)?
        .ok_or_else(|| ParseError::Unrecognised("host facts are empty".into()))?;
    host_from_object(&obj)
}

/// Like [`parse_host`], plus what the script could not fill in: `VmVitalsError` says why the
/// VM figures are missing (the Hyper-V role is there but the shell was not elevated, or
/// `Get-VM` failed). On a host without Hyper-V the figures are simply not applicable.
pub fn parse_host_capture(text: &str) -> Result<(HostSection, Vec<CollectionError>), ParseError> {
    let obj = psjson::parse_object(text)?
        .ok_or_else(|| ParseError::Unrecognised("host facts are empty".into()))?;
    let host = host_from_object(&obj)?;
    let errors = psjson::get_str(&obj, "VmVitalsError", "")?
        .map(|message| CollectionError {
            section: "host.vitals".into(),
            source: Some("Get-VM".into()),
            message,
        })
        .into_iter()
        .collect();
    Ok((host, errors))
}

/// Like [`parse_host`] over an already-parsed object (the Windows source builds one from WMI
/// plus its parameters).
pub fn host_from_object(obj: &Map<String, Value>) -> Result<HostSection, ParseError> {
    let fqdn = psjson::req_str(obj, "Fqdn", "")?;
    let stamp = psjson::req_str(obj, "Stamp", "")?;
    let os_name = psjson::get_str(obj, "OsName", "")?;
    let os_version = psjson::get_str(obj, "OsVersion", "")?;
    let os = (os_name.is_some() || os_version.is_some()).then(|| Os {
        name: os_name.unwrap_or_default(),
        version: os_version.unwrap_or_default(),
    });
    let vitals = Vitals {
        cpu_cores: psjson::get_u32(obj, "CpuCores", "")?,
        memory_mb: psjson::get_u64(obj, "MemoryMB", "")?,
        storage_gb: psjson::get_u64(obj, "StorageGB", "")?,
        vm_count: psjson::get_u32(obj, "VmCount", "")?,
        vm_vcpus: psjson::get_u32(obj, "VmVcpus", "")?,
        vm_memory_mb: psjson::get_u64(obj, "VmMemoryMB", "")?,
    };
    Ok(HostSection {
        fqdn: fqdn.to_ascii_lowercase(),
        stamp,
        scale_unit: psjson::get_str(obj, "ScaleUnit", "")?,
        roles: parse_roles(&psjson::get_strings(obj, "Roles", "")?)?,
        os,
        vitals: (vitals != Vitals::default()).then_some(vitals),
        unknown_roles: Vec::new(),
    })
}

/// Parses role names, also when one string holds several separated by commas (what
/// `powershell.exe -File capture.ps1 -Roles a,b` delivers). Duplicates are dropped.
pub fn parse_roles(names: &[String]) -> Result<Vec<Role>, ParseError> {
    let mut roles = Vec::new();
    for name in names.iter().flat_map(|n| n.split([',', ';'])) {
        if name.trim().is_empty() {
            continue;
        }
        let role = parse_role(name)?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    Ok(roles)
}

/// The short names operators use, squashed (lower-case letters and digits only). The capture
/// script's `$RoleAliases` holds the same table (a test keeps them identical), so that the
/// script and the agent agree on which sections a role needs.
pub const ROLE_ALIASES: &[(&str, Role)] = &[
    ("hyperv", Role::HypervHost),
    ("nvgre", Role::NvgreGateway),
    ("nvgregw", Role::NvgreGateway),
    ("hnvgateway", Role::NvgreGateway),
    ("rdgw", Role::RdGateway),
    ("rdg", Role::RdGateway),
    ("rdsgateway", Role::RdGateway),
    ("vmm", Role::VmmServer),
    ("spf", Role::SpfServer),
    ("wap", Role::WapServer),
    ("sql", Role::SqlServer),
];

/// One role, case-insensitively, in wire form (`hyperv_host`), friendly form (`HyperVHost`,
/// `Hyper-V Host`) or a short name of [`ROLE_ALIASES`] (`hyperv`, `rdgw`, `vmm`).
pub fn parse_role(name: &str) -> Result<Role, ParseError> {
    let squashed: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    ROLE_ALIASES
        .iter()
        .find(|(alias, _)| *alias == squashed)
        .map(|(_, role)| *role)
        .or_else(|| {
            Role::ALL
                .into_iter()
                .find(|r| r.as_str().replace('_', "") == squashed)
        })
        .ok_or_else(|| ParseError::UnknownRole(name.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_spelling_of_a_role_is_understood() {
        for (name, want) in [
            ("hyperv_host", Role::HypervHost),
            ("HyperVHost", Role::HypervHost),
            ("Hyper-V Host", Role::HypervHost),
            ("NVGRE_Gateway", Role::NvgreGateway),
            ("RD Gateway", Role::RdGateway),
            ("vmm", Role::VmmServer),
            (" other ", Role::Other),
        ] {
            assert_eq!(parse_role(name).unwrap(), want, "{name}");
        }
        let err = parse_role("toaster").unwrap_err().to_string();
        assert!(err.contains("\"toaster\""), "{err}");
    }

    #[test]
    fn a_minimal_host_and_a_comma_joined_role_string() {
        let host = parse_host(r#"{"Fqdn":"HV01.ams-01.example.net","Stamp":"ams-01","Roles":"hyperv_host,vmm_server","ScaleUnit":""}"#)
            .unwrap();
        assert_eq!(host.fqdn, "hv01.ams-01.example.net");
        assert_eq!(host.roles, vec![Role::HypervHost, Role::VmmServer]);
        assert_eq!(host.scale_unit, None);
        assert_eq!((host.os, host.vitals), (None, None));
        let err = parse_host(r#"{"Fqdn":"x"}"#).unwrap_err().to_string();
        assert!(err.contains("Stamp"), "{err}");
        assert!(parse_host("").is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC*") {
            let _ = parse_host(&s);
            let _ = parse_role(&s);
        }
    }
}
