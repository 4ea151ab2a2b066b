//! `/capacity`: stamps side by side: Hyper-V capacity (physical × the stamp's overcommit), what
//! VMs use and what plans allocate, as bars on one scale; sortable by plain links; and
//! `/capacity.csv`, the same table for spreadsheets. Reads `stamp_status` and plans only.

pub mod read;
pub mod view;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::access::Ctx;
use super::error::WebError;
use super::page;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct CapacityQuery {
    pub sort: Option<String>,
    pub dir: Option<String>,
    pub wallboard: Option<String>,
    /// The resource the comparison chart shows (`vcpus`, `memory_gb`, `storage_gb`).
    pub resource: Option<String>,
}

/// The stamps named by `stamp=` (repeated) in a query string, in order, without repeats.
pub fn chosen_stamps(query: &str) -> Vec<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let mut out: Vec<String> = Vec::new();
    for (k, v) in pairs {
        let v = v.trim().to_owned();
        if k == "stamp" && !v.is_empty() && !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

pub async fn show(
    state: web::Data<AppState>,
    ctx: Ctx,
    req: HttpRequest,
    q: web::Query<CapacityQuery>,
) -> Result<HttpResponse, WebError> {
    let sort = q
        .sort
        .as_deref()
        .filter(|s| view::SORTS.iter().any(|(k, _)| k == s))
        .unwrap_or("name");
    let ascending = match q.dir.as_deref() {
        Some("asc") => true,
        Some("desc") => false,
        _ => sort == "name",
    };
    let chosen = chosen_stamps(req.query_string());
    let data = read::capacity_page(crate::web::reads::pool(&state, &ctx), chosen, ctx.now).await?;
    let resource = q.resource.as_deref();
    page::render(&view::capacity_page(&ctx, data, sort, ascending, resource))
}

/// A CSV field: quoted when needed, and never read as a formula by a spreadsheet.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

pub async fn csv(state: web::Data<AppState>, ctx: Ctx) -> Result<HttpResponse, WebError> {
    let mut out = String::from(
        "stamp,display_name,physical_cores,cpu_overcommit,vcpu_capacity,used_vcpus,allocated_vcpus,\
         physical_memory_gib,memory_overcommit,memory_capacity_gib,used_memory_gib,allocated_memory_gib,\
         physical_storage_gb,allocated_storage_gb,used_vms,allocated_vms,plans\r\n",
    );
    for c in read::caps(crate::web::reads::pool(&state, &ctx)).await? {
        out.push_str(&format!(
            "{},{},{},{},{:.0},{:.0},{:.0},{:.1},{},{:.1},{:.1},{:.0},{:.0},{:.0},{},{},{}\r\n",
            csv_field(&c.name),
            csv_field(&c.display_name),
            c.physical_cores,
            c.cpu_overcommit,
            c.vcpu_capacity,
            c.used_vcpus,
            c.alloc_vcpus,
            c.physical_memory_gib,
            c.memory_overcommit,
            c.memory_capacity,
            c.used_memory,
            c.alloc_memory,
            c.physical_storage_gb,
            c.alloc_storage_gb,
            c.used_vms,
            c.alloc_vms,
            c.plans
        ));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"stampbook-capacity.csv\"",
        ))
        .body(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("ams-01"), "ams-01");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
    }
}
