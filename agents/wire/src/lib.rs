//! The report wire format v1 (SPEC §4): what a collector sends, shared by agent and server.
//!
//! This crate is deliberately small: serde types and a few helpers, no database, no web
//! framework (CI checks that with `cargo tree`). Unknown fields are ignored; a missing optional
//! section means "not collected", an empty array means "collected, none".

pub mod capacity;

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
    #[cfg_attr(feature = "openapi", schema(pattern = "^stampbook\\.report/v1$"))]
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
    /// Sections the agent tried and could not collect (additive to v1; older agents omit it).
    /// Such a section is also absent from the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_errors: Option<Vec<CollectionError>>,
    /// What a `wap_server`'s WAP admin API says about plans (additive to v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wap: Option<WapSection>,
}

/// A section the agent could not collect, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CollectionError {
    /// The report section, e.g. `certificates`, `routes`, `settings.rd_gateway`, `host.vitals`.
    pub section: String,
    /// Where the agent looked: a cmdlet, a WMI class, a registry key, a capture file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub message: String,
}

/// The WAP Service Management admin API's view of plans, as a `wap_server` collects it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WapSection {
    #[serde(default)]
    pub plans: Vec<WapPlan>,
}

/// One plan as WAP holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WapPlan {
    /// WAP's plan id (the inventory's `wap_plan_id`).
    pub id: String,
    #[serde(default)]
    pub display_name: String,
    /// `private`, `public` or `decommissioned` (lower-cased from WAP's `State`).
    #[serde(default)]
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(maximum = 2_147_483_647))]
    pub subscription_count: Option<u64>,
    #[serde(default)]
    pub quotas: Vec<WapQuota>,
}

/// One service quota of a WAP plan; the setting keys are WAP's own (`Clouds`, `VmCount`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WapQuota {
    pub service_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    #[serde(default)]
    pub settings: std::collections::BTreeMap<String, String>,
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
    /// Reports the agent moved to its `rejected/` folder (refused by the server for their
    /// content, or failed on too often) since its last successful push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spool_rejected: Option<u64>,
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
#[serde(from = "HostSectionWire")]
pub struct HostSection {
    /// Fully qualified name; hosts are matched case-insensitively.
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = "^\\s*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\\.*\\s*$"
        )
    )]
    pub fqdn: String,
    /// The stamp (its `name`) the host belongs to; a collector token restricted to a stamp may
    /// only report for that one.
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$",
            min_length = 1,
            max_length = 63
        )
    )]
    pub stamp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_unit: Option<String>,
    /// The host's roles: `hyperv_host`, `nvgre_gateway`, `rd_gateway`, `vmm_server`,
    /// `spf_server`, `wap_server`, `sql_server`, `other`. A value this server does not know is
    /// accepted, ignored and named in the answer's `warnings` (SPEC §4), so the document allows
    /// any string.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Vec<String>, example = json!(["hyperv_host"]))
    )]
    pub roles: Vec<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<Os>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vitals: Option<Vitals>,
    /// Role values this version does not know: ignored, and named back to the sender in the
    /// answer's `warnings` (a newer agent must not lose its whole report to one new role).
    #[serde(skip)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub unknown_roles: Vec<String>,
}

/// How `HostSection` reads: roles as strings first, so that an unknown one is set aside.
#[derive(Deserialize)]
struct HostSectionWire {
    fqdn: String,
    stamp: String,
    #[serde(default)]
    scale_unit: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    os: Option<Os>,
    #[serde(default)]
    vitals: Option<Vitals>,
}

impl From<HostSectionWire> for HostSection {
    fn from(w: HostSectionWire) -> Self {
        let mut roles = Vec::with_capacity(w.roles.len());
        let mut unknown_roles = Vec::new();
        for r in w.roles {
            match Role::parse(&r) {
                Some(role) => roles.push(role),
                None => unknown_roles.push(r),
            }
        }
        HostSection {
            fqdn: w.fqdn,
            stamp: w.stamp,
            scale_unit: w.scale_unit,
            roles,
            os: w.os,
            vitals: w.vitals,
            unknown_roles,
        }
    }
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
    #[cfg_attr(feature = "openapi", schema(maximum = 100_000))]
    pub cpu_cores: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(maximum = 1_099_511_627_776.0))]
    pub memory_mb: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(maximum = 1_073_741_824))]
    pub storage_gb: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(maximum = 1_000_000))]
    pub vm_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(maximum = 10_000_000))]
    pub vm_vcpus: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(maximum = 1_099_511_627_776.0))]
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
    /// How `added_at` was learned, when it is not a recorded fact: [`ADDED_AT_REGISTRY_LAST_WRITE`]
    /// (an upper bound: the certificate was in the store at that time, perhaps long before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_at_source: Option<String>,
}

/// `added_at_source` of a time read from the certificate's registry key last write time.
pub const ADDED_AT_REGISTRY_LAST_WRITE: &str = "registry_last_write";

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
    #[cfg_attr(feature = "openapi", schema(maximum = 2_147_483_647))]
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

/// Role settings. Each part is three-valued (SPEC §4): absent (not collected, the stored one is
/// kept), `null` (collected: the host does not have it, the stored one is cleared), or a value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Settings {
    #[serde(default, skip_serializing_if = "Part::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<VmmSettings>))]
    pub vmm: Part<VmmSettings>,
    #[serde(default, skip_serializing_if = "Part::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<HypervTerminalService>))]
    pub hyperv_terminal_service: Part<HypervTerminalService>,
    #[serde(default, skip_serializing_if = "Part::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<RdGatewaySettings>))]
    pub rd_gateway: Part<RdGatewaySettings>,
    #[serde(default, skip_serializing_if = "Part::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Component>>))]
    pub components: Part<Vec<Component>>,
}

/// One part of `settings`: not collected, collected as "the host does not have it", or a value.
/// Use with `#[serde(default, skip_serializing_if = "Part::is_absent")]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Part<T> {
    /// Not collected: whatever is stored stays.
    #[default]
    Absent,
    /// Collected, and the host does not have it (sent as `null`): the stored one is cleared.
    Cleared,
    Collected(T),
}

impl<T> Part<T> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Part::Absent)
    }

    /// The value, when one was collected.
    pub fn collected(&self) -> Option<&T> {
        match self {
            Part::Collected(v) => Some(v),
            _ => None,
        }
    }

    pub fn collected_mut(&mut self) -> Option<&mut T> {
        match self {
            Part::Collected(v) => Some(v),
            _ => None,
        }
    }

    pub fn into_collected(self) -> Option<T> {
        match self {
            Part::Collected(v) => Some(v),
            _ => None,
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Part<U> {
        match self {
            Part::Absent => Part::Absent,
            Part::Cleared => Part::Cleared,
            Part::Collected(v) => Part::Collected(f(v)),
        }
    }

    pub fn as_ref(&self) -> Part<&T> {
        match self {
            Part::Absent => Part::Absent,
            Part::Cleared => Part::Cleared,
            Part::Collected(v) => Part::Collected(v),
        }
    }
}

impl<T> From<Option<T>> for Part<T> {
    /// `Some` is a collected value, `None` not collected.
    fn from(o: Option<T>) -> Self {
        o.map_or(Part::Absent, Part::Collected)
    }
}

impl<T: Serialize> Serialize for Part<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Part::Collected(v) => v.serialize(s),
            // `Absent` is skipped by `skip_serializing_if`; alone it is written as null too
            Part::Absent | Part::Cleared => s.serialize_none(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Part<T> {
    /// Called only when the key is present (`default` covers absence): `null` is `Cleared`.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(d)?.map_or(Part::Cleared, Part::Collected))
    }
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

    fn settings(json: &str) -> Settings {
        serde_json::from_str(json).expect("settings parse")
    }

    #[test]
    fn settings_part_absent_null_and_value_are_three_things() {
        let s = settings(r#"{"vmm": null, "components": []}"#);
        assert_eq!(s.vmm, Part::Cleared);
        assert_eq!(s.rd_gateway, Part::Absent);
        assert_eq!(s.components, Part::Collected(vec![]));
        let back = serde_json::to_value(&s).expect("serialises");
        assert_eq!(back, serde_json::json!({"vmm": null, "components": []}));
    }

    #[test]
    fn unknown_role_is_set_aside_not_refused() {
        let h: HostSection = serde_json::from_str(
            r#"{"fqdn": "a.example.net", "stamp": "s", "roles": ["hyperv_host", "hci_node"]}"#,
        )
        .expect("host parses");
        assert_eq!(h.roles, vec![Role::HypervHost]);
        assert_eq!(h.unknown_roles, vec!["hci_node".to_string()]);
    }

    #[test]
    fn collection_errors_and_wap_round_trip() {
        let json = serde_json::json!({
            "collection_errors": [{"section": "settings.rd_gateway",
                                   "source": "Win32_TSGatewayServerSettings", "message": "Access denied"}],
            "wap": {"plans": [{"id": "Gold1a2b3c", "display_name": "Gold IaaS", "state": "public",
                               "subscription_count": 42,
                               "quotas": [{"service_name": "systemcenter", "instance_id": "x",
                                           "settings": {"VmCount": "20"}}]}]}
        });
        let errors: Vec<CollectionError> =
            serde_json::from_value(json["collection_errors"].clone()).expect("errors parse");
        assert_eq!(
            errors[0].source.as_deref(),
            Some("Win32_TSGatewayServerSettings")
        );
        let wap: WapSection = serde_json::from_value(json["wap"].clone()).expect("wap parses");
        assert_eq!(wap.plans[0].quotas[0].settings["VmCount"], "20");
        assert_eq!(serde_json::to_value(&wap).expect("serialises"), json["wap"]);
    }
}
