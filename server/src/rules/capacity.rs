//! Capacity of a stamp: what its Hyper-V hosts have, what VMs use, what plan quotas promise
//! ([`CapacitySummary`], shared with the capacity API and dashboard), and
//! `capacity.overcommit` when quotas promise more than the overcommit policy allows.
//!
//! Decisions where the SPEC is silent:
//! - Physical capacity is the sum over Hyper-V hosts (`hyperv_host` role) of the figures they
//!   reported; a host that did not report a figure adds nothing and is named in the summary and
//!   evidence (`hosts_missing_*`), so a planner sees the total is a floor.
//! - A dimension is judged only when at least one Hyper-V host reported it: a stamp whose hosts
//!   have not reported yet has unknown capacity, not zero capacity, and must not fire.
//! - Memory is compared in GB (`memory_mb / 1024`, as quotas are set in GB); "exceeds" is
//!   strict, so quotas exactly at the limit do not fire.

use serde::Serialize;
use serde_json::json;

use super::describe::{name_list, stamp_finding};
use super::model::{Finding, PlanFact, Severity, StampContext, VitalsFact};

pub const OVERCOMMIT: &str = "capacity.overcommit";

/// One Hyper-V host's size and load.
#[derive(Debug, Clone, PartialEq)]
pub struct HostVitals {
    pub host_id: i64,
    pub fqdn: String,
    pub vitals: VitalsFact,
}

/// What one plan promises its tenants.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanQuota {
    pub wap_plan_id: String,
    pub vms: Option<i64>,
    pub vcpus: i64,
    pub memory_gb: i64,
    pub storage_gb: Option<i64>,
}

impl From<&PlanFact> for PlanQuota {
    fn from(plan: &PlanFact) -> Self {
        PlanQuota {
            wap_plan_id: plan.wap_plan_id.clone(),
            vms: None,
            vcpus: plan.quota_vcpus,
            memory_gb: plan.quota_memory_gb,
            storage_gb: None,
        }
    }
}

/// The capacity facts of one stamp.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CapacityInputs {
    /// Every Hyper-V host of the stamp, reported vitals or not.
    pub hyperv_hosts: Vec<HostVitals>,
    /// Every plan bound to the stamp.
    pub plans: Vec<PlanQuota>,
}

/// Amounts of the three resources (VM count where it applies). `None` when nobody reported or
/// declared it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Resources {
    pub vms: Option<i64>,
    /// Physical: cores; used and allocated: virtual CPUs.
    pub cpus: Option<i64>,
    pub memory_gb: Option<f64>,
    pub storage_gb: Option<i64>,
}

/// A stamp's capacity, for the capacity API, the dashboard bars and `capacity.overcommit`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CapacitySummary {
    pub hyperv_hosts: usize,
    pub hosts_missing_cores: Vec<String>,
    pub hosts_missing_memory: Vec<String>,
    pub physical: Resources,
    /// What running VMs use (the hosts' `vm_*` vitals).
    pub used: Resources,
    /// What plan quotas promise.
    pub allocated: Resources,
    pub cpu_overcommit: f64,
    pub memory_overcommit: f64,
    /// Physical × overcommit: the most the policy lets quotas promise.
    pub vcpu_limit: Option<f64>,
    pub memory_limit_gb: Option<f64>,
    /// Allocated ÷ physical (vCPU per core, GB promised per GB).
    pub vcpu_ratio: Option<f64>,
    pub memory_ratio: Option<f64>,
    pub storage_ratio: Option<f64>,
    /// Used ÷ physical.
    pub vcpu_used_ratio: Option<f64>,
    pub memory_used_ratio: Option<f64>,
    /// Limit − allocated: what can still be sold; negative when overcommitted.
    pub vcpu_headroom: Option<f64>,
    pub memory_headroom_gb: Option<f64>,
}

/// Sum of the figures present; `None` when none is.
fn sum(values: impl Iterator<Item = Option<i64>>) -> Option<i64> {
    values.flatten().reduce(|a, b| a.saturating_add(b))
}

fn gb(mb: Option<i64>) -> Option<f64> {
    mb.map(|mb| mb as f64 / 1024.0)
}

fn ratio(part: Option<f64>, whole: Option<f64>) -> Option<f64> {
    match (part, whole) {
        (Some(p), Some(w)) if w > 0.0 => Some(p / w),
        _ => None,
    }
}

impl CapacitySummary {
    pub fn compute(ctx: &StampContext, inputs: &CapacityInputs) -> CapacitySummary {
        let hosts = &inputs.hyperv_hosts;
        let vitals = || hosts.iter().map(|h| &h.vitals);
        let missing = |f: fn(&VitalsFact) -> Option<i64>| -> Vec<String> {
            hosts
                .iter()
                .filter(|h| f(&h.vitals).is_none())
                .map(|h| h.fqdn.clone())
                .collect()
        };
        let physical = Resources {
            vms: None,
            cpus: sum(vitals().map(|v| v.cpu_cores)),
            memory_gb: gb(sum(vitals().map(|v| v.memory_mb))),
            storage_gb: sum(vitals().map(|v| v.storage_gb)),
        };
        let used = Resources {
            vms: sum(vitals().map(|v| v.vm_count)),
            cpus: sum(vitals().map(|v| v.vm_vcpus)),
            memory_gb: gb(sum(vitals().map(|v| v.vm_memory_mb))),
            storage_gb: None,
        };
        // Quotas are declared, not reported: no plan means nothing allocated, not unknown.
        let plans = &inputs.plans;
        let declared =
            |f: fn(&PlanQuota) -> i64| plans.iter().map(f).fold(0i64, i64::saturating_add);
        let allocated = Resources {
            vms: sum(plans.iter().map(|p| p.vms)),
            cpus: Some(declared(|p| p.vcpus)),
            memory_gb: Some(declared(|p| p.memory_gb) as f64),
            storage_gb: sum(plans.iter().map(|p| p.storage_gb)),
        };
        let t = &ctx.thresholds;
        let cores = physical.cpus.map(|c| c as f64);
        let vcpu_limit = cores.map(|c| c * t.cpu_overcommit);
        let memory_limit_gb = physical.memory_gb.map(|m| m * t.memory_overcommit);
        let allocated_vcpus = allocated.cpus.map(|c| c as f64);
        CapacitySummary {
            hyperv_hosts: hosts.len(),
            hosts_missing_cores: missing(|v| v.cpu_cores),
            hosts_missing_memory: missing(|v| v.memory_mb),
            vcpu_ratio: ratio(allocated.cpus.map(|c| c as f64), cores),
            memory_ratio: ratio(allocated.memory_gb, physical.memory_gb),
            storage_ratio: ratio(
                allocated.storage_gb.map(|s| s as f64),
                physical.storage_gb.map(|s| s as f64),
            ),
            vcpu_used_ratio: ratio(used.cpus.map(|c| c as f64), cores),
            memory_used_ratio: ratio(used.memory_gb, physical.memory_gb),
            vcpu_headroom: vcpu_limit.zip(allocated_vcpus).map(|(l, a)| l - a),
            memory_headroom_gb: memory_limit_gb.zip(allocated.memory_gb).map(|(l, a)| l - a),
            vcpu_limit,
            memory_limit_gb,
            cpu_overcommit: t.cpu_overcommit,
            memory_overcommit: t.memory_overcommit,
            physical,
            used,
            allocated,
        }
    }
}

/// `capacity.overcommit`: one finding per dimension (`vcpu`, `memory`) over the limit.
pub fn evaluate(ctx: &StampContext, inputs: &CapacityInputs) -> Vec<Finding> {
    let s = CapacitySummary::compute(ctx, inputs);
    let mut findings = Vec::new();
    let plans: Vec<String> = inputs.plans.iter().map(|p| p.wap_plan_id.clone()).collect();
    let evidence = |dimension: &str| json!({"dimension": dimension, "summary": s, "plans": plans});
    let caveat = |missing: &[String]| {
        if missing.is_empty() {
            String::new()
        } else {
            format!(
                " ({} of {} Hyper-V hosts did not report it and count as zero: {})",
                missing.len(),
                s.hyperv_hosts,
                name_list(missing, 5)
            )
        }
    };
    if let (Some(limit), Some(cores), Some(quota)) =
        (s.vcpu_limit, s.physical.cpus, s.allocated.cpus)
        && quota as f64 > limit
    {
        let message = format!(
            "Plans on {} promise {quota} vCPUs, more than {cores} physical cores × {} = {limit} \
             allowed{}; add hosts or lower plan quotas ({})",
            ctx.name,
            s.cpu_overcommit,
            caveat(&s.hosts_missing_cores),
            name_list(&plans, 5)
        );
        findings.push(stamp_finding(
            OVERCOMMIT,
            Severity::Warning,
            "vcpu",
            message,
            evidence("vcpu"),
        ));
    }
    if let (Some(limit), Some(memory), Some(quota)) = (
        s.memory_limit_gb,
        s.physical.memory_gb,
        s.allocated.memory_gb,
    ) && quota > limit
    {
        let message = format!(
            "Plans on {} promise {quota} GB of memory, more than {memory:.0} GB physical × {} = \
             {limit:.0} GB allowed{}; add hosts or lower plan quotas ({})",
            ctx.name,
            s.memory_overcommit,
            caveat(&s.hosts_missing_memory),
            name_list(&plans, 5)
        );
        findings.push(stamp_finding(
            OVERCOMMIT,
            Severity::Warning,
            "memory",
            message,
            evidence("memory"),
        ));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::super::testkit::stamp;
    use super::*;

    /// Two hosts of 16 cores and 256 GB: 128 vCPU and 512 GB allowed by default thresholds.
    fn inputs(vcpus: i64, memory_gb: i64) -> CapacityInputs {
        let host = |id: i64| HostVitals {
            host_id: id,
            fqdn: format!("hv0{id}.ams-01.example.net"),
            vitals: VitalsFact {
                cpu_cores: Some(16),
                memory_mb: Some(256 * 1024),
                storage_gb: Some(4000),
                vm_count: Some(10),
                vm_vcpus: Some(40),
                vm_memory_mb: Some(128 * 1024),
            },
        };
        CapacityInputs {
            hyperv_hosts: vec![host(1), host(2)],
            plans: vec![PlanQuota {
                wap_plan_id: "gold-ams".into(),
                vms: Some(100),
                vcpus,
                memory_gb,
                storage_gb: Some(2000),
            }],
        }
    }

    #[test]
    fn quotas_exactly_at_the_limit_do_not_fire() {
        assert!(evaluate(&stamp(), &inputs(128, 512)).is_empty());
    }

    #[test]
    fn quotas_above_the_limit_fire_once_per_dimension() {
        let findings = evaluate(&stamp(), &inputs(129, 513));
        let subjects: Vec<&str> = findings.iter().map(|f| f.subject.as_str()).collect();
        assert_eq!(subjects, ["vcpu", "memory"]);
        for f in &findings {
            assert_eq!(
                (f.rule, f.severity, f.host_id),
                (OVERCOMMIT, Severity::Warning, None)
            );
            assert!(f.message.contains("ams-01") && f.message.contains("gold-ams"));
        }
        assert!(
            findings[0]
                .message
                .contains("129 vCPUs, more than 32 physical cores × 4 = 128")
        );
        assert!(
            findings[1]
                .message
                .contains("513 GB of memory, more than 512 GB")
        );
    }

    #[test]
    fn a_stamp_whose_hosts_reported_no_vitals_does_not_fire() {
        let mut inputs = inputs(1000, 10_000);
        for h in &mut inputs.hyperv_hosts {
            h.vitals = VitalsFact::default();
        }
        assert!(evaluate(&stamp(), &inputs).is_empty());
        inputs.hyperv_hosts.clear();
        assert!(evaluate(&stamp(), &inputs).is_empty());
    }

    #[test]
    fn hosts_without_vitals_are_named_as_a_caveat() {
        let mut inputs = inputs(100, 200);
        inputs.hyperv_hosts[1].vitals = VitalsFact::default();
        let findings = evaluate(&stamp(), &inputs);
        assert_eq!(findings.len(), 1);
        assert!(
            findings[0]
                .message
                .contains("1 of 2 Hyper-V hosts did not report it")
        );
        assert!(findings[0].message.contains("hv02.ams-01.example.net"));
    }

    #[test]
    fn summary_has_physical_used_allocated_ratios_and_headroom() {
        let s = CapacitySummary::compute(&stamp(), &inputs(64, 256));
        assert_eq!(s.physical.cpus, Some(32));
        assert_eq!(s.physical.memory_gb, Some(512.0));
        assert_eq!(s.physical.storage_gb, Some(8000));
        assert_eq!(
            (s.used.vms, s.used.cpus, s.used.memory_gb),
            (Some(20), Some(80), Some(256.0))
        );
        assert_eq!(s.allocated.storage_gb, Some(2000));
        assert_eq!(s.vcpu_ratio, Some(2.0));
        assert_eq!(s.memory_ratio, Some(0.5));
        assert_eq!(s.vcpu_used_ratio, Some(2.5));
        assert_eq!(s.vcpu_headroom, Some(64.0));
        assert_eq!(s.memory_headroom_gb, Some(256.0));
    }
}
