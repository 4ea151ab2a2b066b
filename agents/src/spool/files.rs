//! The spool's file names and how files are written, listed and counted: one report per
//! `<collected_at nanos>-<report_id>.json`, a small number in a file for each counter.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use stampbook_wire::Report;
use uuid::Uuid;

use super::{SpoolEntry, SpoolError};

pub(super) const TMP_PREFIX: &str = ".tmp-";
/// Beside a spooled report: the push cycles in which the server failed on it.
pub(super) const FAILURES_SUFFIX: &str = ".failures";
/// Beside a rejected report: the server's answer (JSON).
pub(super) const REASON_SUFFIX: &str = ".reason.json";
/// What older agents wrote beside a rejected report; removed with it.
const LEGACY_REASON_SUFFIX: &str = ".reason.txt";

pub(super) fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> SpoolError {
    let path = path.to_owned();
    move |source| SpoolError::Io {
        action,
        path,
        source,
    }
}

pub(super) fn entry_name(nanos: u64, report_id: Uuid) -> String {
    // Zero-padded so that a plain `ls` lists the queue in order too.
    format!("{nanos:020}-{report_id}.json")
}

pub(super) fn parse_entry_name(name: &str) -> Option<(u64, Uuid)> {
    let stem = name.strip_suffix(".json")?;
    let (nanos, id) = stem.split_once('-')?;
    if nanos.is_empty() || !nanos.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((nanos.parse().ok()?, Uuid::parse_str(id).ok()?))
}

/// The name of a file kept beside report file `entry_name`, e.g. its failure counter.
pub(super) fn beside(entry_name: &str, suffix: &str) -> String {
    format!("{}{suffix}", entry_name.trim_end_matches(".json"))
}

pub(super) fn report_nanos(report: &Report) -> u64 {
    report
        .collected_at
        .timestamp_nanos_opt()
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0)
}

pub(super) fn list_entries(dir: &Path) -> Result<Vec<SpoolEntry>, SpoolError> {
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

/// Removes what a crash can leave behind: temporary files, and counters whose report is gone.
pub(super) fn clear_leftovers(dir: &Path) -> Result<(), SpoolError> {
    for item in fs::read_dir(dir).map_err(io("list", dir))? {
        let item = item.map_err(io("list", dir))?;
        let name = item.file_name().to_string_lossy().into_owned();
        let orphan = name
            .strip_suffix(FAILURES_SUFFIX)
            .is_some_and(|stem| !dir.join(format!("{stem}.json")).exists());
        if name.starts_with(TMP_PREFIX) || orphan {
            remove_if_present(&item.path())?;
        }
    }
    Ok(())
}

/// Removes a file that may not exist.
pub(super) fn remove_if_present(path: &Path) -> Result<(), SpoolError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("remove", path)(e)),
        _ => Ok(()),
    }
}

/// Removes a rejected report and whatever was written beside it.
pub(super) fn remove_rejected(entry: &SpoolEntry, dir: &Path) -> Result<(), SpoolError> {
    remove_if_present(&entry.path)?;
    let name = entry.file_name();
    for suffix in [REASON_SUFFIX, LEGACY_REASON_SUFFIX] {
        remove_if_present(&dir.join(beside(&name, suffix)))?;
    }
    Ok(())
}

/// A non-negative count kept in a file; a missing file is 0, an unreadable one is 0 and logged.
pub(super) fn read_count(path: &Path) -> u64 {
    match fs::read_to_string(path) {
        Ok(text) => text.trim().parse().unwrap_or_else(|_| {
            tracing::warn!(file = %path.display(), "unreadable counter; counting from 0");
            0
        }),
        Err(_) => 0,
    }
}

pub(super) fn write_count(dir: &Path, name: &str, count: u64) -> Result<(), SpoolError> {
    write_atomic(dir, name, format!("{count}\n").as_bytes())
}

/// Writes `dir/name` through a temporary file and a rename: readers see all or nothing.
pub(super) fn write_atomic(dir: &Path, name: &str, data: &[u8]) -> Result<(), SpoolError> {
    let tmp = dir.join(format!("{TMP_PREFIX}{name}"));
    let target: PathBuf = dir.join(name);
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
        assert_eq!(parse_entry_name(&beside(&name, REASON_SUFFIX)), None);
        assert_eq!(parse_entry_name(&beside(&name, FAILURES_SUFFIX)), None);
        // Unpadded names written by hand still parse.
        assert_eq!(parse_entry_name(&format!("5-{id}.json")), Some((5, id)));
    }
}
