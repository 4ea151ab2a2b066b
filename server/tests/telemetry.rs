//! Telemetry: the server binary exports its request spans by OTLP when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and logs JSON lines with the request id; a real
//! receiver's view (the OTLP protobuf decoded) shows stamps, hosts and span links.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Stdio;
use std::time::Duration;

use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn database_url(pool: &PgPool) -> String {
    let o = pool.connect_options();
    format!(
        "postgres://{}@{}:{}/{}",
        o.get_username(),
        o.get_host(),
        o.get_port(),
        o.get_database().unwrap()
    )
}

/// Accepts one OTLP/HTTP export and answers 200; gives back its request line and headers.
async fn receive_one(listener: TcpListener) -> String {
    let (mut sock, _) = listener.accept().await.unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = Vec::new();
    loop {
        let n = sock.read(&mut buf).await.unwrap();
        got.extend_from_slice(&buf[..n]);
        if n == 0 || got.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    sock.write_all(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n",
    )
    .await
    .unwrap();
    String::from_utf8_lossy(&got).into_owned()
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn request_spans_are_exported_by_otlp_and_logs_are_json(pool: PgPool) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let receiver = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let otlp = format!("http://{}", receiver.local_addr().unwrap());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_stampbook-server"))
        .arg("serve")
        .env("DATABASE_URL", database_url(&pool))
        .env("STAMPBOOK_LISTEN", format!("127.0.0.1:{port}"))
        .env("STAMPBOOK_NO_WORKERS", "true")
        .env("STAMPBOOK_LOG_FORMAT", "json")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &otlp)
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..100 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the server did not start");
    let r = http
        .get(format!("{base}/api/v1/stamps"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let export = tokio::time::timeout(Duration::from_secs(15), receive_one(receiver))
        .await
        .expect("an OTLP export within 15 s");
    assert!(export.starts_with("POST /v1/traces"), "{export}");
    assert!(
        export
            .to_ascii_lowercase()
            .contains("content-type: application/x-protobuf"),
        "{export}"
    );

    server.start_kill().unwrap();
    let out = server.wait_with_output().await.unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    let line = log
        .lines()
        .find(|l| l.contains("/api/v1/stamps"))
        .expect("a log line for the request");
    let json: serde_json::Value = serde_json::from_str(line).expect("log lines are JSON");
    assert!(
        json.get("request_id").is_some() || line.contains("request_id"),
        "{line}"
    );
}

/// A span as an OTLP receiver decoded it.
#[derive(Debug)]
struct Exported {
    name: String,
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    /// Attributes, their values as strings.
    attrs: Vec<(String, String)>,
    /// The (trace id, span id) of each link.
    links: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Exported {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Accepts OTLP/HTTP exports until dropped, answering 200 to each, and sends every span, decoded
/// with the OpenTelemetry protobuf definitions, down the channel: what a real receiver would see.
async fn receive_spans(listener: TcpListener, spans: tokio::sync::mpsc::UnboundedSender<Exported>) {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    use prost::Message;
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            return;
        };
        let mut got = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        let body = loop {
            let n = sock.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break None;
            }
            got.extend_from_slice(&buf[..n]);
            let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if got.len() >= end + 4 + len {
                break Some(got[end + 4..end + 4 + len].to_vec());
            }
        };
        let _ = sock
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await;
        let Some(body) = body else { continue };
        let request = ExportTraceServiceRequest::decode(body.as_slice()).expect("OTLP protobuf");
        for span in request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
        {
            let attrs = span
                .attributes
                .iter()
                .map(|kv| {
                    let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                        Some(Value::StringValue(s)) => s.clone(),
                        Some(Value::IntValue(i)) => i.to_string(),
                        Some(other) => format!("{other:?}"),
                        None => String::new(),
                    };
                    (kv.key.clone(), v)
                })
                .collect();
            let _ = spans.send(Exported {
                name: span.name.clone(),
                trace_id: span.trace_id.clone(),
                span_id: span.span_id.clone(),
                attrs,
                links: span
                    .links
                    .iter()
                    .map(|l| (l.trace_id.clone(), l.span_id.clone()))
                    .collect(),
            });
        }
    }
}

/// Starts the server binary exporting to `otlp` with the extra environment `env`; answers its base URL.
async fn serve_traced(
    pool: &PgPool,
    otlp: &str,
    env: &[(&str, &str)],
) -> (tokio::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = tokio::process::Command::new(env!("CARGO_BIN_EXE_stampbook-server"))
        .arg("serve")
        .env("DATABASE_URL", database_url(pool))
        .env("STAMPBOOK_LISTEN", format!("127.0.0.1:{port}"))
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp)
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            return (server, base);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not start");
}

/// An inventory with one stamp, and one report for a host of it.
async fn report_once(pool: &PgPool, base: &str) {
    use stampbook_server::auth::tokens;
    let admin = tokens::create(
        pool,
        &format!("admin-{}", uuid::Uuid::new_v4()),
        "admin",
        None,
        "test",
    )
    .await
    .unwrap()
    .token;
    let http = reqwest::Client::new();
    let doc = serde_json::json!({"stamps": [{"name": "ams-01", "display_name": "Amsterdam 1"}]});
    let r = http
        .put(format!("{base}/api/v1/inventory"))
        .bearer_auth(&admin)
        .json(&doc)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "inventory: {}", r.status());
    let report = serde_json::json!({
        "schema": "stampbook.report/v1", "report_id": uuid::Uuid::new_v4(),
        "collected_at": chrono::Utc::now(),
        "host": {"fqdn": "hv01.ams-01.example.net", "stamp": "ams-01", "roles": ["hyperv_host"]},
        "services": []
    });
    let r = http
        .post(format!("{base}/api/v1/reports"))
        .bearer_auth(&admin)
        .json(&report)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "report accepted");
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn rust_log_warn_quiets_logs_but_not_traces_and_evaluations_name_and_link_their_report(
    pool: PgPool,
) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let receiver = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let otlp = format!("http://{}", receiver.local_addr().unwrap());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let receiving = tokio::spawn(receive_spans(receiver, tx));
    // what operators set to quiet the logs; the evaluator runs (its timer is an hour away)
    let (_server, base) = serve_traced(
        &pool,
        &otlp,
        &[
            ("RUST_LOG", "warn"),
            ("STAMPBOOK_EVALUATION_INTERVAL_S", "3600"),
        ],
    )
    .await;
    report_once(&pool, &base).await;

    // the ingest span, and the evaluation it queued (the inventory's own evaluation may run
    // first, or take the report's request with it: it is the one linked to the ingest)
    let (mut ingest, mut evaluations): (Option<Exported>, Vec<Exported>) = (None, Vec::new());
    let linked = |ingest: &Option<Exported>, evaluations: &[Exported]| {
        ingest.as_ref().is_some_and(|i| {
            evaluations
                .iter()
                .any(|e| e.links.iter().any(|(t, _)| *t == i.trace_id))
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !linked(&ingest, &evaluations) {
        let Ok(Some(span)) = tokio::time::timeout_at(deadline, rx.recv()).await else {
            break;
        };
        match span.name.as_str() {
            "ingest" => ingest = Some(span),
            "evaluate" => evaluations.push(span),
            _ => {}
        }
    }
    receiving.abort();
    let ingest = ingest.expect("the ingest span is exported under RUST_LOG=warn");
    assert_eq!(ingest.attr("stamp"), Some("ams-01"), "{ingest:?}");
    assert_eq!(
        ingest.attr("host"),
        Some("hv01.ams-01.example.net"),
        "{ingest:?}"
    );
    let evaluation = evaluations
        .iter()
        .find(|e| e.links.iter().any(|(t, _)| *t == ingest.trace_id))
        .unwrap_or_else(|| panic!("an evaluation linked to the report's trace: {evaluations:?}"));
    assert!(
        evaluation
            .links
            .contains(&(ingest.trace_id.clone(), ingest.span_id.clone())),
        "the link names the ingest span itself: {evaluation:?} {ingest:?}"
    );
    assert_ne!(
        evaluation.trace_id, ingest.trace_id,
        "the evaluation is a trace of its own, linked, not a child"
    );
    assert_eq!(evaluation.attr("stamp"), Some("ams-01"), "{evaluation:?}");
    assert!(
        evaluation
            .attr("stamp_id")
            .is_some_and(|v| v.parse::<i64>().is_ok()),
        "{evaluation:?}"
    );
    assert_eq!(
        evaluation.attr("host"),
        Some("hv01.ams-01.example.net"),
        "{evaluation:?}"
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn otel_traces_sampler_always_off_exports_no_span(pool: PgPool) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let receiver = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let otlp = format!("http://{}", receiver.local_addr().unwrap());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let receiving = tokio::spawn(receive_spans(receiver, tx));
    let (_server, base) = serve_traced(
        &pool,
        &otlp,
        &[
            ("OTEL_TRACES_SAMPLER", "always_off"),
            ("STAMPBOOK_NO_WORKERS", "true"),
        ],
    )
    .await;
    report_once(&pool, &base).await;
    // the batch exporter sends within 100 ms of a span ending; three seconds is thirty rounds
    let got = tokio::time::timeout(Duration::from_secs(3), rx.recv()).await;
    receiving.abort();
    assert!(
        got.is_err(),
        "a span was exported with the sampler off: {got:?}"
    );
}

/// A queued stamp keeps the traceparent of each span that asked for it, once each, at most 32;
/// without a traced span nothing is kept.
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn queued_evaluations_keep_the_trace_contexts_of_who_asked(pool: PgPool) {
    use opentelemetry::trace::TracerProvider as _;
    use stampbook_server::rules::queue;
    use tracing::Instrument;
    use tracing_subscriber::layer::SubscriberExt;

    let stamp_id: i64 = sqlx::query_scalar(
        "insert into stamps (name, display_name) values ('ams-01', 'Amsterdam 1') returning id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let kept = || async {
        sqlx::query_scalar::<_, Vec<String>>(
            "select traceparents from evaluation_queue where stamp_id = $1",
        )
        .bind(stamp_id)
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let mut conn = pool.acquire().await.unwrap();
    // no tracer: nothing to keep
    queue::request_stamp(&mut conn, stamp_id).await.unwrap();
    assert_eq!(kept().await, Vec::<String>::new());

    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    let _traced = tracing::subscriber::set_default(subscriber);
    let asked = tracing::info_span!("ingest");
    async {
        queue::request_stamp(&mut conn, stamp_id).await.unwrap();
        // the same span asking again (a report that moves a host asks twice) is kept once
        queue::request_stamp(&mut conn, stamp_id).await.unwrap();
    }
    .instrument(asked.clone())
    .await;
    let first = kept().await;
    assert_eq!(first.len(), 1, "{first:?}");
    let t = &first[0];
    assert!(
        t.len() == 55 && t.starts_with("00-") && t.ends_with("-01"),
        "a sampled W3C traceparent: {t}"
    );
    for _ in 0..40 {
        queue::request_stamp(&mut conn, stamp_id)
            .instrument(tracing::info_span!("ingest"))
            .await
            .unwrap();
    }
    let all = kept().await;
    assert_eq!(all.len(), 32, "at most 32 per queued stamp");
    assert_eq!(&all[0], t, "the first ones are kept");
    let distinct: std::collections::BTreeSet<&String> = all.iter().collect();
    assert_eq!(distinct.len(), 32);
}
