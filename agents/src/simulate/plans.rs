//! The WAP plans of a stamp and their quotas: sized from the stamp's physical capacity, under
//! the overcommit thresholds on a healthy stamp, well over them on an overcommitted one.

use rand::Rng;
use rand::rngs::StdRng;
use stampbook_wire::Role;

use super::faults::FaultKind;
use super::fleet::{PlanModel, Quota, StampModel};

/// The stamp thresholds the simulator declares (the SPEC defaults).
pub const CPU_OVERCOMMIT: f64 = 4.0;
pub const MEMORY_OVERCOMMIT: f64 = 1.0;

struct Offer {
    id: &'static str,
    name: &'static str,
    cloud: &'static str,
    public: bool,
    remote_console: bool,
    /// Share of the stamp's sold capacity.
    weight: f64,
}

const OFFERS: [Offer; 4] = [
    Offer {
        id: "gold",
        name: "Gold IaaS",
        cloud: "Gold Cloud",
        public: true,
        remote_console: true,
        weight: 0.4,
    },
    Offer {
        id: "silver",
        name: "Silver IaaS",
        cloud: "Silver Cloud",
        public: true,
        remote_console: true,
        weight: 0.3,
    },
    Offer {
        id: "bronze",
        name: "Bronze IaaS",
        cloud: "Bronze Cloud",
        public: true,
        remote_console: false,
        weight: 0.2,
    },
    Offer {
        id: "dev",
        name: "Private Dev/Test",
        cloud: "DevTest Cloud",
        public: false,
        remote_console: false,
        weight: 0.1,
    },
];

/// Physical (cores, memory GB) of a stamp's hosts; `hyperv_only` leaves the management VMs out.
pub fn physical(stamp: &StampModel, hyperv_only: bool) -> (u64, u64) {
    stamp
        .hosts
        .iter()
        .filter(|h| !hyperv_only || h.role == Role::HypervHost)
        .fold((0, 0), |(cores, memory), h| {
            (
                cores + u64::from(h.vitals.cpu_cores.unwrap_or(0)),
                memory + h.vitals.memory_mb.unwrap_or(0) / 1024,
            )
        })
}

/// Gives the stamp 2 to 4 plans with quotas.
pub fn size_plans(stamp: &mut StampModel, rng: &mut StdRng) {
    let count = rng.random_range(2..=OFFERS.len());
    // A healthy stamp sells 50-80% of its Hyper-V capacity; an overcommitted one 130-180% of
    // everything, management VMs included, so the rule fires however the server counts.
    let (ratio, (cores, memory_gb)) = if stamp.has_fault(FaultKind::Overcommit) {
        (rng.random_range(1.3..=1.8), physical(stamp, false))
    } else {
        (rng.random_range(0.5..=0.8), physical(stamp, true))
    };
    let vcpus = cores as f64 * CPU_OVERCOMMIT * ratio;
    let memory = memory_gb as f64 * MEMORY_OVERCOMMIT * ratio;
    let total_weight: f64 = OFFERS[..count].iter().map(|o| o.weight).sum();
    stamp.plans = OFFERS[..count]
        .iter()
        .map(|offer| {
            let share = offer.weight / total_weight;
            let plan_vcpus = (vcpus * share).ceil() as u64;
            let vms = (plan_vcpus / 2).max(1);
            PlanModel {
                wap_plan_id: format!("{}-{}", offer.id, stamp.name),
                name: offer.name,
                public: offer.public,
                cloud: format!("{} {}", offer.cloud, stamp.name),
                remote_console: offer.remote_console,
                quota: Quota {
                    vms,
                    vcpus: plan_vcpus,
                    memory_gb: (memory * share).ceil() as u64,
                    storage_gb: vms * 80,
                },
                subscriptions: rng.random_range(5..=400),
            }
        })
        .collect();
}
