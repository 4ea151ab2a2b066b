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

/// Why a request did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// Could not reach the server, or it kept answering 429/5xx, for every attempt.
    #[error("server unavailable after {attempts} attempt(s): {last}")]
    Unavailable { attempts: u32, last: String },
    /// The server refused this request's content (a 4xx other than 401/403): never retried,
    /// and retrying later would not help either.
    #[error("rejected with {}", describe(*.status, .error))]
    Rejected {
        status: StatusCode,
        error: Option<ApiError>,
    },
    /// The server refused the agent itself (401/403: token or stamp scope) or answered a
    /// redirect: the content is not at fault, so a spooled report is kept for later.
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
