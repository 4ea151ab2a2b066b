//! Webhooks end to end: subscriptions over the API (secret once, never listed, audited), real
//! receivers on 127.0.0.1 that check the signature, fail then succeed (a retry), or never answer
//! (a timeout); deletion stops deliveries; the worker delivers on its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{TestApp, assert_error, spawn_with, spec_document};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;
use stampbook_server::config::ServeArgs;
use stampbook_server::rules::engine;
use stampbook_server::state::AppState;
use stampbook_server::webhooks::{deliver, format, signature};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// One request a receiver got.
#[derive(Debug)]
struct Received {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }
}

/// An HTTP/1.1 receiver on 127.0.0.1 answering the given statuses in turn (the last one
/// repeats); `None` holds the connection open without ever answering.
async fn receiver(statuses: Vec<Option<u16>>) -> (String, mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut n = 0;
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let status = statuses[n.min(statuses.len() - 1)];
            n += 1;
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let head_end = loop {
                let k = sock.read(&mut chunk).await.unwrap();
                assert!(k > 0, "request ended early");
                buf.extend_from_slice(&chunk[..k]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
            };
            let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
            let headers: Vec<(String, String)> = head
                .lines()
                .skip(1)
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .collect();
            let len: usize = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.parse().unwrap())
                .unwrap_or(0);
            while buf.len() < head_end + len {
                let k = sock.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..k]);
            }
            let body = buf[head_end..head_end + len].to_vec();
            let _ = tx.send(Received { headers, body });
            match status {
                Some(code) => {
                    let reply = format!(
                        "HTTP/1.1 {code} X\r\ncontent-length: 4\r\nconnection: close\r\n\r\nnope"
                    );
                    let _ = sock.write_all(reply.as_bytes()).await;
                }
                // keep the socket open, answer nothing
                None => {
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                        drop(sock);
                    });
                }
            }
        }
    });
    (url, rx)
}

fn settings(timeout_s: u64, max_attempts: i32) -> ServeArgs {
    ServeArgs {
        webhook_timeout_s: timeout_s,
        webhook_max_attempts: max_attempts,
        webhook_retry_base_ms: 0,
        // the receivers of these tests listen on loopback, which webhooks may not reach by default
        webhook_allow_cidrs: vec!["127.0.0.0/8".parse().unwrap()],
        ..ServeArgs::for_tests()
    }
}

async fn subscribe(app: &TestApp, url: &str, events: &[&str]) -> Value {
    let r = app
        .send_json(
            Method::POST,
            "/api/v1/webhooks",
            &app.admin,
            &json!({"url": url, "events": events, "description": "billing"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

/// Retiring ams-01 makes its plan raise `plan.stamp_missing`: one `problem.opened`.
async fn open_a_problem(app: &TestApp) {
    let r = app
        .send_json(
            Method::DELETE,
            "/api/v1/stamps/ams-01",
            &app.admin,
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    engine::evaluate_queued(&app.pool).await.unwrap();
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn subscriptions_show_the_secret_once_and_are_audited(pool: PgPool) {
    let app = spawn_with(pool, settings(2, 3)).await;
    let created = subscribe(
        &app,
        "https://billing.example.net/hook",
        &["problem.opened"],
    )
    .await;
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    let mine = app
        .send_json(
            Method::POST,
            "/api/v1/webhooks",
            &app.admin,
            &json!({"url": "https://crm.example.net/x", "events": ["problem.resolved"], "secret": "0123456789abcdef-mine"}),
        )
        .await;
    let mine: Value = mine.json().await.unwrap();
    assert_eq!(mine["secret"], "0123456789abcdef-mine");
    let list = app.get_json("/api/v1/webhooks").await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|w| w.get("secret").is_none()));
    assert_eq!(items[0]["events"], json!(["problem.opened"]));
    let audit = app.get_json("/api/v1/audit?entity=webhook").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2);
    assert!(
        !audit.to_string().contains("whsec_"),
        "no secret in the audit log"
    );

    for (body, field) in [
        (
            json!({"url": "ftp://x.example/", "events": ["problem.opened"]}),
            "url",
        ),
        (
            json!({"url": "https://x.example/", "events": ["stamp.gone"]}),
            "events[0]",
        ),
        (json!({"url": "https://x.example/", "events": []}), "events"),
        (
            json!({"url": "https://x.example/", "events": ["problem.opened"], "secret": "short"}),
            "secret",
        ),
    ] {
        let r = app
            .send_json(Method::POST, "/api/v1/webhooks", &app.admin, &body)
            .await;
        assert_eq!(r.status(), 422, "{body}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"]["field"], field);
    }
    let reader = app.token("reader", "read", None).await;
    assert_error(
        app.get("/api/v1/webhooks", &reader).await,
        403,
        "forbidden",
        None,
    )
    .await;
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_delivery_is_signed_and_retried_until_the_receiver_takes_it(pool: PgPool) {
    let app = spawn_with(pool.clone(), settings(2, 5)).await;
    app.put_inventory(&spec_document()).await;
    let (url, mut got) = receiver(vec![Some(500), Some(200)]).await;
    let hook = subscribe(&app, &url, &["problem.opened", "problem.resolved"]).await;
    let secret = hook["secret"].as_str().unwrap();
    open_a_problem(&app).await;

    let state = AppState::new(pool.clone(), settings(2, 5));
    let policy = deliver::Policy::from_settings(&state.settings);
    let client = deliver::client(&policy).unwrap();
    assert_eq!(
        deliver::deliver_due(&state.pool, &state.metrics, &client, &policy).await,
        1
    );
    let first = got.recv().await.unwrap();
    assert_eq!(first.header("content-type"), "application/json");
    assert_eq!(first.header("x-stampbook-event"), "problem.opened");
    assert_eq!(first.header("x-stampbook-attempt"), "1");
    assert!(
        signature::verify(secret, &first.body, first.header("x-stampbook-signature")),
        "signature over the exact body"
    );
    let event: Value = serde_json::from_slice(&first.body).unwrap();
    assert_eq!(event["event"], "problem.opened");
    assert_eq!(event["event_id"], first.header("x-stampbook-event-id"));
    assert_eq!(event["problem"]["rule"], "plan.stamp_missing");
    assert_eq!(event["problem"]["plan"], "gold-ams");

    // retry base 0: due again at once
    assert_eq!(
        deliver::deliver_due(&state.pool, &state.metrics, &client, &policy).await,
        1
    );
    let second = got.recv().await.unwrap();
    assert_eq!(second.body, first.body, "the same bytes");
    assert_eq!(
        second.header("x-stampbook-delivery"),
        first.header("x-stampbook-delivery")
    );
    assert_eq!(second.header("x-stampbook-attempt"), "2");
    assert_eq!(
        deliver::deliver_due(&state.pool, &state.metrics, &client, &policy).await,
        0,
        "delivered"
    );

    let log = app
        .get_json(&format!("/api/v1/webhooks/{}/deliveries", hook["id"]))
        .await;
    let d = &log["items"][0];
    assert_eq!(d["status"], "delivered");
    assert_eq!(d["next_attempt_at"], Value::Null);
    let attempts = d["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(
        (
            attempts[0]["status"].as_i64(),
            attempts[1]["status"].as_i64()
        ),
        (Some(500), Some(200))
    );
    assert!(attempts[0]["error"].as_str().unwrap().contains("500"));
    assert_eq!(attempts[1]["error"], Value::Null);
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_receiver_that_never_answers_times_out_and_the_delivery_fails(pool: PgPool) {
    let app = spawn_with(pool.clone(), settings(1, 1)).await;
    app.put_inventory(&spec_document()).await;
    let (url, mut got) = receiver(vec![None]).await;
    let hook = subscribe(&app, &url, &["problem.opened"]).await;
    open_a_problem(&app).await;
    let state = AppState::new(pool.clone(), settings(1, 1));
    let policy = deliver::Policy::from_settings(&state.settings);
    let client = deliver::client(&policy).unwrap();
    let started = std::time::Instant::now();
    assert_eq!(
        deliver::deliver_due(&state.pool, &state.metrics, &client, &policy).await,
        1
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded by the timeout"
    );
    got.recv().await.unwrap();
    let log = app
        .get_json(&format!("/api/v1/webhooks/{}/deliveries", hook["id"]))
        .await;
    let d = &log["items"][0];
    assert_eq!(d["status"], "failed", "one attempt allowed");
    let a = &d["attempts"][0];
    assert_eq!(a["status"], Value::Null);
    assert!(a["error"].as_str().unwrap().contains("timed out"), "{a}");
    assert!(a["duration_ms"].as_i64().unwrap() >= 900);
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn deleting_a_webhook_stops_its_deliveries(pool: PgPool) {
    let app = spawn_with(pool.clone(), settings(2, 5)).await;
    app.put_inventory(&spec_document()).await;
    let hook = subscribe(&app, "http://127.0.0.1:9/never", &["problem.opened"]).await;
    open_a_problem(&app).await;
    let path = format!("/api/v1/webhooks/{}", hook["id"]);
    let r = app
        .send_json(Method::DELETE, &path, &app.admin, &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let deleted: Value = r.json().await.unwrap();
    assert!(deleted["deleted_at"].is_string());
    let state = AppState::new(pool.clone(), settings(2, 5));
    let policy = deliver::Policy::from_settings(&state.settings);
    let client = deliver::client(&policy).unwrap();
    assert_eq!(
        deliver::deliver_due(&state.pool, &state.metrics, &client, &policy).await,
        0
    );
    let log = app.get_json(&format!("{path}/deliveries")).await;
    assert_eq!(log["items"][0]["status"], "failed");
    assert_eq!(log["items"][0]["last_error"], "the webhook was deleted");
    assert!(
        app.get_json("/api/v1/webhooks").await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let all = app.get_json("/api/v1/webhooks?include_deleted=true").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
    // again: no change; unknown: 404
    let again = app
        .send_json(Method::DELETE, &path, &app.admin, &json!({}))
        .await;
    assert_eq!(again.status(), 200);
    let r = app
        .send_json(
            Method::DELETE,
            "/api/v1/webhooks/999999",
            &app.admin,
            &json!({}),
        )
        .await;
    assert_error(r, 404, "not_found", None).await;
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn the_worker_delivers_on_its_own_and_ingest_never_waits(pool: PgPool) {
    let app = spawn_with(
        pool.clone(),
        ServeArgs {
            no_workers: false,
            ..settings(2, 5)
        },
    )
    .await;
    app.put_inventory(&spec_document()).await;
    let (url, mut got) = receiver(vec![Some(204)]).await;
    subscribe(&app, &url, &["problem.opened"]).await;
    open_a_problem(&app).await;
    let received = tokio::time::timeout(Duration::from_secs(20), got.recv())
        .await
        .expect("the worker delivered within 20 s")
        .unwrap();
    assert_eq!(received.header("x-stampbook-event"), "problem.opened");
}

/// A Python with the `standardwebhooks` receiver library (deploy/pytools makes it; ./deploy/test
/// sets STAMPBOOK_PYTHON).
fn receiver_python() -> std::path::PathBuf {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    [
        std::env::var_os("STAMPBOOK_PYTHON").map(std::path::PathBuf::from),
        Some(repo.join(".data/venv/bin/python")),
    ]
    .into_iter()
    .flatten()
    .find(|p| {
        std::process::Command::new(p)
            .args(["-c", "import standardwebhooks"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
    .expect("no Python with standardwebhooks: run deploy/pytools")
}

/// What a receiver built on the Standard Webhooks library does with a delivery: verify it with
/// the secret as shown at subscription, and parse it. Answers the payload, or the library's error.
fn verify_with_library(secret: &str, got: &Received) -> Result<Value, String> {
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body");
    std::fs::write(&body, &got.body).unwrap();
    let headers: serde_json::Map<String, Value> = got
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), Value::String(v.clone())))
        .collect();
    let script = "import json, sys\n\
        from standardwebhooks.webhooks import Webhook\n\
        secret, body, headers = sys.argv[1], open(sys.argv[2], 'rb').read(), json.loads(sys.argv[3])\n\
        print(json.dumps(Webhook(secret).verify(body, headers)))\n";
    let out = std::process::Command::new(receiver_python())
        .args(["-c", script, secret])
        .arg(&body)
        .arg(Value::Object(headers).to_string())
        .output()
        .unwrap();
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn deliveries_verify_with_the_standard_webhooks_library_and_tampering_does_not(pool: PgPool) {
    let app = spawn_with(pool.clone(), settings(2, 5)).await;
    app.put_inventory(&spec_document()).await;
    let (url, mut got) = receiver(vec![Some(500), Some(200)]).await;
    let hook = subscribe(&app, &url, &["problem.opened"]).await;
    let secret = hook["secret"].as_str().unwrap();
    open_a_problem(&app).await;
    let state = AppState::new(pool.clone(), settings(2, 5));
    let policy = deliver::Policy::from_settings(&state.settings);
    let client = deliver::client(&policy).unwrap();
    assert_eq!(
        deliver::deliver_due(&state.pool, &state.metrics, &client, &policy).await,
        1
    );
    let first = got.recv().await.unwrap();
    assert_eq!(
        deliver::deliver_due(&state.pool, &state.metrics, &client, &policy).await,
        1
    );
    let retry = got.recv().await.unwrap();

    let payload = verify_with_library(secret, &first).expect("the library accepts the delivery");
    assert_eq!(payload["event"], "problem.opened");
    assert_eq!(
        first.header("webhook-id"),
        payload["event_id"].as_str().unwrap()
    );
    assert_eq!(
        retry.header("webhook-id"),
        first.header("webhook-id"),
        "a retry keeps its id, so receivers de-duplicate on it"
    );
    assert!(
        verify_with_library(secret, &retry).is_ok(),
        "the retry verifies too"
    );
    // the earlier header stays for receivers written against it
    assert!(signature::verify(
        secret,
        &first.body,
        first.header("x-stampbook-signature")
    ));

    let mut tampered = Received {
        headers: first.headers.clone(),
        body: first.body.clone(),
    };
    tampered.body.push(b' ');
    assert!(
        verify_with_library(secret, &tampered).is_err(),
        "a changed body is refused"
    );
    let mut wrong_key = secret.to_owned();
    wrong_key.replace_range(6..10, "AAAA");
    assert!(
        verify_with_library(&wrong_key, &first).is_err(),
        "another secret is refused"
    );
}

/// [`settings`] with the dashboard's public address, which chat messages link to.
fn chat_settings() -> ServeArgs {
    ServeArgs {
        public_url: Some("https://stampbook.example.net/noc/".parse().unwrap()),
        ..settings(2, 5)
    }
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn chat_formats_reach_real_receivers_shaped_for_slack_and_teams_and_signed(pool: PgPool) {
    let app = spawn_with(pool.clone(), chat_settings()).await;
    app.put_inventory(&spec_document()).await;
    for format in [json!("discord"), json!("Slack"), json!("")] {
        assert_error(
            app.send_json(
                Method::POST,
                "/api/v1/webhooks",
                &app.admin,
                &json!({"url": "https://chat.example.net/x", "events": ["problem.opened"], "format": format}),
            )
            .await,
            422,
            "invalid_format",
            Some("format"),
        )
        .await;
    }
    let mut hooks = Vec::new();
    // left out, the format is stampbook's own JSON, as before
    for (format, shown) in [
        (Some("slack"), "slack"),
        (Some("stampbook"), "stampbook"),
        (None, "stampbook"),
    ] {
        let (url, got) = receiver(vec![Some(200)]).await;
        let mut body = json!({"url": url, "events": ["problem.opened"]});
        if let Some(f) = format {
            body["format"] = json!(f);
        }
        let r = app
            .send_json(Method::POST, "/api/v1/webhooks", &app.admin, &body)
            .await;
        assert_eq!(r.status(), 201);
        let created: Value = r.json().await.unwrap();
        assert_eq!(created["format"], shown);
        hooks.push((created, got));
    }
    // the second becomes a Teams room's: a change is checked like a subscription, and audited
    let second = format!("/api/v1/webhooks/{}", hooks[1].0["id"]);
    for (body, code, field) in [
        (json!({"format": "discord"}), "invalid_format", "format"),
        (json!({"events": []}), "invalid_events", "events"),
        (
            json!({"description": "x".repeat(201)}),
            "invalid_description",
            "description",
        ),
    ] {
        assert_error(
            app.send_json(Method::PATCH, &second, &app.admin, &body)
                .await,
            422,
            code,
            Some(field),
        )
        .await;
    }
    assert_error(
        app.send_json(
            Method::PATCH,
            &second,
            &app.admin,
            &json!({"url": "https://x.example/"}),
        )
        .await,
        400,
        "malformed",
        None,
    )
    .await;
    let r = app
        .send_json(
            Method::PATCH,
            &second,
            &app.admin,
            &json!({"format": "teams", "description": "noc"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let changed: Value = r.json().await.unwrap();
    assert_eq!(
        (
            &changed["format"],
            &changed["description"],
            &changed["events"]
        ),
        (&json!("teams"), &json!("noc"), &json!(["problem.opened"]))
    );
    assert!(changed.get("secret").is_none());
    let audit = app.get_json("/api/v1/audit?entity=webhook").await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "update"
                && e["before"]["format"] == "stampbook"
                && e["after"]["format"] == "teams"),
        "{audit}"
    );
    assert_error(
        app.send_json(
            Method::PATCH,
            "/api/v1/webhooks/999999",
            &app.admin,
            &json!({"format": "slack"}),
        )
        .await,
        404,
        "not_found",
        None,
    )
    .await;
    let gone = subscribe(&app, "https://chat.example.net/gone", &["problem.opened"]).await;
    let gone = format!("/api/v1/webhooks/{}", gone["id"]);
    assert_eq!(
        app.send_json(Method::DELETE, &gone, &app.admin, &json!({}))
            .await
            .status(),
        200
    );
    assert_error(
        app.send_json(
            Method::PATCH,
            &gone,
            &app.admin,
            &json!({"format": "slack"}),
        )
        .await,
        409,
        "webhook_deleted",
        None,
    )
    .await;

    let listed = app.get_json("/api/v1/webhooks").await;
    let formats: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["format"].as_str().unwrap())
        .collect();
    assert_eq!(formats, ["slack", "teams", "stampbook"]);

    open_a_problem(&app).await;
    let problem = &app
        .get_json("/api/v1/problems?rule=plan.stamp_missing")
        .await["items"][0];
    let page = format!(
        "https://stampbook.example.net/noc/problems?stamp=ams-01&state=all#p{}",
        problem["id"]
    );
    let state = AppState::new(pool.clone(), chat_settings());
    let policy = deliver::Policy::from_settings(&state.settings);
    let client = deliver::client(&policy).unwrap();
    assert_eq!(
        deliver::deliver_due(&state.pool, &state.metrics, &client, &policy).await,
        3
    );
    let mut bodies = Vec::new();
    for (hook, got) in &mut hooks {
        let received = tokio::time::timeout(Duration::from_secs(10), got.recv())
            .await
            .expect("a delivery")
            .unwrap();
        assert_eq!(received.header("content-type"), "application/json");
        assert_eq!(received.header("x-stampbook-event"), "problem.opened");
        let secret = hook["secret"].as_str().unwrap();
        // every format is signed over the bytes sent, both ways
        let verified = verify_with_library(secret, &received).expect("the library verifies it");
        assert!(signature::verify(
            secret,
            &received.body,
            received.header("x-stampbook-signature")
        ));
        let body: Value = serde_json::from_slice(&received.body).unwrap();
        assert_eq!(verified, body);
        bodies.push(body);
    }
    let [slack, teams, own] = &bodies[..] else {
        panic!("three bodies")
    };

    // Slack incoming webhook: text (the notification) and Block Kit blocks
    let title = "Opened: CRITICAL plan.stamp_missing on plan gold-ams on ams-01";
    assert!(
        slack["text"].as_str().unwrap().starts_with(title),
        "{slack}"
    );
    let blocks = slack["blocks"].as_array().unwrap();
    assert_eq!(
        blocks[0],
        json!({"type": "header", "text": {"type": "plain_text", "text": title}})
    );
    assert_eq!(blocks[1]["type"], "section");
    assert_eq!(blocks[1]["text"]["type"], "mrkdwn");
    assert!(
        blocks[1]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["text"] == "*Plan*\ngold-ams"),
        "{slack}"
    );
    assert_eq!(blocks[2]["elements"][0]["type"], "button");
    assert_eq!(blocks[2]["elements"][0]["url"], page.as_str());
    assert!(slack.get("event").is_none(), "not the event JSON");

    // Teams: an Adaptive Card in a message attachment
    assert_eq!(teams["type"], "message");
    let attachment = &teams["attachments"][0];
    assert_eq!(
        attachment["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let card = &attachment["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["body"][0]["type"], "TextBlock");
    assert_eq!(card["body"][0]["text"], format::teams_escape(title));
    assert_eq!(card["body"][0]["color"], "Attention");
    assert_eq!(
        card["body"][1]["text"],
        format::teams_escape(problem["message"].as_str().unwrap())
    );
    assert!(
        card["body"][2]["facts"]
            .as_array()
            .unwrap()
            .contains(&json!({"title": "Plan", "value": "gold-ams"})),
        "{teams}"
    );
    assert_eq!(
        card["actions"][0],
        json!({"type": "Action.OpenUrl", "title": "Open in stampbook", "url": page})
    );

    // stampbook: the event itself
    assert_eq!(own["event"], "problem.opened");
    assert_eq!(own["problem"]["id"], problem["id"]);
}
