//! Inventory in PostgreSQL: read stamps, networks, scale units and plans; write declarations so
//! that an unchanged one writes nothing, and every change leaves one audit row.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use sqlx::PgConnection;

use super::model::{ApplySummary, Quota, ScaleUnit, Stamp, Thresholds};
use super::validate::{NetworkDecl, PlanDecl, StampDecl};
use crate::audit::{self, Entry};
use crate::domain::StampName;
use crate::rules::queue;

#[derive(Debug, Clone)]
pub struct StampRow {
    pub id: i64,
    pub decl: StampDecl,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

impl StampRow {
    pub fn to_api(&self) -> Stamp {
        let d = &self.decl;
        Stamp {
            name: d.name.to_string(),
            display_name: d.display_name.clone(),
            region: d.region.clone(),
            location: d.location.clone(),
            purpose: d.purpose.clone(),
            vmm_server: d.vmm_server.clone(),
            spf_endpoint: d.spf_endpoint.clone(),
            rd_gateway_fqdn: d.rd_gateway_fqdn.clone(),
            report_interval_s: d.report_interval_s,
            thresholds: d.thresholds.clone(),
            target_versions: d.target_versions.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            retired_at: self.retired_at,
        }
    }
}

fn versions(v: serde_json::Value) -> BTreeMap<String, String> {
    serde_json::from_value(v).unwrap_or_default()
}

macro_rules! stamp_row {
    ($r:expr) => {{
        let r = $r;
        StampRow {
            id: r.id,
            decl: StampDecl {
                name: StampName::parse(&r.name).map_err(|m| sqlx::Error::Decode(m.into()))?,
                display_name: r.display_name,
                region: r.region,
                location: r.location,
                purpose: r.purpose,
                vmm_server: r.vmm_server,
                spf_endpoint: r.spf_endpoint,
                rd_gateway_fqdn: r.rd_gateway_fqdn,
                report_interval_s: r.report_interval_s,
                thresholds: Thresholds {
                    cert_warning_days: r.cert_warning_days,
                    cert_critical_days: r.cert_critical_days,
                    cpu_overcommit: r.cpu_overcommit,
                    memory_overcommit: r.memory_overcommit,
                    exhaustion_warning_days: r.exhaustion_warning_days,
                    exhaustion_critical_days: r.exhaustion_critical_days,
                },
                target_versions: versions(r.target_versions),
            },
            created_at: r.created_at,
            updated_at: r.updated_at,
            retired_at: r.retired_at,
        }
    }};
}

pub async fn fetch_stamp(
    conn: &mut PgConnection,
    name: &str,
) -> Result<Option<StampRow>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select id, name, display_name, region, location, purpose, vmm_server, spf_endpoint,
                  rd_gateway_fqdn, report_interval_s, cert_warning_days, cert_critical_days,
                  cpu_overcommit, memory_overcommit, exhaustion_warning_days, exhaustion_critical_days,
                  target_versions, created_at, updated_at, retired_at
           from stamps where name = $1"#,
        name
    )
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        Some(r) => Some(stamp_row!(r)),
        None => None,
    })
}

/// Stamps ordered by name, after `after` (a name), optionally including retired ones.
pub async fn list_stamps(
    conn: &mut PgConnection,
    region: Option<&str>,
    include_retired: bool,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<StampRow>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select id, name, display_name, region, location, purpose, vmm_server, spf_endpoint,
                  rd_gateway_fqdn, report_interval_s, cert_warning_days, cert_critical_days,
                  cpu_overcommit, memory_overcommit, exhaustion_warning_days, exhaustion_critical_days,
                  target_versions, created_at, updated_at, retired_at
           from stamps
           where ($1::text is null or region = $1)
             and ($2 or retired_at is null)
             and ($3::text is null or name > $3)
           order by name
           limit $4"#,
        region,
        include_retired,
        after,
        limit
    )
    .fetch_all(conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(stamp_row!(r));
    }
    Ok(out)
}

pub async fn fetch_networks(
    conn: &mut PgConnection,
    stamp_id: i64,
) -> Result<Vec<NetworkDecl>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select name, role, cidr as "cidr: IpNet", gateway as "gateway: IpNet",
                  required_prefixes as "required_prefixes: Vec<IpNet>"
           from networks where stamp_id = $1 order by name"#,
        stamp_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| NetworkDecl {
            name: r.name,
            role: r.role,
            cidr: r.cidr,
            gateway: r.gateway.map(|g| g.addr()),
            required_prefixes: r.required_prefixes,
        })
        .collect())
}

pub async fn fetch_scale_units(
    conn: &mut PgConnection,
    stamp_id: i64,
) -> Result<Vec<ScaleUnit>, sqlx::Error> {
    sqlx::query_as!(
        ScaleUnit,
        "select name, kind, rack, notes from scale_units where stamp_id = $1 order by name",
        stamp_id
    )
    .fetch_all(conn)
    .await
}

/// Creates or updates a stamp from its declaration; returns its id. Retirement is not touched.
pub async fn put_stamp(
    conn: &mut PgConnection,
    d: &StampDecl,
    actor: &str,
    summary: &mut ApplySummary,
) -> Result<i64, sqlx::Error> {
    let key = format!("stamp/{}", d.name);
    let existing = fetch_stamp(conn, d.name.as_str()).await?;
    let tv = serde_json::to_value(&d.target_versions).unwrap_or_default();
    let t = &d.thresholds;
    match existing {
        Some(row) if row.decl == *d => {
            summary.unchanged += 1;
            Ok(row.id)
        }
        Some(row) => {
            sqlx::query!(
                r#"update stamps set display_name = $2, region = $3, location = $4, purpose = $5,
                       vmm_server = $6, spf_endpoint = $7, rd_gateway_fqdn = $8, report_interval_s = $9,
                       cert_warning_days = $10, cert_critical_days = $11, cpu_overcommit = $12,
                       memory_overcommit = $13, target_versions = $14,
                       exhaustion_warning_days = $15, exhaustion_critical_days = $16
                   where id = $1"#,
                row.id, d.display_name, d.region, d.location, d.purpose, d.vmm_server, d.spf_endpoint,
                d.rd_gateway_fqdn, d.report_interval_s, t.cert_warning_days, t.cert_critical_days,
                t.cpu_overcommit, t.memory_overcommit, tv, t.exhaustion_warning_days,
                t.exhaustion_critical_days
            )
            .execute(&mut *conn)
            .await?;
            audit::record(
                conn,
                Entry {
                    actor,
                    action: "update",
                    entity: "stamp",
                    key: d.name.as_str(),
                    before: audit::json(&row.decl),
                    after: audit::json(d),
                },
            )
            .await?;
            queue::request_stamp(conn, row.id).await?;
            summary.updated.push(key);
            Ok(row.id)
        }
        None => {
            let id = sqlx::query_scalar!(
                r#"insert into stamps (name, display_name, region, location, purpose, vmm_server,
                       spf_endpoint, rd_gateway_fqdn, report_interval_s, cert_warning_days,
                       cert_critical_days, cpu_overcommit, memory_overcommit, target_versions,
                       exhaustion_warning_days, exhaustion_critical_days)
                   values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
                   returning id"#,
                d.name.as_str(),
                d.display_name,
                d.region,
                d.location,
                d.purpose,
                d.vmm_server,
                d.spf_endpoint,
                d.rd_gateway_fqdn,
                d.report_interval_s,
                t.cert_warning_days,
                t.cert_critical_days,
                t.cpu_overcommit,
                t.memory_overcommit,
                tv,
                t.exhaustion_warning_days,
                t.exhaustion_critical_days
            )
            .fetch_one(&mut *conn)
            .await?;
            audit::record(
                conn,
                Entry {
                    actor,
                    action: "create",
                    entity: "stamp",
                    key: d.name.as_str(),
                    before: None,
                    after: audit::json(d),
                },
            )
            .await?;
            queue::request_stamp(conn, id).await?;
            summary.created.push(key);
            Ok(id)
        }
    }
}

/// Sets whether a stamp is retired; answers whether anything changed.
pub async fn set_retired(
    conn: &mut PgConnection,
    row: &StampRow,
    retired: bool,
    actor: &str,
) -> Result<bool, sqlx::Error> {
    if row.retired_at.is_some() == retired {
        return Ok(false);
    }
    sqlx::query!(
        "update stamps set retired_at = case when $2 then now() else null end where id = $1",
        row.id,
        retired
    )
    .execute(&mut *conn)
    .await?;
    audit::record(
        conn,
        Entry {
            actor,
            action: if retired { "retire" } else { "unretire" },
            entity: "stamp",
            key: row.decl.name.as_str(),
            before: Some(serde_json::json!({"retired_at": row.retired_at})),
            after: Some(serde_json::json!({"retired": retired})),
        },
    )
    .await?;
    queue::request_stamp(conn, row.id).await?;
    Ok(true)
}

fn host_net(ip: IpAddr) -> IpNet {
    IpNet::from(ip)
}

pub async fn insert_network(
    conn: &mut PgConnection,
    stamp_id: i64,
    n: &NetworkDecl,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"insert into networks (stamp_id, name, role, cidr, gateway, required_prefixes)
           values ($1, $2, $3, $4, $5, $6)"#,
        stamp_id,
        n.name,
        n.role,
        n.cidr,
        n.gateway.map(host_net),
        &n.required_prefixes
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Makes a stamp's networks exactly `desired`.
pub async fn sync_networks(
    conn: &mut PgConnection,
    stamp_id: i64,
    stamp: &str,
    desired: &[NetworkDecl],
    actor: &str,
    summary: &mut ApplySummary,
) -> Result<(), sqlx::Error> {
    let current = fetch_networks(conn, stamp_id).await?;
    let mut changed = false;
    for c in current
        .iter()
        .filter(|c| !desired.iter().any(|d| d.name == c.name))
    {
        sqlx::query!(
            "delete from networks where stamp_id = $1 and name = $2",
            stamp_id,
            c.name
        )
        .execute(&mut *conn)
        .await?;
        let key = format!("{stamp}/{}", c.name);
        audit::record(
            conn,
            Entry {
                actor,
                action: "delete",
                entity: "network",
                key: &key,
                before: audit::json(&c.to_api()),
                after: None,
            },
        )
        .await?;
        summary.deleted.push(format!("network/{key}"));
        changed = true;
    }
    for d in desired {
        let key = format!("{stamp}/{}", d.name);
        match current.iter().find(|c| c.name == d.name) {
            Some(c) if c == d => summary.unchanged += 1,
            Some(c) => {
                sqlx::query!(
                    r#"update networks set role = $3, cidr = $4, gateway = $5, required_prefixes = $6
                       where stamp_id = $1 and name = $2"#,
                    stamp_id, d.name, d.role, d.cidr, d.gateway.map(host_net), &d.required_prefixes
                )
                .execute(&mut *conn)
                .await?;
                audit::record(
                    conn,
                    Entry {
                        actor,
                        action: "update",
                        entity: "network",
                        key: &key,
                        before: audit::json(&c.to_api()),
                        after: audit::json(&d.to_api()),
                    },
                )
                .await?;
                summary.updated.push(format!("network/{key}"));
                changed = true;
            }
            None => {
                insert_network(conn, stamp_id, d).await?;
                audit::record(
                    conn,
                    Entry {
                        actor,
                        action: "create",
                        entity: "network",
                        key: &key,
                        before: None,
                        after: audit::json(&d.to_api()),
                    },
                )
                .await?;
                summary.created.push(format!("network/{key}"));
                changed = true;
            }
        }
    }
    if changed {
        queue::request_stamp(conn, stamp_id).await?;
    }
    Ok(())
}

pub async fn insert_scale_unit(
    conn: &mut PgConnection,
    stamp_id: i64,
    s: &ScaleUnit,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into scale_units (stamp_id, name, kind, rack, notes) values ($1, $2, $3, $4, $5)",
        stamp_id,
        s.name,
        s.kind,
        s.rack,
        s.notes
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Makes a stamp's scale units exactly `desired`.
pub async fn sync_scale_units(
    conn: &mut PgConnection,
    stamp_id: i64,
    stamp: &str,
    desired: &[ScaleUnit],
    actor: &str,
    summary: &mut ApplySummary,
) -> Result<(), sqlx::Error> {
    let current = fetch_scale_units(conn, stamp_id).await?;
    for c in current
        .iter()
        .filter(|c| !desired.iter().any(|d| d.name == c.name))
    {
        sqlx::query!(
            "delete from scale_units where stamp_id = $1 and name = $2",
            stamp_id,
            c.name
        )
        .execute(&mut *conn)
        .await?;
        let key = format!("{stamp}/{}", c.name);
        audit::record(
            conn,
            Entry {
                actor,
                action: "delete",
                entity: "scale_unit",
                key: &key,
                before: audit::json(c),
                after: None,
            },
        )
        .await?;
        summary.deleted.push(format!("scale_unit/{key}"));
    }
    for d in desired {
        let key = format!("{stamp}/{}", d.name);
        match current.iter().find(|c| c.name == d.name) {
            Some(c) if c == d => summary.unchanged += 1,
            Some(c) => {
                sqlx::query!(
                    "update scale_units set kind = $3, rack = $4, notes = $5 where stamp_id = $1 and name = $2",
                    stamp_id, d.name, d.kind, d.rack, d.notes
                )
                .execute(&mut *conn)
                .await?;
                audit::record(
                    conn,
                    Entry {
                        actor,
                        action: "update",
                        entity: "scale_unit",
                        key: &key,
                        before: audit::json(c),
                        after: audit::json(d),
                    },
                )
                .await?;
                summary.updated.push(format!("scale_unit/{key}"));
            }
            None => {
                insert_scale_unit(conn, stamp_id, d).await?;
                audit::record(
                    conn,
                    Entry {
                        actor,
                        action: "create",
                        entity: "scale_unit",
                        key: &key,
                        before: None,
                        after: audit::json(d),
                    },
                )
                .await?;
                summary.created.push(format!("scale_unit/{key}"));
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct PlanRow {
    pub id: i64,
    pub stamp_id: i64,
    pub decl: PlanDecl,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

macro_rules! plan_row {
    ($r:expr) => {{
        let r = $r;
        PlanRow {
            id: r.id,
            stamp_id: r.stamp_id,
            decl: PlanDecl {
                wap_plan_id: r.wap_plan_id,
                name: r.name,
                public: r.public,
                stamp: StampName::parse(&r.stamp).map_err(|m| sqlx::Error::Decode(m.into()))?,
                cloud: r.cloud,
                remote_console: r.remote_console,
                quota: Quota {
                    vms: r.quota_vms,
                    vcpus: r.quota_vcpus,
                    memory_gb: r.quota_memory_gb,
                    storage_gb: r.quota_storage_gb,
                },
                subscriptions: r.subscriptions,
            },
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }};
}

pub async fn fetch_plan(
    conn: &mut PgConnection,
    wap_plan_id: &str,
) -> Result<Option<PlanRow>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select p.id, p.stamp_id, p.wap_plan_id, p.name, p.public, s.name as stamp, p.cloud,
                  p.remote_console, p.quota_vms, p.quota_vcpus, p.quota_memory_gb, p.quota_storage_gb,
                  p.subscriptions, p.created_at, p.updated_at
           from plans p join stamps s on s.id = p.stamp_id
           where p.wap_plan_id = $1"#,
        wap_plan_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        Some(r) => Some(plan_row!(r)),
        None => None,
    })
}

/// A page of plans, and which of their stamps' WAP servers ever reported plans (elsewhere a
/// plan's absence from WAP is unknown).
pub struct PlansPage {
    pub rows: Vec<PlanRow>,
    pub wap_collected: BTreeSet<i64>,
}

pub async fn list_plans(
    conn: &mut PgConnection,
    stamp: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<PlansPage, sqlx::Error> {
    // one statement per index: the stamp's (stamp_id, wap_plan_id), or the wap_plan_id key
    let mut out = Vec::new();
    let mut wap_collected = BTreeSet::new();
    match stamp {
        Some(stamp) => {
            for r in sqlx::query_file!(
                "src/inventory/sql/plans_of_stamp_page.sql",
                stamp,
                after,
                limit
            )
            .fetch_all(conn)
            .await?
            {
                if r.wap_collected {
                    wap_collected.insert(r.stamp_id);
                }
                out.push(plan_row!(r));
            }
        }
        None => {
            for r in sqlx::query_file!("src/inventory/sql/plans_page.sql", after, limit)
                .fetch_all(conn)
                .await?
            {
                if r.wap_collected {
                    wap_collected.insert(r.stamp_id);
                }
                out.push(plan_row!(r));
            }
        }
    }
    Ok(PlansPage {
        rows: out,
        wap_collected,
    })
}

/// The plan list's statements (exposed for the plan checks): the fleet's, and one stamp's.
pub const PLANS_PAGE: &str = include_str!("sql/plans_page.sql");
pub const PLANS_OF_STAMP_PAGE: &str = include_str!("sql/plans_of_stamp_page.sql");

/// Creates or updates a plan; `stamp_id` is the id of `d.stamp`, already resolved.
pub async fn put_plan(
    conn: &mut PgConnection,
    d: &PlanDecl,
    stamp_id: i64,
    actor: &str,
    summary: &mut ApplySummary,
) -> Result<i64, sqlx::Error> {
    let key = format!("plan/{}", d.wap_plan_id);
    let existing = fetch_plan(conn, &d.wap_plan_id).await?;
    let q = &d.quota;
    match existing {
        Some(row) if row.decl == *d => {
            summary.unchanged += 1;
            Ok(row.id)
        }
        Some(row) => {
            sqlx::query!(
                r#"update plans set name = $2, public = $3, stamp_id = $4, cloud = $5, remote_console = $6,
                       quota_vms = $7, quota_vcpus = $8, quota_memory_gb = $9, quota_storage_gb = $10,
                       subscriptions = $11
                   where id = $1"#,
                row.id, d.name, d.public, stamp_id, d.cloud, d.remote_console, q.vms, q.vcpus,
                q.memory_gb, q.storage_gb, d.subscriptions
            )
            .execute(&mut *conn)
            .await?;
            audit::record(
                conn,
                Entry {
                    actor,
                    action: "update",
                    entity: "plan",
                    key: &d.wap_plan_id,
                    before: audit::json(&row.decl),
                    after: audit::json(d),
                },
            )
            .await?;
            queue::request_stamp(conn, row.stamp_id).await?;
            queue::request_stamp(conn, stamp_id).await?;
            queue_wap_reporters(conn, &d.wap_plan_id).await?;
            summary.updated.push(key);
            Ok(row.id)
        }
        None => {
            let id = sqlx::query_scalar!(
                r#"insert into plans (wap_plan_id, name, public, stamp_id, cloud, remote_console,
                       quota_vms, quota_vcpus, quota_memory_gb, quota_storage_gb, subscriptions)
                   values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning id"#,
                d.wap_plan_id,
                d.name,
                d.public,
                stamp_id,
                d.cloud,
                d.remote_console,
                q.vms,
                q.vcpus,
                q.memory_gb,
                q.storage_gb,
                d.subscriptions
            )
            .fetch_one(&mut *conn)
            .await?;
            audit::record(
                conn,
                Entry {
                    actor,
                    action: "create",
                    entity: "plan",
                    key: &d.wap_plan_id,
                    before: None,
                    after: audit::json(d),
                },
            )
            .await?;
            queue::request_stamp(conn, stamp_id).await?;
            queue_wap_reporters(conn, &d.wap_plan_id).await?;
            summary.created.push(key);
            Ok(id)
        }
    }
}

/// Deletes a plan (its open problems are resolved first by the caller, see
/// `rules::engine::resolve_plan_problems`) and asks for the evaluation of its stamp.
pub async fn delete_plan(
    conn: &mut PgConnection,
    row: &PlanRow,
    actor: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from plans where id = $1", row.id)
        .execute(&mut *conn)
        .await?;
    audit::record(
        conn,
        Entry {
            actor,
            action: "delete",
            entity: "plan",
            key: &row.decl.wap_plan_id,
            before: audit::json(&row.decl),
            after: None,
        },
    )
    .await?;
    queue::request_stamp(conn, row.stamp_id).await?;
    queue_wap_reporters(conn, &row.decl.wap_plan_id).await?;
    Ok(())
}

/// Asks for the evaluation of the stamps whose WAP servers report a plan id: declaring it
/// resolves their `plan.undeclared`, deleting it may open it again.
async fn queue_wap_reporters(
    conn: &mut PgConnection,
    wap_plan_id: &str,
) -> Result<(), sqlx::Error> {
    for stamp_id in crate::facts::wap::reporting_stamps(conn, wap_plan_id).await? {
        queue::request_stamp(conn, stamp_id).await?;
    }
    Ok(())
}
