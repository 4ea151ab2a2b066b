//! Fault placement: a seeded plan that puts every fault of the catalogue on a few stamps (one
//! host per fault), keeps the rest of the fleet healthy, and reports what went where.

use std::collections::BTreeSet;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use serde::Serialize;

use super::faults::{FaultKind, RULE_IDS, RULE_IDS_ELSEWHERE, Target};
use super::fleet::StampModel;
use stampbook_wire::Role;

/// One fault put somewhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Injection {
    pub fault: FaultKind,
    pub stamp: String,
    pub host: Option<String>,
    pub rules: Vec<&'static str>,
    pub description: &'static str,
    /// Specifics, e.g. the plans concerned.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// The seeded fault plan of a fleet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FaultPlan {
    pub injections: Vec<Injection>,
    /// Faults for which the fleet had no room (too few stamps or hosts).
    pub not_placed: Vec<FaultKind>,
    /// Stamps to retire once their reports are in.
    pub retired: Vec<String>,
}

impl FaultPlan {
    /// Every rule id the injected faults should fire.
    pub fn expected_rules(&self) -> BTreeSet<&'static str> {
        self.injections
            .iter()
            .flat_map(|i| i.rules.iter().copied())
            .collect()
    }
}

/// Puts faults on the fleet: the retired stamp apart, about 30% of the stamps stay healthy;
/// each fault goes on `stamps / 8` stamps (1 to 3), preferring the least faulty stamps.
pub fn inject(stamps: &mut [StampModel], seed: u64) -> FaultPlan {
    let mut rng = StdRng::seed_from_u64(seed ^ 0xFA17_5EED);
    let mut plan = FaultPlan::default();
    let mut order: Vec<usize> = (0..stamps.len()).collect();
    order.shuffle(&mut rng);
    if stamps.len() >= 2
        && let Some(last) = order.pop()
    {
        let stamp = &mut stamps[last];
        stamp.faults.push(FaultKind::Retired);
        plan.retired.push(stamp.name.clone());
        plan.injections
            .push(injection(FaultKind::Retired, stamp, None));
    } else {
        plan.not_placed.push(FaultKind::Retired);
    }
    let keep_healthy = if stamps.len() >= 4 {
        stamps.len() * 3 / 10
    } else {
        0
    };
    let cut = order.len().saturating_sub(keep_healthy).max(1);
    // a blind RD Gateway goes on an otherwise healthy stamp, so that its Remote Console shows
    // unknown (an input not collected) rather than broken by another fault
    let blind = FaultKind::RdgwSettingsAccessDenied;
    let mut blind_placed = false;
    if let Some(index) = order[cut.min(order.len())..]
        .iter()
        .copied()
        .find(|s| fits(&stamps[*s], blind))
    {
        let stamp = &mut stamps[index];
        let free: Vec<usize> = (0..stamp.hosts.len())
            .filter(|h| stamp.hosts[*h].fault.is_none() && stamp.hosts[*h].role == Role::RdGateway)
            .collect();
        if let Some(h) = free.choose(&mut rng) {
            stamp.hosts[*h].fault = Some(blind);
            let host = Some(stamp.hosts[*h].fqdn.clone());
            plan.injections.push(injection(blind, stamp, host));
            blind_placed = true;
        }
    }
    order.truncate(cut);
    let copies = (stamps.len() / 8).clamp(1, 3);
    let mut load = vec![0usize; stamps.len()];
    let placed_here = FaultKind::ALL
        .into_iter()
        .filter(|k| !matches!(k, FaultKind::Retired | FaultKind::PlanOnUnhealthyStamp))
        .filter(|k| !(blind_placed && *k == blind));
    for kind in placed_here {
        for copy in 0..copies {
            let chosen = order
                .iter()
                .enumerate()
                .filter(|(_, s)| fits(&stamps[**s], kind))
                .min_by_key(|(position, s)| (load[**s], *position))
                .map(|(_, s)| *s);
            let Some(index) = chosen else {
                if copy == 0 {
                    plan.not_placed.push(kind);
                }
                break;
            };
            load[index] += 1;
            let stamp = &mut stamps[index];
            let host = match kind.target() {
                Target::Stamp => {
                    stamp.faults.push(kind);
                    None
                }
                Target::Host(roles) => {
                    let free: Vec<usize> = (0..stamp.hosts.len())
                        .filter(|h| {
                            stamp.hosts[*h].fault.is_none() && roles.contains(&stamp.hosts[*h].role)
                        })
                        .collect();
                    free.choose(&mut rng).map(|h| {
                        stamp.hosts[*h].fault = Some(kind);
                        stamp.hosts[*h].fqdn.clone()
                    })
                }
            };
            plan.injections.push(injection(kind, stamp, host));
        }
    }
    plan
}

fn fits(stamp: &StampModel, kind: FaultKind) -> bool {
    if stamp.has_fault(kind) || stamp.hosts.iter().any(|h| h.fault == Some(kind)) {
        return false;
    }
    match kind.target() {
        Target::Stamp => true,
        Target::Host(roles) => stamp
            .hosts
            .iter()
            .any(|h| h.fault.is_none() && roles.contains(&h.role)),
    }
}

fn injection(kind: FaultKind, stamp: &StampModel, host: Option<String>) -> Injection {
    Injection {
        fault: kind,
        stamp: stamp.name.clone(),
        host,
        rules: kind.rules().to_vec(),
        description: kind.description(),
        detail: String::new(),
    }
}

/// Adds `plan.stamp_unhealthy` where it follows: every plan of a stamp with a critical fault,
/// and the Remote Console plans of a stamp with any `remote_console.*` fault.
pub fn add_unhealthy_plans(plan: &mut FaultPlan, stamps: &[StampModel]) {
    for stamp in stamps {
        let faults: Vec<FaultKind> = stamp
            .faults
            .iter()
            .copied()
            .chain(stamp.hosts.iter().filter_map(|h| h.fault))
            .collect();
        let critical = faults.iter().any(|k| k.is_critical());
        let remote_console = faults
            .iter()
            .any(|k| k.rules().iter().any(|r| r.starts_with("remote_console.")));
        let plans: Vec<&str> = stamp
            .plans
            .iter()
            .filter(|p| critical || (remote_console && p.remote_console))
            .map(|p| p.wap_plan_id.as_str())
            .collect();
        if plans.is_empty() {
            continue;
        }
        let mut entry = injection(FaultKind::PlanOnUnhealthyStamp, stamp, None);
        entry.detail = format!("plans {}", plans.join(", "));
        plan.injections.push(entry);
    }
}

impl FaultPlan {
    /// A readable table of what was injected where, for the operator running the simulator.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.injections.is_empty() && self.not_placed.is_empty() {
            return "no faults injected (healthy fleet)\n".to_owned();
        }
        out.push_str("faults injected:\n");
        for i in &self.injections {
            let rules = if i.rules.is_empty() {
                "(near miss: no rule)".to_owned()
            } else {
                i.rules.join(" + ")
            };
            let place = i.host.as_deref().unwrap_or("(stamp)");
            out.push_str(&format!(
                "  {rules:<58} {:<8} {place:<30} {}",
                i.stamp, i.description
            ));
            if !i.detail.is_empty() {
                out.push_str(&format!(" [{}]", i.detail));
            }
            out.push('\n');
        }
        let expected = self.expected_rules();
        let missing: Vec<&str> = RULE_IDS
            .iter()
            .copied()
            .filter(|r| !expected.contains(r))
            .collect();
        if !self.not_placed.is_empty() {
            let names: Vec<String> = self.not_placed.iter().map(|k| format!("{k:?}")).collect();
            out.push_str(&format!(
                "not placed (fleet too small; add stamps or hosts): {}\n",
                names.join(", ")
            ));
        }
        if missing.is_empty() {
            out.push_str(&format!(
                "every rule id is covered ({} rules by these faults, {} by {})\n",
                RULE_IDS.len(),
                RULE_IDS_ELSEWHERE.len(),
                "the WAP servers' plans and the capacity history, below"
            ));
        } else {
            out.push_str(&format!("rules not covered: {}\n", missing.join(", ")));
        }
        out
    }
}
