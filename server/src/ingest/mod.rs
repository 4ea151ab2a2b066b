//! Reports in (SPEC §4): authorise, deduplicate by `report_id`, quarantine what belongs to no
//! stamp, then store in one transaction — an identical report only touches the host row, a late
//! one only history, a changed one the fact sections that changed — and ask for rule evaluation.

pub mod bounds;
pub mod limits;
pub mod nul;
pub mod ownership;
pub mod parse;
pub mod quarantine;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use stampbook_wire::{Part, Report, SCHEMA_V1};
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::facts::blind;
use crate::facts::history::{self, Change};
use crate::facts::store as facts;
use crate::rules::queue;
use crate::startup::AppState;
use parse::{HostIn, ParsedReport};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Accepted {
    pub report_id: Uuid,
    /// The host the report is about (lower-case FQDN).
    pub host: String,
    /// The report id was seen before; nothing was written.
    pub duplicate: bool,
    /// `stored` (facts changed), `unchanged` (identical facts), `late` (older than what is
    /// stored: kept in history only) or `duplicate`.
    pub outcome: &'static str,
    /// How many facts changed.
    pub changes: usize,
    /// What the server set aside without refusing the report (role values it does not know).
    pub warnings: Vec<String>,
}

/// What identifies a report's facts: everything but its id, time and agent. The collection errors
/// count (a section that starts or stops failing is news), but only when sent, so that reports of
/// agents that never send them keep the digest they had.
pub fn digest(r: &Report) -> Vec<u8> {
    let facts = (
        &r.host,
        &r.certificates,
        &r.interfaces,
        &r.routes,
        &r.services,
        &r.settings,
    );
    // the WAP plans likewise, only when sent
    let bytes = match (&r.collection_errors, &r.wap) {
        (None, None) => serde_json::to_vec(&facts),
        (Some(errors), None) => serde_json::to_vec(&(facts, errors)),
        (errors, Some(wap)) => serde_json::to_vec(&(facts, errors, wap)),
    }
    .unwrap_or_default();
    Sha256::digest(&bytes).to_vec()
}

/// What the answer tells the sender about what was set aside.
fn warnings(report: &Report) -> Vec<String> {
    report
        .host
        .unknown_roles
        .iter()
        .map(|r| {
            format!(
                "host.roles: '{}' is not a role this server knows; it was ignored",
                r.chars().take(100).collect::<String>()
            )
        })
        .collect()
}

/// The newest report's `agent.spool_dropped`, as the host row keeps it.
fn spool_dropped(report: &Report) -> Option<i64> {
    let n = report.agent.as_ref()?.spool_dropped?;
    Some(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The newest report's `agent.spool_rejected` (reports its agent moved to `rejected/`).
fn spool_rejected(report: &Report) -> Option<i64> {
    let n = report.agent.as_ref()?.spool_rejected?;
    Some(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Ingests one report (already parsed from JSON) for `who`; names what was set aside in
/// `warnings` and counts the reports its agent says it dropped.
pub async fn ingest(
    state: &AppState,
    who: &Principal,
    report: &Report,
) -> Result<Accepted, ApiError> {
    let mut accepted = ingest_report(state, who, report).await?;
    if !accepted.duplicate {
        state
            .metrics
            .spool_dropped(spool_dropped(report).unwrap_or(0));
        state
            .metrics
            .spool_rejected(spool_rejected(report).unwrap_or(0));
    }
    accepted.warnings = warnings(report);
    Ok(accepted)
}

#[tracing::instrument(name = "ingest", skip_all, fields(report_id = %report.report_id, host = %report.host.fqdn, stamp = %report.host.stamp, outcome))]
async fn ingest_report(
    state: &AppState,
    who: &Principal,
    report: &Report,
) -> Result<Accepted, ApiError> {
    if report.schema != SCHEMA_V1 {
        return Err(ApiError::invalid(
            "unsupported_schema",
            format!(
                "schema '{}' is not supported; send '{SCHEMA_V1}'",
                report.schema
            ),
            "schema",
        ));
    }
    bounds::check(report)?;
    let host = parse::host(report)?;
    who.require_collector_for(host.stamp.as_str())?;

    // identical facts (the common case): one statement, and done
    let digest = digest(report);
    if let Some(accepted) = unchanged(state, report, &host, &digest).await? {
        tracing::Span::current().record("outcome", accepted.outcome);
        return Ok(accepted);
    }

    // one round trip tells duplicate and stamp
    let seen = sqlx::query!(
        r#"select (select h.fqdn::text from reports r join hosts h on h.id = r.host_id where r.report_id = $1) as dup_host,
                  s.id as "stamp_id?", s.retired_at
           from (select 1) as one left join stamps s on s.name = $2"#,
        report.report_id,
        host.stamp.as_str()
    )
    .fetch_one(&state.pool)
    .await?;
    if let Some(fqdn) = seen.dup_host {
        tracing::Span::current().record("outcome", "duplicate");
        return Ok(duplicate(report.report_id, fqdn));
    }
    let stamp_id = match (seen.stamp_id, seen.retired_at) {
        (Some(id), None) => id,
        (id, _) => {
            let (code, why) = match id {
                None => (
                    "unknown_stamp",
                    format!("stamp '{}' is not in the inventory", host.stamp),
                ),
                Some(_) => (
                    "stamp_retired",
                    format!("stamp '{}' is retired", host.stamp),
                ),
            };
            ownership::precheck(&state.pool, who, host.fqdn.as_str(), host.stamp.as_str()).await?;
            quarantine::put(&state.pool, report, code, &why, &who.name).await?;
            quarantine::prune(
                &state.pool,
                state.settings.quarantine_retention_days,
                state.settings.quarantine_max,
            )
            .await?;
            tracing::Span::current().record("outcome", "quarantined");
            return Err(ApiError::invalid(
                code,
                format!(
                    "{why}; the report was quarantined and can be replayed once the stamp exists"
                ),
                "host.stamp",
            ));
        }
    };
    let received = Utc::now();
    let collected = report.collected_at.min(received);
    let mut tx = state.pool.begin().await?;
    let current = sqlx::query!(
        r#"select id, stamp_id, last_collected_at, facts_digest,
                  exists (select 1 from problems p where p.host_id = hosts.id and p.rule = 'host.stale'
                          and p.resolved_at is null) as "stale_open!"
           from hosts where fqdn = $1::text for update"#,
        host.fqdn.as_str()
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(c) = &current
        && c.stamp_id != stamp_id
        && !ownership::may_move(who)
    {
        return Err(ownership::refusal(&who.name, host.fqdn.as_str()));
    }

    let accepted = match current {
        Some(c) if collected < c.last_collected_at => {
            let parsed = parse::parse(report, host)?;
            let fqdn = parsed.host.fqdn.to_string();
            let late = Change {
                kind: "report",
                key: report.report_id.to_string(),
                change: "late",
                before: None,
                after: Some(
                    serde_json::json!({"collected_at": report.collected_at, "newest_stored": c.last_collected_at}),
                ),
            };
            history::insert(&mut tx, c.id, report.report_id, collected, &[late]).await?;
            let raw = serde_json::to_value(report).map_err(|e| ApiError::internal(e.into()))?;
            let won = record(
                &mut tx,
                report.report_id,
                c.id,
                collected,
                received,
                "late",
                0,
                Some(&raw),
            )
            .await?;
            (
                Accepted {
                    report_id: report.report_id,
                    host: fqdn,
                    duplicate: false,
                    outcome: "late",
                    changes: 0,
                    warnings: vec![],
                },
                won,
            )
        }
        Some(c) if c.facts_digest == digest && c.stamp_id == stamp_id => {
            sqlx::query!(
                r#"update hosts set last_report_at = $2, last_collected_at = $3, last_report_id = $4,
                       agent_name = $5, agent_version = $6, agent_spool_dropped = $7,
                       agent_spool_rejected = $8,
                       wap_collected_at = case when $9 then $3 else wap_collected_at end
                   where id = $1"#,
                c.id,
                received,
                collected,
                report.report_id,
                report.agent.as_ref().map(|a| a.name.clone()),
                report.agent.as_ref().map(|a| a.version.clone()),
                spool_dropped(report),
                spool_rejected(report),
                report.wap.is_some(),
            )
            .execute(&mut *tx)
            .await?;
            let won = record(
                &mut tx,
                report.report_id,
                c.id,
                collected,
                received,
                "unchanged",
                0,
                None,
            )
            .await?;
            if c.stale_open {
                queue::request_host(&mut tx, stamp_id, c.id, false).await?;
            }
            (
                Accepted {
                    report_id: report.report_id,
                    host: host.fqdn.to_string(),
                    duplicate: false,
                    outcome: "unchanged",
                    changes: 0,
                    warnings: vec![],
                },
                won,
            )
        }
        current => {
            let parsed = parse::parse(report, host)?;
            let previous = current.map(|c| (c.id, c.stamp_id));
            let Stored {
                host_id,
                changes,
                whole_stamp,
                stamp_rules,
            } = store(
                &mut tx,
                &parsed,
                previous,
                stamp_id,
                report,
                (collected, received),
                &digest,
                state.settings.limits.history_detail_max,
            )
            .await?;
            if let Some((_, from)) = previous
                && from != stamp_id
            {
                ownership::record_move(&mut tx, who, parsed.host.fqdn.as_str(), from, stamp_id)
                    .await?;
            }
            let won = record(
                &mut tx,
                report.report_id,
                host_id,
                collected,
                received,
                "stored",
                changes as i32,
                None,
            )
            .await?;
            if whole_stamp {
                queue::request_stamp(&mut tx, stamp_id).await?;
            } else {
                queue::request_host(&mut tx, stamp_id, host_id, stamp_rules).await?;
            }
            if let Some((_, old_stamp)) = previous
                && old_stamp != stamp_id
            {
                queue::request_stamp(&mut tx, old_stamp).await?;
            }
            (
                Accepted {
                    report_id: report.report_id,
                    host: parsed.host.fqdn.to_string(),
                    duplicate: false,
                    outcome: "stored",
                    changes,
                    warnings: vec![],
                },
                won,
            )
        }
    };
    let (accepted, won) = accepted;
    if !won {
        tx.rollback().await?;
        return Ok(duplicate(report.report_id, accepted.host));
    }
    tx.commit().await?;
    tracing::Span::current().record("outcome", accepted.outcome);
    if accepted.outcome != "late" {
        state.evaluator.wake();
    }
    Ok(accepted)
}

/// The identical-facts fast path: one statement touches the host row and records the report id,
/// only when the host has exactly these facts in this live stamp, nothing newer, and the report id
/// is new (else `None`: the full path decides what the report is).
async fn unchanged(
    state: &AppState,
    report: &Report,
    host: &HostIn,
    digest: &[u8],
) -> Result<Option<Accepted>, ApiError> {
    let received = Utc::now();
    let collected = report.collected_at.min(received);
    let done = sqlx::query!(
        r#"with current as (
               select h.id, h.stamp_id from hosts h join stamps s on s.id = h.stamp_id
               where h.fqdn = $1::text::citext and s.name = $2 and s.retired_at is null
                 and h.facts_digest = $3 and h.last_collected_at <= $4
                 and not exists (select 1 from reports r where r.report_id = $5)),
           touched as (
               update hosts set last_report_at = $6, last_collected_at = $4, last_report_id = $5,
                      agent_name = $7, agent_version = $8, agent_spool_dropped = $9,
                      agent_spool_rejected = $10,
                      wap_collected_at = case when $11 then $4 else hosts.wap_collected_at end
               from current where hosts.id = current.id
               returning hosts.id, hosts.stamp_id),
           recorded as (
               insert into reports (report_id, host_id, collected_at, received_at, outcome, changes)
               select $5, id, $4, $6, 'unchanged', 0 from touched
               on conflict (report_id) do nothing
               returning report_id)
           select t.id as "host_id?", t.stamp_id as "stamp_id?",
                  (select count(*) from recorded) as "recorded!",
                  exists (select 1 from problems p where p.host_id = t.id and p.rule = 'host.stale'
                          and p.resolved_at is null) as "stale_open!"
           from (select 1) as one left join touched t on true"#,
        host.fqdn.as_str(),
        host.stamp.as_str(),
        digest,
        collected,
        report.report_id,
        received,
        report.agent.as_ref().map(|a| a.name.clone()),
        report.agent.as_ref().map(|a| a.version.clone()),
        spool_dropped(report),
        spool_rejected(report),
        report.wap.is_some(),
    )
    .fetch_one(&state.pool)
    .await?;
    let (Some(host_id), Some(stamp_id)) = (done.host_id, done.stamp_id) else {
        return Ok(None);
    };
    if done.recorded == 0 {
        // a concurrent twin with the same id won; it wrote the same thing
        return Ok(Some(duplicate(report.report_id, host.fqdn.to_string())));
    }
    if done.stale_open {
        // the host is back: its staleness problem resolves at the next evaluation
        let mut conn = state.pool.acquire().await?;
        queue::request_host(&mut conn, stamp_id, host_id, false).await?;
        state.evaluator.wake();
    }
    Ok(Some(Accepted {
        report_id: report.report_id,
        host: host.fqdn.to_string(),
        duplicate: false,
        outcome: "unchanged",
        changes: 0,
        warnings: vec![],
    }))
}

fn duplicate(report_id: Uuid, host: String) -> Accepted {
    Accepted {
        report_id,
        host,
        duplicate: true,
        outcome: "duplicate",
        changes: 0,
        warnings: vec![],
    }
}

#[allow(clippy::too_many_arguments)]
async fn record(
    conn: &mut PgConnection,
    report_id: Uuid,
    host_id: i64,
    collected: DateTime<Utc>,
    received: DateTime<Utc>,
    outcome: &str,
    changes: i32,
    payload: Option<&serde_json::Value>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"insert into reports (report_id, host_id, collected_at, received_at, outcome, changes, payload)
           values ($1, $2, $3, $4, $5, $6, $7) on conflict (report_id) do nothing"#,
        report_id,
        host_id,
        collected,
        received,
        outcome,
        changes,
        payload
    )
    .execute(conn)
    .await?;
    // 0 rows: a concurrent twin of this report won the race for the id
    Ok(done.rows_affected() == 1)
}

fn host_value(h: &HostIn, stamp: &str) -> serde_json::Value {
    serde_json::json!({"stamp": stamp, "scale_unit": h.scale_unit, "roles": h.roles, "os_name": h.os_name, "os_version": h.os_version})
}

fn vitals_value(h: &HostIn) -> serde_json::Value {
    serde_json::to_value(h.vitals.as_ref().map(|v| {
        serde_json::json!({"cpu_cores": v.cpu_cores, "memory_mb": v.memory_mb, "storage_gb": v.storage_gb,
                           "vm_count": v.vm_count, "vm_vcpus": v.vm_vcpus, "vm_memory_mb": v.vm_memory_mb})
    }))
    .unwrap_or_default()
}

/// What storing a report did.
struct Stored {
    host_id: i64,
    changes: usize,
    /// The report changed what other hosts' rules depend on (VMM settings, Root/VMM stores).
    whole_stamp: bool,
    /// The report changed what the stamp-wide rules read.
    stamp_rules: bool,
}

/// Writes host row and facts; answers (host id, number of changes, whether the whole stamp must be
/// evaluated again because the report changed what other hosts' rules depend on).
#[allow(clippy::too_many_arguments)]
async fn store(
    tx: &mut PgConnection,
    p: &ParsedReport,
    previous: Option<(i64, i64)>,
    stamp_id: i64,
    report: &Report,
    (collected, received): (DateTime<Utc>, DateTime<Utc>),
    digest: &[u8],
    history_detail_max: usize,
) -> Result<Stored, ApiError> {
    let h = &p.host;
    let roles: Vec<String> = h.roles.iter().map(|r| r.as_str().to_owned()).collect();
    let v = h.vitals.clone().unwrap_or_default();
    let fresh = previous.is_none();
    let mut changes: Vec<Change> = Vec::new();
    let agent = report.agent.as_ref();
    let sections = p.sections();
    let host_id = match previous {
        None => sqlx::query_scalar!(
            r#"insert into hosts (fqdn, stamp_id, scale_unit, roles, os_name, os_version, cpu_cores, memory_mb, storage_gb,
                   vm_count, vm_vcpus, vm_memory_mb, agent_name, agent_version, first_seen_at, last_report_at,
                   last_collected_at, last_report_id, facts_digest, sections)
               values ($1::text, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16, $17, $18, $19)
               returning id"#,
            h.fqdn.as_str(), stamp_id, h.scale_unit, &roles, h.os_name, h.os_version,
            v.cpu_cores.map(|x| x as i32), v.memory_mb, v.storage_gb, v.vm_count.map(|x| x as i32),
            v.vm_vcpus.map(|x| x as i32), v.vm_memory_mb, agent.map(|a| a.name.clone()), agent.map(|a| a.version.clone()),
            received, collected, report.report_id, digest, &sections
        )
        .fetch_one(&mut *tx)
        .await?,
        Some((id, _)) => {
            let old = sqlx::query!(
                r#"select s.name as stamp, h.scale_unit, h.roles, h.os_name, h.os_version, h.cpu_cores, h.memory_mb,
                          h.storage_gb, h.vm_count, h.vm_vcpus, h.vm_memory_mb
                   from hosts h join stamps s on s.id = h.stamp_id where h.id = $1"#,
                id
            )
            .fetch_one(&mut *tx)
            .await?;
            let old_host = serde_json::json!({"stamp": old.stamp, "scale_unit": old.scale_unit, "roles": old.roles,
                                              "os_name": old.os_name, "os_version": old.os_version});
            let new_host = host_value(h, h.stamp.as_str());
            if old_host != new_host {
                changes.push(Change { kind: "host", key: h.fqdn.to_string(), change: "changed", before: Some(old_host), after: Some(new_host) });
            }
            if h.vitals.is_some() {
                let old_v = serde_json::json!({"cpu_cores": old.cpu_cores.map(i64::from), "memory_mb": old.memory_mb,
                    "storage_gb": old.storage_gb, "vm_count": old.vm_count.map(i64::from),
                    "vm_vcpus": old.vm_vcpus.map(i64::from), "vm_memory_mb": old.vm_memory_mb});
                let new_v = vitals_value(h);
                if old_v != new_v {
                    changes.push(Change { kind: "vitals", key: "vitals".into(), change: "changed", before: Some(old_v), after: Some(new_v) });
                }
            }
            // vitals not collected keep their stored values
            sqlx::query!(
                r#"update hosts set stamp_id = $2, scale_unit = $3, roles = $4, os_name = $5, os_version = $6,
                       cpu_cores = case when $19 then $7 else cpu_cores end,
                       memory_mb = case when $19 then $8 else memory_mb end,
                       storage_gb = case when $19 then $9 else storage_gb end,
                       vm_count = case when $19 then $10 else vm_count end,
                       vm_vcpus = case when $19 then $11 else vm_vcpus end,
                       vm_memory_mb = case when $19 then $12 else vm_memory_mb end,
                       agent_name = $13, agent_version = $14, last_report_at = $15, last_collected_at = $16,
                       last_report_id = $17, facts_digest = $18,
                       sections = array(select distinct x from unnest(sections || $20::text[]) as x order by x)
                   where id = $1"#,
                id, stamp_id, h.scale_unit, &roles, h.os_name, h.os_version, v.cpu_cores.map(|x| x as i32),
                v.memory_mb, v.storage_gb, v.vm_count.map(|x| x as i32), v.vm_vcpus.map(|x| x as i32), v.vm_memory_mb,
                agent.map(|a| a.name.clone()), agent.map(|a| a.version.clone()), received, collected, report.report_id,
                digest, h.vitals.is_some(), &sections
            )
            .execute(&mut *tx)
            .await?;
            id
        }
    };
    let mut whole_stamp = fresh && h.roles.contains(&stampbook_wire::Role::VmmServer);
    if let Some(certs) = &p.certificates {
        let c = facts::sync_certificates(tx, host_id, certs, collected, fresh).await?;
        if fresh || !c.is_empty() {
            let nearest = certs
                .iter()
                .filter(|c| c.store == stampbook_wire::MY_STORE && c.has_private_key)
                .min_by(|a, b| {
                    (a.parsed.not_after, &a.parsed.thumbprint)
                        .cmp(&(b.parsed.not_after, &b.parsed.thumbprint))
                });
            sqlx::query!(
                "update hosts set nearest_cert_expiry = $2, nearest_cert_thumbprint = $3 where id = $1",
                host_id,
                nearest.map(|c| c.parsed.not_after),
                nearest.map(|c| c.parsed.thumbprint.clone())
            )
            .execute(&mut *tx)
            .await?;
        }
        // Root and VMM stores feed every host's Remote Console rules
        whole_stamp |= fresh && certs.iter().any(|c| c.store != stampbook_wire::MY_STORE)
            || c.iter()
                .any(|c| !c.key.starts_with(stampbook_wire::MY_STORE));
        changes.extend(c);
    }
    if let Some(r) = &p.routes {
        changes.extend(facts::sync_routes(tx, host_id, r, fresh).await?);
    }
    if let Some(i) = &p.interfaces {
        changes.extend(facts::sync_interfaces(tx, host_id, i, fresh).await?);
    }
    if let Some(s) = &p.services {
        changes.extend(facts::sync_services(tx, host_id, s, fresh).await?);
    }
    let s = facts::sync_settings(tx, host_id, &p.settings, fresh).await?;
    whole_stamp |=
        s.iter().any(|c| c.key == "vmm") || (fresh && p.settings.vmm.collected().is_some());
    changes.extend(s);
    match &p.settings.components {
        Part::Absent => {}
        // sent as null: the host has none of them any more
        Part::Cleared => changes.extend(facts::sync_components(tx, host_id, &[], fresh).await?),
        Part::Collected(c) => changes.extend(facts::sync_components(tx, host_id, c, fresh).await?),
    }
    if let Some(plans) = &p.wap {
        changes.extend(crate::facts::wap::sync(tx, host_id, plans, collected, fresh).await?);
    }
    // after the host row holds this report's roles and sections
    blind::record(
        tx,
        host_id,
        report.collection_errors.as_deref(),
        spool_dropped(report),
        spool_rejected(report),
    )
    .await?;
    if fresh {
        changes = vec![Change {
            kind: "host",
            key: h.fqdn.to_string(),
            change: "appeared",
            before: None,
            after: Some(host_value(h, h.stamp.as_str())),
        }];
    }
    let summarized = crate::facts::summary::summarize(&changes, history_detail_max);
    history::insert(tx, host_id, report.report_id, collected, &summarized).await?;
    // the stamp-wide rules read components, roles and physical size (version drift, capacity);
    // what runs on a host (VM count, vCPUs, memory in use) changes with nearly every report and
    // reaches the capacity figures with the next whole evaluation of the stamp
    let stamp_rules = changes.iter().any(|c| match c.kind {
        "component" | "host" => true,
        "vitals" => physical_size_changed(c),
        _ => false,
    });
    Ok(Stored {
        host_id,
        changes: changes.len(),
        whole_stamp,
        stamp_rules,
    })
}

/// Whether a vitals change touches the physical size of the host (cores, memory, storage).
fn physical_size_changed(c: &Change) -> bool {
    ["cpu_cores", "memory_mb", "storage_gb"].iter().any(|k| {
        let get = |v: &Option<serde_json::Value>| v.as_ref().and_then(|v| v.get(*k)).cloned();
        get(&c.before) != get(&c.after)
    })
}

/// Forgets accepted report ids older than the retention window (in batches, so no long lock);
/// a collector re-sending such an old report gets it stored as late or unchanged, never twice.
/// Late reports' payloads go with them; history (`fact_changes`) stays.
pub async fn prune_reports(pool: &sqlx::PgPool, retention_days: u32) -> Result<u64, sqlx::Error> {
    let mut total = 0;
    loop {
        let n = sqlx::query!(
            r#"delete from reports where report_id in (
                   select report_id from reports
                   where received_at < now() - make_interval(days => $1)
                   limit 10000)"#,
            retention_days as i32
        )
        .execute(pool)
        .await?
        .rows_affected();
        total += n;
        if n < 10_000 {
            return Ok(total);
        }
    }
}
