//! What the server answers and how a request can fail: the 202 acknowledgement, the SPEC §6
//! error body, and the pusher's error types.

use std::path::PathBuf;

use reqwest::{StatusCode, Url};
use serde::Deserialize;
use uuid::Uuid;

/// The server's 202 answer to a report.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Accepted {
    pub report_id: Uuid,
    pub host: String,
    #[serde(default)]
    pub duplicate: bool,
}

/// The server's error body (SPEC §6).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiError {
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub field: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ApiErrorBody {
    pub(super) error: ApiError,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(field) = &self.field {
            write!(f, " (field {field})")?;
        }
        Ok(())
    }
}

pub(super) fn describe(status: StatusCode, error: &Option<ApiError>) -> String {
    match error {
        Some(e) => format!("{status}: {e}"),
        None => status.to_string(),
    }
}

/// The body of a server's answer: its JSON when it is JSON, else the text (`None` when empty).
pub fn answer_body(body: &[u8]) -> Option<serde_json::Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    serde_json::from_slice(body).ok().or_else(|| {
        Some(serde_json::Value::String(
            String::from_utf8_lossy(body).into_owned(),
        ))
    })
}

/// The statuses that refuse the report itself, for good: malformed (400), too large (413),
/// wrong media type (415), impossible content (422). Sending the same bytes again can never
/// succeed, so such a report must not wait in the spool.
pub fn refuses_the_report(status: StatusCode) -> bool {
    matches!(status.as_u16(), 400 | 413 | 415 | 422)
}

/// The server errors that say the server (or the proxy in front of it) is down or busy rather
/// than that this report breaks it: 502, 503 (SPEC §6: the database is down) and 504. They never
/// count against a report, so an outage does not push a fleet's backlog into `rejected/`.
pub fn is_outage(status: StatusCode) -> bool {
    matches!(status.as_u16(), 502..=504)
}

/// Why a request did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// Could not reach the server, or it kept answering 408/429/5xx, for every attempt (or
    /// until the retry time budget ran out). `status` and `answer` are those of the last
    /// attempt when the server answered it.
    #[error("server unavailable after {attempts} attempt(s): {last}")]
    Unavailable {
        attempts: u32,
        last: String,
        status: Option<StatusCode>,
        answer: Option<serde_json::Value>,
    },
    /// The server refused this report's content (see [`refuses_the_report`]): never retried,
    /// and retrying later would not help either.
    #[error("rejected with {}", describe(*.status, .error))]
    Rejected {
        status: StatusCode,
        error: Option<ApiError>,
        answer: Option<serde_json::Value>,
    },
    /// The server refused the agent rather than the report (401/403: token or stamp scope;
    /// 404/405: wrong URL; any other 4xx) or answered a redirect: the content is not known to
    /// be at fault, so a spooled report is kept for later.
    #[error("refused with {}", describe(*.status, .error))]
    Refused {
        status: StatusCode,
        error: Option<ApiError>,
    },
    /// Shutdown was requested while waiting.
    #[error("interrupted by shutdown")]
    Interrupted,
    /// The server said yes but its answer was not the documented one.
    #[error("unexpected answer ({status}): {detail}")]
    BadAnswer { status: StatusCode, detail: String },
    #[error("could not encode the request: {0}")]
    Encode(String),
}

impl PushError {
    /// True when the content itself was refused, so keeping it would block the spool forever.
    pub fn is_rejection(&self) -> bool {
        matches!(self, PushError::Rejected { .. })
    }

    /// True when the server answered with an error of its own that is not an outage (500,
    /// 501, 505...): the report may be what breaks it, so such failures are counted against
    /// the report and, past a limit, set it aside.
    pub fn is_server_fault(&self) -> bool {
        matches!(self, PushError::Unavailable { status: Some(s), .. }
            if s.is_server_error() && !is_outage(*s))
    }

    /// The HTTP status and body the server answered last, when it answered.
    pub fn answer(&self) -> (Option<StatusCode>, Option<&serde_json::Value>) {
        match self {
            PushError::Unavailable { status, answer, .. } => (*status, answer.as_ref()),
            PushError::Rejected { status, answer, .. } => (Some(*status), answer.as_ref()),
            PushError::Refused { status, .. } | PushError::BadAnswer { status, .. } => {
                (Some(*status), None)
            }
            PushError::Interrupted | PushError::Encode(_) => (None, None),
        }
    }
}

/// Why a [`Pusher`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PusherBuildError {
    #[error("could not read CA file {path}: {source}")]
    CaFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("CA file {path} holds no usable PEM certificate{detail}")]
    CaPem { path: PathBuf, detail: String },
    #[error("could not build the HTTP client: {0}")]
    Client(reqwest::Error),
    #[error("server URL {0} cannot take a path (use http:// or https://)")]
    BadServerUrl(Url),
}
