//! What rules see and what they say: one stamp's inventory and the facts its hosts reported,
//! already parsed (no database, no HTTP), and the findings rules return.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use serde::Serialize;
use serde_json::Value;
use stampbook_wire::{
    CollectionError, HypervTerminalService, RdGatewaySettings, Role, VmmSettings,
};

pub use crate::facts::model::{InterfaceFact, RouteFact, ServiceFact, VitalsFact};
use crate::facts::x509::ParsedCertificate;
use crate::inventory::model::Thresholds;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkRole {
    Management,
    FrontEnd,
    Provider,
    Storage,
    Other,
}

impl NetworkRole {
    pub fn parse(s: &str) -> NetworkRole {
        match s {
            "management" => NetworkRole::Management,
            "front_end" => NetworkRole::FrontEnd,
            "provider" => NetworkRole::Provider,
            "storage" => NetworkRole::Storage,
            _ => NetworkRole::Other,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NetworkFact {
    pub name: String,
    pub role: NetworkRole,
    pub cidr: IpNet,
    pub gateway: Option<IpAddr>,
    pub required_prefixes: Vec<IpNet>,
}

/// The declared side of a stamp.
#[derive(Debug, Clone)]
pub struct StampContext {
    pub stamp_id: i64,
    pub name: String,
    pub retired: bool,
    pub rd_gateway_fqdn: Option<String>,
    pub report_interval_s: i64,
    pub thresholds: Thresholds,
    /// Target version per component name.
    pub target_versions: BTreeMap<String, String>,
    pub networks: Vec<NetworkFact>,
    /// When the service itself accepted no reports from anyone (from the replicas' heartbeats),
    /// oldest first: `host.stale` does not blame hosts for it.
    pub outages: Vec<Outage>,
}

/// A stretch of time during which no replica of the service was alive to accept reports; `to` is
/// the evaluation's `now` while it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outage {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// A certificate in one store of one host.
#[derive(Debug, Clone)]
pub struct HostCert {
    pub store: String,
    pub has_private_key: bool,
    pub provider: Option<String>,
    /// When the host says it was added to the store (`AddedAt`), if it says.
    pub added_at: Option<DateTime<Utc>>,
    /// `added_at` is the registry key's last write time: the certificate may have been there
    /// earlier (anything that rewrites the key moves it later).
    pub added_at_upper_bound: bool,
    /// When a report first showed it in this store.
    pub first_seen_at: DateTime<Utc>,
    pub cert: Arc<ParsedCertificate>,
}

/// Role settings as reported; `None` where not collected.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SettingsFacts {
    pub vmm: Option<VmmSettings>,
    pub hyperv_terminal_service: Option<HypervTerminalService>,
    pub rd_gateway: Option<RdGatewaySettings>,
}

/// One host and what it reported. Lists hold what the loader found relevant for the rules: a
/// rule must not assume a list is every fact of the host (the API shows those).
#[derive(Debug, Clone)]
pub struct HostFacts {
    pub host_id: i64,
    pub fqdn: String,
    pub roles: Vec<Role>,
    /// `collected_at` of the newest report, clamped to the time it was received.
    pub last_collected_at: DateTime<Utc>,
    /// When the host's first report arrived: facts already in it say nothing of when they began.
    pub first_seen_at: DateTime<Utc>,
    pub vitals: VitalsFact,
    /// `None` when certificates were never collected.
    pub certificates: Option<Vec<HostCert>>,
    pub interfaces: Option<Vec<InterfaceFact>>,
    pub routes: Option<Vec<RouteFact>>,
    pub services: Option<Vec<ServiceFact>>,
    pub settings: SettingsFacts,
    /// Component name → version.
    pub components: BTreeMap<String, String>,
    /// The newest report's collection errors; `None` when it said nothing of them.
    pub collection_errors: Option<Vec<CollectionError>>,
}

impl HostFacts {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// A plan sold on the stamp.
#[derive(Debug, Clone)]
pub struct PlanFact {
    pub plan_id: i64,
    pub wap_plan_id: String,
    pub name: String,
    pub remote_console: bool,
    pub quota_vcpus: i64,
    pub quota_memory_gb: i64,
}

/// A problem that is open now (from earlier runs or this one), as plan rules need it.
#[derive(Debug, Clone)]
pub struct OpenProblem {
    pub rule: String,
    pub severity: Severity,
    pub host_id: Option<i64>,
    pub subject: String,
    /// Acknowledged and the acknowledgement has not ended.
    pub acknowledged: bool,
}

/// What a rule says: stable id, severity, what it is about, why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub host_id: Option<i64>,
    pub plan_id: Option<i64>,
    /// What the finding is about (a thumbprint, a route, a component, a plan id): with rule,
    /// stamp, host and plan it identifies the problem across runs.
    pub subject: String,
    /// A sentence naming the host/certificate/route.
    pub message: String,
    /// The facts that made it fire.
    pub evidence: Value,
}
