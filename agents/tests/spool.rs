//! The on-disk spool: order, bounds, drop counter, atomic files and `rejected/`.

mod support;

use stampbook_agent::spool::{DROPPED_FILE, Rejection, Spool, SpoolLimits, SpoolLocation};
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
    spool.reject(&entry, &refused(422)).unwrap();
    spool.reject_report(&reports[1], &refused(400)).unwrap();
    spool.reject_report(&reports[2], &refused(413)).unwrap();
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
        .filter(|n| n.ends_with(".reason.json"))
        .collect();
    assert_eq!(reasons.len(), 2, "the dropped one's reason went with it");
    assert_eq!(
        spool.rejected_count(),
        3,
        "every move is counted, dropped or not"
    );
}

fn refused(status: u16) -> Rejection {
    Rejection {
        reason: format!("rejected with {status}"),
        status: Some(status),
        answer: Some(serde_json::json!({"error": {"code": "invalid_report", "message": "no"}})),
        failures: None,
    }
}

#[test]
fn the_failure_count_of_a_spooled_report_survives_a_restart_and_leaves_with_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path(), SpoolLimits::default()).unwrap();
    let (a, b) = (report(0), report(1));
    spool.put(&a).unwrap();
    spool.put(&b).unwrap();
    let entries = spool.entries().unwrap();
    assert_eq!(spool.record_failure(&entries[0]).unwrap(), 1);
    assert_eq!(spool.record_failure(&entries[0]).unwrap(), 2);
    assert_eq!(spool.record_failure(&entries[1]).unwrap(), 1);

    let reopened = Spool::open(dir.path(), SpoolLimits::default()).unwrap();
    assert_eq!(reopened.failures(&entries[0]), 2);
    assert_eq!(
        reopened.entries().unwrap().len(),
        2,
        "counters are not reports"
    );
    reopened.remove(&entries[0]).unwrap();
    reopened.reject(&entries[1], &refused(500)).unwrap();
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".failures"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(reopened.failures(&entries[1]), 0);
}

#[test]
fn the_rejected_count_is_carried_once_and_later_moves_are_kept_for_the_next_report() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path(), SpoolLimits::default()).unwrap();
    spool.reject_report(&report(0), &refused(422)).unwrap();
    spool.reject_report(&report(1), &refused(422)).unwrap();
    let carried = spool.to_carry();
    assert_eq!((carried.dropped, carried.rejected), (0, 2));
    spool.reject_report(&report(2), &refused(422)).unwrap();
    spool.acknowledge(carried).unwrap();
    assert_eq!(spool.rejected_count(), 1);
    let reopened = Spool::open(dir.path(), SpoolLimits::default()).unwrap();
    assert_eq!(reopened.rejected_count(), 1, "kept on disk");
}

#[test]
fn the_reason_beside_a_rejected_report_is_the_servers_answer_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path(), SpoolLimits::default()).unwrap();
    let r = report(0);
    spool.reject_report(&r, &refused(422)).unwrap();
    let entry = spool.rejected().unwrap().remove(0);
    let path = spool
        .rejected_dir()
        .join(entry.file_name().replace(".json", ".reason.json"));
    let record: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(record["status"], 422);
    assert_eq!(record["answer"]["error"]["code"], "invalid_report");
    assert_eq!(record["reason"], "rejected with 422");
    assert!(record["rejected_at"].is_string());
    assert_eq!(
        spool.load(&entry).unwrap(),
        r,
        "the report itself is kept whole"
    );
}

#[test]
fn a_default_spool_folder_that_cannot_be_created_means_no_spool_but_a_chosen_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // Beneath a regular file nothing can be created, not even by root.
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    let impossible = file.join("spool");
    let default = SpoolLocation::Default(impossible.clone());
    assert!(default.open(SpoolLimits::default()).unwrap().is_none());
    assert!(
        SpoolLocation::Chosen(impossible)
            .open(SpoolLimits::default())
            .is_err()
    );
    assert!(
        SpoolLocation::Off
            .open(SpoolLimits::default())
            .unwrap()
            .is_none()
    );
    let fine = SpoolLocation::Default(dir.path().join("spool"));
    assert!(fine.open(SpoolLimits::default()).unwrap().is_some());
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
