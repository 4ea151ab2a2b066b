//! The fleet model: stamps with their networks, scale units, hosts and plans. It describes the
//! healthy baseline; faults are labels on it that the report builder applies.

use std::net::Ipv4Addr;

use chrono::{DateTime, Utc};
use ipnet::Ipv4Net;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stampbook_wire::{Role, Vitals};
use uuid::Uuid;

use super::faults::FaultKind;

/// Infrastructure servers per stamp; the rest of `--hosts-per-stamp` are Hyper-V hosts.
pub const INFRA_HOSTS: usize = 8;
/// The DNS suffix of every simulated host.
pub const DOMAIN: &str = "example.net";
/// The supernet every management network must reach through its own gateway.
pub const MANAGEMENT_SUPERNET: &str = "10.0.0.0/8";

/// A network's role (SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetRole {
    Management,
    FrontEnd,
    Provider,
    Storage,
}

impl NetRole {
    pub fn as_str(self) -> &'static str {
        match self {
            NetRole::Management => "management",
            NetRole::FrontEnd => "front_end",
            NetRole::Provider => "provider",
            NetRole::Storage => "storage",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NetworkModel {
    pub name: &'static str,
    /// The interface name hosts give their NIC on this network.
    pub interface: &'static str,
    pub role: NetRole,
    pub cidr: Ipv4Net,
    pub gateway: Option<Ipv4Addr>,
    pub required_prefixes: Vec<Ipv4Net>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScaleUnitModel {
    pub name: String,
    pub kind: &'static str,
    pub rack: String,
    pub notes: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HostModel {
    pub fqdn: String,
    pub role: Role,
    pub scale_unit: String,
    /// One address per network the host is on, in the stamp's network order.
    pub addresses: Vec<(NetRole, Ipv4Addr)>,
    pub vitals: Vitals,
    pub os_name: &'static str,
    /// When the host's services last started.
    pub booted_at: DateTime<Utc>,
    /// When the stamp's VMConnect root was imported into this host's Root store.
    pub root_added_at: DateTime<Utc>,
    pub collected_at: DateTime<Utc>,
    pub report_id: Uuid,
    pub fault: Option<FaultKind>,
    /// Seeds whatever a fault needs to draw (how many days expired, ...).
    pub salt: u64,
}

impl HostModel {
    pub fn address(&self, role: NetRole) -> Option<Ipv4Addr> {
        self.addresses
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, a)| *a)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Quota {
    pub vms: u64,
    pub vcpus: u64,
    pub memory_gb: u64,
    pub storage_gb: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlanModel {
    pub wap_plan_id: String,
    pub name: &'static str,
    pub public: bool,
    /// The stamp's own VMM cloud (`Gold Cloud ams-01`): a cloud belongs to one VMM server.
    pub cloud: String,
    pub remote_console: bool,
    pub quota: Quota,
    pub subscriptions: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StampModel {
    pub index: usize,
    pub name: String,
    pub display_name: String,
    pub region: &'static str,
    pub location: String,
    pub purpose: &'static str,
    /// `ams-01.example.net`.
    pub domain: String,
    pub vmm_server: String,
    pub spf_endpoint: String,
    pub rd_gateway_fqdn: String,
    pub networks: Vec<NetworkModel>,
    pub scale_units: Vec<ScaleUnitModel>,
    pub hosts: Vec<HostModel>,
    pub plans: Vec<PlanModel>,
    /// When the stamp's VMConnect certificate was made (and imported as a root).
    pub vmconnect_since: DateTime<Utc>,
    /// Stamp-wide faults.
    pub faults: Vec<FaultKind>,
    pub salt: u64,
}

impl StampModel {
    pub fn network(&self, role: NetRole) -> Option<&NetworkModel> {
        self.networks.iter().find(|n| n.role == role)
    }

    pub fn has_fault(&self, kind: FaultKind) -> bool {
        self.faults.contains(&kind)
    }
}

/// The rng of one stamp: independent of the others, so stamps can be built in any order.
pub fn stamp_rng(seed: u64, index: usize) -> StdRng {
    let mixed = seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    StdRng::seed_from_u64(mixed)
}

/// A random (version 4) UUID drawn from `rng`, so that report ids follow the seed.
pub fn uuid_from(rng: &mut impl Rng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}
