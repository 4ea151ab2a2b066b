//! `simulate`: a realistic synthetic fleet (stamps, networks, scale units, plans, hosts with
//! real certificates) pushed through the real API, with seeded faults that make every problem
//! rule of SPEC §5 fire somewhere.
//!
//! The fleet model ([`fleet`], [`plans`]) is built from the seed alone; faults ([`faults`]) are
//! labels on it; certificates ([`certs`]) are made once per stamp; reports ([`report`],
//! [`network`]) are built stamp by stamp while the [`runner`] sends the previous ones.

pub mod certs;
pub mod faults;
pub mod fleet;
pub mod inventory;
pub mod network;
pub mod plans;
pub mod report;
pub mod runner;
pub mod versions;

use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use stampbook_wire::Report;

use self::certs::{FleetCerts, StampCerts};
use self::faults::FaultPlan;
use self::fleet::StampModel;
use self::report::{StampContext, host_report};
use crate::certgen::CertGenError;

/// What to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetOptions {
    pub stamps: usize,
    pub hosts_per_stamp: usize,
    pub faults: bool,
    pub seed: u64,
    /// The instant the fleet is simulated at (reports are collected around it).
    pub now: DateTime<Utc>,
}

/// A simulated fleet and the faults put on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fleet {
    pub options: FleetOptions,
    pub stamps: Vec<StampModel>,
    pub faults: FaultPlan,
}

impl Fleet {
    /// Builds the fleet: topology, then faults (with `options.faults`), then plans.
    pub fn build(options: FleetOptions) -> Fleet {
        let mut stamps: Vec<StampModel> = (0..options.stamps)
            .map(|i| fleet::build_stamp(options.seed, i, options.hosts_per_stamp, options.now))
            .collect();
        let mut faults = if options.faults {
            faults::inject(&mut stamps, options.seed)
        } else {
            FaultPlan::default()
        };
        for stamp in &mut stamps {
            let mut rng = StdRng::seed_from_u64(stamp.salt ^ 0x91A5);
            plans::size_plans(stamp, &mut rng);
        }
        if options.faults {
            faults::add_unhealthy_plans(&mut faults, &stamps);
        }
        Fleet {
            options,
            stamps,
            faults,
        }
    }

    pub fn report_count(&self) -> usize {
        self.stamps.iter().map(|s| s.hosts.len()).sum()
    }

    /// The SPEC §3 inventory document of the fleet.
    pub fn inventory(&self) -> inventory::InventoryDocument {
        inventory::document(&self.stamps)
    }

    /// Makes stamp `index`'s certificates and builds every one of its host reports.
    pub fn stamp_reports(&self, index: usize, fleet_certs: &FleetCerts) -> Result<Vec<Report>, CertGenError> {
        let Some(stamp) = self.stamps.get(index) else {
            return Ok(Vec::new());
        };
        let certs = StampCerts::generate(stamp, fleet_certs, self.options.now)?;
        let ctx = StampContext {
            stamp,
            certs: &certs,
            fleet: fleet_certs,
        };
        Ok(stamp
            .hosts
            .iter()
            .map(|host| host_report(&ctx, host, self.options.now))
            .collect())
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
            out.push_str(&format!("  {rules:<58} {:<8} {place:<30} {}", i.stamp, i.description));
            if !i.detail.is_empty() {
                out.push_str(&format!(" [{}]", i.detail));
            }
            out.push('\n');
        }
        let expected = self.expected_rules();
        let missing: Vec<&str> = faults::RULE_IDS
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
            out.push_str(&format!("every rule id is covered ({} rules)\n", faults::RULE_IDS.len()));
        } else {
            out.push_str(&format!("rules not covered: {}\n", missing.join(", ")));
        }
        out
    }
}
