//! Shared by the push and spool tests: a minimal report and a scripted HTTP/1.1 receiver on
//! 127.0.0.1:0.

#![allow(dead_code, reason = "each test binary uses a different subset")]
#![expect(clippy::unwrap_used, reason = "test helpers fail the test loudly")]

use std::io::Read;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};
use stampbook_wire::{AgentInfo, HostSection, Report, Role, SCHEMA_V1};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use uuid::Uuid;

/// A small valid report collected at `minute` minutes past a fixed instant.
pub fn report(minute: u32) -> Report {
    Report {
        schema: SCHEMA_V1.to_owned(),
        report_id: Uuid::new_v4(),
        collected_at: collected(minute),
        agent: Some(AgentInfo {
            name: "stampbook-agent".into(),
            version: "0.1.0".into(),
            spool_dropped: None,
            spool_rejected: None,
        }),
        host: HostSection {
            fqdn: "hv001.ams-01.example.net".into(),
            stamp: "ams-01".into(),
            scale_unit: None,
            roles: vec![Role::HypervHost],
            os: None,
            vitals: None,
            unknown_roles: Vec::new(),
        },
        certificates: None,
        interfaces: None,
        routes: None,
        services: Some(vec![]),
        settings: None,
        collection_errors: None,
        wap: None,
    }
}

pub fn collected(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap() + chrono::Duration::minutes(minute.into())
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn new(status: u16, body: impl Into<String>) -> Answer {
        Answer {
            status,
            headers: vec![],
            body: body.into(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Answer {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// A 202 acknowledging whatever report was sent (an empty 202 to anything else).
    pub fn accepted() -> Answer {
        Answer::new(202, "")
    }
}

/// A request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body, gunzipped when sent with `Content-Encoding: gzip`.
    pub fn json(&self) -> serde_json::Value {
        let raw = if self.header("content-encoding") == Some("gzip") {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(self.body.as_slice())
                .read_to_end(&mut out)
                .unwrap();
            out
        } else {
            self.body.clone()
        };
        serde_json::from_slice(&raw).unwrap()
    }
}

/// Decides the answer to a request; also given the request's 0-based position.
pub type Responder = dyn Fn(&Received, usize) -> Answer + Send + Sync;

/// A scripted server: answers in order, repeating the last answer once the script runs out.
pub struct Receiver {
    pub url: reqwest::Url,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub async fn start(script: Vec<Answer>) -> Receiver {
        Receiver::respond(move |_, index| script[index.min(script.len() - 1)].clone()).await
    }

    /// A server whose answer depends on the request (e.g. on the report it carries).
    pub async fn respond(
        responder: impl Fn(&Received, usize) -> Answer + Send + Sync + 'static,
    ) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url =
            reqwest::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let responder: Arc<Responder> = Arc::new(responder);
        let log = received.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let log = log.clone();
                let responder = responder.clone();
                tokio::spawn(async move {
                    let _ = serve_connection(stream, log, responder).await;
                });
            }
        });
        Receiver { url, received }
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The report ids of the reports received, in order.
    pub fn report_ids(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| r.json()["report_id"].as_str().unwrap().to_owned())
            .collect()
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    log: Arc<Mutex<Vec<Received>>>,
    responder: Arc<Responder>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await? == 0 {
            return Ok(());
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let path = parts.next().unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await?;
        let request = Received {
            method,
            path,
            headers,
            body,
        };
        let index = {
            let mut log = log.lock().unwrap();
            log.push(request.clone());
            log.len() - 1
        };
        let answer = responder(&request, index);
        let is_report = request.method == "POST" && request.path.ends_with("/api/v1/reports");
        let body = if is_report && answer.status == 202 && answer.body.is_empty() {
            let sent = request.json();
            serde_json::json!({
                "report_id": sent["report_id"],
                "host": sent["host"]["fqdn"],
                "duplicate": false,
            })
            .to_string()
        } else {
            answer.body.clone()
        };
        let mut head = format!(
            "HTTP/1.1 {} Scripted\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
            answer.status,
            body.len()
        );
        for (name, value) in &answer.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        write.write_all(head.as_bytes()).await?;
        write.write_all(body.as_bytes()).await?;
        write.flush().await?;
    }
}

/// A base URL on which nothing listens.
pub async fn closed_port_url() -> reqwest::Url {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    reqwest::Url::parse(&format!("http://{addr}/")).unwrap()
}
