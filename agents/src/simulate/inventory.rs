//! The inventory document of SPEC §3 (what `PUT /api/v1/inventory` takes), built from the
//! simulated fleet.

use std::collections::BTreeMap;

use serde::Serialize;

use super::fleet::StampModel;
use super::plans::{CPU_OVERCOMMIT, MEMORY_OVERCOMMIT};
use super::versions::StampVersions;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InventoryDocument {
    pub stamps: Vec<StampDoc>,
    pub plans: Vec<PlanDoc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StampDoc {
    pub name: String,
    pub display_name: String,
    pub region: String,
    pub location: String,
    pub purpose: String,
    pub vmm_server: String,
    pub spf_endpoint: String,
    pub rd_gateway_fqdn: String,
    pub report_interval_s: u32,
    pub thresholds: Thresholds,
    pub target_versions: BTreeMap<String, String>,
    pub networks: Vec<NetworkDoc>,
    pub scale_units: Vec<ScaleUnitDoc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Thresholds {
    pub cert_warning_days: u32,
    pub cert_critical_days: u32,
    pub cpu_overcommit: f64,
    pub memory_overcommit: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkDoc {
    pub name: String,
    pub role: String,
    pub cidr: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    pub required_prefixes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScaleUnitDoc {
    pub name: String,
    pub kind: String,
    pub rack: String,
    pub notes: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanDoc {
    pub wap_plan_id: String,
    pub name: String,
    pub public: bool,
    pub stamp: String,
    pub cloud: String,
    pub remote_console: bool,
    pub quota: QuotaDoc,
    pub subscriptions: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuotaDoc {
    pub vms: u64,
    pub vcpus: u64,
    pub memory_gb: u64,
    pub storage_gb: u64,
}

/// The report interval the simulated stamps declare.
pub const REPORT_INTERVAL_S: u32 = 300;
pub const CERT_WARNING_DAYS: u32 = 30;
pub const CERT_CRITICAL_DAYS: u32 = 7;

/// The whole fleet as one document.
pub fn document(stamps: &[StampModel]) -> InventoryDocument {
    InventoryDocument {
        stamps: stamps.iter().map(stamp_doc).collect(),
        plans: stamps
            .iter()
            .flat_map(|s| {
                s.plans.iter().map(|p| PlanDoc {
                    wap_plan_id: p.wap_plan_id.clone(),
                    name: p.name.to_owned(),
                    public: p.public,
                    stamp: s.name.clone(),
                    cloud: p.cloud.to_owned(),
                    remote_console: p.remote_console,
                    quota: QuotaDoc {
                        vms: p.quota.vms,
                        vcpus: p.quota.vcpus,
                        memory_gb: p.quota.memory_gb,
                        storage_gb: p.quota.storage_gb,
                    },
                    subscriptions: p.subscriptions,
                })
            })
            .collect(),
    }
}

fn stamp_doc(stamp: &StampModel) -> StampDoc {
    StampDoc {
        name: stamp.name.clone(),
        display_name: stamp.display_name.clone(),
        region: stamp.region.to_owned(),
        location: stamp.location.clone(),
        purpose: stamp.purpose.to_owned(),
        vmm_server: stamp.vmm_server.clone(),
        spf_endpoint: stamp.spf_endpoint.clone(),
        rd_gateway_fqdn: stamp.rd_gateway_fqdn.clone(),
        report_interval_s: REPORT_INTERVAL_S,
        thresholds: Thresholds {
            cert_warning_days: CERT_WARNING_DAYS,
            cert_critical_days: CERT_CRITICAL_DAYS,
            cpu_overcommit: CPU_OVERCOMMIT,
            memory_overcommit: MEMORY_OVERCOMMIT,
        },
        target_versions: StampVersions::target()
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        networks: stamp
            .networks
            .iter()
            .map(|n| NetworkDoc {
                name: n.name.to_owned(),
                role: n.role.as_str().to_owned(),
                cidr: n.cidr.to_string(),
                gateway: n.gateway.map(|g| g.to_string()),
                required_prefixes: n
                    .required_prefixes
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
            })
            .collect(),
        scale_units: stamp
            .scale_units
            .iter()
            .map(|u| ScaleUnitDoc {
                name: u.name.clone(),
                kind: u.kind.to_owned(),
                rack: u.rack.clone(),
                notes: u.notes.to_owned(),
            })
            .collect(),
    }
}
