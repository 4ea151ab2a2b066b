//! `simulate`: a realistic synthetic fleet (stamps, networks, scale units, plans, hosts with
//! real certificates) pushed through the real API, with seeded faults that make every problem
//! rule of SPEC §5 fire somewhere.
//!
//! The fleet model ([`fleet`], [`topology`], [`plans`]) is built from the seed alone; faults
//! ([`faults`], [`placement`]) are labels on it; certificates ([`certs`]) are made once per stamp; reports ([`report`],
//! [`network`]) are built stamp by stamp while the [`runner`] sends the previous ones.

pub mod certs;
pub mod faults;
pub mod fleet;
pub mod history;
pub mod inventory;
pub mod network;
pub mod placement;
pub mod plans;
pub mod report;
pub mod runner;
pub mod topology;
pub mod versions;
pub mod wap;

use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use stampbook_wire::Report;

use self::certs::{FleetCerts, StampCerts};
use self::fleet::StampModel;
use self::placement::FaultPlan;
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
            .map(|i| topology::build_stamp(options.seed, i, options.hosts_per_stamp, options.now))
            .collect();
        let mut faults = if options.faults {
            placement::inject(&mut stamps, options.seed)
        } else {
            FaultPlan::default()
        };
        for stamp in &mut stamps {
            let mut rng = StdRng::seed_from_u64(stamp.salt ^ 0x91A5);
            plans::size_plans(stamp, &mut rng);
        }
        if options.faults {
            placement::add_unhealthy_plans(&mut faults, &stamps);
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
    pub fn stamp_reports(
        &self,
        index: usize,
        fleet_certs: &FleetCerts,
    ) -> Result<Vec<Report>, CertGenError> {
        let Some(stamp) = self.stamps.get(index) else {
            return Ok(Vec::new());
        };
        let certs = StampCerts::generate(stamp, fleet_certs, self.options.now)?;
        let ctx = StampContext {
            stamp,
            certs: &certs,
            fleet: fleet_certs,
        };
        let wap = wap::section(&self.stamps, index, self.options.faults);
        Ok(stamp
            .hosts
            .iter()
            .map(|host| {
                let mut report = host_report(&ctx, host, self.options.now);
                if host.role == stampbook_wire::Role::WapServer {
                    report.wap.clone_from(&wap);
                }
                report
            })
            .collect())
    }
}
