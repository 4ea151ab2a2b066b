//! Capacity over time (issue 14 §2, §3): hourly snapshots of every stamp and scale unit
//! ([`snapshot`]), rolled up into days and kept bounded ([`snapshot::roll`]), read back and
//! imported ([`history`]), and where a new plan fits best ([`placement`]). The forecast maths
//! and `capacity.exhaustion_soon` are pure and live in `rules::forecast` / `rules::exhaustion`.

pub mod history;
pub mod placement;
pub mod snapshot;

/// Hourly rows are kept this long...
pub const HOURLY_RETENTION_DAYS: i64 = 14;
/// ... and daily rows this long.
pub const DAILY_RETENTION_DAYS: i64 = 731;
