//! Pure parsers: captured command output (text or bytes) in, wire types out. No I/O here, so
//! the same functions serve `--source windows`, `--source linux` and `capture-dir`.
//!
//! Every parser returns [`ParseError`] instead of panicking: input comes from other machines
//! and from operators' hands, and a bad file must name itself, not crash the agent.

pub mod capture_meta;
pub mod certhash;
pub mod certs;
pub mod hostinfo;
pub mod linux;
pub mod netipconfig;
pub mod netroute;
pub mod pem;
pub mod procfs;
pub mod psjson;
pub mod route_print;
pub mod services;
pub mod settings;
pub mod systemd;
pub mod text;
pub mod wap;

/// Why a capture could not be turned into wire types. Messages say what and where, so an
/// operator can fix the file; the caller adds which file it was.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The bytes are not text in an encoding PowerShell or a shell writes.
    #[error("not readable text: {0}")]
    Encoding(String),
    /// The text is not JSON at all.
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A required key is absent (or null).
    #[error("{context}missing {field}")]
    Missing { context: String, field: String },
    /// A key holds something of the wrong shape or an impossible value.
    #[error("{context}{field}: {reason}")]
    Invalid {
        context: String,
        field: String,
        reason: String,
    },
    /// A host role the wire format does not know.
    #[error(
        "unknown role {0:?} (known: hyperv_host, nvgre_gateway, rd_gateway, vmm_server, spf_server, wap_server, sql_server, other)"
    )]
    UnknownRole(String),
    /// Text whose layout is not the one expected (route print, systemctl, PEM).
    #[error("line {line}: {reason}")]
    Layout { line: usize, reason: String },
    /// The text holds none of what it should.
    #[error("{0}")]
    Unrecognised(String),
}

impl ParseError {
    pub(crate) fn missing(context: impl Into<String>, field: impl Into<String>) -> Self {
        ParseError::Missing {
            context: context.into(),
            field: field.into(),
        }
    }

    pub(crate) fn invalid(
        context: impl Into<String>,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        ParseError::Invalid {
            context: context.into(),
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// A context prefix for item `index` of a list, e.g. `"item 3: "`, so errors in long
/// certificate or route lists point at the culprit.
pub(crate) fn item(index: usize) -> String {
    format!("item {}: ", index + 1)
}
