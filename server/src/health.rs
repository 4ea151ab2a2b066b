//! Stamp health and Remote Console readiness, derived from open problems (SPEC §5): critical if
//! any open unacknowledged critical, degraded if any such warning, else ok; Remote Console ready
//! only when no `remote_console.*` problem is open, naming the first broken link of the chain.

use std::collections::HashMap;

use serde::Serialize;
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

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RemoteConsole {
    pub ready: bool,
    /// The first broken link of VMM certificate → hosts' trust → RD Gateway's trust.
    pub broken_link: Option<ChainLink>,
    /// Every broken link.
    pub broken_links: Vec<ChainLink>,
    /// The open `remote_console.*` rules.
    pub open_rules: Vec<String>,
    /// A VMM server of the stamp reported its VMConnect settings. Until one does, no
    /// `remote_console.*` rule can fire, so `ready` only says that nothing is known to be broken.
    pub vmm_reported: bool,
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
                ready: true,
                broken_link: None,
                broken_links: vec![],
                open_rules: vec![],
                vmm_reported: false,
            },
        }
    }
}

/// Health of the given stamps (ids), keyed by id: from the kept per-stamp counts of open
/// problems ([`refresh_counts`]) and the acknowledged ones, never a scan of every open problem.
pub async fn for_stamps(
    conn: &mut PgConnection,
    ids: &[i64],
) -> Result<HashMap<i64, StampHealth>, sqlx::Error> {
    let stamps = sqlx::query!(
        "select id, name, retired_at is not null as \"retired!\" from stamps where id = any($1)",
        ids
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out: HashMap<i64, StampHealth> = stamps
        .into_iter()
        .map(|s| (s.id, StampHealth::empty(s.name, s.retired)))
        .collect();
    // the kept counts, less what is acknowledged now (acknowledgements end with time)
    let rows = sqlx::query!(
        r#"select c.stamp_id, c.rule, c.severity,
                  greatest(c.n - coalesce(a.n, 0), 0) as "unacked!",
                  least(coalesce(a.n, 0), c.n) as "acked!"
           from stamp_problem_counts c
           left join (select stamp_id, rule, severity, count(*) as n
                      from problems
                      where resolved_at is null and ack_at is not null
                        and (ack_until is null or ack_until > now()) and stamp_id = any($1)
                      group by 1, 2, 3) a using (stamp_id, rule, severity)
           where c.stamp_id = any($1)"#,
        ids
    )
    .fetch_all(&mut *conn)
    .await?;
    for r in rows {
        let Some(h) = out.get_mut(&r.stamp_id) else {
            continue;
        };
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
    let reported = sqlx::query_scalar!(
        r#"select distinct h.stamp_id from hosts h join host_settings hs on hs.host_id = h.id
           where h.stamp_id = any($1) and hs.vmm is not null"#,
        ids
    )
    .fetch_all(&mut *conn)
    .await?;
    for id in reported {
        if let Some(h) = out.get_mut(&id) {
            h.remote_console.vmm_reported = true;
        }
    }
    for h in out.values_mut() {
        h.health = if h.open.critical > 0 {
            Health::Critical
        } else if h.open.warning > 0 {
            Health::Degraded
        } else {
            Health::Ok
        };
        h.remote_console.broken_links.sort();
        h.remote_console.open_rules.sort();
        h.remote_console.broken_link = h.remote_console.broken_links.first().copied();
    }
    Ok(out)
}

pub async fn for_stamp(
    conn: &mut PgConnection,
    id: i64,
) -> Result<Option<StampHealth>, sqlx::Error> {
    Ok(for_stamps(conn, &[id]).await?.remove(&id))
}

/// Counts a stamp's open problems again into `stamp_problem_counts`. Whoever opens, resolves or
/// changes the severity of a stamp's problems calls this in the same transaction, holding the
/// stamp's evaluation lock (`crate::rules::engine::lock_stamp`), so that two writers never
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
