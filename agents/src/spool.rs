//! The on-disk spool: reports that could not be delivered wait here, oldest first, until the
//! server takes them. Bounded by count and bytes (the oldest is dropped first and counted in
//! `dropped.count`); a report the server refused for its content goes to `rejected/` so that
//! it never blocks the queue.
//!
//! Files are named `<unix-nanos>-<report_id>.json`, where the nanoseconds are the report's
//! `collected_at`: replaying in name order is replaying in collection order. Every file is
//! written to a temporary name and renamed, so a crash never leaves half a report behind.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use stampbook_wire::Report;
use uuid::Uuid;

/// The file holding the number of reports dropped since the last successful push.
pub const DROPPED_FILE: &str = "dropped.count";
/// The folder of reports the server refused.
pub const REJECTED_DIR: &str = "rejected";
const TMP_PREFIX: &str = ".tmp-";

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

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> SpoolError {
    let path = path.to_owned();
    move |source| SpoolError::Io {
        action,
        path,
        source,
    }
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

fn entry_name(nanos: u64, report_id: Uuid) -> String {
    // Zero-padded so that a plain `ls` lists the queue in order too.
    format!("{nanos:020}-{report_id}.json")
}

fn parse_entry_name(name: &str) -> Option<(u64, Uuid)> {
    let stem = name.strip_suffix(".json")?;
    let (nanos, id) = stem.split_once('-')?;
    if nanos.is_empty() || !nanos.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((nanos.parse().ok()?, Uuid::parse_str(id).ok()?))
}

/// The spool directory.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
    limits: SpoolLimits,
}

impl Spool {
    /// Opens (creating if needed) a spool directory and clears temporary files left by a crash.
    pub fn open(dir: impl Into<PathBuf>, limits: SpoolLimits) -> Result<Spool, SpoolError> {
        let dir = dir.into();
        let rejected = dir.join(REJECTED_DIR);
        fs::create_dir_all(&rejected).map_err(io("create", &rejected))?;
        for folder in [&dir, &rejected] {
            for item in fs::read_dir(folder).map_err(io("list", folder))? {
                let item = item.map_err(io("list", folder))?;
                if item.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                    let path = item.path();
                    fs::remove_file(&path).map_err(io("remove", &path))?;
                }
            }
        }
        Ok(Spool { dir, limits })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
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
            fs::remove_file(&oldest.path).map_err(io("remove", &oldest.path))?;
            bytes = bytes.saturating_sub(oldest.bytes);
            dropped += 1;
        }
        if dropped > 0 {
            let total = self.dropped() + dropped;
            self.write_dropped(total)?;
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

    /// Forgets a report once delivered.
    pub fn remove(&self, entry: &SpoolEntry) -> Result<(), SpoolError> {
        fs::remove_file(&entry.path).map_err(io("remove", &entry.path))
    }

    /// Moves a spooled report to `rejected/`, with the reason beside it.
    pub fn reject(&self, entry: &SpoolEntry, reason: &str) -> Result<(), SpoolError> {
        let rejected = self.rejected_dir();
        let name = entry.file_name();
        write_atomic(&rejected, &reason_name(&name), reason.as_bytes())?;
        let target = rejected.join(&name);
        fs::rename(&entry.path, &target).map_err(io("move", &entry.path))?;
        tracing::warn!(file = %name, reason, "report moved to rejected/");
        self.enforce_rejected_bound()
    }

    /// Files a report the server refused straight into `rejected/`.
    pub fn reject_report(&self, report: &Report, reason: &str) -> Result<(), SpoolError> {
        let json = serde_json::to_vec(report)
            .map_err(|e| SpoolError::Encode(report.report_id, e.to_string()))?;
        let rejected = self.rejected_dir();
        let name = entry_name(report_nanos(report), report.report_id);
        write_atomic(&rejected, &reason_name(&name), reason.as_bytes())?;
        write_atomic(&rejected, &name, &json)?;
        tracing::warn!(file = %name, reason, "report kept in rejected/");
        self.enforce_rejected_bound()
    }

    fn enforce_rejected_bound(&self) -> Result<(), SpoolError> {
        let mut entries = self.rejected()?;
        while entries.len() > self.limits.max_rejected {
            let oldest = entries.remove(0);
            fs::remove_file(&oldest.path).map_err(io("remove", &oldest.path))?;
            let reason = self.rejected_dir().join(reason_name(&oldest.file_name()));
            if let Err(e) = fs::remove_file(&reason)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                return Err(io("remove", &reason)(e));
            }
            tracing::warn!(file = %oldest.file_name(), "rejected/ full: dropped the oldest");
        }
        Ok(())
    }

    /// Reports dropped since the last successful push.
    pub fn dropped(&self) -> u64 {
        let path = self.dir.join(DROPPED_FILE);
        match fs::read_to_string(&path) {
            Ok(text) => text.trim().parse().unwrap_or_else(|_| {
                tracing::warn!(file = %path.display(), "unreadable drop counter; counting from 0");
                0
            }),
            Err(_) => 0,
        }
    }

    /// After a successful push that carried `carried` as `agent.spool_dropped`: those drops
    /// are known to the server now; drops counted since then are kept for the next report.
    pub fn acknowledge_dropped(&self, carried: u64) -> Result<(), SpoolError> {
        if carried == 0 {
            return Ok(());
        }
        self.write_dropped(self.dropped().saturating_sub(carried))
    }

    fn write_dropped(&self, count: u64) -> Result<(), SpoolError> {
        write_atomic(&self.dir, DROPPED_FILE, format!("{count}\n").as_bytes())
    }
}

fn reason_name(entry_name: &str) -> String {
    format!("{}.reason.txt", entry_name.trim_end_matches(".json"))
}

fn report_nanos(report: &Report) -> u64 {
    report
        .collected_at
        .timestamp_nanos_opt()
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0)
}

fn list_entries(dir: &Path) -> Result<Vec<SpoolEntry>, SpoolError> {
    let mut entries = Vec::new();
    for item in fs::read_dir(dir).map_err(io("list", dir))? {
        let item = item.map_err(io("list", dir))?;
        let name = item.file_name();
        let Some((nanos, report_id)) = parse_entry_name(&name.to_string_lossy()) else {
            continue;
        };
        let bytes = item.metadata().map_err(io("inspect", &item.path()))?.len();
        entries.push(SpoolEntry {
            nanos,
            report_id,
            path: item.path(),
            bytes,
        });
    }
    entries.sort();
    Ok(entries)
}

/// Writes `dir/name` through a temporary file and a rename: readers see all or nothing.
fn write_atomic(dir: &Path, name: &str, data: &[u8]) -> Result<(), SpoolError> {
    let tmp = dir.join(format!("{TMP_PREFIX}{name}"));
    let target = dir.join(name);
    let mut file = fs::File::create(&tmp).map_err(io("create", &tmp))?;
    file.write_all(data).map_err(io("write", &tmp))?;
    file.sync_all().map_err(io("sync", &tmp))?;
    drop(file);
    fs::rename(&tmp, &target).map_err(io("rename", &tmp))?;
    // Persist the rename itself; not every platform can open a directory, hence best effort.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_round_trip_and_sort_by_time() {
        let id = Uuid::nil();
        let name = entry_name(1_700_000_000_123_456_789, id);
        assert_eq!(name, format!("01700000000123456789-{id}.json"));
        assert_eq!(
            parse_entry_name(&name),
            Some((1_700_000_000_123_456_789, id))
        );
        assert_eq!(parse_entry_name(&format!("{TMP_PREFIX}{name}")), None);
        assert_eq!(parse_entry_name("dropped.count"), None);
        assert_eq!(parse_entry_name(&reason_name(&name)), None);
        // Unpadded names written by hand still parse.
        assert_eq!(parse_entry_name(&format!("5-{id}.json")), Some((5, id)));
    }
}
