//! Telemetry: the server binary exports its request spans by OTLP when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and logs JSON lines with the request id.
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
