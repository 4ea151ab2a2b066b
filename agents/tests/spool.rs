//! The on-disk spool: order, bounds, drop counter, atomic files and `rejected/`.

mod support;

use stampbook_agent::spool::{DROPPED_FILE, Spool, SpoolLimits};
use support::report;

fn limits(max_reports: usize, max_bytes: u64, max_rejected: usize) -> SpoolLimits {
    SpoolLimits {
        max_reports,
        max_bytes,
        max_rejected,
        ..SpoolLimits::default()
    }
}

#[test]
fn entries_come_out_in_collection_order_whatever_the_write_order() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path(), SpoolLimits::default()).unwrap();
    let (late, early, middle) = (report(30), report(1), report(10));
    for r in [&late, &early, &middle] {
        spool.put(r).unwrap();
    }
    let ids: Vec<_> = spool
        .entries()
        .unwrap()
        .iter()
        .map(|e| e.report_id)
        .collect();
    assert_eq!(ids, vec![early.report_id, middle.report_id, late.report_id]);
    assert_eq!(spool.load(&spool.entries().unwrap()[0]).unwrap(), early);
}

#[test]
fn a_full_spool_drops_the_oldest_and_persists_the_count() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path(), limits(3, u64::MAX, 10)).unwrap();
    let reports: Vec<_> = (0..5).map(report).collect();
    let dropped: u64 = reports.iter().map(|r| spool.put(r).unwrap()).sum();
    assert_eq!(dropped, 2);
    let ids: Vec<_> = spool
        .entries()
        .unwrap()
        .iter()
        .map(|e| e.report_id)
        .collect();
    let newest: Vec<_> = reports[2..].iter().map(|r| r.report_id).collect();
    assert_eq!(ids, newest, "the two oldest went first");

    let reopened = Spool::open(dir.path(), limits(3, u64::MAX, 10)).unwrap();
    assert_eq!(reopened.dropped(), 2, "the counter survives a restart");
    assert_eq!(
        std::fs::read_to_string(dir.path().join(DROPPED_FILE))
            .unwrap()
            .trim(),
        "2"
    );
    reopened.acknowledge_dropped(1).unwrap();
    assert_eq!(
        reopened.dropped(),
        1,
        "drops after the carried ones are kept"
    );
    reopened.acknowledge_dropped(5).unwrap();
    assert_eq!(reopened.dropped(), 0);
}

#[test]
fn the_byte_bound_drops_the_oldest_but_never_the_report_just_written() {
    let dir = tempfile::tempdir().unwrap();
    let size = serde_json::to_vec(&report(0)).unwrap().len() as u64;
    let spool = Spool::open(dir.path(), limits(100, size * 2 + size / 2, 10)).unwrap();
    for minute in 0..4 {
        spool.put(&report(minute)).unwrap();
    }
    assert_eq!(spool.entries().unwrap().len(), 2);
    assert_eq!(spool.dropped(), 2);

    let tiny = Spool::open(tempfile::tempdir().unwrap().keep(), limits(100, 1, 10)).unwrap();
    let only = report(7);
    tiny.put(&only).unwrap();
    let left: Vec<_> = tiny
        .entries()
        .unwrap()
        .iter()
        .map(|e| e.report_id)
        .collect();
    assert_eq!(left, vec![only.report_id]);
    std::fs::remove_dir_all(tiny.dir()).unwrap();
}

#[test]
fn files_are_complete_and_temporary_leftovers_are_ignored_then_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path(), SpoolLimits::default()).unwrap();
    let r = report(3);
    spool.put(&r).unwrap();
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    assert_eq!(
        names,
        vec![format!(
            "{:020}-{}.json",
            r.collected_at.timestamp_nanos_opt().unwrap(),
            r.report_id
        )]
    );

    // A crash between write and rename leaves a temporary file: it is never replayed.
    let leftover = dir
        .path()
        .join(format!(".tmp-{}", names[0].replace("3-", "4-")));
    std::fs::write(&leftover, b"{\"half").unwrap();
    assert_eq!(spool.entries().unwrap().len(), 1);
    Spool::open(dir.path(), SpoolLimits::default()).unwrap();
    assert!(!leftover.exists(), "cleared at open");
}

#[test]
fn rejected_reports_are_kept_with_their_reason_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path(), limits(10, u64::MAX, 2)).unwrap();
    let reports: Vec<_> = (0..3).map(report).collect();
    spool.put(&reports[0]).unwrap();
    let entry = spool.entries().unwrap().remove(0);
    spool.reject(&entry, "422 invalid_report").unwrap();
    spool.reject_report(&reports[1], "400 malformed").unwrap();
    spool.reject_report(&reports[2], "413 too large").unwrap();
    assert!(spool.entries().unwrap().is_empty());
    let rejected = spool.rejected().unwrap();
    let ids: Vec<_> = rejected.iter().map(|e| e.report_id).collect();
    assert_eq!(
        ids,
        vec![reports[1].report_id, reports[2].report_id],
        "oldest dropped"
    );
    let reasons: Vec<String> = std::fs::read_dir(spool.rejected_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".reason.txt"))
        .collect();
    assert_eq!(reasons.len(), 2, "the dropped one's reason went with it");
}

#[test]
fn a_corrupt_spool_file_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path(), SpoolLimits::default()).unwrap();
    let r = report(0);
    spool.put(&r).unwrap();
    let entry = spool.entries().unwrap().remove(0);
    std::fs::write(&entry.path, b"not json").unwrap();
    let err = spool.load(&entry).unwrap_err();
    assert!(err.to_string().contains("unreadable"), "{err}");
}
