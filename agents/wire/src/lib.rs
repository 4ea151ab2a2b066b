//! The report wire format v1 (SPEC §4): what a collector sends, shared by agent and server.
//!
//! This crate is deliberately small: serde types and a few helpers, no database, no web
//! framework (CI checks that with `cargo tree`). Unknown fields are ignored; a missing optional
//! section means "not collected", an empty array means "collected, none".

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The `schema` value of a v1 report.
pub const SCHEMA_V1: &str = "stampbook.report/v1";

/// The store name of the pseudo-store in which the VMM server reports VMConnect certificates.
pub const VMM_STORE: &str = "VMM";
/// The personal store of the machine.
pub const MY_STORE: &str = "LocalMachine\\My";
/// The trusted root store of the machine.
pub const ROOT_STORE: &str = "LocalMachine\\Root";

/// One host's report for one collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    /// Always `stampbook.report/v1`.
    pub schema: String,
    /// The idempotency key: the same id twice is stored once and answered the same.
    pub report_id: Uuid,
    /// When the facts were collected; a report older than the newest stored for its host goes
    /// to history only.
    pub collected_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentInfo>,
    pub host: HostSection,
    /// Certificates of the host's stores (absent: not collected; empty: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificates: Option<Vec<Certificate>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interfaces: Option<Vec<Interface>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routes: Option<Vec<Route>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<Service>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Settings>,
}

/// Who collected the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentInfo {
    pub name: String,
    pub version: String,
    /// Reports the agent's spool dropped (oldest first) since its last successful push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spool_dropped: Option<u64>,
}

/// A host role (SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    HypervHost,
    NvgreGateway,
    RdGateway,
    VmmServer,
    SpfServer,
    WapServer,
    SqlServer,
    Other,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::HypervHost,
        Role::NvgreGateway,
        Role::RdGateway,
        Role::VmmServer,
        Role::SpfServer,
        Role::WapServer,
        Role::SqlServer,
        Role::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::HypervHost => "hyperv_host",
            Role::NvgreGateway => "nvgre_gateway",
            Role::RdGateway => "rd_gateway",
            Role::VmmServer => "vmm_server",
            Role::SpfServer => "spf_server",
            Role::WapServer => "wap_server",
            Role::SqlServer => "sql_server",
            Role::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The host the report is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostSection {
    /// Fully qualified name; hosts are matched case-insensitively.
    pub fqdn: String,
    /// The stamp (its `name`) the host belongs to; a collector token restricted to a stamp may
    /// only report for that one.
    pub stamp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_unit: Option<String>,
    #[serde(default)]
    pub roles: Vec<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<Os>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vitals: Option<Vitals>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Os {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
}

/// Size and load of a host; every figure is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Vitals {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_cores: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_gb: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm_vcpus: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm_memory_mb: Option<u64>,
}

/// A certificate as found in a store, sent as DER (base64).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Certificate {
    /// `LocalMachine\My`, `LocalMachine\Root`, or `VMM` (VMConnect certificates from VMM's database).
    pub store: String,
    /// The certificate's DER, base64 (`[Convert]::ToBase64String($cert.RawData)`); the server
    /// parses it and computes the thumbprint (uppercase hex SHA-1 of the DER).
    pub der: String,
    #[serde(default)]
    pub has_private_key: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Interface {
    pub name: String,
    #[serde(default)]
    pub addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
}

/// The literal next hop of a route that is on-link.
pub const ON_LINK: &str = "on-link";

/// One route; `metric` is the effective metric.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Route {
    /// A prefix such as `0.0.0.0/0` or `10.0.0.0/16`.
    pub destination: String,
    /// An address, or `on-link`.
    pub next_hop: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// The effective metric (route metric plus interface metric).
    pub metric: u32,
    #[serde(default)]
    pub persistent: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Service {
    pub name: String,
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
}

/// Role settings; each part is present only when collected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Settings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmm: Option<VmmSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hyperv_terminal_service: Option<HypervTerminalService>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rd_gateway: Option<RdGatewaySettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<Component>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VmmSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmconnect_gateway_certificate_thumbprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmconnect_hyperv_certificate_thumbprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_identification_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmconnect_ttl_minutes: Option<u32>,
}

/// `Msvm_TerminalServiceSettingData` of a Hyper-V host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HypervTerminalService {
    #[serde(default)]
    pub trusted_issuer_certificate_hashes: Vec<String>,
    #[serde(default)]
    pub allowed_hash_algorithms: Vec<String>,
}

/// RD Gateway federation and server settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RdGatewaySettings {
    /// `None`: FedAuthSettings not collected (an empty list says it trusts nobody).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_issuer_certificates: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication_plugin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_plugin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_certificate_thumbprint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Component {
    pub name: String,
    pub version: String,
}

/// Normalises a thumbprint the way operators paste them: drops whitespace and invisible
/// format characters (U+200E and friends, BOMs), upper-cases hex. Returns `None` when what is
/// left is not 40 hex digits (a SHA-1 thumbprint).
pub fn normalize_thumbprint(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && !is_invisible(*c) && *c != ':')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if cleaned.len() == 40 && cleaned.chars().all(|c| c.is_ascii_hexdigit()) {
        Some(cleaned)
    } else {
        None
    }
}

/// Like [`normalize_thumbprint`], but keeps a value that is not a valid thumbprint (cleaned and
/// upper-cased) so that it can still be shown and never matches a real one by accident.
pub fn thumbprint_key(raw: &str) -> String {
    normalize_thumbprint(raw).unwrap_or_else(|| {
        raw.chars()
            .filter(|c| !c.is_whitespace() && !is_invisible(*c))
            .map(|c| c.to_ascii_uppercase())
            .collect()
    })
}

fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{FEFF}' | '\u{00AD}' | '\u{180E}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_with_spaces_and_lrm_normalises() {
        let pasted = "\u{200e}90 d0 a1 9f 51 a0 ea 8b 4d 99 25 d6 a9 56 48 5c 8d 06 f8 05";
        assert_eq!(
            normalize_thumbprint(pasted).as_deref(),
            Some("90D0A19F51A0EA8B4D9925D6A956485C8D06F805")
        );
    }

    #[test]
    fn short_or_non_hex_thumbprint_is_rejected() {
        assert_eq!(normalize_thumbprint("AB12"), None);
        assert_eq!(normalize_thumbprint(&"Z".repeat(40)), None);
        assert_eq!(thumbprint_key(" ab12\u{200e}"), "AB12");
    }

    #[test]
    fn spec_example_report_parses_and_unknown_fields_are_ignored() {
        let json = r#"{
          "schema": "stampbook.report/v1",
          "report_id": "0b6f1c1e-3a4e-4d2b-9a57-2f0c8d1e7a10",
          "collected_at": "2014-02-24T10:00:00Z",
          "agent": {"name": "stampbook-agent", "version": "0.1.0"},
          "future_section": {"x": 1},
          "host": {"fqdn": "gw01.ams-01.example.net", "stamp": "ams-01", "scale_unit": "network-r3",
                   "roles": ["nvgre_gateway"], "os": {"name": "Windows Server 2012 R2 Datacenter", "version": "6.3.9600"},
                   "vitals": {"cpu_cores": 8, "memory_mb": 16384, "vm_count": 0}},
          "routes": [{"destination": "0.0.0.0/0", "next_hop": "10.0.0.1", "interface": "Management", "metric": 300, "persistent": true}],
          "services": [{"name": "vmms", "state": "running", "started_at": "2014-02-06T08:00:00Z"}],
          "settings": {"components": [{"name": "vmm_server", "version": "3.2.7620.0"}]}
        }"#;
        let report: Report = serde_json::from_str(json).expect("spec example parses");
        assert_eq!(report.host.roles, vec![Role::NvgreGateway]);
        assert!(
            report.certificates.is_none(),
            "missing section means not collected"
        );
        assert_eq!(report.routes.as_ref().map(Vec::len), Some(1));
        let back = serde_json::to_value(&report).expect("serialises");
        assert!(back.get("certificates").is_none());
    }
}
