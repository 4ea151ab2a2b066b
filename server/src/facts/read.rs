//! Reading hosts and their facts back, for the API and the dashboard.

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;

use crate::error::ApiError;

#[derive(Debug, Default)]
pub struct HostFilter {
    pub stamp: Option<String>,
    pub role: Option<String>,
    pub stale: Option<bool>,
    pub q: Option<String>,
    /// fqdn after which the page starts.
    pub after: Option<String>,
}

/// A host's stored vitals (`HostVitals` in the OpenAPI document: the report's own `Vitals`
/// keeps its name and its bounds).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = HostVitals)]
pub struct Vitals {
    pub cpu_cores: Option<i32>,
    pub memory_mb: Option<i64>,
    pub storage_gb: Option<i64>,
    pub vm_count: Option<i32>,
    pub vm_vcpus: Option<i32>,
    pub vm_memory_mb: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HostSummary {
    pub fqdn: String,
    pub stamp: String,
    pub scale_unit: Option<String>,
    pub roles: Vec<String>,
    pub os_name: Option<String>,
    pub os_version: Option<String>,
    pub vitals: Vitals,
    pub agent_version: Option<String>,
    pub first_seen_at: DateTime<Utc>,
    /// When the newest report was received.
    pub last_report_at: DateTime<Utc>,
    /// Its collected_at, clamped to when it was received.
    pub last_collected_at: DateTime<Utc>,
    /// The newest report is older than 3 × the stamp's report interval.
    pub stale: bool,
    pub open_problems: i64,
}

pub use super::list::{host_summary, like, list_certificates, list_hosts};

/// A certificate in one store of one host, with its parsed fields.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HostCertificate {
    pub store: String,
    pub thumbprint: String,
    pub subject: String,
    pub subject_cn: Option<String>,
    pub issuer: String,
    pub serial: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// Whole days until not_after (negative once expired).
    pub days_left: i64,
    pub signature_algorithm: String,
    pub signature_hash: Option<String>,
    pub key_algorithm: String,
    pub key_bits: Option<i32>,
    /// null: no Key Usage extension.
    pub key_usage: Option<Vec<String>>,
    /// null: no Extended Key Usage extension.
    pub eku: Option<Vec<String>>,
    pub san_dns: Vec<String>,
    pub self_signed: bool,
    pub has_private_key: bool,
    pub provider: Option<String>,
    pub added_at: Option<DateTime<Utc>>,
    pub first_seen_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RouteOut {
    pub destination: String,
    /// null: on-link.
    pub next_hop: Option<String>,
    pub interface: Option<String>,
    pub metric: i32,
    pub persistent: bool,
    /// The default route with the lowest metric (all of them when several tie).
    pub effective_default: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InterfaceOut {
    pub name: String,
    pub addresses: Vec<String>,
    pub gateway: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ServiceOut {
    pub name: String,
    pub state: String,
    pub started_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ComponentOut {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HostDetail {
    #[serde(flatten)]
    pub host: HostSummary,
    pub certificates: Vec<HostCertificate>,
    pub routes: Vec<RouteOut>,
    pub interfaces: Vec<InterfaceOut>,
    pub services: Vec<ServiceOut>,
    /// Role settings as reported: vmm, hyperv_terminal_service, rd_gateway.
    pub settings: Value,
    pub components: Vec<ComponentOut>,
    /// What the newest report said of its own collection: failed sections, dropped reports.
    #[serde(flatten)]
    pub collection: super::blind::CollectionState,
}

pub fn days_left(not_after: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (not_after - now).num_seconds().div_euclid(86_400)
}

/// Marks the default routes (per address family) with the lowest metric.
pub fn mark_effective_default(routes: &mut [RouteOut]) {
    let all = routes.to_vec();
    mark_effective_default_among(routes, &all);
}

/// Marks the default routes of `routes` whose metric is the lowest of the family's default
/// routes in `all` (a page of routes judged against every route of the host).
pub fn mark_effective_default_among(routes: &mut [RouteOut], all: &[RouteOut]) {
    for v4 in [true, false] {
        let is_default = |r: &RouteOut| r.destination == if v4 { "0.0.0.0/0" } else { "::/0" };
        let best = all.iter().filter(|r| is_default(r)).map(|r| r.metric).min();
        if let Some(best) = best {
            for r in routes
                .iter_mut()
                .filter(|r| is_default(r) && r.metric == best)
            {
                r.effective_default = true;
            }
        }
    }
}

/// A window onto one of a host's fact tables: `limit` rows from `offset` (no limit: all).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub offset: i64,
    pub limit: Option<i64>,
}

impl Window {
    /// At most `limit` rows from `offset` (a negative offset counts as 0).
    pub fn page(offset: i64, limit: i64) -> Window {
        Window {
            offset: offset.max(0),
            limit: Some(limit),
        }
    }
}

/// The windows a host's detail is read through, one per table.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostWindows {
    pub certificates: Window,
    pub routes: Window,
    pub interfaces: Window,
    pub services: Window,
    pub components: Window,
}

/// How many rows each of a host's fact tables holds in all.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostTotals {
    pub certificates: i64,
    pub routes: i64,
    pub interfaces: i64,
    pub services: i64,
    pub components: i64,
}

/// The whole of a host's facts (the API answer).
pub async fn host_detail(pool: &PgPool, fqdn: &str) -> Result<Option<HostDetail>, ApiError> {
    Ok(host_detail_window(pool, fqdn, &HostWindows::default())
        .await?
        .map(|(detail, _)| detail))
}

/// A host's facts, each table read through its window, with every table's full count (the
/// dashboard's host page shows a bounded number of rows of each).
pub async fn host_detail_window(
    pool: &PgPool,
    fqdn: &str,
    w: &HostWindows,
) -> Result<Option<(HostDetail, HostTotals)>, ApiError> {
    let Some(id) = sqlx::query_scalar!("select id from hosts where fqdn = $1::text::citext", fqdn)
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    let Some(host) = host_summary(pool, fqdn).await? else {
        return Ok(None);
    };
    let now = Utc::now();
    let certificates = sqlx::query!(
        r#"select hc.store, c.thumbprint, c.subject, c.subject_cn, c.issuer, c.serial, c.not_before, c.not_after,
                  c.signature_algorithm, c.signature_hash, c.key_algorithm, c.key_bits, c.key_usage, c.eku, c.san_dns,
                  c.self_signed, hc.has_private_key, hc.provider, hc.added_at, hc.first_seen_at
           from host_certificates hc join certificates c using (thumbprint)
           where hc.host_id = $1 order by hc.store, c.not_after, c.thumbprint
           limit $2 offset $3"#,
        id,
        w.certificates.limit,
        w.certificates.offset
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| HostCertificate {
        days_left: days_left(r.not_after, now),
        store: r.store,
        thumbprint: r.thumbprint,
        subject: r.subject,
        subject_cn: r.subject_cn,
        issuer: r.issuer,
        serial: r.serial,
        not_before: r.not_before,
        not_after: r.not_after,
        signature_algorithm: r.signature_algorithm,
        signature_hash: r.signature_hash,
        key_algorithm: r.key_algorithm,
        key_bits: r.key_bits,
        key_usage: r.key_usage,
        eku: r.eku,
        san_dns: r.san_dns,
        self_signed: r.self_signed,
        has_private_key: r.has_private_key,
        provider: r.provider,
        added_at: r.added_at,
        first_seen_at: r.first_seen_at,
    })
    .collect();
    let mut routes: Vec<RouteOut> = sqlx::query!(
        r#"select destination as "destination: IpNet", next_hop as "next_hop: IpNet", interface, metric, persistent
           from host_routes where host_id = $1 order by position limit $2 offset $3"#,
        id,
        w.routes.limit,
        w.routes.offset
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| RouteOut {
        destination: r.destination.to_string(),
        next_hop: r.next_hop.map(|h| h.addr().to_string()),
        interface: r.interface,
        metric: r.metric,
        persistent: r.persistent,
        effective_default: false,
    })
    .collect();
    // the effective default is judged over all the host's default routes, not the window's
    let defaults: Vec<RouteOut> = sqlx::query!(
        r#"select destination as "destination: IpNet", metric from host_routes
           where host_id = $1 and masklen(destination) = 0"#,
        id
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| RouteOut {
        destination: r.destination.to_string(),
        next_hop: None,
        interface: None,
        metric: r.metric,
        persistent: false,
        effective_default: false,
    })
    .collect();
    mark_effective_default_among(&mut routes, &defaults);
    let interfaces = sqlx::query!(
        r#"select name, addresses as "addresses: Vec<IpNet>", gateway as "gateway: IpNet" from host_interfaces where host_id = $1 order by name limit $2 offset $3"#,
        id,
        w.interfaces.limit,
        w.interfaces.offset
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| InterfaceOut {
        name: r.name,
        addresses: r.addresses.iter().map(|a| a.to_string()).collect(),
        gateway: r.gateway.map(|g| g.addr().to_string()),
    })
    .collect();
    let services = sqlx::query_as!(
        ServiceOut,
        r#"select name::text as "name!", state, started_at from host_services where host_id = $1 order by name limit $2 offset $3"#,
        id,
        w.services.limit,
        w.services.offset
    )
    .fetch_all(pool)
    .await?;
    let settings = sqlx::query!("select vmm, hyperv_terminal_service, rd_gateway from host_settings where host_id = $1", id)
        .fetch_optional(pool)
        .await?
        .map(|s| serde_json::json!({"vmm": s.vmm, "hyperv_terminal_service": s.hyperv_terminal_service, "rd_gateway": s.rd_gateway}))
        .unwrap_or_else(|| serde_json::json!({}));
    let components = sqlx::query!(
        "select name, version from host_components where host_id = $1 order by name limit $2 offset $3",
        id,
        w.components.limit,
        w.components.offset
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| ComponentOut {
        name: r.name,
        version: r.version,
    })
    .collect();
    let collection = super::blind::of_host(pool, id).await?;
    let totals = sqlx::query!(
        r#"select (select count(*) from host_certificates where host_id = $1) as "certificates!",
                  (select count(*) from host_routes where host_id = $1) as "routes!",
                  (select count(*) from host_interfaces where host_id = $1) as "interfaces!",
                  (select count(*) from host_services where host_id = $1) as "services!",
                  (select count(*) from host_components where host_id = $1) as "components!""#,
        id
    )
    .fetch_one(pool)
    .await?;
    let totals = HostTotals {
        certificates: totals.certificates,
        routes: totals.routes,
        interfaces: totals.interfaces,
        services: totals.services,
        components: totals.components,
    };
    let detail = HostDetail {
        host,
        certificates,
        routes,
        interfaces,
        services,
        settings,
        components,
        collection,
    };
    Ok(Some((detail, totals)))
}

#[derive(Debug, Default, Clone)]
pub struct CertFilter {
    pub stamp: Option<String>,
    pub within_days: Option<i32>,
    pub store: Option<String>,
    pub has_private_key: Option<bool>,
    pub host: Option<String>,
    pub thumbprint: Option<String>,
    pub after: Option<CertCursor>,
}

/// Position in the fleet-wide certificate list: (not_after, thumbprint, host, store).
#[derive(Debug, Clone)]
pub struct CertCursor {
    pub not_after: DateTime<Utc>,
    pub thumbprint: String,
    pub host: String,
    pub store: String,
}

impl CertCursor {
    pub fn encode(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.not_after.to_rfc3339(),
            self.thumbprint,
            self.host,
            self.store
        )
    }

    pub fn decode(s: &str) -> Result<CertCursor, ApiError> {
        let bad = || {
            ApiError::bad_request(
                "invalid_cursor",
                "the cursor is not one this server gave out",
            )
            .with_field("cursor")
        };
        let mut parts = s.splitn(4, '|');
        let t = parts.next().ok_or_else(bad)?;
        Ok(CertCursor {
            not_after: DateTime::parse_from_rfc3339(t)
                .map_err(|_| bad())?
                .with_timezone(&Utc),
            thumbprint: parts.next().ok_or_else(bad)?.to_owned(),
            host: parts.next().ok_or_else(bad)?.to_owned(),
            store: parts.next().ok_or_else(bad)?.to_owned(),
        })
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CertificateRow {
    pub thumbprint: String,
    pub subject: String,
    pub subject_cn: Option<String>,
    pub issuer: String,
    pub not_after: DateTime<Utc>,
    pub days_left: i64,
    pub signature_algorithm: String,
    pub key_algorithm: String,
    pub key_bits: Option<i32>,
    pub self_signed: bool,
    pub store: String,
    pub has_private_key: bool,
    pub host: String,
    pub stamp: String,
}

impl CertificateRow {
    pub fn cursor(&self) -> CertCursor {
        CertCursor {
            not_after: self.not_after,
            thumbprint: self.thumbprint.clone(),
            host: self.host.clone(),
            store: self.store.clone(),
        }
    }
}
