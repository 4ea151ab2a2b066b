//! The on-disk spool: reports that could not be delivered wait here, oldest first, until the
//! server takes them. Bounded by count and bytes (the oldest is dropped first and counted in
//! `dropped.count`). A report the server refuses for its content, or fails on in too many
//! push cycles, goes to `rejected/` with the server's answer beside it (counted in
//! `rejected.count`), so that it never blocks the queue.
//!
//! Files are named `<unix-nanos>-<report_id>.json`, where the nanoseconds are the report's
//! `collected_at`: replaying in name order is replaying in collection order. Every file is
//! written to a temporary name and renamed, so a crash never leaves half a report behind.

mod files;
pub mod location;

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use stampbook_wire::Report;
use uuid::Uuid;

use files::{
    FAILURES_SUFFIX, REASON_SUFFIX, beside, clear_leftovers, entry_name, io, list_entries,
    read_count, remove_if_present, remove_rejected, report_nanos, write_atomic, write_count,
};
pub use location::{SpoolLocation, default_dir};

/// The file holding the number of reports dropped since the last successful push.
pub const DROPPED_FILE: &str = "dropped.count";
/// The file holding the number of reports moved to `rejected/` since the last successful push.
pub const REJECTED_COUNT_FILE: &str = "rejected.count";
/// The folder of reports the server refused.
pub const REJECTED_DIR: &str = "rejected";

/// How much the spool may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpoolLimits {
    pub max_reports: usize,
    pub max_bytes: u64,
    pub max_rejected: usize,
    /// Push cycles in which the server answered a report with a server error (5xx other than
    /// 502/503/504) before the report is set aside in `rejected/`; at least 1.
    pub max_failures: u32,
}

impl Default for SpoolLimits {
    fn default() -> Self {
        SpoolLimits {
            max_reports: 500,
            max_bytes: 64 * 1024 * 1024,
            max_rejected: 100,
            max_failures: 10,
        }
    }
}

/// A spool failure; the message names the file.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("spooled report {path} is unreadable: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error("could not encode report {0}: {1}")]
    Encode(Uuid, String),
}

/// One spooled report file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SpoolEntry {
    /// `collected_at` in Unix nanoseconds: the replay order.
    pub nanos: u64,
    pub report_id: Uuid,
    pub path: PathBuf,
    pub bytes: u64,
}

impl SpoolEntry {
    pub fn file_name(&self) -> String {
        entry_name(self.nanos, self.report_id)
    }
}

/// Why a report went to `rejected/`: written beside it as `<name>.reason.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejection {
    /// What the agent logged.
    pub reason: String,
    /// The server's HTTP status, when it answered.
    pub status: Option<u16>,
    /// The server's answer: its error JSON, or its text.
    pub answer: Option<serde_json::Value>,
    /// The push cycles that failed on it, when it was set aside for failing too often.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failures: Option<u32>,
}

impl Rejection {
    /// A report refused for what it says, or (with `failures`) one the server failed on too
    /// many times.
    pub fn from_push(error: &crate::push::PushError, failures: Option<u32>) -> Rejection {
        let (status, answer) = error.answer();
        Rejection {
            reason: error.to_string(),
            status: status.map(|s| s.as_u16()),
            answer: answer.cloned(),
            failures,
        }
    }

    /// A spooled file the agent itself cannot read back.
    pub fn unreadable(error: &SpoolError) -> Rejection {
        Rejection {
            reason: error.to_string(),
            status: None,
            answer: None,
            failures: None,
        }
    }

    fn to_json(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Record<'a> {
            #[serde(flatten)]
            rejection: &'a Rejection,
            rejected_at: chrono::DateTime<chrono::Utc>,
        }
        let record = Record {
            rejection: self,
            rejected_at: chrono::Utc::now(),
        };
        // Plain data with string keys: serialising it cannot fail, but an empty file is no worse.
        serde_json::to_vec_pretty(&record).unwrap_or_default()
    }
}

/// The counters the next delivered report carries in `agent`, read before it is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Carried {
    pub dropped: u64,
    pub rejected: u64,
}

/// The spool directory.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
    limits: SpoolLimits,
}

impl Spool {
    /// Opens (creating if needed) a spool directory and clears what a crash left behind.
    pub fn open(dir: impl Into<PathBuf>, limits: SpoolLimits) -> Result<Spool, SpoolError> {
        let dir = dir.into();
        let rejected = dir.join(REJECTED_DIR);
        fs::create_dir_all(&rejected).map_err(io("create", &rejected))?;
        clear_leftovers(&dir)?;
        clear_leftovers(&rejected)?;
        Ok(Spool { dir, limits })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn limits(&self) -> SpoolLimits {
        self.limits
    }

    pub fn rejected_dir(&self) -> PathBuf {
        self.dir.join(REJECTED_DIR)
    }

    /// The spooled reports, oldest first.
    pub fn entries(&self) -> Result<Vec<SpoolEntry>, SpoolError> {
        list_entries(&self.dir)
    }

    /// The reports in `rejected/`, oldest first.
    pub fn rejected(&self) -> Result<Vec<SpoolEntry>, SpoolError> {
        list_entries(&self.rejected_dir())
    }

    /// The entry `report` has (or would have) in the spool.
    pub fn entry_for(&self, report: &Report) -> SpoolEntry {
        let (nanos, report_id) = (report_nanos(report), report.report_id);
        SpoolEntry {
            nanos,
            report_id,
            path: self.dir.join(entry_name(nanos, report_id)),
            bytes: 0,
        }
    }

    /// Spools a report, then drops the oldest reports while over a bound (never the one just
    /// written). Returns how many were dropped.
    pub fn put(&self, report: &Report) -> Result<u64, SpoolError> {
        let json = serde_json::to_vec(report)
            .map_err(|e| SpoolError::Encode(report.report_id, e.to_string()))?;
        let name = entry_name(report_nanos(report), report.report_id);
        write_atomic(&self.dir, &name, &json)?;
        tracing::info!(report_id = %report.report_id, file = %name, "report spooled");
        self.enforce_bounds(&name)
    }

    fn enforce_bounds(&self, keep: &str) -> Result<u64, SpoolError> {
        let mut entries = self.entries()?;
        let mut bytes: u64 = entries.iter().map(|e| e.bytes).sum();
        let mut dropped = 0;
        while entries.len() > self.limits.max_reports.max(1) || bytes > self.limits.max_bytes {
            let Some(pos) = entries.iter().position(|e| e.file_name() != keep) else {
                break;
            };
            let oldest = entries.remove(pos);
            self.remove(&oldest)?;
            bytes = bytes.saturating_sub(oldest.bytes);
            dropped += 1;
        }
        if dropped > 0 {
            let total = self.dropped() + dropped;
            write_count(&self.dir, DROPPED_FILE, total)?;
            tracing::warn!(
                dropped,
                dropped_total = total,
                max_reports = self.limits.max_reports,
                max_bytes = self.limits.max_bytes,
                "spool full: dropped the oldest report(s)"
            );
        }
        Ok(dropped)
    }

    /// Reads a spooled report.
    pub fn load(&self, entry: &SpoolEntry) -> Result<Report, SpoolError> {
        let data = fs::read(&entry.path).map_err(io("read", &entry.path))?;
        serde_json::from_slice(&data).map_err(|e| SpoolError::Corrupt {
            path: entry.path.clone(),
            detail: e.to_string(),
        })
    }

    /// Forgets a report once delivered (or dropped), with its failure counter.
    pub fn remove(&self, entry: &SpoolEntry) -> Result<(), SpoolError> {
        fs::remove_file(&entry.path).map_err(io("remove", &entry.path))?;
        remove_if_present(&self.failures_path(entry))
    }

    /// Push cycles in which the server failed on this spooled report so far.
    pub fn failures(&self, entry: &SpoolEntry) -> u32 {
        u32::try_from(read_count(&self.failures_path(entry))).unwrap_or(u32::MAX)
    }

    /// Counts one more failed push cycle against a spooled report; returns the new count.
    pub fn record_failure(&self, entry: &SpoolEntry) -> Result<u32, SpoolError> {
        let failures = self.failures(entry).saturating_add(1);
        let name = beside(&entry.file_name(), FAILURES_SUFFIX);
        write_count(&self.dir, &name, failures.into())?;
        Ok(failures)
    }

    fn failures_path(&self, entry: &SpoolEntry) -> PathBuf {
        self.dir.join(beside(&entry.file_name(), FAILURES_SUFFIX))
    }

    /// Moves a spooled report to `rejected/`, with the reason beside it.
    pub fn reject(&self, entry: &SpoolEntry, why: &Rejection) -> Result<(), SpoolError> {
        let rejected = self.rejected_dir();
        let name = entry.file_name();
        write_atomic(&rejected, &beside(&name, REASON_SUFFIX), &why.to_json())?;
        let target = rejected.join(&name);
        fs::rename(&entry.path, &target).map_err(io("move", &entry.path))?;
        remove_if_present(&self.failures_path(entry))?;
        tracing::warn!(file = %name, reason = %why.reason, "report moved to rejected/");
        self.count_rejected()
    }

    /// Files a report the server refused straight into `rejected/`.
    pub fn reject_report(&self, report: &Report, why: &Rejection) -> Result<(), SpoolError> {
        let json = serde_json::to_vec(report)
            .map_err(|e| SpoolError::Encode(report.report_id, e.to_string()))?;
        let rejected = self.rejected_dir();
        let name = entry_name(report_nanos(report), report.report_id);
        write_atomic(&rejected, &beside(&name, REASON_SUFFIX), &why.to_json())?;
        write_atomic(&rejected, &name, &json)?;
        tracing::warn!(file = %name, reason = %why.reason, "report kept in rejected/");
        self.count_rejected()
    }

    fn count_rejected(&self) -> Result<(), SpoolError> {
        write_count(&self.dir, REJECTED_COUNT_FILE, self.rejected_count() + 1)?;
        let dir = self.rejected_dir();
        let mut entries = self.rejected()?;
        while entries.len() > self.limits.max_rejected {
            let oldest = entries.remove(0);
            remove_rejected(&oldest, &dir)?;
            tracing::warn!(file = %oldest.file_name(), "rejected/ full: dropped the oldest");
        }
        Ok(())
    }

    /// Reports dropped since the last successful push.
    pub fn dropped(&self) -> u64 {
        read_count(&self.dir.join(DROPPED_FILE))
    }

    /// Reports moved to `rejected/` since the last successful push.
    pub fn rejected_count(&self) -> u64 {
        read_count(&self.dir.join(REJECTED_COUNT_FILE))
    }

    /// What the next report sent should carry.
    pub fn to_carry(&self) -> Carried {
        Carried {
            dropped: self.dropped(),
            rejected: self.rejected_count(),
        }
    }

    /// After a successful push that carried `carried` as `agent.spool_dropped`: those drops
    /// are known to the server now; drops counted since then are kept for the next report.
    pub fn acknowledge_dropped(&self, carried: u64) -> Result<(), SpoolError> {
        if carried == 0 {
            return Ok(());
        }
        write_count(
            &self.dir,
            DROPPED_FILE,
            self.dropped().saturating_sub(carried),
        )
    }

    /// After a successful push that carried `carried`: both counters go down by what the
    /// server now knows.
    pub fn acknowledge(&self, carried: Carried) -> Result<(), SpoolError> {
        self.acknowledge_dropped(carried.dropped)?;
        if carried.rejected > 0 {
            let left = self.rejected_count().saturating_sub(carried.rejected);
            write_count(&self.dir, REJECTED_COUNT_FILE, left)?;
        }
        Ok(())
    }
}
