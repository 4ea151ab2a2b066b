//! Loading one stamp's facts from PostgreSQL into the rules' model, with a few bulk queries per
//! stamp (never one per host), and only the facts rules read: certificates of `My`/`VMM` and the
//! VMConnect roots in `Root`, default and gateway routes, services, settings, components.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use sqlx::PgConnection;
use stampbook_wire::{ROOT_STORE, Role, normalize_thumbprint};

use super::capacity::{CapacityInputs, HostVitals, PlanQuota};
use super::model::{
    HostCert, HostFacts, InterfaceFact, NetworkFact, NetworkRole, PlanFact, RouteFact, ServiceFact,
    SettingsFacts, StampContext, VitalsFact,
};
use super::remote_console::{self, RemoteConsoleContext, RemoteConsoleInputs};
use super::wap_plans::{DeclaredPlan, WapInputs};
use crate::facts::wap as wap_facts;
use crate::facts::wap::WapPlanFact;
use crate::facts::x509::{KeyAlgorithm, KeyUsageFlag, ParsedCertificate, SignatureHash};
use crate::inventory::model::Thresholds;

macro_rules! cert_row {
    ($r:expr) => {
        CertRow {
            thumbprint: $r.thumbprint,
            subject: $r.subject,
            subject_cn: $r.subject_cn,
            issuer: $r.issuer,
            serial: $r.serial,
            not_before: $r.not_before,
            not_after: $r.not_after,
            signature_algorithm: $r.signature_algorithm,
            signature_hash: $r.signature_hash,
            key_algorithm: $r.key_algorithm,
            key_bits: $r.key_bits,
            key_usage: $r.key_usage,
            eku: $r.eku,
            san_dns: $r.san_dns,
            self_signed: $r.self_signed,
        }
    };
}

/// The vitals columns of a `hosts` row (`cpu_cores, memory_mb, storage_gb, vm_count, vm_vcpus,
/// vm_memory_mb`) as a [`VitalsFact`].
macro_rules! vitals {
    ($r:expr) => {
        VitalsFact {
            cpu_cores: $r.cpu_cores.map(i64::from),
            memory_mb: $r.memory_mb,
            storage_gb: $r.storage_gb,
            vm_count: $r.vm_count.map(i64::from),
            vm_vcpus: $r.vm_vcpus.map(i64::from),
            vm_memory_mb: $r.vm_memory_mb,
        }
    };
}

/// Parsed certificates by thumbprint: a certificate on a thousand hosts is built once.
#[derive(Default)]
pub struct CertCache(HashMap<String, Arc<ParsedCertificate>>);

/// The columns of `certificates` that make a [`ParsedCertificate`].
pub struct CertRow {
    pub thumbprint: String,
    pub subject: String,
    pub subject_cn: Option<String>,
    pub issuer: String,
    pub serial: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub signature_algorithm: String,
    pub signature_hash: Option<String>,
    pub key_algorithm: String,
    pub key_bits: Option<i32>,
    pub key_usage: Option<Vec<String>>,
    pub eku: Option<Vec<String>>,
    pub san_dns: Vec<String>,
    pub self_signed: bool,
}

impl CertCache {
    /// Makes sure these thumbprints are cached, reading only the missing ones.
    pub async fn ensure(
        &mut self,
        conn: &mut PgConnection,
        thumbprints: &[String],
    ) -> Result<(), sqlx::Error> {
        let mut missing: Vec<String> = thumbprints
            .iter()
            .filter(|t| !self.0.contains_key(*t))
            .cloned()
            .collect();
        missing.sort();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        let rows = sqlx::query!(
            r#"select c.thumbprint, c.subject, c.subject_cn, c.issuer, c.serial, c.not_before, c.not_after,
                      c.signature_algorithm, c.signature_hash, c.key_algorithm, c.key_bits, c.key_usage, c.eku,
                      c.san_dns, c.self_signed
               from unnest($1::text[]) as t(thumbprint) join certificates c on c.thumbprint = t.thumbprint"#,
            &missing
        )
        .fetch_all(conn)
        .await?;
        for r in rows {
            self.get(cert_row!(r));
        }
        Ok(())
    }

    /// A cached certificate (after [`CertCache::ensure`]).
    pub fn cached(&self, thumbprint: &str) -> Option<Arc<ParsedCertificate>> {
        self.0.get(thumbprint).cloned()
    }

    /// Keeps the cache bounded: certificates are immutable, so forgetting costs only a rebuild.
    pub fn trim(&mut self) {
        if self.0.len() > 250_000 {
            self.0.clear();
        }
    }

    pub fn get(&mut self, r: CertRow) -> Arc<ParsedCertificate> {
        if let Some(c) = self.0.get(&r.thumbprint) {
            return c.clone();
        }
        let parsed = Arc::new(ParsedCertificate {
            thumbprint: r.thumbprint.clone(),
            subject: r.subject,
            subject_cn: r.subject_cn,
            issuer: r.issuer,
            serial: r.serial,
            not_before: r.not_before,
            not_after: r.not_after,
            signature_algorithm: r.signature_algorithm,
            signature_hash: r.signature_hash.as_deref().and_then(SignatureHash::parse),
            key_algorithm: KeyAlgorithm::parse(&r.key_algorithm),
            key_bits: r.key_bits.and_then(|b| u32::try_from(b).ok()),
            key_usage: r
                .key_usage
                .map(|k| k.iter().filter_map(|f| KeyUsageFlag::parse(f)).collect()),
            eku: r.eku,
            san_dns: r.san_dns,
            self_signed: r.self_signed,
        });
        self.0.insert(r.thumbprint, parsed.clone());
        parsed
    }
}

pub async fn stamp_context(
    conn: &mut PgConnection,
    stamp_id: i64,
) -> Result<Option<StampContext>, sqlx::Error> {
    let Some(s) = sqlx::query!(
        r#"select name, retired_at is not null as "retired!", rd_gateway_fqdn, report_interval_s, cert_warning_days,
                  cert_critical_days, cpu_overcommit, memory_overcommit, target_versions,
                  exhaustion_warning_days, exhaustion_critical_days
           from stamps where id = $1"#,
        stamp_id
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let networks = sqlx::query!(
        r#"select name, role, cidr as "cidr: IpNet", gateway as "gateway: IpNet",
                  required_prefixes as "required_prefixes: Vec<IpNet>"
           from networks where stamp_id = $1 order by name"#,
        stamp_id
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|n| NetworkFact {
        name: n.name,
        role: NetworkRole::parse(&n.role),
        cidr: n.cidr,
        gateway: n.gateway.map(|g| g.addr()),
        required_prefixes: n.required_prefixes,
    })
    .collect();
    Ok(Some(StampContext {
        stamp_id,
        name: s.name,
        retired: s.retired,
        rd_gateway_fqdn: s.rd_gateway_fqdn,
        report_interval_s: i64::from(s.report_interval_s),
        thresholds: Thresholds {
            cert_warning_days: s.cert_warning_days,
            cert_critical_days: s.cert_critical_days,
            cpu_overcommit: s.cpu_overcommit,
            memory_overcommit: s.memory_overcommit,
            exhaustion_warning_days: s.exhaustion_warning_days,
            exhaustion_critical_days: s.exhaustion_critical_days,
        },
        target_versions: serde_json::from_value(s.target_versions).unwrap_or_default(),
        networks,
        // loaded by the engine when host rules run (`crate::heartbeat::outages`)
        outages: Vec::new(),
    }))
}

/// The VMConnect certificates of the stamp, where they are, and their root candidates; answers
/// the context and the thumbprints of the roots (whose presence in `Root` the host rules check).
pub async fn remote_console(
    conn: &mut PgConnection,
    stamp_id: i64,
    certs: &mut CertCache,
) -> Result<(RemoteConsoleContext, Vec<String>), sqlx::Error> {
    let vmm: Vec<(i64, String, stampbook_wire::VmmSettings)> =
        sqlx::query_file!("src/rules/sql/vmm_settings_of_stamp.sql", stamp_id)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .filter_map(|r| Some((r.id, r.fqdn, serde_json::from_value(r.vmm).ok()?)))
            .collect();
    let thumbprints: Vec<String> = vmm
        .iter()
        .flat_map(|(_, _, v)| {
            [
                &v.vmconnect_gateway_certificate_thumbprint,
                &v.vmconnect_hyperv_certificate_thumbprint,
            ]
        })
        .filter_map(|t| t.as_deref().and_then(normalize_thumbprint))
        .collect();
    // where each VMConnect certificate is: every VMM-store entry (its provider matters) and one
    // other entry per thumbprint (enough to find the certificate); the hosts' own stores are
    // loaded with the hosts. Without thumbprints there is nothing to find: the statement is not
    // sent (PostgreSQL planned it anew each time it had an empty array, 0.55 ms a run)
    let rows = if thumbprints.is_empty() {
        Vec::new()
    } else {
        sqlx::query!(
        r#"(select hc.host_id as "host_id!", h.fqdn::text as "fqdn!", hc.store as "store!", hc.thumbprint as "thumbprint!",
                   hc.has_private_key as "has_private_key!", hc.provider, hc.added_at, hc.first_seen_at as "first_seen_at!",
                   hc.added_at_upper_bound as "added_at_upper_bound!"
            from host_certificates hc join hosts h on h.id = hc.host_id
            where h.stamp_id = $1 and hc.thumbprint = any($2) and hc.store = $3)
           union all
           (select distinct on (hc.thumbprint) hc.host_id, h.fqdn::text, hc.store, hc.thumbprint,
                   hc.has_private_key, hc.provider, hc.added_at, hc.first_seen_at, hc.added_at_upper_bound
            from host_certificates hc join hosts h on h.id = hc.host_id
            where h.stamp_id = $1 and hc.thumbprint = any($2) and hc.store <> $3
            order by hc.thumbprint, hc.host_id)"#,
        stamp_id,
        &thumbprints,
        stampbook_wire::VMM_STORE
    )
        .fetch_all(&mut *conn)
        .await?
    };
    let seen: Vec<String> = rows.iter().map(|r| r.thumbprint.clone()).collect();
    certs.ensure(conn, &seen).await?;
    let mut sightings = Vec::with_capacity(rows.len());
    let mut issuers: Vec<String> = Vec::new();
    for r in rows {
        let Some(cert) = certs.cached(&r.thumbprint) else {
            continue;
        };
        if !issuers.contains(&cert.issuer) {
            issuers.push(cert.issuer.clone());
        }
        sightings.push((
            r.host_id,
            r.fqdn,
            HostCert {
                store: r.store,
                has_private_key: r.has_private_key,
                provider: r.provider,
                added_at: r.added_at,
                added_at_upper_bound: r.added_at_upper_bound,
                first_seen_at: r.first_seen_at,
                cert,
            },
        ));
    }
    // no VMConnect certificate found: no issuer, no root to look for (nor a statement to plan)
    let root_thumbprints: Vec<String> = if issuers.is_empty() {
        Vec::new()
    } else {
        sqlx::query_scalar!(
        r#"select c.thumbprint from certificates c
           where c.subject = any($3)
             and exists (select 1 from host_certificates hc join hosts h on h.id = hc.host_id
                         where hc.thumbprint = c.thumbprint and hc.store = $2 and h.stamp_id = $1)"#,
        stamp_id,
        ROOT_STORE,
        &issuers
    )
        .fetch_all(&mut *conn)
        .await?
    };
    certs.ensure(conn, &root_thumbprints).await?;
    let roots: Vec<Arc<ParsedCertificate>> = root_thumbprints
        .iter()
        .filter_map(|t| certs.cached(t))
        .collect();
    let rc = remote_console::context(&RemoteConsoleInputs {
        vmm,
        sightings,
        root_candidates: roots,
    });
    let mut root_thumbprints: Vec<String> = rc
        .certificates()
        .filter_map(|v| v.root.as_ref().map(|r| r.thumbprint.clone()))
        .collect();
    root_thumbprints.sort();
    root_thumbprints.dedup();
    Ok((rc, root_thumbprints))
}

fn group<T>(rows: impl IntoIterator<Item = (i64, T)>) -> HashMap<i64, Vec<T>> {
    let mut out: HashMap<i64, Vec<T>> = HashMap::new();
    for (k, v) in rows {
        out.entry(k).or_default().push(v);
    }
    out
}

/// A host's own columns, as the rules read them.
struct HostRow {
    id: i64,
    fqdn: String,
    roles: Vec<String>,
    last_collected_at: DateTime<Utc>,
    first_seen_at: DateTime<Utc>,
    cpu_cores: Option<i32>,
    memory_mb: Option<i64>,
    storage_gb: Option<i64>,
    vm_count: Option<i32>,
    vm_vcpus: Option<i32>,
    vm_memory_mb: Option<i64>,
    sections: Vec<String>,
    collection_errors: Option<serde_json::Value>,
}

/// The stamp's hosts in fqdn order: all of them, or only `only`. Two statements, not one with
/// `($2 is null or id = any($2))`: that one's generic plan reads every host of the stamp to
/// return the one a report changed (104 buffers where this reads 7, at 100 hosts a stamp;
/// `tests/query_plans.rs` checks both).
async fn host_rows(
    conn: &mut PgConnection,
    stamp_id: i64,
    only: Option<&[i64]>,
) -> Result<Vec<HostRow>, sqlx::Error> {
    match only {
        Some(ids) => {
            sqlx::query_file_as!(
                HostRow,
                "src/rules/sql/hosts_of_stamp_among.sql",
                stamp_id,
                ids
            )
            .fetch_all(conn)
            .await
        }
        None => {
            sqlx::query_file_as!(HostRow, "src/rules/sql/hosts_of_stamp.sql", stamp_id)
                .fetch_all(conn)
                .await
        }
    }
}

/// The facts of the stamp's hosts (all of them, or only `only`).
pub async fn hosts(
    conn: &mut PgConnection,
    stamp_id: i64,
    only: Option<&[i64]>,
    root_thumbprints: &[String],
    certs: &mut CertCache,
) -> Result<Vec<HostFacts>, sqlx::Error> {
    let rows = host_rows(conn, stamp_id, only).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();

    // the per-host queries join an unnest of the ids: the planner then probes each host's rows
    // by index instead of scanning the fact tables
    let cert_rows = sqlx::query!(
        r#"select hc.host_id, hc.store, hc.thumbprint, hc.has_private_key, hc.provider, hc.added_at, hc.first_seen_at,
                  hc.added_at_upper_bound
           from unnest($1::bigint[]) as ids(id) join host_certificates hc on hc.host_id = ids.id
           where hc.store <> $2 or hc.thumbprint = any($3)"#,
        &ids,
        ROOT_STORE,
        root_thumbprints
    )
    .fetch_all(&mut *conn)
    .await?;
    let thumbprints: Vec<String> = cert_rows.iter().map(|r| r.thumbprint.clone()).collect();
    certs.ensure(conn, &thumbprints).await?;
    let mut by_host_certs: HashMap<i64, Vec<HostCert>> = HashMap::new();
    for r in cert_rows {
        let Some(cert) = certs.cached(&r.thumbprint) else {
            continue;
        };
        by_host_certs.entry(r.host_id).or_default().push(HostCert {
            store: r.store,
            has_private_key: r.has_private_key,
            provider: r.provider,
            added_at: r.added_at,
            added_at_upper_bound: r.added_at_upper_bound,
            first_seen_at: r.first_seen_at,
            cert,
        });
    }
    let mut routes = group(
        sqlx::query!(
            r#"select host_id, destination as "destination: IpNet", next_hop as "next_hop: IpNet", interface, metric, persistent
               from unnest($1::bigint[]) as ids(id) join host_routes r on r.host_id = ids.id
               where masklen(destination) = 0 or next_hop is not null
               order by host_id, position"#,
            &ids
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| {
            (r.host_id, RouteFact {
                destination: r.destination,
                next_hop: r.next_hop.map(|h| h.addr()),
                interface: r.interface,
                metric: u32::try_from(r.metric).unwrap_or(0),
                persistent: r.persistent,
            })
        }),
    );
    let mut interfaces = group(
        sqlx::query!(
            r#"select host_id, name, addresses as "addresses: Vec<IpNet>", gateway as "gateway: IpNet"
               from unnest($1::bigint[]) as ids(id) join host_interfaces i on i.host_id = ids.id"#,
            &ids
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.host_id, InterfaceFact { name: r.name, addresses: r.addresses, gateway: r.gateway.map(|g| g.addr()) })),
    );
    let mut services = group(
        sqlx::query!(
            r#"select host_id, name::text as "name!", state, started_at
               from unnest($1::bigint[]) as ids(id) join host_services s on s.host_id = ids.id"#,
            &ids
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| {
            (
                r.host_id,
                ServiceFact {
                    name: r.name,
                    state: r.state,
                    started_at: r.started_at,
                },
            )
        }),
    );
    let mut settings: HashMap<i64, SettingsFacts> = sqlx::query!(
        "select host_id, vmm, hyperv_terminal_service, rd_gateway
         from unnest($1::bigint[]) as ids(id) join host_settings s on s.host_id = ids.id",
        &ids
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| {
        (
            r.host_id,
            SettingsFacts {
                vmm: r.vmm.and_then(|v| serde_json::from_value(v).ok()),
                hyperv_terminal_service: r
                    .hyperv_terminal_service
                    .and_then(|v| serde_json::from_value(v).ok()),
                rd_gateway: r.rd_gateway.and_then(|v| serde_json::from_value(v).ok()),
            },
        )
    })
    .collect();
    let mut components = group(
        sqlx::query!(
            "select host_id, name, version from unnest($1::bigint[]) as ids(id) join host_components c on c.host_id = ids.id",
            &ids
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.host_id, (r.name, r.version))),
    );

    Ok(rows
        .into_iter()
        .map(|r| {
            let collected = |s: &str| r.sections.iter().any(|x| x == s);
            HostFacts {
                host_id: r.id,
                roles: r.roles.iter().filter_map(|x| Role::parse(x)).collect(),
                last_collected_at: r.last_collected_at,
                first_seen_at: r.first_seen_at,
                vitals: vitals!(r),
                certificates: collected("certificates")
                    .then(|| by_host_certs.remove(&r.id).unwrap_or_default()),
                interfaces: collected("interfaces")
                    .then(|| interfaces.remove(&r.id).unwrap_or_default()),
                routes: collected("routes").then(|| routes.remove(&r.id).unwrap_or_default()),
                services: collected("services").then(|| services.remove(&r.id).unwrap_or_default()),
                settings: settings.remove(&r.id).unwrap_or_default(),
                components: components
                    .remove(&r.id)
                    .unwrap_or_default()
                    .into_iter()
                    .collect::<BTreeMap<_, _>>(),
                collection_errors: r
                    .collection_errors
                    .and_then(|v| serde_json::from_value(v).ok()),
                fqdn: r.fqdn,
            }
        })
        .collect())
}

/// Every component version reported in the stamp: (host id, fqdn, component, version).
pub async fn components(
    conn: &mut PgConnection,
    stamp_id: i64,
) -> Result<Vec<(i64, String, String, String)>, sqlx::Error> {
    Ok(
        sqlx::query_file!("src/rules/sql/components_of_stamp.sql", stamp_id)
            .fetch_all(conn)
            .await?
            .into_iter()
            .map(|r| (r.id, r.fqdn, r.name, r.version))
            .collect(),
    )
}

/// [`components`] from the facts of every host of the stamp, already loaded by a whole run (the
/// same rows in the same order: by host id, then component).
pub fn components_of(hosts: &[HostFacts]) -> Vec<(i64, String, String, String)> {
    let mut out: Vec<(i64, String, String, String)> = hosts
        .iter()
        .flat_map(|h| {
            h.components
                .iter()
                .map(|(name, version)| (h.host_id, h.fqdn.clone(), name.clone(), version.clone()))
        })
        .collect();
    out.sort_by(|a, b| (a.0, &a.2).cmp(&(b.0, &b.2)));
    out
}

pub async fn plans(conn: &mut PgConnection, stamp_id: i64) -> Result<Vec<PlanFact>, sqlx::Error> {
    sqlx::query_as!(
        PlanFact,
        r#"select id as plan_id, wap_plan_id, name, remote_console, quota_vcpus, quota_memory_gb
           from plans where stamp_id = $1 order by wap_plan_id"#,
        stamp_id
    )
    .fetch_all(conn)
    .await
}

/// The capacity rules' input: the stamp's Hyper-V hosts and its plans' quotas. `loaded`: the facts
/// of every host of the stamp, when a whole run has them already (the hosts are not read again).
pub async fn capacity(
    conn: &mut PgConnection,
    stamp_id: i64,
    loaded: Option<&[HostFacts]>,
) -> Result<CapacityInputs, sqlx::Error> {
    let hyperv_hosts = match loaded {
        Some(hosts) => hyperv_hosts_of(hosts),
        None => hyperv_hosts(conn, stamp_id).await?,
    };
    let plans = sqlx::query!(
        "select wap_plan_id, quota_vms, quota_vcpus, quota_memory_gb, quota_storage_gb from plans where stamp_id = $1 order by wap_plan_id",
        stamp_id
    )
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(|p| PlanQuota {
        wap_plan_id: p.wap_plan_id,
        vms: Some(p.quota_vms),
        vcpus: p.quota_vcpus,
        memory_gb: p.quota_memory_gb,
        storage_gb: Some(p.quota_storage_gb),
    })
    .collect();
    Ok(CapacityInputs {
        hyperv_hosts,
        plans,
    })
}

/// The Hyper-V hosts among hosts already loaded (in the order [`hosts`] gives: by FQDN).
pub fn hyperv_hosts_of(hosts: &[HostFacts]) -> Vec<HostVitals> {
    hosts
        .iter()
        .filter(|h| h.has_role(Role::HypervHost))
        .map(|h| HostVitals {
            host_id: h.host_id,
            fqdn: h.fqdn.clone(),
            vitals: h.vitals.clone(),
        })
        .collect()
}

async fn hyperv_hosts(
    conn: &mut PgConnection,
    stamp_id: i64,
) -> Result<Vec<HostVitals>, sqlx::Error> {
    Ok(sqlx::query!(
        r#"select id, fqdn::text as "fqdn!", cpu_cores, memory_mb, storage_gb, vm_count, vm_vcpus, vm_memory_mb
           from hosts where stamp_id = $1 and 'hyperv_host' = any(roles) order by fqdn"#,
        stamp_id
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| HostVitals {
        host_id: r.id,
        fqdn: r.fqdn,
        vitals: vitals!(r),
    })
    .collect())
}

/// A row of the declared-plan select list (`p.id, p.wap_plan_id, p.name, p.stamp_id, s.name as
/// stamp, p.cloud, p.public, p.quota_*`) as (stamp id, [`DeclaredPlan`]).
macro_rules! declared_plan {
    ($r:expr) => {{
        let r = $r;
        (
            r.stamp_id,
            DeclaredPlan {
                plan_id: r.id,
                wap_plan_id: r.wap_plan_id,
                name: r.name,
                stamp: r.stamp,
                cloud: r.cloud,
                public: r.public,
                vms: r.quota_vms,
                vcpus: r.quota_vcpus,
                memory_gb: r.quota_memory_gb,
                storage_gb: r.quota_storage_gb,
            },
        )
    }};
}

/// Every host of a stamp, a whole run's input.
pub const HOSTS_OF_STAMP: &str = include_str!("sql/hosts_of_stamp.sql");
/// The hosts of a stamp that reports changed, a host run's input.
pub const HOSTS_OF_STAMP_AMONG: &str = include_str!("sql/hosts_of_stamp_among.sql");
/// The VMM settings a stamp's hosts reported, the Remote Console rules' input (every run).
pub const VMM_SETTINGS_OF_STAMP: &str = include_str!("sql/vmm_settings_of_stamp.sql");
/// The components of a stamp's hosts, the version rules' input.
pub const COMPONENTS_OF_STAMP: &str = include_str!("sql/components_of_stamp.sql");
/// The declared plans of one stamp, the WAP rules' side of the comparison.
pub const DECLARED_PLANS_OF_STAMP: &str = include_str!("sql/declared_plans_of_stamp.sql");
/// Which reported plan keys are declared on any stamp.
pub const DECLARED_AMONG: &str = include_str!("sql/declared_among.sql");
/// The stamps whose declared plans name each of some clouds.
pub const CLOUD_STAMPS_AMONG: &str = include_str!("sql/cloud_stamps_among.sql");
/// [`declared_plans_of_keys`]'s statement (exposed for the plan checks).
pub const DECLARED_PLANS_OF_KEYS: &str = include_str!("sql/declared_plans_of_keys.sql");

/// Every declared plan of the inventory as the WAP comparison reads it, with its stamp's id.
pub async fn declared_plans(
    conn: &mut PgConnection,
) -> Result<Vec<(i64, DeclaredPlan)>, sqlx::Error> {
    Ok(sqlx::query!(
        r#"select p.id, p.wap_plan_id, p.name, p.stamp_id, s.name as stamp, p.cloud, p.public,
                  p.quota_vms, p.quota_vcpus, p.quota_memory_gb, p.quota_storage_gb
           from plans p join stamps s on s.id = p.stamp_id order by p.wap_plan_id"#
    )
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(|r| declared_plan!(r))
    .collect())
}

/// [`cloud_stamps`] of these clouds only (lower-cased names or ids, as
/// [`super::wap_plans::named_clouds`] gives them): one index lookup per cloud, so that comparing a
/// few plans with WAP does not read every declared plan of the fleet. No statement when there are
/// none.
pub async fn cloud_stamps_among(
    conn: &mut PgConnection,
    clouds: BTreeSet<String>,
) -> Result<BTreeMap<String, BTreeSet<String>>, sqlx::Error> {
    if clouds.is_empty() {
        return Ok(BTreeMap::new());
    }
    let clouds: Vec<String> = clouds.into_iter().collect();
    Ok(
        sqlx::query_file!("src/rules/sql/cloud_stamps_among.sql", &clouds)
            .fetch_all(conn)
            .await?
            .into_iter()
            .map(|r| (r.cloud, r.stamps.into_iter().collect()))
            .collect(),
    )
}

/// The declared plans whose ids are these `keys` ignoring case, and which of their stamps' WAP
/// servers have reported plans at least once (elsewhere a plan's absence from WAP is unknown).
pub struct DeclaredOfKeys {
    pub plans: Vec<(i64, DeclaredPlan)>,
    pub wap_collected: BTreeSet<i64>,
}

/// The declared plans whose ids are these `keys` ignoring case (lower-cased, as WAP compares
/// ids; index plans_wap_plan_key_idx), with whether their stamps' WAP servers ever reported
/// (hosts_wap_collected_idx), in one round trip: what a plan's page, its adoption and the plans
/// page compare with WAP.
pub async fn declared_plans_of_keys(
    conn: &mut PgConnection,
    keys: &[String],
) -> Result<DeclaredOfKeys, sqlx::Error> {
    let rows = sqlx::query_file!("src/rules/sql/declared_plans_of_keys.sql", keys)
        .fetch_all(conn)
        .await?;
    let mut out = DeclaredOfKeys {
        plans: Vec::with_capacity(rows.len()),
        wap_collected: BTreeSet::new(),
    };
    for r in rows {
        if r.wap_collected {
            out.wap_collected.insert(r.stamp_id);
        }
        out.plans.push(declared_plan!(r));
    }
    Ok(out)
}

/// Cloud (lower-cased) → the stamps whose declared plans name it: how the inventory places a
/// VMM cloud on a stamp.
pub fn cloud_stamps(declared: &[(i64, DeclaredPlan)]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, d) in declared {
        let cloud = d.cloud.trim();
        if !cloud.is_empty() {
            out.entry(cloud.to_lowercase())
                .or_default()
                .insert(d.stamp.clone());
        }
    }
    out
}

/// What the WAP plan rules of one stamp read: its WAP servers' plans, whether they ever
/// reported, this stamp's declared plans, and of the rest of the inventory only what the reported
/// plans name (which of their ids are declared, which stamps declare their clouds): the cost of a
/// stamp's evaluation does not grow with the fleet's plans.
pub async fn wap(conn: &mut PgConnection, stamp_id: i64) -> Result<WapInputs, sqlx::Error> {
    let stamps = [stamp_id];
    let collected = !wap_facts::collected_stamps(&mut *conn, Some(&stamps))
        .await?
        .is_empty();
    let reported: Vec<(String, WapPlanFact)> =
        wap_facts::reported(&mut *conn, wap_facts::Which::OfStamps(&stamps))
            .await?
            .into_iter()
            .map(|r| (r.host, r.plan))
            .collect();
    let declared = sqlx::query_file!("src/rules/sql/declared_plans_of_stamp.sql", stamp_id)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| declared_plan!(r).1)
        .collect();
    let keys: Vec<String> = reported
        .iter()
        .map(|(_, p)| p.key())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let declared_ids = if keys.is_empty() {
        BTreeSet::new()
    } else {
        sqlx::query_file_scalar!("src/rules/sql/declared_among.sql", &keys)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect()
    };
    let clouds = super::wap_plans::named_clouds(reported.iter().map(|(_, p)| p));
    let cloud_stamps = cloud_stamps_among(&mut *conn, clouds).await?;
    Ok(WapInputs {
        collected,
        reported,
        declared,
        declared_ids,
        cloud_stamps,
    })
}
