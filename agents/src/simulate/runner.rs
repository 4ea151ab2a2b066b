//! Sends a simulated fleet: the inventory document first (admin), then every host report with
//! bounded concurrency while the next stamps' certificates are being made, then the retirements.
//! With a dry-run folder, the same documents are written as files instead.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream;
use serde::Serialize;
use stampbook_wire::Report;

use super::Fleet;
use super::certs::FleetCerts;
use crate::certgen::CertGenError;
use crate::push::{PushError, Pusher};

/// Where the simulated fleet goes.
pub enum Sink {
    /// The real API: reports with `reports`, inventory and retirements with `admin`.
    Server {
        reports: Box<Pusher>,
        admin: Box<Pusher>,
    },
    /// Files under this folder.
    DryRun(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error("could not make the certificates: {0}")]
    Certs(#[from] CertGenError),
    #[error("the server refused the inventory document: {0}")]
    Inventory(PushError),
    #[error("could not write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("a certificate worker stopped: {0}")]
    Worker(String),
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunSummary {
    pub sent: u64,
    pub duplicates: u64,
    pub failed: u64,
    /// Admin calls (inventory, retirements) that failed.
    pub admin_failures: Vec<String>,
    pub duration: Duration,
}

impl RunSummary {
    pub fn reports_per_second(&self) -> f64 {
        let secs = self.duration.as_secs_f64();
        if secs > 0.0 {
            self.sent as f64 / secs
        } else {
            0.0
        }
    }

    pub fn succeeded(&self) -> bool {
        self.failed == 0 && self.admin_failures.is_empty()
    }

    /// The final line.
    pub fn line(&self) -> String {
        format!(
            "reports sent: {} ({} duplicate), failures: {}, duration: {:.1} s, {:.1} reports/s",
            self.sent,
            self.duplicates,
            self.failed,
            self.duration.as_secs_f64(),
            self.reports_per_second()
        )
    }
}

enum Sent {
    Ok { duplicate: bool },
    Failed,
}

/// Runs the simulation into `sink` with at most `concurrency` reports in flight.
pub async fn run(
    fleet: Arc<Fleet>,
    sink: Sink,
    concurrency: usize,
    apply_inventory: bool,
) -> Result<RunSummary, SimulateError> {
    let started = Instant::now();
    let now = fleet.options.now;
    let fleet_certs = Arc::new(
        tokio::task::spawn_blocking(move || FleetCerts::generate(now))
            .await
            .map_err(|e| SimulateError::Worker(e.to_string()))??,
    );
    let sink = Arc::new(sink);
    let mut summary = RunSummary::default();
    match sink.as_ref() {
        Sink::DryRun(dir) => {
            write_json(&dir.join("inventory.json"), &fleet.inventory())?;
            write_json(&dir.join("faults.json"), &fleet.faults)?;
        }
        Sink::Server { admin, .. } if apply_inventory => {
            let document = serde_json::to_value(fleet.inventory())
                .map_err(|e| SimulateError::Inventory(PushError::Encode(e.to_string())))?;
            admin
                .put_inventory(&document)
                .await
                .map_err(SimulateError::Inventory)?;
            tracing::info!(stamps = fleet.stamps.len(), "inventory applied");
            // the document declares these stamps live: one a previous run (or an operator)
            // retired takes reports again, and this run's retired-stamp fault retires it at the end
            let ours: std::collections::HashSet<&str> =
                fleet.stamps.iter().map(|s| s.name.as_str()).collect();
            match admin.retired_stamps().await {
                Ok(retired) => {
                    for name in retired.iter().filter(|n| ours.contains(n.as_str())) {
                        match admin.unretire_stamp(name).await {
                            Ok(()) => tracing::info!(stamp = %name, "retired stamp brought back"),
                            Err(e) => summary.admin_failures.push(format!("unretire {name}: {e}")),
                        }
                    }
                }
                Err(e) => summary
                    .admin_failures
                    .push(format!("list retired stamps: {e}")),
            }
        }
        Sink::Server { .. } => {
            if fleet.options.faults {
                tracing::warn!(
                    "without --apply-inventory the server keeps its own inventory: the plan, \
                     capacity, target-version and retired-stamp faults depend on it"
                );
            }
        }
    }

    let total = fleet.report_count() as u64;
    // a bar on a terminal, a line per tenth otherwise (deploy/run's log)
    let mut progress = stampbook_progress::Progress::new("reports", total);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let builder = fleet.clone();
    let stamps = stream::iter(0..fleet.stamps.len())
        .map(move |index| {
            let (fleet, certs) = (builder.clone(), fleet_certs.clone());
            async move {
                tokio::task::spawn_blocking(move || fleet.stamp_reports(index, &certs))
                    .await
                    .map_err(|e| SimulateError::Worker(e.to_string()))?
                    .map_err(SimulateError::from)
            }
        })
        .buffered(workers);
    let reports = stamps.flat_map(|built| {
        let items: Vec<Result<Report, String>> = match built {
            Ok(reports) => reports.into_iter().map(Ok).collect(),
            Err(e) => vec![Err(e.to_string())],
        };
        stream::iter(items)
    });
    let mut outcomes = reports
        .map(|item| {
            let sink = sink.clone();
            async move {
                match item {
                    Ok(report) => send(&sink, &report).await,
                    Err(e) => {
                        tracing::error!(error = %e, "a stamp's reports could not be built");
                        Sent::Failed
                    }
                }
            }
        })
        .buffer_unordered(concurrency.max(1));
    while let Some(outcome) = outcomes.next().await {
        match outcome {
            Sent::Ok { duplicate } => {
                summary.sent += 1;
                summary.duplicates += u64::from(duplicate);
            }
            Sent::Failed => summary.failed += 1,
        }
        let note = if summary.failed > 0 {
            format!("{} failed", summary.failed)
        } else {
            String::new()
        };
        progress.advance(1, &note);
    }
    progress.finish();

    // Retiring is part of declaring the inventory: without --apply-inventory the server's own
    // inventory stands, and retiring one of its stamps would be a surprise.
    if let Sink::Server { admin, .. } = sink.as_ref()
        && apply_inventory
    {
        for name in &fleet.faults.retired {
            match admin.retire_stamp(name).await {
                Ok(()) => tracing::info!(stamp = %name, "stamp retired"),
                Err(e) => summary.admin_failures.push(format!("retire {name}: {e}")),
            }
        }
    }
    summary.duration = started.elapsed();
    Ok(summary)
}

async fn send(sink: &Sink, report: &Report) -> Sent {
    match sink {
        Sink::Server { reports, .. } => match reports.push_report(report).await {
            Ok(accepted) => Sent::Ok {
                duplicate: accepted.duplicate,
            },
            Err(e) => {
                tracing::warn!(host = %report.host.fqdn, error = %e, "report not delivered");
                Sent::Failed
            }
        },
        Sink::DryRun(dir) => {
            let path = dir
                .join("reports")
                .join(&report.host.stamp)
                .join(format!("{}.json", report.host.fqdn));
            match write_json(&path, report) {
                Ok(()) => Sent::Ok { duplicate: false },
                Err(e) => {
                    tracing::warn!(error = %e, "report not written");
                    Sent::Failed
                }
            }
        }
    }
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), SimulateError> {
    let err = |source| SimulateError::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    let json = serde_json::to_vec_pretty(value).map_err(|e| err(std::io::Error::other(e)))?;
    std::fs::write(path, json).map_err(err)
}
