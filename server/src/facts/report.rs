//! Writing one report: the host row, the sections it collected and the history of what changed,
//! decided under the host row's lock in the caller's transaction — a changed report stores the
//! sections that changed, an identical one only moves the host's "last seen", a late one only
//! adds history — and the `reports` row that makes its id a duplicate from then on. What this
//! means for rule evaluation is answered ([`Evaluate`]), not acted on: the caller queues it.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use stampbook_wire::{Part, Report};
use uuid::Uuid;

use super::blind;
use super::history::{self, Change};
use super::model::{HostIn, ParsedReport};
use super::store;
use crate::domain::ReportOutcome;

/// The statement that finds and locks the host a changed report writes (plan-checked by
/// `tests/query_plans.rs`: one index lookup, whatever the fleet's size).
pub const HOST_FOR_REPORT: &str = include_str!("sql/host_for_report.sql");
use crate::error::ApiError;

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

/// The newest report's `agent.spool_dropped`, as the host row keeps it.
pub fn spool_dropped(report: &Report) -> Option<i64> {
    let n = report.agent.as_ref()?.spool_dropped?;
    Some(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The newest report's `agent.spool_rejected` (reports its agent moved to `rejected/`).
pub fn spool_rejected(report: &Report) -> Option<i64> {
    let n = report.agent.as_ref()?.spool_rejected?;
    Some(i64::try_from(n).unwrap_or(i64::MAX))
}

/// What the identical-facts fast path did.
pub struct Touched {
    pub host_id: i64,
    pub stamp_id: i64,
    /// `false`: a concurrent twin with the same report id won; it wrote the same thing.
    pub recorded: bool,
    /// A problem the caller named as "resolved by any report" is open on the host.
    pub resolvable_open: bool,
}

/// What the same statement tells of a report it did not touch (its facts differ, its stamp is not
/// live, or its id was seen): whether its id was seen, and for which host; the stamp it names.
pub struct Untouched {
    /// The FQDN of the host a report with this id was stored for.
    pub duplicate_of: Option<String>,
    /// The stamp the report names, when the inventory has it.
    pub stamp_id: Option<i64>,
    pub stamp_retired: bool,
}

/// The identical-facts fast path: one statement touches the host row and records the report id,
/// only when the host has exactly these facts in this live stamp, nothing newer, and the report id
/// is new (else [`Untouched`], read in the same statement: [`write`] decides what the report is).
/// `resolved_by_report` names the rules whose open problems a report of the host resolves (the
/// caller's, not this layer's).
pub async fn touch_unchanged(
    pool: &PgPool,
    report: &Report,
    host: &HostIn,
    digest: &[u8],
    resolved_by_report: &[&str],
) -> Result<Result<Touched, Untouched>, sqlx::Error> {
    let received = Utc::now();
    let collected = crate::domain::stored_time(report.collected_at).min(received);
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
                  exists (select 1 from problems p where p.host_id = t.id and p.rule = any($12)
                          and p.resolved_at is null) as "resolvable_open!",
                  (select h.fqdn::text from reports r join hosts h on h.id = r.host_id
                   where r.report_id = $5) as duplicate_of,
                  (select s.id from stamps s where s.name = $2) as named_stamp_id,
                  coalesce((select s.retired_at is not null from stamps s where s.name = $2), false)
                      as "named_stamp_retired!"
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
        &owned(resolved_by_report),
    )
    .fetch_one(pool)
    .await?;
    let (Some(host_id), Some(stamp_id)) = (done.host_id, done.stamp_id) else {
        return Ok(Err(Untouched {
            duplicate_of: done.duplicate_of,
            stamp_id: done.named_stamp_id,
            stamp_retired: done.named_stamp_retired,
        }));
    };
    Ok(Ok(Touched {
        host_id,
        stamp_id,
        recorded: done.recorded > 0,
        resolvable_open: done.resolvable_open,
    }))
}

/// Rule ids as the statements bind a `text[]`.
fn owned(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

/// One report to write, parsed once, with where it goes.
pub struct Incoming<'a> {
    pub report: &'a Report,
    pub parsed: &'a ParsedReport,
    pub digest: &'a [u8],
    /// The stamp the report names (live: checked by the caller).
    pub stamp_id: i64,
    /// The sender may move a host between stamps (else a host stored under another stamp stays).
    pub may_move: bool,
    /// See [`touch_unchanged`].
    pub resolved_by_report: &'a [&'a str],
    /// At most this many changes of one kind are kept in detail (`STAMPBOOK_HISTORY_DETAIL_MAX`).
    pub history_detail_max: usize,
}

/// What rule evaluation a written report asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evaluate {
    Nothing,
    /// This host's rules; `stamp_rules`: the stamp-wide rules too (what they read changed).
    Host {
        stamp_rules: bool,
    },
    /// Every host of the stamp: the report changed what other hosts' rules depend on.
    Stamp,
}

/// What [`write`] did.
pub enum Written {
    /// The host is stored under another stamp and the sender may not move it: nothing written.
    MoveRefused,
    /// A concurrent twin with the same report id won: roll back, it wrote the same thing.
    Duplicate,
    Done {
        outcome: ReportOutcome,
        host_id: i64,
        changes: usize,
        evaluate: Evaluate,
        /// The stamp the host was moved from.
        moved_from: Option<i64>,
    },
}

/// A [`HOST_FOR_REPORT`] row: the stored host a report is written to, with what a changed report is
/// compared to.
struct HostForReport {
    id: i64,
    stamp_id: i64,
    last_collected_at: DateTime<Utc>,
    facts_digest: Vec<u8>,
    stamp: String,
    scale_unit: Option<String>,
    roles: Vec<String>,
    os_name: Option<String>,
    os_version: Option<String>,
    cpu_cores: Option<i32>,
    memory_mb: Option<i64>,
    storage_gb: Option<i64>,
    vm_count: Option<i32>,
    vm_vcpus: Option<i32>,
    vm_memory_mb: Option<i64>,
    sections: Vec<String>,
    /// How each of [`SECTIONS`] looked when last sent.
    section_digests: Vec<Vec<u8>>,
    resolvable_open: bool,
}

impl HostForReport {
    /// The stored host fields, as [`host_value`] gives a report's.
    fn host_value(&self) -> serde_json::Value {
        serde_json::json!({"stamp": self.stamp, "scale_unit": self.scale_unit, "roles": self.roles,
                           "os_name": self.os_name, "os_version": self.os_version})
    }

    /// The stored vitals, as [`vitals_value`] gives a report's.
    fn vitals_value(&self) -> serde_json::Value {
        serde_json::json!({"cpu_cores": self.cpu_cores.map(i64::from), "memory_mb": self.memory_mb,
            "storage_gb": self.storage_gb, "vm_count": self.vm_count.map(i64::from),
            "vm_vcpus": self.vm_vcpus.map(i64::from), "vm_memory_mb": self.vm_memory_mb})
    }
}

/// The fact sections whose digests `hosts.section_digests` keeps, in slot order.
const SECTIONS: [&str; 5] = [
    "certificates",
    "interfaces",
    "routes",
    "services",
    "settings",
];

/// The digest of each section of [`SECTIONS`] the report sent (`None`: not sent): the first 16
/// bytes of the SHA-256 of the section as sent.
fn section_digests(r: &Report) -> [Option<Vec<u8>>; SECTIONS.len()] {
    fn d<T: serde::Serialize>(v: &T) -> Vec<u8> {
        Sha256::digest(serde_json::to_vec(v).unwrap_or_default())[..16].to_vec()
    }
    [
        r.certificates.as_ref().map(d),
        r.interfaces.as_ref().map(d),
        r.routes.as_ref().map(d),
        r.services.as_ref().map(d),
        r.settings.as_ref().map(d),
    ]
}

/// Which sections a changed report must read and compare: those it sent unlike the last time
/// (or first, or with no digest kept); one sent exactly as last time leaves what that stored.
/// Answers the digests to keep: this report's, the stored ones for sections it did not send.
fn sections_to_sync(
    stored: &[Vec<u8>],
    sent: [Option<Vec<u8>>; SECTIONS.len()],
) -> ([bool; SECTIONS.len()], Vec<Vec<u8>>) {
    let mut sync = [false; SECTIONS.len()];
    let mut keep = Vec::with_capacity(SECTIONS.len());
    for (slot, new) in sent.into_iter().enumerate() {
        let old = stored.get(slot).filter(|d| !d.is_empty());
        match new {
            Some(new) => {
                sync[slot] = old != Some(&new);
                keep.push(new);
            }
            None => keep.push(old.cloned().unwrap_or_default()),
        }
    }
    (sync, keep)
}

/// Writes one report in the caller's transaction: the host row (locked first), its sections,
/// history and the `reports` row.
pub async fn write(tx: &mut PgConnection, r: &Incoming<'_>) -> Result<Written, ApiError> {
    let received = Utc::now();
    let collected = crate::domain::stored_time(r.report.collected_at).min(received);
    let host = &r.parsed.host;
    let current = sqlx::query_file_as!(
        HostForReport,
        "src/facts/sql/host_for_report.sql",
        host.fqdn.as_str(),
        &owned(r.resolved_by_report)
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(c) = &current
        && c.stamp_id != r.stamp_id
        && !r.may_move
    {
        return Ok(Written::MoveRefused);
    }
    let (outcome, host_id, changes, evaluate, moved_from) = match current {
        Some(c) if collected < c.last_collected_at => {
            let late = Change {
                kind: "report",
                key: r.report.report_id.to_string(),
                change: "late",
                before: None,
                after: Some(
                    serde_json::json!({"collected_at": r.report.collected_at, "newest_stored": c.last_collected_at}),
                ),
            };
            history::insert(tx, c.id, r.report.report_id, collected, &[late]).await?;
            (ReportOutcome::Late, c.id, 0, Evaluate::Nothing, None)
        }
        Some(c) if c.facts_digest == r.digest && c.stamp_id == r.stamp_id => {
            touch(tx, c.id, r.report, collected, received).await?;
            let evaluate = if c.resolvable_open {
                Evaluate::Host { stamp_rules: false }
            } else {
                Evaluate::Nothing
            };
            (ReportOutcome::Unchanged, c.id, 0, evaluate, None)
        }
        current => {
            let previous = current.as_ref().map(|c| (c.id, c.stamp_id));
            let stored = write_facts(
                tx,
                r.parsed,
                current.as_ref(),
                r.stamp_id,
                r.report,
                (collected, received),
                r.digest,
                r.history_detail_max,
            )
            .await?;
            let evaluate = if stored.whole_stamp {
                Evaluate::Stamp
            } else {
                Evaluate::Host {
                    stamp_rules: stored.stamp_rules,
                }
            };
            let moved_from = previous
                .map(|(_, from)| from)
                .filter(|from| *from != r.stamp_id);
            (
                ReportOutcome::Stored,
                stored.host_id,
                stored.changes,
                evaluate,
                moved_from,
            )
        }
    };
    // a late report keeps its payload, to be read when its history is looked into
    let payload = match outcome {
        ReportOutcome::Late => {
            Some(serde_json::to_value(r.report).map_err(|e| ApiError::internal(e.into()))?)
        }
        _ => None,
    };
    let won = record(
        tx,
        r.report.report_id,
        host_id,
        collected,
        received,
        outcome,
        i32::try_from(changes).unwrap_or(i32::MAX),
        payload.as_ref(),
    )
    .await?;
    if !won {
        return Ok(Written::Duplicate);
    }
    Ok(Written::Done {
        outcome,
        host_id,
        changes,
        evaluate,
        moved_from,
    })
}

/// Same facts as stored: the host row says it was seen.
async fn touch(
    tx: &mut PgConnection,
    host_id: i64,
    report: &Report,
    collected: DateTime<Utc>,
    received: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update hosts set last_report_at = $2, last_collected_at = $3, last_report_id = $4,
               agent_name = $5, agent_version = $6, agent_spool_dropped = $7,
               agent_spool_rejected = $8,
               wap_collected_at = case when $9 then $3 else wap_collected_at end
           where id = $1"#,
        host_id,
        received,
        collected,
        report.report_id,
        report.agent.as_ref().map(|a| a.name.clone()),
        report.agent.as_ref().map(|a| a.version.clone()),
        spool_dropped(report),
        spool_rejected(report),
        report.wap.is_some(),
    )
    .execute(tx)
    .await?;
    Ok(())
}

#[expect(
    clippy::too_many_arguments,
    reason = "one column each of the reports row"
)]
async fn record(
    conn: &mut PgConnection,
    report_id: Uuid,
    host_id: i64,
    collected: DateTime<Utc>,
    received: DateTime<Utc>,
    outcome: ReportOutcome,
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
        outcome.as_str(),
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

/// Writes the host row and the collected sections, and the history of what changed.
#[expect(
    clippy::too_many_arguments,
    reason = "the report, its parsed facts and where they go"
)]
async fn write_facts(
    tx: &mut PgConnection,
    p: &ParsedReport,
    previous: Option<&HostForReport>,
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
    // what the row keeps besides the facts, worked out first: the row is written once
    let mut ever_collected = previous.map(|old| old.sections.clone()).unwrap_or_default();
    ever_collected.extend(sections.iter().cloned());
    let collection = blind::collection(
        report.collection_errors.as_deref(),
        &h.roles,
        &ever_collected,
    );
    let stored_digests = previous
        .map(|old| old.section_digests.as_slice())
        .unwrap_or_default();
    let (sync, digests) = sections_to_sync(stored_digests, section_digests(report));
    let certificates_collected = p.certificates.is_some();
    let (nearest_at, nearest_thumbprint) =
        p.certificates.as_deref().and_then(nearest_expiry).unzip();
    let host_id = match previous {
        None => sqlx::query_scalar!(
            r#"insert into hosts (fqdn, stamp_id, scale_unit, roles, os_name, os_version, cpu_cores, memory_mb, storage_gb,
                   vm_count, vm_vcpus, vm_memory_mb, agent_name, agent_version, first_seen_at, last_report_at,
                   last_collected_at, last_report_id, facts_digest, sections, nearest_cert_expiry, nearest_cert_thumbprint,
                   collection_errors, agent_spool_dropped, agent_spool_rejected, blind, section_digests)
               values ($1::text, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16, $17, $18, $19,
                       $20, $21, $22, $23, $24, array(select x from unnest($25::text[]) as x order by 1), $26)
               returning id"#,
            h.fqdn.as_str(), stamp_id, h.scale_unit, &roles, h.os_name, h.os_version,
            v.cpu_cores.map(|x| x as i32), v.memory_mb, v.storage_gb, v.vm_count.map(|x| x as i32),
            v.vm_vcpus.map(|x| x as i32), v.vm_memory_mb, agent.map(|a| a.name.clone()), agent.map(|a| a.version.clone()),
            received, collected, report.report_id, digest, &sections, nearest_at, nearest_thumbprint,
            collection.errors, spool_dropped(report), spool_rejected(report), &collection.blind, &digests
        )
        .fetch_one(&mut *tx)
        .await?,
        Some(old) => {
            let new_host = host_value(h, h.stamp.as_str());
            let old_host = old.host_value();
            if old_host != new_host {
                changes.push(Change { kind: "host", key: h.fqdn.to_string(), change: "changed", before: Some(old_host), after: Some(new_host) });
            }
            if h.vitals.is_some() {
                let new_v = vitals_value(h);
                let old_v = old.vitals_value();
                if old_v != new_v {
                    changes.push(Change { kind: "vitals", key: "vitals".into(), change: "changed", before: Some(old_v), after: Some(new_v) });
                }
            }
            // vitals not collected keep their stored values, and certificates not collected the
            // nearest expiry
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
                       sections = array(select distinct x from unnest(sections || $20::text[]) as x order by x),
                       nearest_cert_expiry = case when $21 then $22 else nearest_cert_expiry end,
                       nearest_cert_thumbprint = case when $21 then $23 else nearest_cert_thumbprint end,
                       collection_errors = $24, agent_spool_dropped = $25, agent_spool_rejected = $26,
                       blind = array(select x from unnest($27::text[]) as x order by 1),
                       section_digests = $28
                   where id = $1"#,
                old.id, stamp_id, h.scale_unit, &roles, h.os_name, h.os_version, v.cpu_cores.map(|x| x as i32),
                v.memory_mb, v.storage_gb, v.vm_count.map(|x| x as i32), v.vm_vcpus.map(|x| x as i32), v.vm_memory_mb,
                agent.map(|a| a.name.clone()), agent.map(|a| a.version.clone()), received, collected, report.report_id,
                digest, h.vitals.is_some(), &sections, certificates_collected, nearest_at, nearest_thumbprint,
                collection.errors, spool_dropped(report), spool_rejected(report), &collection.blind, &digests
            )
            .execute(&mut *tx)
            .await?;
            old.id
        }
    };
    let mut whole_stamp = fresh && h.roles.contains(&stampbook_wire::Role::VmmServer);
    // a section sent exactly as last time is not read again (`sections_to_sync`)
    let [certificates, interfaces, routes, services, settings] = sync;
    if let Some(certs) = p.certificates.as_ref().filter(|_| certificates) {
        let c = store::sync_certificates(tx, host_id, certs, collected, fresh).await?;
        // Root and VMM stores feed every host's Remote Console rules
        whole_stamp |= fresh && certs.iter().any(|c| c.store != stampbook_wire::MY_STORE)
            || c.iter()
                .any(|c| !c.key.starts_with(stampbook_wire::MY_STORE));
        changes.extend(c);
    }
    if let Some(r) = p.routes.as_ref().filter(|_| routes) {
        changes.extend(store::sync_routes(tx, host_id, r, fresh).await?);
    }
    if let Some(i) = p.interfaces.as_ref().filter(|_| interfaces) {
        changes.extend(store::sync_interfaces(tx, host_id, i, fresh).await?);
    }
    if let Some(s) = p.services.as_ref().filter(|_| services) {
        changes.extend(store::sync_services(tx, host_id, s, fresh).await?);
    }
    if settings {
        let s = store::sync_settings(tx, host_id, &p.settings, fresh).await?;
        whole_stamp |=
            s.iter().any(|c| c.key == "vmm") || (fresh && p.settings.vmm.collected().is_some());
        changes.extend(s);
        match &p.settings.components {
            Part::Absent => {}
            // sent as null: the host has none of them any more
            Part::Cleared => changes.extend(store::sync_components(tx, host_id, &[], fresh).await?),
            Part::Collected(c) => {
                changes.extend(store::sync_components(tx, host_id, c, fresh).await?)
            }
        }
    }
    if let Some(plans) = &p.wap {
        changes.extend(super::wap::sync(tx, host_id, plans, collected, fresh).await?);
    }
    if fresh {
        changes = vec![Change {
            kind: "host",
            key: h.fqdn.to_string(),
            change: "appeared",
            before: None,
            after: Some(host_value(h, h.stamp.as_str())),
        }];
    }
    let summarized = super::summary::summarize(&changes, history_detail_max);
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

/// The machine certificate that expires first (with a private key in `My`): what the host row
/// keeps for the overview's "nearest expiry".
fn nearest_expiry(certs: &[super::model::CertIn]) -> Option<(DateTime<Utc>, String)> {
    certs
        .iter()
        .filter(|c| c.store == stampbook_wire::MY_STORE && c.has_private_key)
        .min_by(|a, b| {
            (a.parsed.not_after, &a.parsed.thumbprint)
                .cmp(&(b.parsed.not_after, &b.parsed.thumbprint))
        })
        .map(|c| (c.parsed.not_after, c.parsed.thumbprint.clone()))
}

/// Whether a vitals change touches the physical size of the host (cores, memory, storage).
fn physical_size_changed(c: &Change) -> bool {
    ["cpu_cores", "memory_mb", "storage_gb"].iter().any(|k| {
        let get = |v: &Option<serde_json::Value>| v.as_ref().and_then(|v| v.get(*k)).cloned();
        get(&c.before) != get(&c.after)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(slots: [Option<u8>; 5]) -> [Option<Vec<u8>>; 5] {
        slots.map(|s| s.map(|b| vec![b; 16]))
    }

    #[test]
    fn a_section_sent_as_last_time_is_not_read_again_and_keeps_its_digest() {
        let stored = vec![
            vec![1; 16],
            vec![2; 16],
            vec![3; 16],
            vec![4; 16],
            vec![5; 16],
        ];
        // routes changed, services not sent, the rest as before
        let (sync, keep) =
            sections_to_sync(&stored, sent([Some(1), Some(2), Some(9), None, Some(5)]));
        assert_eq!(sync, [false, false, true, false, false]);
        assert_eq!(
            keep,
            vec![
                vec![1; 16],
                vec![2; 16],
                vec![9; 16],
                vec![4; 16],
                vec![5; 16]
            ]
        );
    }

    #[test]
    fn without_a_kept_digest_every_sent_section_is_compared() {
        // a host stored before digests were kept (or whose slot is empty)
        for stored in [vec![], vec![vec![], vec![2; 16]]] {
            let (sync, keep) =
                sections_to_sync(&stored, sent([Some(1), Some(2), None, None, None]));
            assert!(sync[0], "{stored:?}");
            assert_eq!(sync[1], stored.len() != 2, "{stored:?}");
            assert_eq!(sync[2..], [false, false, false]);
            assert_eq!(keep.len(), SECTIONS.len());
            assert!(keep[2..].iter().all(Vec::is_empty));
        }
    }

    #[test]
    fn a_section_digest_is_of_the_section_as_sent() {
        let report: Report = serde_json::from_value(serde_json::json!({
            "schema": "stampbook.report/v1", "report_id": "0b6f1c1e-3a4e-4d2b-9a57-2f0c8d1e7a10",
            "collected_at": "2014-02-24T10:00:00Z",
            "host": {"fqdn": "hv01.ams-01.example.net", "stamp": "ams-01", "roles": ["hyperv_host"]},
            "routes": [], "settings": {"vmm": null}
        }))
        .unwrap();
        let d = section_digests(&report);
        assert!(d[0].is_none() && d[1].is_none() && d[3].is_none());
        assert_eq!(d[2].as_ref().map(Vec::len), Some(16));
        // a part sent as null is a different section from one not sent
        let mut absent = report.clone();
        absent.settings = Some(stampbook_wire::Settings::default());
        assert_ne!(section_digests(&absent)[4], d[4]);
    }
}
