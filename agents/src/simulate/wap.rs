//! What each simulated stamp's WAP server reports of its plans (`report.wap`, issue 14 §1): the
//! plans declared on the stamp as WAP's admin API holds them (state, subscriptions, the VM
//! Clouds quota with WAP's own setting keys). With faults, WAP and the inventory disagree in
//! exactly one place of each kind the server's plan rules find (see [`drifts`]), so the demo
//! shows `plan.undeclared`, `plan.not_in_wap`, `plan.quota_mismatch` and `plan.cloud_mismatch`
//! once each; without faults WAP agrees with the inventory everywhere.

use rand::SeedableRng;
use rand::rngs::StdRng;
use stampbook_wire::{WapPlan, WapQuota, WapSection};

use super::faults::FaultKind;
use super::fleet::{PlanModel, StampModel, uuid_from};

/// One way a stamp's WAP disagrees with the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drift {
    /// WAP sells a public plan the inventory does not declare (`plan.undeclared`).
    Undeclared,
    /// WAP lacks the stamp's last declared plan (`plan.not_in_wap`).
    NotInWap,
    /// WAP's core quota of the stamp's first plan is larger than declared (`plan.quota_mismatch`).
    QuotaMismatch,
    /// WAP sells the stamp's first plan on another stamp's cloud (`plan.cloud_mismatch`).
    CloudMismatch { other: usize },
}

impl Drift {
    pub fn rule(self) -> &'static str {
        match self {
            Drift::Undeclared => "plan.undeclared",
            Drift::NotInWap => "plan.not_in_wap",
            Drift::QuotaMismatch => "plan.quota_mismatch",
            Drift::CloudMismatch { .. } => "plan.cloud_mismatch",
        }
    }
}

fn live_with_plans(s: &StampModel) -> bool {
    !s.has_fault(FaultKind::Retired) && !s.plans.is_empty()
}

fn faulty(s: &StampModel) -> bool {
    !s.faults.is_empty() || s.hosts.iter().any(|h| h.fault.is_some())
}

/// Where the four drifts go (stamp index, drift): on live stamps with plans, stamps that already
/// have faults first (the healthy ones stay healthy where the fleet allows), one drift each in
/// turn. The cloud mismatch needs a second stamp with plans whose cloud WAP can name.
pub fn drifts(stamps: &[StampModel]) -> Vec<(usize, Drift)> {
    let mut order: Vec<usize> = (0..stamps.len())
        .filter(|i| live_with_plans(&stamps[*i]))
        .collect();
    order.sort_by_key(|i| (!faulty(&stamps[*i]), *i));
    if order.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (n, drift) in [Drift::Undeclared, Drift::NotInWap, Drift::QuotaMismatch]
        .into_iter()
        .enumerate()
    {
        out.push((order[n % order.len()], drift));
    }
    let at = order[3 % order.len()];
    if let Some(other) = (1..stamps.len())
        .map(|k| (at + k) % stamps.len())
        .find(|j| !stamps[*j].plans.is_empty())
    {
        out.push((at, Drift::CloudMismatch { other }));
    }
    out
}

fn xml_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// WAP's VM Clouds quota (service `systemcenter`) selling `cloud` with the plan's limits.
fn quota(stamp: &StampModel, plan: &PlanModel, cloud: &str, rng: &mut StdRng) -> WapQuota {
    let q = &plan.quota;
    let clouds = format!(
        "<Clouds><Cloud Id=\"{}\" StampId=\"{}\" Name=\"{}\" /></Clouds>",
        uuid_from(rng),
        uuid_from(&mut StdRng::seed_from_u64(stamp.salt ^ 0x5A3B)),
        xml_attr(cloud)
    );
    let settings = [
        ("Clouds", clouds),
        ("VmCount", q.vms.to_string()),
        ("CoreCount", q.vcpus.to_string()),
        ("RamInMB", (q.memory_gb * 1024).to_string()),
        ("StorageInGB", q.storage_gb.to_string()),
        (
            "Actions",
            "<Actions><Stop /><Start /><Shutdown /></Actions>".to_owned(),
        ),
    ];
    WapQuota {
        service_name: "systemcenter".to_owned(),
        instance_id: Some(uuid_from(&mut StdRng::seed_from_u64(stamp.salt ^ 0x1D5E)).to_string()),
        settings: settings
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    }
}

fn wap_plan(stamp: &StampModel, plan: &PlanModel, cloud: &str, rng: &mut StdRng) -> WapPlan {
    WapPlan {
        id: plan.wap_plan_id.clone(),
        display_name: plan.name.to_owned(),
        state: if plan.public { "public" } else { "private" }.to_owned(),
        subscription_count: Some(plan.subscriptions),
        quotas: vec![quota(stamp, plan, cloud, rng)],
    }
}

/// What the WAP server of `stamps[index]` reports; `faults` puts the fleet's drifts in.
pub fn section(stamps: &[StampModel], index: usize, faults: bool) -> Option<WapSection> {
    let stamp = stamps.get(index)?;
    let mut rng = StdRng::seed_from_u64(stamp.salt ^ 0x3A9F);
    let here: Vec<Drift> = if faults {
        drifts(stamps)
            .into_iter()
            .filter(|(i, _)| *i == index)
            .map(|(_, d)| d)
            .collect()
    } else {
        Vec::new()
    };
    let mut plans: Vec<WapPlan> = stamp
        .plans
        .iter()
        .map(|p| wap_plan(stamp, p, &p.cloud, &mut rng))
        .collect();
    for drift in here {
        match drift {
            Drift::Undeclared => {
                let base = &stamp.plans[0];
                let promo = PlanModel {
                    wap_plan_id: format!("Promo{:08x}", stamp.salt as u32),
                    name: "Spring Promo IaaS",
                    public: true,
                    subscriptions: 12,
                    ..base.clone()
                };
                plans.push(wap_plan(stamp, &promo, &base.cloud, &mut rng));
            }
            Drift::NotInWap => {
                // a stamp with one plan keeps it: the plan is the other drifts' subject
                if plans.len() > 1 {
                    let last = stamp.plans.len() - 1;
                    plans.retain(|p| p.id != stamp.plans[last].wap_plan_id);
                }
            }
            Drift::QuotaMismatch => {
                let vcpus = stamp.plans[0].quota.vcpus;
                if let Some(q) = plans[0].quotas.first_mut() {
                    q.settings.insert(
                        "CoreCount".to_owned(),
                        (vcpus + (vcpus / 10).max(8)).to_string(),
                    );
                }
            }
            Drift::CloudMismatch { other } => {
                let elsewhere = &stamps[other].plans[0];
                let moved = wap_plan(stamp, &stamp.plans[0], &elsewhere.cloud, &mut rng);
                plans[0].quotas[0].settings.insert(
                    "Clouds".to_owned(),
                    moved.quotas[0].settings["Clouds"].clone(),
                );
            }
        }
    }
    Some(WapSection { plans })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::simulate::{Fleet, FleetOptions};

    fn fleet(stamps: usize, faults: bool) -> Fleet {
        Fleet::build(FleetOptions {
            stamps,
            hosts_per_stamp: 10,
            faults,
            seed: 42,
            now: Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap(),
        })
    }

    #[test]
    fn without_faults_wap_holds_exactly_what_the_inventory_declares() {
        let f = fleet(3, false);
        for (i, stamp) in f.stamps.iter().enumerate() {
            let wap = section(&f.stamps, i, false).unwrap();
            let ids: Vec<&str> = wap.plans.iter().map(|p| p.id.as_str()).collect();
            let declared: Vec<&str> = stamp.plans.iter().map(|p| p.wap_plan_id.as_str()).collect();
            assert_eq!(ids, declared);
            for (w, p) in wap.plans.iter().zip(&stamp.plans) {
                let s = &w.quotas[0].settings;
                assert_eq!(s["CoreCount"], p.quota.vcpus.to_string());
                assert_eq!(s["RamInMB"], (p.quota.memory_gb * 1024).to_string());
                assert!(s["Clouds"].contains(&format!("Name=\"{}\"", p.cloud)));
                assert!(p.cloud.ends_with(&stamp.name), "a stamp's own cloud");
            }
        }
    }

    #[test]
    fn with_faults_each_disagreement_is_somewhere_once_on_a_live_stamp() {
        let f = fleet(6, true);
        let placed = drifts(&f.stamps);
        let rules: Vec<&str> = placed.iter().map(|(_, d)| d.rule()).collect();
        assert_eq!(
            rules,
            [
                "plan.undeclared",
                "plan.not_in_wap",
                "plan.quota_mismatch",
                "plan.cloud_mismatch"
            ]
        );
        for (i, d) in &placed {
            assert!(!f.stamps[*i].has_fault(FaultKind::Retired));
            if let Drift::CloudMismatch { other } = d {
                assert_ne!(other, i);
                let wap = section(&f.stamps, *i, true).unwrap();
                let elsewhere = &f.stamps[*other].plans[0].cloud;
                assert!(wap.plans[0].quotas[0].settings["Clouds"].contains(elsewhere.as_str()));
            }
        }
        let one = fleet(1, true);
        assert_eq!(
            drifts(&one.stamps).len(),
            3,
            "no other stamp's cloud to name"
        );
    }
}
