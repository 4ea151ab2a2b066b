//! The capacity history import (`POST /api/v1/capacity/history`, admin): snapshots of one stamp
//! taken elsewhere (a backfill, another tool's archive), as the server's history keeps them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The most rows one import may carry.
pub const MAX_IMPORT_ROWS: usize = 5000;

/// One import: rows of one stamp.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CapacityImport {
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
    )]
    pub stamp: String,
    #[cfg_attr(feature = "openapi", schema(max_items = 5000))]
    pub rows: Vec<CapacityRow>,
}

/// `hour` rows are kept 14 days, `day` rows 2 years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Hour,
    Day,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Hour => "hour",
            Step::Day => "day",
        }
    }
}

/// One snapshot of a stamp (or of one of its scale units): what its Hyper-V hosts have, what
/// VMs use, what plans allocate (quotas × subscriptions). A figure nobody knew is left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CapacityRow {
    pub step: Step,
    /// The start of the hour or UTC day, not in the future.
    pub at: DateTime<Utc>,
    /// Absent for the whole stamp; a scale unit's name for one scale unit.
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub scale_unit: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 100_000))]
    pub hyperv_hosts: i64,
    pub physical_cores: Option<i64>,
    pub physical_memory_gb: Option<f64>,
    pub physical_storage_gb: Option<i64>,
    pub used_vms: Option<i64>,
    pub used_vcpus: Option<i64>,
    pub used_memory_gb: Option<f64>,
    pub allocated_vms: Option<i64>,
    pub allocated_vcpus: Option<i64>,
    pub allocated_memory_gb: Option<i64>,
    pub allocated_storage_gb: Option<i64>,
    pub subscriptions: Option<i64>,
    /// Physical × the stamp's overcommit when the row was taken.
    pub vcpu_limit: Option<f64>,
    pub memory_limit_gb: Option<f64>,
}
