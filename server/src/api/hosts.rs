//! `/api/v1/hosts` and `/api/v1/certificates`: what hosts reported, current and past.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::csv::Csv;
use super::negotiate::Format;
use super::pagination::{self, PageParams};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::facts::read::{self, HostDetail, HostSummary};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HostQuery {
    /// Only hosts of this stamp.
    pub stamp: Option<String>,
    /// Only hosts with this role (hyperv_host, nvgre_gateway, rd_gateway, vmm_server, ...).
    pub role: Option<String>,
    /// true: only hosts whose newest report is older than 3 × the stamp's report interval.
    pub stale: Option<bool>,
    /// Part of the host name.
    pub q: Option<String>,
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/hosts", tag = "hosts", params(HostQuery),
    responses((status = 200, description = "A page of hosts by FQDN; CSV with `Accept: text/csv`",
               content((super::openapi::HostPage = "application/json"), (String = "text/csv")),
               headers(("X-Next-Cursor" = String, description = "CSV only: the next page's cursor"), ("Link" = String, description = "CSV only: `<...>; rel=\"next\"`")))),
    extensions(("x-required-scope" = json!("read"))))]
pub async fn list(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<HostQuery>,
    req: HttpRequest,
    format: Format,
) -> ApiResult<HttpResponse> {
    who.require_read()?;
    let page = PageParams {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let limit = page.limit()?;
    if let Some(r) = &q.role
        && stampbook_wire::Role::parse(r).is_none()
    {
        return Err(
            ApiError::bad_request("invalid_role", format!("unknown role '{r}'")).with_field("role"),
        );
    }
    let filter = read::HostFilter {
        stamp: q.stamp.clone(),
        role: q.role.clone(),
        stale: q.stale,
        q: q.q.clone(),
        after: page.after()?,
    };
    let rows: Vec<HostSummary> = read::list_hosts(state.reads.lists(), &filter, limit + 1).await?;
    let page = pagination::page(rows, limit, |h| h.fqdn.clone());
    Ok(match format {
        Format::Json => HttpResponse::Ok().json(page),
        Format::Csv => hosts_csv(&page.items).respond(&req, page.next_cursor.as_deref()),
    })
}

fn hosts_csv(hosts: &[HostSummary]) -> Csv {
    let mut out = Csv::new(&[
        "fqdn",
        "stamp",
        "scale_unit",
        "roles",
        "os_name",
        "os_version",
        "cpu_cores",
        "memory_mb",
        "storage_gb",
        "vm_count",
        "vm_vcpus",
        "vm_memory_mb",
        "agent_version",
        "first_seen_at",
        "last_report_at",
        "last_collected_at",
        "stale",
        "open_problems",
    ]);
    for h in hosts {
        let v = &h.vitals;
        out.row(&[
            &h.fqdn,
            &h.stamp,
            &h.scale_unit,
            &h.roles,
            &h.os_name,
            &h.os_version,
            &v.cpu_cores,
            &v.memory_mb,
            &v.storage_gb,
            &v.vm_count,
            &v.vm_vcpus,
            &v.vm_memory_mb,
            &h.agent_version,
            &h.first_seen_at,
            &h.last_report_at,
            &h.last_collected_at,
            &h.stale,
            &h.open_problems,
        ]);
    }
    out
}

#[utoipa::path(get, path = "/api/v1/hosts/{fqdn}", tag = "hosts",
    params(("fqdn" = String, Path, description = "The host's FQDN (any case)")),
    responses((status = 200, description = "The host with all its current facts", body = HostDetail)),
    extensions(("x-required-scope" = json!("read"))))]
pub async fn get(
    state: web::Data<AppState>,
    who: Principal,
    fqdn: web::Path<String>,
) -> ApiResult<HttpResponse> {
    who.require_read()?;
    let detail: HostDetail = read::host_detail(state.reads.pool(), &fqdn)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("host '{fqdn}'")))?;
    Ok(HttpResponse::Ok().json(detail))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Only changes of this kind (host, vitals, certificate, route, interface, service, setting, component, wap_plan, report).
    pub kind: Option<String>,
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub id: i64,
    /// The collected_at of the report that showed the change.
    pub at: DateTime<Utc>,
    pub report_id: uuid::Uuid,
    pub kind: String,
    pub key: String,
    /// appeared, changed, disappeared (late: a report older than the stored facts, kept only here).
    pub change: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

#[utoipa::path(get, path = "/api/v1/hosts/{fqdn}/history", tag = "hosts",
    params(("fqdn" = String, Path, description = "The host's FQDN (any case)"), HistoryQuery),
    responses((status = 200, description = "What changed on the host, newest first", body = super::openapi::HistoryPage)),
    extensions(("x-required-scope" = json!("read"))))]
pub async fn history(
    state: web::Data<AppState>,
    who: Principal,
    fqdn: web::Path<String>,
    q: web::Query<HistoryQuery>,
) -> ApiResult<HttpResponse> {
    who.require_read()?;
    let db = state.reads.lists();
    let page = PageParams {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let limit = page.limit()?;
    let before = page.after_id()?;
    // one statement per index: the host's changes, or those of one kind (the host found by its
    // FQDN in the statement: one round trip for a page)
    let rows = match &q.kind {
        Some(kind) => {
            sqlx::query_file_as!(
                HistoryEntry,
                "src/facts/sql/history_of_kind_page.sql",
                fqdn.as_str(),
                kind,
                before,
                limit + 1
            )
            .fetch_all(db)
            .await?
        }
        None => {
            sqlx::query_file_as!(
                HistoryEntry,
                "src/facts/sql/history_page.sql",
                fqdn.as_str(),
                before,
                limit + 1
            )
            .fetch_all(db)
            .await?
        }
    };
    // an empty page: of a host without (more) changes, or of no host at all
    if rows.is_empty()
        && sqlx::query_scalar!(
            "select id from hosts where fqdn = $1::text::citext",
            fqdn.as_str()
        )
        .fetch_optional(db)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found(format!("host '{fqdn}'")));
    }
    Ok(HttpResponse::Ok().json(pagination::page(rows, limit, |r| r.id.to_string())))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CertificateQuery {
    pub stamp: Option<String>,
    /// Only certificates whose not_after is within this many days (negative: expired that long
    /// ago), -36500 to 36500.
    #[param(minimum = -36500, maximum = 36500)]
    pub expires_within_days: Option<i32>,
    /// Only this store (`LocalMachine\My`, `LocalMachine\Root`, `VMM`).
    pub store: Option<String>,
    /// Only certificates with a private key.
    pub has_private_key: Option<bool>,
    pub host: Option<String>,
    pub thumbprint: Option<String>,
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/certificates", tag = "hosts", params(CertificateQuery),
    responses((status = 200, description = "Certificates fleet-wide, soonest expiry first; CSV with `Accept: text/csv`",
               content((super::openapi::CertificatePage = "application/json"), (String = "text/csv")),
               headers(("X-Next-Cursor" = String, description = "CSV only: the next page's cursor"), ("Link" = String, description = "CSV only: `<...>; rel=\"next\"`")))),
    extensions(("x-required-scope" = json!("read"))))]
pub async fn certificates(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<CertificateQuery>,
    req: HttpRequest,
    format: Format,
) -> ApiResult<HttpResponse> {
    who.require_read()?;
    let page = PageParams {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let limit = page.limit()?;
    if q.expires_within_days
        .is_some_and(|d| !(-36500..=36500).contains(&d))
    {
        return Err(ApiError::bad_request(
            "invalid_expires_within_days",
            "expires_within_days is -36500 to 36500",
        )
        .with_field("expires_within_days"));
    }
    let thumbprint = match &q.thumbprint {
        Some(t) => Some(stampbook_wire::normalize_thumbprint(t).ok_or_else(|| {
            ApiError::bad_request("invalid_thumbprint", "a thumbprint is 40 hex digits")
                .with_field("thumbprint")
        })?),
        None => None,
    };
    let filter = read::CertFilter {
        stamp: q.stamp.clone(),
        within_days: q.expires_within_days,
        store: q.store.clone(),
        has_private_key: q.has_private_key,
        host: q.host.clone(),
        thumbprint,
        after: page
            .after()?
            .map(|c| read::CertCursor::decode(&c))
            .transpose()?,
    };
    let rows = read::list_certificates(state.reads.lists(), &filter, limit + 1).await?;
    let page = pagination::page(rows, limit, |c| c.cursor().encode());
    Ok(match format {
        Format::Json => HttpResponse::Ok().json(page),
        Format::Csv => certificates_csv(&page.items).respond(&req, page.next_cursor.as_deref()),
    })
}

fn certificates_csv(certs: &[read::CertificateRow]) -> Csv {
    let mut out = Csv::new(&[
        "thumbprint",
        "subject",
        "subject_cn",
        "issuer",
        "not_after",
        "days_left",
        "signature_algorithm",
        "key_algorithm",
        "key_bits",
        "self_signed",
        "store",
        "has_private_key",
        "host",
        "stamp",
    ]);
    for c in certs {
        out.row(&[
            &c.thumbprint,
            &c.subject,
            &c.subject_cn,
            &c.issuer,
            &c.not_after,
            &c.days_left,
            &c.signature_algorithm,
            &c.key_algorithm,
            &c.key_bits,
            &c.self_signed,
            &c.store,
            &c.has_private_key,
            &c.host,
            &c.stamp,
        ]);
    }
    out
}
