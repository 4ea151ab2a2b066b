//! `GET /api/v1/capacity`: stamps side by side for capacity planners: physical cores, memory and
//! storage of the Hyper-V hosts, what VMs use, what plan quotas promise, ratios and headroom.
//! The figures are [`CapacitySummary::compute`]'s, the same the `capacity.overcommit` rule and
//! the dashboard use. JSON or CSV.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::csv::Csv;
use super::negotiate::Format;
use super::pagination::{self, PageParams};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::inventory::store::{self, StampRow};
use crate::rules::capacity::CapacitySummary;
use crate::rules::load;
use crate::state::AppState;

/// Stamps one request may name (long query strings meet the server's request-line limit).
const MAX_NAMED: usize = 50;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CapacityQuery {
    /// A stamp to compare; repeat it (`stamp=a&stamp=b`) for several, in the order wanted. Named
    /// stamps are answered even when retired; without any, every stamp not retired, by name,
    /// a page at a time. At most 50 (leave `stamp` out to get them all).
    #[param(style = Form, explode, max_items = 50)]
    pub stamp: Option<Vec<String>>,
    /// Stamps per page, 1 to 1000 (default 100); only without `stamp`.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl CapacityQuery {
    /// Parses a query string in which `stamp` may repeat (serde_urlencoded alone cannot).
    fn parse(query: &str) -> ApiResult<Self> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).map_err(|e| {
            ApiError::bad_request(
                "invalid_query",
                format!("the query string is not valid: {e}"),
            )
        })?;
        let mut q = CapacityQuery::default();
        for (key, value) in pairs {
            match key.as_str() {
                "stamp" => q.stamp.get_or_insert_with(Vec::new).push(value),
                "limit" => {
                    q.limit = Some(value.parse().map_err(|_| {
                        ApiError::bad_request("invalid_limit", "limit is a whole number")
                            .with_field("limit")
                    })?)
                }
                "cursor" => q.cursor = Some(value),
                _ => {}
            }
        }
        Ok(q)
    }
}

/// One stamp's capacity.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StampCapacity {
    pub stamp: String,
    pub display_name: String,
    pub region: String,
    pub retired: bool,
    #[serde(flatten)]
    pub capacity: CapacitySummary,
}

async fn of(conn: &mut sqlx::PgConnection, row: &StampRow) -> ApiResult<StampCapacity> {
    let name = row.decl.name.to_string();
    let ctx = load::stamp_context(conn, row.id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("stamp '{name}'")))?;
    let inputs = load::capacity(conn, row.id, None).await?;
    Ok(StampCapacity {
        display_name: row.decl.display_name.clone(),
        region: row.decl.region.clone(),
        retired: row.retired_at.is_some(),
        capacity: CapacitySummary::compute(&ctx, &inputs),
        stamp: name,
    })
}

#[utoipa::path(get, path = "/api/v1/capacity", tag = "capacity", params(CapacityQuery),
    responses((status = 404, description = "A `stamp` names no stamp (the message names it)", body = super::openapi::ErrorBody),
              (status = 200, description = "Per stamp: physical, used and allocated capacity, ratios and headroom; CSV with `Accept: text/csv`",
               content((super::openapi::CapacityPage = "application/json"), (String = "text/csv")),
               headers(("X-Next-Cursor" = String, description = "CSV only: the next page's cursor"), ("Link" = String, description = "CSV only: `<...>; rel=\"next\"`")))),
    extensions(("x-required-scope" = json!("read"))))]
pub async fn get(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    format: Format,
) -> ApiResult<HttpResponse> {
    who.require_read()?;
    let q = CapacityQuery::parse(req.query_string())?;
    let mut conn = state.reads.pool().acquire().await?;
    let page = match &q.stamp {
        Some(names) => {
            if names.len() > MAX_NAMED {
                return Err(ApiError::bad_request(
                    "too_many_stamps",
                    format!(
                        "name at most {MAX_NAMED} stamps; leave `stamp` out to page through all"
                    ),
                )
                .with_field("stamp"));
            }
            let mut rows: Vec<StampRow> = Vec::with_capacity(names.len());
            for name in names {
                if rows.iter().any(|r| r.decl.name.as_str() == name) {
                    continue;
                }
                let row = store::fetch_stamp(&mut conn, name).await?.ok_or_else(|| {
                    ApiError::not_found(format!("stamp '{name}'")).with_field("stamp")
                })?;
                rows.push(row);
            }
            let mut items = Vec::with_capacity(rows.len());
            for row in &rows {
                items.push(of(&mut conn, row).await?);
            }
            pagination::Page {
                items,
                next_cursor: None,
            }
        }
        None => {
            let params = PageParams {
                limit: q.limit,
                cursor: q.cursor.clone(),
            };
            let limit = params.limit()?;
            let rows = store::list_stamps(
                &mut conn,
                None,
                false,
                params.after()?.as_deref(),
                limit + 1,
            )
            .await?;
            let mut items = Vec::with_capacity(rows.len());
            for row in &rows {
                items.push(of(&mut conn, row).await?);
            }
            pagination::page(items, limit, |c| c.stamp.clone())
        }
    };
    Ok(match format {
        Format::Json => HttpResponse::Ok().json(&page),
        Format::Csv => csv(&page.items).respond(&req, page.next_cursor.as_deref()),
    })
}

pub const CSV_COLUMNS: [&str; 28] = [
    "stamp",
    "display_name",
    "region",
    "retired",
    "hyperv_hosts",
    "hosts_missing_cores",
    "hosts_missing_memory",
    "physical_cores",
    "physical_memory_gb",
    "physical_storage_gb",
    "used_vms",
    "used_vcpus",
    "used_memory_gb",
    "allocated_vms",
    "allocated_vcpus",
    "allocated_memory_gb",
    "allocated_storage_gb",
    "cpu_overcommit",
    "memory_overcommit",
    "vcpu_limit",
    "memory_limit_gb",
    "vcpu_ratio",
    "memory_ratio",
    "storage_ratio",
    "vcpu_used_ratio",
    "memory_used_ratio",
    "vcpu_headroom",
    "memory_headroom_gb",
];

fn csv(items: &[StampCapacity]) -> Csv {
    let mut out = Csv::new(&CSV_COLUMNS);
    for i in items {
        let c = &i.capacity;
        out.row(&[
            &i.stamp,
            &i.display_name,
            &i.region,
            &i.retired,
            &c.hyperv_hosts,
            &c.hosts_missing_cores,
            &c.hosts_missing_memory,
            &c.physical.cpus,
            &c.physical.memory_gb,
            &c.physical.storage_gb,
            &c.used.vms,
            &c.used.cpus,
            &c.used.memory_gb,
            &c.allocated.vms,
            &c.allocated.cpus,
            &c.allocated.memory_gb,
            &c.allocated.storage_gb,
            &c.cpu_overcommit,
            &c.memory_overcommit,
            &c.vcpu_limit,
            &c.memory_limit_gb,
            &c.vcpu_ratio,
            &c.memory_ratio,
            &c.storage_ratio,
            &c.vcpu_used_ratio,
            &c.memory_used_ratio,
            &c.vcpu_headroom,
            &c.memory_headroom_gb,
        ]);
    }
    out
}
