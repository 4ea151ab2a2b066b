//! The pusher and the delivery cycle against a real local HTTP server.

mod support;

use std::time::{Duration, Instant};

use stampbook_agent::backoff::Backoff;
use stampbook_agent::deliver::{Outcome, deliver};
use stampbook_agent::push::{PushConfig, PushError, Pusher, USER_AGENT};
use stampbook_agent::spool::{Spool, SpoolLimits};
use stampbook_agent::token::Token;
use support::{Answer, Received, Receiver, closed_port_url, report};
use uuid::Uuid;

#[expect(clippy::expect_used, reason = "a test helper")]
fn fast_pusher(url: &reqwest::Url, max_attempts: u32) -> Pusher {
    let mut config = PushConfig::new(url.clone(), Token::new("t0k3n-for-tests"));
    config.backoff = Backoff {
        base: Duration::from_millis(10),
        cap: Duration::from_millis(40),
        max_attempts,
        budget: None,
    };
    config.connect_timeout = Duration::from_secs(2);
    config.request_timeout = Duration::from_secs(5);
    Pusher::new(config).expect("test pusher builds")
}

const REFUSAL: &str = r#"{"error":{"code":"invalid_report","message":"collected_at is in the future","field":"collected_at"}}"#;

#[tokio::test]
async fn two_503_then_202_retries_twice_with_gzip_token_and_user_agent() {
    let server = Receiver::start(vec![
        Answer::new(
            503,
            r#"{"error":{"code":"database_unavailable","message":"try later"}}"#,
        ),
        Answer::new(503, ""),
        Answer::accepted(),
    ])
    .await;
    let sent = report(0);
    let accepted = fast_pusher(&server.url, 5)
        .push_report(&sent)
        .await
        .unwrap();
    assert_eq!(accepted.report_id, sent.report_id);
    assert_eq!(accepted.host, "hv001.ams-01.example.net");
    assert!(!accepted.duplicate);

    let requests = server.requests();
    assert_eq!(requests.len(), 3, "two retries");
    for request in &requests {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/api/v1/reports");
        assert_eq!(request.header("content-encoding"), Some("gzip"));
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(
            request.header("authorization"),
            Some("Bearer t0k3n-for-tests")
        );
        assert_eq!(request.header("user-agent"), Some(USER_AGENT));
        assert_eq!(request.body[..2], [0x1f, 0x8b], "gzip magic");
        let body: stampbook_wire::Report = serde_json::from_value(request.json()).unwrap();
        assert_eq!(body, sent);
    }
    assert!(USER_AGENT.starts_with("stampbook-agent/0."));
}

#[tokio::test]
async fn a_server_that_stays_down_exhausts_the_attempts() {
    let server = Receiver::start(vec![Answer::new(500, "boom")]).await;
    let err = fast_pusher(&server.url, 3)
        .push_report(&report(0))
        .await
        .unwrap_err();
    assert!(
        matches!(err, PushError::Unavailable { attempts: 3, .. }),
        "{err}"
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn too_many_requests_waits_as_long_as_retry_after_says() {
    let server = Receiver::start(vec![
        Answer::new(429, "").header("retry-after", "1"),
        Answer::accepted(),
    ])
    .await;
    let started = Instant::now();
    fast_pusher(&server.url, 3)
        .push_report(&report(0))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_422_is_final_and_the_report_goes_to_rejected() {
    let server = Receiver::start(vec![Answer::new(422, REFUSAL), Answer::accepted()]).await;
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path(), SpoolLimits::default()).unwrap();
    let sent = report(0);
    let cycle = deliver(&fast_pusher(&server.url, 5), Some(&spool), sent.clone())
        .await
        .unwrap();
    let Outcome::Rejected { reason } = &cycle.outcome else {
        panic!("rejected expected, got {:?}", cycle.outcome)
    };
    assert!(
        reason.contains("invalid_report") && reason.contains("collected_at"),
        "{reason}"
    );
    assert_eq!(server.requests().len(), 1, "a 4xx is never retried");
    assert!(spool.entries().unwrap().is_empty());
    let rejected = spool.rejected().unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].report_id, sent.report_id);
    let reason_file = spool
        .rejected_dir()
        .join(rejected[0].file_name().replace(".json", ".reason.json"));
    assert!(
        std::fs::read_to_string(reason_file)
            .unwrap()
            .contains("422")
    );
}

#[tokio::test]
async fn an_unreachable_server_spools_and_the_next_cycle_replays_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path(), SpoolLimits::default()).unwrap();
    let down = fast_pusher(&closed_port_url().await, 2);
    let (first, second, third) = (report(0), report(5), report(10));

    let cycle = deliver(&down, Some(&spool), first.clone()).await.unwrap();
    assert!(
        matches!(cycle.outcome, Outcome::Spooled { .. }),
        "{:?}",
        cycle.outcome
    );
    let cycle = deliver(&down, Some(&spool), second.clone()).await.unwrap();
    assert!(matches!(cycle.outcome, Outcome::Spooled { .. }));
    assert_eq!(cycle.waiting, 2);

    let server = Receiver::start(vec![Answer::accepted()]).await;
    let cycle = deliver(&fast_pusher(&server.url, 2), Some(&spool), third.clone())
        .await
        .unwrap();
    assert!(cycle.delivered());
    assert_eq!((cycle.replayed, cycle.waiting), (2, 0));
    let expected: Vec<String> = [&first, &second, &third]
        .iter()
        .map(|r| r.report_id.to_string())
        .collect();
    assert_eq!(
        server.report_ids(),
        expected,
        "oldest first, new report last"
    );
}

#[tokio::test]
async fn replay_stops_at_the_first_retryable_failure_and_keeps_order() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path(), SpoolLimits::default()).unwrap();
    let (a, b) = (report(0), report(1));
    spool.put(&a).unwrap();
    spool.put(&b).unwrap();
    // The first spooled report goes through, then the server falls over.
    let server = Receiver::start(vec![Answer::accepted(), Answer::new(503, "")]).await;
    let fresh = report(2);
    let cycle = deliver(&fast_pusher(&server.url, 2), Some(&spool), fresh.clone())
        .await
        .unwrap();
    assert!(matches!(cycle.outcome, Outcome::Spooled { .. }));
    assert_eq!(cycle.replayed, 1);
    let ids = server.report_ids();
    assert_eq!(ids.len(), 3, "a once, b twice; the new report is not tried");
    assert_eq!(ids[0], a.report_id.to_string());
    assert!(ids[1..].iter().all(|id| *id == b.report_id.to_string()));
    let waiting: Vec<_> = spool
        .entries()
        .unwrap()
        .iter()
        .map(|e| e.report_id)
        .collect();
    assert_eq!(waiting, vec![b.report_id, fresh.report_id]);
}

#[tokio::test]
async fn a_refused_token_keeps_the_spool_instead_of_rejecting_it() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path(), SpoolLimits::default()).unwrap();
    spool.put(&report(0)).unwrap();
    let server = Receiver::start(vec![Answer::new(
        401,
        r#"{"error":{"code":"invalid_token","message":"unknown or revoked token"}}"#,
    )])
    .await;
    let cycle = deliver(&fast_pusher(&server.url, 5), Some(&spool), report(1))
        .await
        .unwrap();
    assert!(matches!(cycle.outcome, Outcome::Spooled { .. }));
    assert_eq!(server.requests().len(), 1, "401 is not retried");
    assert_eq!(spool.entries().unwrap().len(), 2);
    assert!(spool.rejected().unwrap().is_empty());
}

#[tokio::test]
async fn dropped_reports_are_carried_by_the_next_report_then_reset() {
    let dir = tempfile::tempdir().unwrap();
    let limits = SpoolLimits {
        max_reports: 2,
        ..SpoolLimits::default()
    };
    let spool = Spool::open(dir.path(), limits).unwrap();
    for minute in 0..3 {
        spool.put(&report(minute)).unwrap();
    }
    assert_eq!(spool.dropped(), 1);
    let server = Receiver::start(vec![Answer::accepted()]).await;
    let cycle = deliver(&fast_pusher(&server.url, 2), Some(&spool), report(9))
        .await
        .unwrap();
    assert!(cycle.delivered());
    let bodies: Vec<_> = server.requests().iter().map(|r| r.json()).collect();
    assert_eq!(bodies.len(), 3);
    assert!(
        bodies[0]["agent"].get("spool_dropped").is_none(),
        "spooled before the drop"
    );
    assert_eq!(bodies[2]["agent"]["spool_dropped"], 1);
    assert_eq!(spool.dropped(), 0, "reset after a successful push");
}

#[tokio::test]
async fn without_a_spool_a_failure_is_an_error() {
    let down = fast_pusher(&closed_port_url().await, 1);
    let err = deliver(&down, None, report(0)).await.unwrap_err();
    assert!(err.to_string().contains("connect"), "{err}");
}

#[tokio::test]
async fn shutdown_while_waiting_to_retry_spools_the_report_at_once() {
    let server = Receiver::start(vec![Answer::new(503, "").header("retry-after", "30")]).await;
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let pusher = fast_pusher(&server.url, 5).with_shutdown(shutdown);
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path(), SpoolLimits::default()).unwrap();
    let started = Instant::now();
    let cycle = tokio::join!(deliver(&pusher, Some(&spool), report(0)), async {
        while server.requests().is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        stop.send(true).unwrap();
    })
    .0
    .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "did not wait out Retry-After"
    );
    let Outcome::Spooled { reason } = &cycle.outcome else {
        panic!("spooled expected, got {:?}", cycle.outcome)
    };
    assert!(reason.contains("interrupted"), "{reason}");
    assert_eq!(spool.entries().unwrap().len(), 1);
}

fn limits_failing_after(max_failures: u32) -> SpoolLimits {
    SpoolLimits {
        max_failures,
        ..SpoolLimits::default()
    }
}

/// The report id a request carried.
#[expect(clippy::unwrap_used, reason = "a test helper")]
fn sent_id(request: &Received) -> String {
    request.json()["report_id"].as_str().unwrap().to_owned()
}

/// The server's answer kept beside a rejected report.
#[expect(clippy::unwrap_used, reason = "a test helper")]
fn rejection_record(spool: &Spool, report_id: Uuid) -> serde_json::Value {
    let entry = spool
        .rejected()
        .unwrap()
        .into_iter()
        .find(|e| e.report_id == report_id)
        .unwrap_or_else(|| panic!("{report_id} is not in rejected/"));
    let path = spool
        .rejected_dir()
        .join(entry.file_name().replace(".json", ".reason.json"));
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// Five cycles, one new report each, against a server that answers `poison` to the first
/// report forever and accepts every other one.
#[expect(clippy::unwrap_used, reason = "a test helper")]
async fn five_cycles_with_a_poison_first_report(
    poison: Answer,
    limits: SpoolLimits,
) -> (
    Vec<stampbook_wire::Report>,
    Receiver,
    Spool,
    tempfile::TempDir,
) {
    let reports: Vec<_> = (0..5).map(report).collect();
    let bad = reports[0].report_id.to_string();
    let server = Receiver::respond(move |request, _| {
        if sent_id(request) == bad {
            poison.clone()
        } else {
            Answer::accepted()
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path(), limits).unwrap();
    let pusher = fast_pusher(&server.url, 2);
    for r in &reports {
        deliver(&pusher, Some(&spool), r.clone()).await.unwrap();
    }
    (reports, server, spool, dir)
}

#[tokio::test]
async fn a_report_refused_422_forever_is_set_aside_at_once_and_reports_2_to_5_arrive_in_order() {
    let (reports, server, spool, _dir) =
        five_cycles_with_a_poison_first_report(Answer::new(422, REFUSAL), SpoolLimits::default())
            .await;
    let first = reports[0].report_id.to_string();
    let requests = server.requests();
    assert_eq!(
        requests.iter().filter(|r| sent_id(r) == first).count(),
        1,
        "a 422 is tried once, never replayed"
    );
    let delivered: Vec<String> = requests
        .iter()
        .map(sent_id)
        .filter(|id| *id != first)
        .collect();
    let expected: Vec<String> = reports[1..]
        .iter()
        .map(|r| r.report_id.to_string())
        .collect();
    assert_eq!(delivered, expected, "reports 2..5, once each, in order");
    assert!(spool.entries().unwrap().is_empty());

    let record = rejection_record(&spool, reports[0].report_id);
    assert_eq!(record["status"], 422);
    assert_eq!(record["answer"]["error"]["code"], "invalid_report");
    assert_eq!(record["answer"]["error"]["field"], "collected_at");

    let bodies: Vec<serde_json::Value> = requests.iter().map(Received::json).collect();
    let second = bodies
        .iter()
        .find(|b| b["report_id"] == reports[1].report_id.to_string())
        .unwrap();
    assert_eq!(
        second["agent"]["spool_rejected"], 1,
        "the next report tells"
    );
    let third = bodies
        .iter()
        .find(|b| b["report_id"] == reports[2].report_id.to_string())
        .unwrap();
    assert!(
        third["agent"].get("spool_rejected").is_none(),
        "told once: {third}"
    );
}

#[tokio::test]
async fn a_report_answered_500_forever_goes_to_rejected_after_n_cycles_and_reports_2_to_5_arrive_in_order()
 {
    let boom = r#"{"error":{"code":"internal","message":"internal error"}}"#;
    let (reports, server, spool, dir) =
        five_cycles_with_a_poison_first_report(Answer::new(500, boom), limits_failing_after(3))
            .await;
    let first = reports[0].report_id.to_string();
    let requests = server.requests();
    assert_eq!(
        requests.iter().filter(|r| sent_id(r) == first).count(),
        3 * 2,
        "three cycles of two attempts, then set aside"
    );
    let delivered: Vec<String> = requests
        .iter()
        .map(sent_id)
        .filter(|id| *id != first)
        .collect();
    let expected: Vec<String> = reports[1..]
        .iter()
        .map(|r| r.report_id.to_string())
        .collect();
    assert_eq!(delivered, expected, "reports 2..5, once each, in order");
    assert!(spool.entries().unwrap().is_empty(), "nothing left waiting");

    let record = rejection_record(&spool, reports[0].report_id);
    assert_eq!(record["status"], 500);
    assert_eq!(record["answer"]["error"]["code"], "internal");
    assert_eq!(record["failures"], 3);

    // Report 3 is the first sent after the move: it carries the count, report 4 does not.
    let bodies: Vec<serde_json::Value> = requests.iter().map(Received::json).collect();
    let body = |i: usize| {
        bodies
            .iter()
            .find(|b| b["report_id"] == reports[i].report_id.to_string())
            .unwrap()
    };
    assert_eq!(body(2)["agent"]["spool_rejected"], 1);
    assert!(body(3)["agent"].get("spool_rejected").is_none());
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(&first))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no failure counter left behind: {leftovers:?}"
    );
}

#[tokio::test]
async fn an_outage_answering_503_never_sets_reports_aside() {
    let server = Receiver::start(vec![Answer::new(503, "")]).await;
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path(), limits_failing_after(2)).unwrap();
    let pusher = fast_pusher(&server.url, 1);
    for minute in 0..4 {
        let cycle = deliver(&pusher, Some(&spool), report(minute))
            .await
            .unwrap();
        assert!(matches!(cycle.outcome, Outcome::Spooled { .. }));
    }
    assert_eq!(spool.entries().unwrap().len(), 4, "all kept for later");
    assert!(spool.rejected().unwrap().is_empty());
}

#[tokio::test]
async fn a_408_is_retried_and_a_404_keeps_the_report_in_the_spool() {
    let server = Receiver::start(vec![Answer::new(408, ""), Answer::accepted()]).await;
    fast_pusher(&server.url, 3)
        .push_report(&report(0))
        .await
        .unwrap();
    assert_eq!(
        server.requests().len(),
        2,
        "408 is a timeout, not a verdict"
    );

    let wrong_path = Receiver::start(vec![Answer::new(
        404,
        r#"{"error":{"code":"not_found","message":"no such route"}}"#,
    )])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path(), SpoolLimits::default()).unwrap();
    let cycle = deliver(&fast_pusher(&wrong_path.url, 3), Some(&spool), report(1))
        .await
        .unwrap();
    assert!(
        matches!(cycle.outcome, Outcome::Spooled { .. }),
        "a 404 says the URL is wrong, not the report: {:?}",
        cycle.outcome
    );
    assert_eq!(wrong_path.requests().len(), 1);
    assert_eq!(spool.entries().unwrap().len(), 1);
    assert!(spool.rejected().unwrap().is_empty());
}

#[tokio::test]
async fn every_refusal_that_names_the_report_sets_it_aside() {
    for status in [400, 413, 415, 422] {
        let server = Receiver::start(vec![Answer::new(status, "")]).await;
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), SpoolLimits::default()).unwrap();
        let sent = report(0);
        let cycle = deliver(&fast_pusher(&server.url, 3), Some(&spool), sent.clone())
            .await
            .unwrap();
        assert!(
            matches!(cycle.outcome, Outcome::Rejected { .. }),
            "{status}: {:?}",
            cycle.outcome
        );
        let record = rejection_record(&spool, sent.report_id);
        assert_eq!(record["status"], status);
        assert!(record["answer"].is_null(), "no body, no answer: {record}");
    }
}

#[tokio::test]
async fn a_time_budget_keeps_retrying_past_the_attempt_count_until_the_server_is_back() {
    let started = Instant::now();
    let server = Receiver::respond(move |_, _| {
        if started.elapsed() < Duration::from_millis(800) {
            Answer::new(503, "")
        } else {
            Answer::accepted()
        }
    })
    .await;
    let mut config = PushConfig::new(server.url.clone(), Token::new("t"));
    config.backoff = Backoff {
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
        max_attempts: u32::MAX,
        budget: Some(Duration::from_secs(20)),
    };
    Pusher::new(config)
        .unwrap()
        .push_report(&report(0))
        .await
        .unwrap();
    assert!(server.requests().len() > 5, "more than five attempts");

    let down = Receiver::start(vec![Answer::new(503, "")]).await;
    let mut config = PushConfig::new(down.url.clone(), Token::new("t"));
    config.backoff = Backoff {
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
        max_attempts: u32::MAX,
        budget: Some(Duration::from_millis(500)),
    };
    let began = Instant::now();
    let err = Pusher::new(config)
        .unwrap()
        .push_report(&report(0))
        .await
        .unwrap_err();
    assert!(matches!(err, PushError::Unavailable { .. }), "{err}");
    let took = began.elapsed();
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(3),
        "gave up when the budget ran out: {took:?}"
    );
}
