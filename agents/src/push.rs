//! Sends reports (and the simulator's admin calls) to the stampbook server: gzip, bearer token,
//! timeouts, an optional private CA, and retries with exponential backoff and full jitter on
//! what is worth retrying (connect errors, timeouts, 408, 429, 5xx), bounded by an attempt
//! count and optionally a time budget. Any other 4xx is final.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use reqwest::header::{ACCEPT, CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use stampbook_wire::Report;
use tokio::sync::watch;

use crate::backoff::{Backoff, parse_retry_after};
use crate::token::Token;

mod error;

pub use error::{
    Accepted, ApiError, PushError, PusherBuildError, answer_body, is_outage, refuses_the_report,
};
use error::{ApiErrorBody, describe};

/// The `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("stampbook-agent/", env!("CARGO_PKG_VERSION"));

/// Installs ring as rustls' process-wide crypto provider (reqwest is built without one).
/// Safe to call more than once; a provider installed by someone else is kept.
pub fn ensure_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // An error only means a provider is already installed, which is what we want.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// How to reach the server.
#[derive(Debug, Clone)]
pub struct PushConfig {
    /// The server's base URL, e.g. `https://stampbook.example.net`.
    pub server: Url,
    pub token: Token,
    /// Extra trusted roots (PEM), for a server certificate issued by a private CA.
    pub ca_file: Option<PathBuf>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub backoff: Backoff,
    /// The longest `Retry-After` honoured; a longer one is shortened to this.
    pub retry_after_max: Duration,
}

impl PushConfig {
    pub fn new(server: Url, token: Token) -> Self {
        PushConfig {
            server,
            token,
            ca_file: None,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            backoff: Backoff::default(),
            retry_after_max: Duration::from_secs(600),
        }
    }
}

/// An HTTP client bound to one server and one token.
#[derive(Debug, Clone)]
pub struct Pusher {
    client: reqwest::Client,
    server: Url,
    token: Token,
    backoff: Backoff,
    retry_after_max: Duration,
    shutdown: Option<watch::Receiver<bool>>,
}

impl Pusher {
    pub fn new(config: PushConfig) -> Result<Pusher, PusherBuildError> {
        ensure_crypto_provider();
        if config.server.cannot_be_a_base() {
            return Err(PusherBuildError::BadServerUrl(config.server));
        }
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            // A redirect of a POST would silently become a GET; an agent should be told instead.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(path) = &config.ca_file {
            builder = builder.tls_certs_merge(read_ca_file(path)?);
        }
        let client = builder.build().map_err(PusherBuildError::Client)?;
        Ok(Pusher {
            client,
            server: config.server,
            token: config.token,
            backoff: config.backoff,
            retry_after_max: config.retry_after_max,
            shutdown: None,
        })
    }

    /// Makes waits and requests end early (as [`PushError::Interrupted`]) once `true` is sent.
    pub fn with_shutdown(mut self, shutdown: watch::Receiver<bool>) -> Pusher {
        self.shutdown = Some(shutdown);
        self
    }

    /// `POST /api/v1/reports`, gzipped.
    #[tracing::instrument(skip_all, fields(report_id = %report.report_id, host = %report.host.fqdn))]
    pub async fn push_report(&self, report: &Report) -> Result<Accepted, PushError> {
        let json = serde_json::to_vec(report).map_err(|e| PushError::Encode(e.to_string()))?;
        let (status, body) = self
            .send(Method::POST, "api/v1/reports", Some(&json))
            .await?;
        serde_json::from_slice::<Accepted>(&body).map_err(|e| PushError::BadAnswer {
            status,
            detail: format!("the acknowledgement did not parse: {e}"),
        })
    }

    /// `PUT /api/v1/inventory` with a JSON document (admin token).
    pub async fn put_inventory(&self, document: &serde_json::Value) -> Result<(), PushError> {
        let json = serde_json::to_vec(document).map_err(|e| PushError::Encode(e.to_string()))?;
        self.send(Method::PUT, "api/v1/inventory", Some(&json))
            .await
            .map(drop)
    }

    /// `DELETE /api/v1/stamps/{name}`: retires a stamp (admin token).
    /// Brings a retired stamp back (`PATCH {"retired": false}`), e.g. before a simulation run
    /// sends its reports again.
    pub async fn unretire_stamp(&self, name: &str) -> Result<(), PushError> {
        let path = format!("api/v1/stamps/{name}");
        let body = br#"{"retired": false}"#;
        self.send(Method::PATCH, &path, Some(body)).await.map(drop)
    }

    /// Names of the server's retired stamps (`GET /api/v1/stamps?include_retired=true`, every page).
    pub async fn retired_stamps(&self) -> Result<Vec<String>, PushError> {
        #[derive(serde::Deserialize)]
        struct Page {
            items: Vec<Item>,
            next_cursor: Option<String>,
        }
        #[derive(serde::Deserialize)]
        struct Item {
            name: String,
            retired_at: Option<String>,
        }
        let mut retired = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            // the URL type encodes the query (cursors are opaque and may hold `+`, `/` or `=`)
            let mut url = self
                .server
                .join("api/v1/stamps")
                .map_err(|e| PushError::Encode(format!("bad URL for the stamp list: {e}")))?;
            url.query_pairs_mut()
                .append_pair("include_retired", "true")
                .append_pair("limit", "1000");
            if let Some(c) = &cursor {
                url.query_pairs_mut().append_pair("cursor", c);
            }
            let path = format!("api/v1/stamps?{}", url.query().unwrap_or_default());
            let (status, body) = self.send(Method::GET, &path, None).await?;
            let page: Page = serde_json::from_slice(&body).map_err(|e| PushError::BadAnswer {
                status,
                detail: format!("the stamp list did not parse: {e}"),
            })?;
            retired.extend(
                page.items
                    .into_iter()
                    .filter(|i| i.retired_at.is_some())
                    .map(|i| i.name),
            );
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(retired),
            }
        }
    }

    pub async fn retire_stamp(&self, name: &str) -> Result<(), PushError> {
        let path = format!("api/v1/stamps/{name}");
        self.send(Method::DELETE, &path, None).await.map(drop)
    }

    /// `POST /api/v1/capacity/history` (admin): imports capacity rows of one stamp; answers
    /// the rows written (rows whose period the server already keeps are skipped).
    pub async fn import_capacity(
        &self,
        import: &stampbook_wire::capacity::CapacityImport,
    ) -> Result<u64, PushError> {
        #[derive(serde::Deserialize)]
        struct Imported {
            inserted: u64,
        }
        let json = serde_json::to_vec(import).map_err(|e| PushError::Encode(e.to_string()))?;
        let (status, body) = self
            .send(Method::POST, "api/v1/capacity/history", Some(&json))
            .await?;
        serde_json::from_slice::<Imported>(&body)
            .map(|i| i.inserted)
            .map_err(|e| PushError::BadAnswer {
                status,
                detail: format!("the import answer did not parse: {e}"),
            })
    }

    /// Sends one request with retries; returns the status and body of a 2xx answer.
    async fn send(
        &self,
        method: Method,
        path: &str,
        json: Option<&[u8]>,
    ) -> Result<(StatusCode, Vec<u8>), PushError> {
        let url = self
            .server
            .join(path)
            .map_err(|e| PushError::Encode(format!("bad URL for {path}: {e}")))?;
        let body = json.map(gzip).transpose()?;
        let started = tokio::time::Instant::now();
        let mut attempt = 1;
        loop {
            let outcome = self.attempt(&method, &url, body.clone()).await?;
            let (failure, retry_after) = match outcome {
                Attempt::Done(status, answer) => return Ok((status, answer)),
                Attempt::Final(status, answer) => {
                    return Err(final_error(status, &answer, &method, &url));
                }
                Attempt::Retryable(failure, retry_after) => (failure, retry_after),
            };
            let elapsed = started.elapsed();
            if !self.backoff.allows_retry(attempt, elapsed) {
                tracing::warn!(
                    attempts = attempt,
                    elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                    error = %failure.last,
                    "giving up: {method} {url}"
                );
                return Err(PushError::Unavailable {
                    attempts: attempt,
                    last: failure.last,
                    status: failure.status,
                    answer: failure.answer,
                });
            }
            let delay = match retry_after {
                Some(asked) => asked.min(self.retry_after_max),
                None => self.backoff.delay(attempt, &mut rand::rng()),
            };
            let (delay, last) = (self.backoff.within_budget(delay, elapsed), failure.last);
            tracing::warn!(
                attempt,
                error = %last,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "retrying {method} {url}"
            );
            self.interruptible(tokio::time::sleep(delay)).await?;
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<Vec<u8>>,
    ) -> Result<Attempt, PushError> {
        let mut request = self
            .client
            .request(method.clone(), url.clone())
            .bearer_auth(self.token.expose())
            .header(ACCEPT, "application/json");
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .header(CONTENT_ENCODING, "gzip")
                .body(body);
        }
        let exchange = async {
            let response = request.send().await?;
            let status = response.status();
            let headers = response.headers().clone();
            let answer = response.bytes().await?.to_vec();
            Ok::<_, reqwest::Error>((status, headers, answer))
        };
        let (status, headers, answer) = match self.interruptible(exchange).await? {
            Ok(parts) => parts,
            Err(e) => {
                let failure = Failure {
                    last: transport_error(&e),
                    status: None,
                    answer: None,
                };
                return Ok(Attempt::Retryable(failure, None));
            }
        };
        if status.is_success() {
            return Ok(Attempt::Done(status, answer));
        }
        // 408: the server gave up waiting for the request, which says nothing about the report.
        if matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT
        ) || status.is_server_error()
        {
            let failure = Failure {
                last: describe(status, &parse_api_error(&answer)),
                status: Some(status),
                answer: answer_body(&answer),
            };
            return Ok(Attempt::Retryable(failure, retry_after(&headers)));
        }
        Ok(Attempt::Final(status, answer))
    }

    /// Runs `work` unless shutdown is (or becomes) requested.
    async fn interruptible<T>(&self, work: impl Future<Output = T>) -> Result<T, PushError> {
        let Some(shutdown) = self.shutdown.clone() else {
            return Ok(work.await);
        };
        tokio::select! {
            out = work => Ok(out),
            () = crate::daemon::stop_requested(shutdown) => Err(PushError::Interrupted),
        }
    }
}

enum Attempt {
    Done(StatusCode, Vec<u8>),
    /// An answer not worth retrying now, with its body.
    Final(StatusCode, Vec<u8>),
    Retryable(Failure, Option<Duration>),
}

/// A failed attempt that may succeed later.
struct Failure {
    last: String,
    status: Option<StatusCode>,
    answer: Option<serde_json::Value>,
}

fn final_error(status: StatusCode, body: &[u8], method: &Method, url: &Url) -> PushError {
    let error = parse_api_error(body);
    let (code, message, field) = match &error {
        Some(e) => (e.code.as_str(), e.message.as_str(), e.field.as_deref()),
        None => ("", "", None),
    };
    tracing::error!(
        status = status.as_u16(),
        error.code = code,
        error.message = message,
        error.field = field,
        "{method} {url} refused; not retrying"
    );
    if refuses_the_report(status) {
        PushError::Rejected {
            status,
            error,
            answer: answer_body(body),
        }
    } else {
        PushError::Refused { status, error }
    }
}

fn transport_error(e: &reqwest::Error) -> String {
    let kind = if e.is_connect() {
        "connect error"
    } else if e.is_timeout() {
        "timeout"
    } else {
        "transport error"
    };
    // The source chain says what actually happened (refused, reset, certificate...).
    let mut text = format!("{kind}: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, chrono::Utc::now())
}

fn parse_api_error(body: &[u8]) -> Option<ApiError> {
    serde_json::from_slice::<ApiErrorBody>(body)
        .ok()
        .map(|b| b.error)
}

/// Gzips a request body.
pub fn gzip(data: &[u8]) -> Result<Vec<u8>, PushError> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 4), Compression::default());
    encoder
        .write_all(data)
        .and_then(|()| encoder.finish())
        .map_err(|e| PushError::Encode(format!("gzip: {e}")))
}

fn read_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, PusherBuildError> {
    let pem = std::fs::read(path).map_err(|source| PusherBuildError::CaFile {
        path: path.to_owned(),
        source,
    })?;
    let certs =
        reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| PusherBuildError::CaPem {
            path: path.to_owned(),
            detail: format!(": {e}"),
        })?;
    if certs.is_empty() {
        return Err(PusherBuildError::CaPem {
            path: path.to_owned(),
            detail: String::new(),
        });
    }
    Ok(certs)
}
