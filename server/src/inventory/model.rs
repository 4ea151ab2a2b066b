//! Inventory as the API and the inventory document speak it: what comes in (specs, all
//! optional fields defaulted) and what goes out.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Per-stamp thresholds; unset ones take the defaults of SPEC §3.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct ThresholdsSpec {
    #[schema(minimum = 0, maximum = 3650)]
    pub cert_warning_days: Option<i32>,
    #[schema(minimum = 0, maximum = 3650)]
    pub cert_critical_days: Option<i32>,
    #[schema(exclusive_minimum = 0, maximum = 100)]
    pub cpu_overcommit: Option<f64>,
    #[schema(exclusive_minimum = 0, maximum = 100)]
    pub memory_overcommit: Option<f64>,
    /// `capacity.exhaustion_soon` warns when a resource's forecast crosses its limit within
    /// this many days (default 90).
    #[schema(minimum = 0, maximum = 3650)]
    pub exhaustion_warning_days: Option<i32>,
    /// ... and is critical within this many (default 30; at most `exhaustion_warning_days`).
    #[schema(minimum = 0, maximum = 3650)]
    pub exhaustion_critical_days: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Thresholds {
    pub cert_warning_days: i32,
    pub cert_critical_days: i32,
    pub cpu_overcommit: f64,
    pub memory_overcommit: f64,
    pub exhaustion_warning_days: i32,
    pub exhaustion_critical_days: i32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            cert_warning_days: 30,
            cert_critical_days: 7,
            cpu_overcommit: 4.0,
            memory_overcommit: 1.0,
            exhaustion_warning_days: 90,
            exhaustion_critical_days: 30,
        }
    }
}

/// A stamp as declared (POST/PUT body, or an entry of the inventory document). With PUT and
/// apply, a field left out takes its default; `networks`/`scale_units` left out stay as they are,
/// given they become exactly the list given.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct StampSpec {
    /// Unique slug, e.g. `ams-01`. May be left out of a PUT body (the path names it).
    #[schema(
        pattern = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$",
        min_length = 1,
        max_length = 63
    )]
    pub name: Option<String>,
    #[schema(pattern = "^\\s*[^\\x00-\\x1f\\x7f-\\x9f]{0,200}\\s*$")]
    pub display_name: Option<String>,
    #[schema(pattern = "^\\s*[^\\x00-\\x1f\\x7f-\\x9f]{0,100}\\s*$")]
    pub region: Option<String>,
    #[schema(pattern = "^\\s*[^\\x00-\\x1f\\x7f-\\x9f]{0,200}\\s*$")]
    pub location: Option<String>,
    /// `public`, `private` or `mixed`.
    #[schema(pattern = "^(public|private|mixed)$")]
    pub purpose: Option<String>,
    #[schema(
        pattern = "^\\s*([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\\.*)?\\s*$"
    )]
    pub vmm_server: Option<String>,
    #[schema(pattern = "^\\s*(https?://\\S*)?\\s*$")]
    pub spf_endpoint: Option<String>,
    /// Public name of the stamp's Remote Console gateway.
    #[schema(
        pattern = "^\\s*([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\\.*)?\\s*$"
    )]
    pub rd_gateway_fqdn: Option<String>,
    #[schema(minimum = 10, maximum = 86400)]
    pub report_interval_s: Option<i32>,
    pub thresholds: Option<ThresholdsSpec>,
    /// Target versions per component, e.g. `{"vmm_server": "3.2.7620.0"}`.
    pub target_versions: Option<BTreeMap<String, String>>,
    pub networks: Option<Vec<NetworkSpec>>,
    pub scale_units: Option<Vec<ScaleUnitSpec>>,
}

/// PATCH body: only the fields given change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct StampPatch {
    #[schema(pattern = "^\\s*[^\\x00-\\x1f\\x7f-\\x9f]{0,200}\\s*$")]
    pub display_name: Option<String>,
    #[schema(pattern = "^\\s*[^\\x00-\\x1f\\x7f-\\x9f]{0,100}\\s*$")]
    pub region: Option<String>,
    #[schema(pattern = "^\\s*[^\\x00-\\x1f\\x7f-\\x9f]{0,200}\\s*$")]
    pub location: Option<String>,
    #[schema(pattern = "^(public|private|mixed)$")]
    pub purpose: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, pattern = "^\\s*([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\\.*)?\\s*$")]
    pub vmm_server: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, pattern = "^\\s*(https?://\\S*)?\\s*$")]
    pub spf_endpoint: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, pattern = "^\\s*([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\\.*)?\\s*$")]
    pub rd_gateway_fqdn: Option<Option<String>>,
    #[schema(minimum = 10, maximum = 86400)]
    pub report_interval_s: Option<i32>,
    pub thresholds: Option<ThresholdsSpec>,
    pub target_versions: Option<BTreeMap<String, String>>,
    /// `false` brings a retired stamp back; `true` retires it (like DELETE).
    pub retired: Option<bool>,
}

/// A list given as null reads as empty (YAML's `key:` with nothing after it is null).
fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<Vec<T>>::deserialize(d).map(Option::unwrap_or_default)
}

/// Tells "absent" (outer None) from "null" (Some(None)) in a PATCH body.
fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NetworkSpec {
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$", min_length = 1, max_length = 64)]
    pub name: String,
    /// `management`, `front_end`, `provider`, `storage` or `other`.
    #[schema(pattern = "^(management|front_end|provider|storage|other)$")]
    pub role: String,
    /// The network, e.g. `10.0.0.0/24`.
    #[schema(
        pattern = "^\\s*(([0-9]{1,3}\\.){3}[0-9]{1,3}/[0-9]{1,2}|[0-9A-Fa-f:.]{2,45}/[0-9]{1,3})\\s*$",
        example = "10.0.0.0/24"
    )]
    pub cidr: String,
    /// The default gateway of the network (inside `cidr`).
    #[schema(
        pattern = "^\\s*(([0-9]{1,3}\\.){3}[0-9]{1,3}|[0-9A-Fa-f:.]{2,45})?\\s*$",
        example = "10.0.0.1"
    )]
    pub gateway: Option<String>,
    /// Destinations that must have a specific route via this network's gateway (null or left
    /// out: none).
    #[serde(default, deserialize_with = "null_as_empty")]
    #[schema(value_type = Option<Vec<String>>)]
    pub required_prefixes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ScaleUnitSpec {
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$", min_length = 1, max_length = 64)]
    pub name: String,
    /// `compute`, `storage` or `network`.
    #[schema(pattern = "^(compute|storage|network)$")]
    pub kind: String,
    #[serde(default)]
    #[schema(pattern = "^\\s*[^\\x00-\\x1f\\x7f-\\x9f]{0,100}\\s*$")]
    pub rack: Option<String>,
    #[serde(default)]
    #[schema(pattern = "^\\s*[^\\x00-\\x1f\\x7f-\\x9f]{0,2000}\\s*$")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct QuotaSpec {
    #[schema(minimum = 0)]
    pub vms: Option<i64>,
    #[schema(minimum = 0)]
    pub vcpus: Option<i64>,
    #[schema(minimum = 0)]
    pub memory_gb: Option<i64>,
    #[schema(minimum = 0)]
    pub storage_gb: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PlanSpec {
    /// The plan's id in Windows Azure Pack. May be left out of a PUT body (the path names it).
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,128}$", min_length = 1, max_length = 128)]
    pub wap_plan_id: Option<String>,
    #[schema(
        min_length = 1,
        pattern = "^\\s*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]{0,199}\\s*$"
    )]
    pub name: String,
    #[serde(default)]
    pub public: Option<bool>,
    /// The stamp the plan is sold on.
    #[schema(
        pattern = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$",
        min_length = 1,
        max_length = 63
    )]
    pub stamp: String,
    /// The VMM cloud behind the plan.
    #[serde(default)]
    #[schema(pattern = "^\\s*[^\\x00-\\x1f\\x7f-\\x9f]{0,200}\\s*$")]
    pub cloud: Option<String>,
    #[serde(default)]
    pub remote_console: Option<bool>,
    #[serde(default)]
    pub quota: Option<QuotaSpec>,
    #[serde(default)]
    #[schema(minimum = 0)]
    pub subscriptions: Option<i64>,
}

/// The inventory document of SPEC §3 (`PUT /api/v1/inventory`, `stampbook-server apply`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct InventoryDocument {
    /// The stamps (null or left out: none).
    #[serde(default, deserialize_with = "null_as_empty")]
    #[schema(value_type = Option<Vec<StampSpec>>)]
    pub stamps: Vec<StampSpec>,
    /// The plans (null or left out: none).
    #[serde(default, deserialize_with = "null_as_empty")]
    #[schema(value_type = Option<Vec<PlanSpec>>)]
    pub plans: Vec<PlanSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Network {
    pub name: String,
    pub role: String,
    pub cidr: String,
    pub gateway: Option<String>,
    pub required_prefixes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ScaleUnit {
    pub name: String,
    pub kind: String,
    pub rack: String,
    pub notes: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Quota {
    pub vms: i64,
    pub vcpus: i64,
    pub memory_gb: i64,
    pub storage_gb: i64,
}

/// A stamp as stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Stamp {
    pub name: String,
    pub display_name: String,
    pub region: String,
    pub location: String,
    pub purpose: String,
    pub vmm_server: Option<String>,
    pub spf_endpoint: Option<String>,
    pub rd_gateway_fqdn: Option<String>,
    pub report_interval_s: i32,
    pub thresholds: Thresholds,
    pub target_versions: BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

/// One stamp with its networks, scale units and health.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StampDetail {
    #[serde(flatten)]
    pub stamp: Stamp,
    pub networks: Vec<Network>,
    pub scale_units: Vec<ScaleUnit>,
    pub health: crate::health::StampHealth,
}

/// A plan as stored, with its stamp's health (what a WAP integration asks before selling it).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Plan {
    pub wap_plan_id: String,
    pub name: String,
    pub public: bool,
    pub stamp: String,
    pub cloud: String,
    pub remote_console: bool,
    pub quota: Quota,
    pub subscriptions: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub stamp_health: crate::health::StampHealth,
}

/// What applying an inventory document did.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ApplySummary {
    /// `kind/key` of every object created.
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub deleted: Vec<String>,
    pub unchanged: usize,
}

impl ApplySummary {
    pub fn changed(&self) -> bool {
        !(self.created.is_empty() && self.updated.is_empty() && self.deleted.is_empty())
    }
}
