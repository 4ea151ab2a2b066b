//! Stamp health and Remote Console readiness (SPEC §5): health from open problems (critical if
//! any open unacknowledged critical, degraded if any such warning, else ok); readiness `broken`
//! when a `remote_console.*` problem is open (naming the first broken link of the chain),
//! `unknown` when a host that should hold an input of the chain has not collected it or failed
//! to in its newest report (`hosts.blind`, kept by ingest; see `facts::blind`) or no VMM server
//! has reported its settings, `ready` only otherwise.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Ok,
    Degraded,
    Critical,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Degraded => "degraded",
            Health::Critical => "critical",
        }
    }
}

/// A link of the Remote Console trust chain, in the order the chain is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChainLink {
    /// The VMConnect certificates VMM signs tokens with.
    VmmCertificate,
    /// The Hyper-V hosts' trust in them.
    HostTrust,
    /// The RD Gateways' trust in them.
    RdGatewayTrust,
}

impl ChainLink {
    pub fn of_rule(rule: &str) -> Option<ChainLink> {
        Some(match rule {
            "remote_console.cert_key_usage"
            | "remote_console.cert_eku"
            | "remote_console.cert_provider" => ChainLink::VmmCertificate,
            "remote_console.cert_not_deployed"
            | "remote_console.root_untrusted"
            | "remote_console.vmms_restart_needed"
            | "remote_console.host_trusted_issuer" => ChainLink::HostTrust,
            "remote_console.rdgw_trusted_issuer"
            | "remote_console.rdgw_plugin"
            | "remote_console.rdgw_public_cert" => ChainLink::RdGatewayTrust,
            _ => return None,
        })
    }

    /// The serialised name (`vmm_certificate`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ChainLink::VmmCertificate => "vmm_certificate",
            ChainLink::HostTrust => "host_trust",
            ChainLink::RdGatewayTrust => "rd_gateway_trust",
        }
    }

    pub fn parse(s: &str) -> Option<ChainLink> {
        [
            ChainLink::VmmCertificate,
            ChainLink::HostTrust,
            ChainLink::RdGatewayTrust,
        ]
        .into_iter()
        .find(|l| l.as_str() == s)
    }

    pub fn describe(self) -> &'static str {
        match self {
            ChainLink::VmmCertificate => "VMM certificate",
            ChainLink::HostTrust => "hosts' trust",
            ChainLink::RdGatewayTrust => "RD Gateway's trust",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct SeverityCounts {
    pub critical: i64,
    pub warning: i64,
    pub info: i64,
}

/// Remote Console readiness of a stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Readiness {
    /// Every input of the chain was collected from every host that should hold it, and no
    /// `remote_console.*` problem is open.
    Ready,
    /// Nothing is known to be broken, but an input of the chain was not collected.
    Unknown,
    /// A `remote_console.*` problem is open.
    Broken,
}

impl Readiness {
    pub fn as_str(self) -> &'static str {
        match self {
            Readiness::Ready => "ready",
            Readiness::Unknown => "unknown",
            Readiness::Broken => "broken",
        }
    }
}

/// An input of the chain that hosts which should hold it have not collected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct UnknownInput {
    pub link: ChainLink,
    /// The report section, as `collection_errors` names it (`settings.rd_gateway`, `certificates`).
    pub input: String,
    /// The first hosts (by name) that lack it; empty when no host of the stamp reported it at all.
    pub hosts: Vec<String>,
    /// How many hosts lack it.
    pub hosts_total: i64,
}

/// How many host names an unknown input lists.
const UNKNOWN_HOSTS_NAMED: usize = 3;

impl UnknownInput {
    /// `settings.rd_gateway on rdgw01.ams-01.example.net`, `certificates on hv01, hv02, hv03 and 5 more`.
    pub fn describe(&self) -> String {
        if self.hosts.is_empty() {
            return format!("{}: no host of the stamp has reported it", self.input);
        }
        let more = self.hosts_total - self.hosts.len() as i64;
        let names = self.hosts.join(", ");
        if more > 0 {
            format!("{} on {names} and {more} more", self.input)
        } else {
            format!("{} on {names}", self.input)
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RemoteConsole {
    /// `ready`, `unknown` or `broken` (broken wins when both apply).
    pub state: Readiness,
    /// `state` is `ready`.
    pub ready: bool,
    /// The first broken link of VMM certificate → hosts' trust → RD Gateway's trust.
    pub broken_link: Option<ChainLink>,
    /// Every broken link.
    pub broken_links: Vec<ChainLink>,
    /// The open `remote_console.*` rules.
    pub open_rules: Vec<String>,
    /// Links with an input that was not collected, in chain order.
    pub unknown_links: Vec<ChainLink>,
    /// The inputs not collected, and from which hosts.
    pub unknown: Vec<UnknownInput>,
    /// A VMM server of the stamp reported its VMConnect settings. Until one does, no
    /// `remote_console.*` rule can fire, and readiness is `unknown`.
    pub vmm_reported: bool,
}

impl RemoteConsole {
    /// What the tile says after the state: the first broken link (`hosts' trust (+1)`) or the
    /// first input not collected (`settings.rd_gateway on rdgw01… (+1)`).
    pub fn detail(&self) -> String {
        let (first, n) = match self.state {
            Readiness::Ready => return String::new(),
            Readiness::Broken => (
                self.broken_link.map(|l| l.describe().to_owned()),
                self.broken_links.len(),
            ),
            Readiness::Unknown => (
                self.unknown.first().map(UnknownInput::describe),
                self.unknown.len(),
            ),
        };
        match (first, n) {
            (None, _) => String::new(),
            (Some(f), 0 | 1) => f,
            (Some(f), n) => format!("{f} (+{})", n - 1),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StampHealth {
    pub stamp: String,
    pub health: Health,
    pub retired: bool,
    /// Open, unacknowledged problems by severity (what health counts).
    pub open: SeverityCounts,
    /// Open problems under an acknowledgement that has not ended.
    pub acknowledged: i64,
    pub remote_console: RemoteConsole,
}

impl StampHealth {
    fn empty(stamp: String, retired: bool) -> Self {
        StampHealth {
            stamp,
            health: Health::Ok,
            retired,
            open: SeverityCounts::default(),
            acknowledged: 0,
            remote_console: RemoteConsole {
                state: Readiness::Ready,
                ready: true,
                broken_link: None,
                broken_links: vec![],
                open_rules: vec![],
                unknown_links: vec![],
                unknown: vec![],
                vmm_reported: false,
            },
        }
    }
}

/// [`for_stamps`]'s statement (exposed for the plan checks).
pub const STAMP_HEALTH: &str = include_str!("sql/stamp_health.sql");

/// A row of the kept counts of a stamp's open problems, split by acknowledgement.
#[derive(Debug, Deserialize)]
struct CountRow {
    rule: String,
    severity: String,
    unacked: i64,
    acked: i64,
}

/// An input of the Remote Console chain that hosts of a stamp lack (`link:input`).
#[derive(Debug, Deserialize)]
struct BlindRow {
    entry: String,
    n: i64,
    hosts: Vec<String>,
}

/// Health of the given stamps (ids), keyed by id: from the kept per-stamp counts of open
/// problems ([`refresh_counts`]) and the acknowledged ones, never a scan of every open problem;
/// one statement for any number of stamps.
pub async fn for_stamps(
    conn: &mut PgConnection,
    ids: &[i64],
) -> Result<HashMap<i64, StampHealth>, sqlx::Error> {
    let rows = sqlx::query_file!("src/sql/stamp_health.sql", ids)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut h = StampHealth::empty(r.name, r.retired);
            count_open(&mut h, r.counts.0);
            h.remote_console.vmm_reported = r.vmm_reported;
            name_unknown_inputs(&mut h, r.blind.0);
            judge(&mut h);
            (r.id, h)
        })
        .collect())
}

/// The open problems by severity, less the acknowledged ones; the Remote Console rules among
/// them break their links of the chain.
fn count_open(h: &mut StampHealth, counts: Vec<CountRow>) {
    for r in counts {
        if let Some(link) = ChainLink::of_rule(&r.rule) {
            h.remote_console.ready = false;
            if !h.remote_console.broken_links.contains(&link) {
                h.remote_console.broken_links.push(link);
            }
            if !h.remote_console.open_rules.contains(&r.rule) {
                h.remote_console.open_rules.push(r.rule.clone());
            }
        }
        h.acknowledged += r.acked;
        match r.severity.as_str() {
            "critical" => h.open.critical += r.unacked,
            "warning" => h.open.warning += r.unacked,
            _ => h.open.info += r.unacked,
        }
    }
}

/// The inputs of the chain that hosts lack, and VMM's settings when no VMM server reported them.
fn name_unknown_inputs(h: &mut StampHealth, blind: Vec<BlindRow>) {
    let rc = &mut h.remote_console;
    for r in blind {
        let Some((link, input)) = r
            .entry
            .split_once(':')
            .and_then(|(l, i)| Some((ChainLink::parse(l)?, i)))
        else {
            continue;
        };
        rc.unknown.push(UnknownInput {
            link,
            input: input.to_owned(),
            hosts: r.hosts.into_iter().take(UNKNOWN_HOSTS_NAMED).collect(),
            hosts_total: r.n,
        });
    }
    if !rc.vmm_reported
        && !rc
            .unknown
            .iter()
            .any(|u| u.link == ChainLink::VmmCertificate && u.input == "settings.vmm")
    {
        rc.unknown.push(UnknownInput {
            link: ChainLink::VmmCertificate,
            input: "settings.vmm".to_owned(),
            hosts: vec![],
            hosts_total: 0,
        });
    }
    rc.unknown
        .sort_by(|a, b| (a.link, &a.input).cmp(&(b.link, &b.input)));
    rc.unknown_links = rc.unknown.iter().map(|u| u.link).collect();
    rc.unknown_links.dedup();
}

/// Readiness and health from what was counted and named.
fn judge(h: &mut StampHealth) {
    let rc = &mut h.remote_console;
    rc.state = if !rc.open_rules.is_empty() {
        Readiness::Broken
    } else if !rc.unknown.is_empty() {
        Readiness::Unknown
    } else {
        Readiness::Ready
    };
    rc.ready = rc.state == Readiness::Ready;
    rc.broken_links.sort();
    rc.open_rules.sort();
    rc.broken_link = rc.broken_links.first().copied();
    h.health = if h.open.critical > 0 {
        Health::Critical
    } else if h.open.warning > 0 {
        Health::Degraded
    } else {
        Health::Ok
    };
}

pub async fn for_stamp(
    conn: &mut PgConnection,
    id: i64,
) -> Result<Option<StampHealth>, sqlx::Error> {
    Ok(for_stamps(conn, &[id]).await?.remove(&id))
}

/// Counts a stamp's open problems again into `stamp_problem_counts`. Whoever opens, resolves or
/// changes the severity of a stamp's problems calls this in the same transaction, holding the
/// stamp's evaluation lock (`crate::rules::queue::lock_stamp`), so that two writers never
/// count from different snapshots.
pub async fn refresh_counts(conn: &mut PgConnection, stamp_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "delete from stamp_problem_counts where stamp_id = $1",
        stamp_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"insert into stamp_problem_counts (stamp_id, rule, severity, n)
           select stamp_id, rule, severity, count(*)
           from problems
           where stamp_id = $1 and resolved_at is null
           group by stamp_id, rule, severity"#,
        stamp_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
