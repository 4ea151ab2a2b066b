//! Where the spool lives: on by default in the system's state folder, a folder of the
//! operator's choosing, or off. The default is best effort: an agent that may not create it
//! (not root, a read-only system) says so once and delivers without a spool.

use std::path::PathBuf;

use super::{Spool, SpoolError, SpoolLimits};

/// The spool the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpoolLocation {
    /// `--no-spool`: a failed push is just a failure.
    Off,
    /// No choice made: [`default_dir`].
    Default(PathBuf),
    /// `--spool-dir` / `STAMPBOOK_SPOOL_DIR`: it must work.
    Chosen(PathBuf),
}

/// `%ProgramData%\stampbook\spool` on Windows.
#[cfg(windows)]
pub fn default_dir() -> PathBuf {
    let data = std::env::var_os("ProgramData")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(r"C:\ProgramData"), PathBuf::from);
    data.join("stampbook").join("spool")
}

/// `/var/lib/stampbook-agent/spool` elsewhere: the systemd unit's `StateDirectory`.
#[cfg(not(windows))]
pub fn default_dir() -> PathBuf {
    PathBuf::from("/var/lib/stampbook-agent/spool")
}

impl SpoolLocation {
    /// Opens the spool. A chosen folder that cannot be opened is an error; the default one
    /// is a warning (logged on stderr) and no spool.
    pub fn open(&self, limits: SpoolLimits) -> Result<Option<Spool>, SpoolError> {
        match self {
            SpoolLocation::Off => Ok(None),
            SpoolLocation::Chosen(dir) => Spool::open(dir, limits).map(Some),
            SpoolLocation::Default(dir) => match Spool::open(dir, limits) {
                Ok(spool) => Ok(Some(spool)),
                Err(e) => {
                    tracing::warn!(
                        error = %e,
                        "cannot use the default spool folder; continuing without a spool \
                         (undelivered reports are lost): give --spool-dir a writable folder, \
                         or --no-spool to silence this"
                    );
                    Ok(None)
                }
            },
        }
    }
}
