//! Collection sources: where the raw captures come from (a capture folder, live PowerShell,
//! live Linux tools). Each source only fetches text and hands it to [`crate::parse`], so all
//! three produce the same report for the same facts.

pub mod capture_dir;
mod command;
pub mod linux;
pub mod ps_scripts;
pub mod windows;

use chrono::{DateTime, Utc};
use stampbook_wire::{AgentInfo, HostSection, Report, SCHEMA_V1};
use uuid::Uuid;

pub use capture_dir::{HostOverrides, collect_capture_dir, collect_capture_dir_with};
pub use linux::{CertDir, LinuxOptions, collect_linux};
pub use windows::{WapOptions, WindowsOptions, collect_windows};

use crate::parse::ParseError;

/// Why a collection failed. Every variant names the file or command at fault, because the
/// person reading it is an operator on a host, not the author of the parser.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// A captured file (or a command's output, named like one) did not parse.
    #[error("{file}: {error}")]
    Parse { file: String, error: ParseError },
    /// A file exists but could not be read.
    #[error("{file}: cannot read: {error}")]
    Read { file: String, error: std::io::Error },
    /// A file the report cannot do without.
    #[error("{file}: required file is missing")]
    MissingFile { file: String },
    /// The program a source needs is not installed or not on `PATH`.
    #[error("cannot run {program}: {error} (is it installed and on PATH?)")]
    ProgramMissing {
        program: String,
        error: std::io::Error,
    },
    /// A command ran and failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    CommandFailed {
        command: String,
        status: String,
        stderr: String,
    },
    /// The caller's options cannot produce a valid report.
    #[error("{0}")]
    Options(String),
}

impl CollectError {
    pub(crate) fn parse(file: impl Into<String>) -> impl FnOnce(ParseError) -> CollectError {
        let file = file.into();
        move |error| CollectError::Parse { file, error }
    }
}

/// The agent's own name in every report.
pub const AGENT_NAME: &str = "stampbook-agent";

/// A fresh report for `host`: new idempotency key, `collected_at = now`, every optional
/// section "not collected" until a source fills it in.
pub fn new_report(host: HostSection, now: DateTime<Utc>) -> Report {
    Report {
        schema: SCHEMA_V1.to_owned(),
        report_id: Uuid::new_v4(),
        collected_at: now,
        agent: Some(AgentInfo {
            name: AGENT_NAME.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            spool_dropped: None,
            spool_rejected: None,
        }),
        host,
        certificates: None,
        interfaces: None,
        routes: None,
        services: None,
        settings: None,
        collection_errors: None,
        wap: None,
    }
}
