//! Facts as the server keeps them: a report's sections parsed into types (what ingest hands to
//! storage) and the per-host facts rules read. No database, no HTTP.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use stampbook_wire::{
    Component, HypervTerminalService, Part, RdGatewaySettings, Role, VmmSettings,
};

use crate::domain::{Fqdn, StampName};
use crate::facts::wap::WapPlanFact;
use crate::facts::x509::ParsedCertificate;

#[derive(Debug, Clone, PartialEq)]
pub struct InterfaceFact {
    pub name: String,
    /// Addresses with their prefix length (`10.0.0.21/24`).
    pub addresses: Vec<IpNet>,
    pub gateway: Option<IpAddr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RouteFact {
    pub destination: IpNet,
    /// `None`: on-link.
    pub next_hop: Option<IpAddr>,
    /// The interface: its name, or (from `route print`) its address.
    pub interface: Option<String>,
    /// The effective metric.
    pub metric: u32,
    pub persistent: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceFact {
    pub name: String,
    pub state: String,
    pub started_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct VitalsFact {
    pub cpu_cores: Option<i64>,
    pub memory_mb: Option<i64>,
    pub storage_gb: Option<i64>,
    pub vm_count: Option<i64>,
    pub vm_vcpus: Option<i64>,
    pub vm_memory_mb: Option<i64>,
}

/// A certificate of the report, decoded and parsed.
#[derive(Debug, Clone)]
pub struct CertIn {
    pub store: String,
    pub der: Vec<u8>,
    pub parsed: ParsedCertificate,
    pub has_private_key: bool,
    pub provider: Option<String>,
    pub added_at: Option<DateTime<Utc>>,
    pub added_at_upper_bound: bool,
}

/// The host section, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct HostIn {
    pub fqdn: Fqdn,
    pub stamp: StampName,
    pub scale_unit: Option<String>,
    pub roles: Vec<Role>,
    pub os_name: Option<String>,
    pub os_version: Option<String>,
    /// `None`: vitals not collected.
    pub vitals: Option<VitalsFact>,
}

/// Role settings, each part three-valued as sent: absent (keep the stored one), cleared (the host
/// does not have it: clear the stored one) or collected.
#[derive(Debug, Clone, Default)]
pub struct SettingsIn {
    pub vmm: Part<VmmSettings>,
    pub hyperv_terminal_service: Part<HypervTerminalService>,
    pub rd_gateway: Part<RdGatewaySettings>,
    pub components: Part<Vec<Component>>,
}

/// A report whose facts are ready to store. `None` sections were not collected.
#[derive(Debug, Clone)]
pub struct ParsedReport {
    pub host: HostIn,
    pub certificates: Option<Vec<CertIn>>,
    pub interfaces: Option<Vec<InterfaceFact>>,
    pub routes: Option<Vec<RouteFact>>,
    pub services: Option<Vec<ServiceFact>>,
    pub settings: SettingsIn,
    /// The WAP plans a `wap_server` collected (`None`: not collected; empty: WAP has none).
    pub wap: Option<Vec<WapPlanFact>>,
}

impl ParsedReport {
    /// The sections this report collected (names as in `hosts.sections`); a settings part sent
    /// as `null` was collected (the host does not have it).
    pub fn sections(&self) -> Vec<String> {
        let s = &self.settings;
        [
            ("certificates", self.certificates.is_some()),
            ("components", !s.components.is_absent()),
            (
                "hyperv_terminal_service",
                !s.hyperv_terminal_service.is_absent(),
            ),
            ("interfaces", self.interfaces.is_some()),
            ("rd_gateway", !s.rd_gateway.is_absent()),
            ("routes", self.routes.is_some()),
            ("services", self.services.is_some()),
            ("vitals", self.host.vitals.is_some()),
            ("vmm", !s.vmm.is_absent()),
            ("wap", self.wap.is_some()),
        ]
        .into_iter()
        .filter(|(_, collected)| *collected)
        .map(|(name, _)| name.to_owned())
        .collect()
    }
}
