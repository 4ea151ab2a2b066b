//! Problem rules: pure functions from one stamp's facts to findings, the engine that runs them
//! and keeps problems open/resolved, and the queue that says which stamps need it.
//!
//! The rule families (SPEC §5), one module each, all pure (no database, no HTTP, no clock):
//! - [`certificates`] — `cert.*`: expiry and weak crypto of certificates with a key in `My`;
//! - [`remote_console`] — `remote_console.*`: the VMConnect certificate chain from VMM through
//!   Hyper-V hosts to the RD Gateway ([`remote_console::context()`] resolves it once per stamp);
//! - [`routes`] — `route.*`: default routes of multi-homed hosts, by stamp network;
//! - [`staleness`] — `host.stale`: hosts that stopped reporting (the service's own outages
//!   excused);
//! - [`collection`] — `host.collection_failed`: hosts whose collector could not see a section;
//! - [`versions`] — `stamp.version_drift`, with the update-rollup tables;
//! - [`capacity`] — `capacity.overcommit`, and the [`capacity::CapacitySummary`] the capacity
//!   API and dashboard show;
//! - [`exhaustion`] — `capacity.exhaustion_soon`, from the [`forecast`] of the stamp's
//!   capacity history;
//! - [`plans`] — `plan.*`: plans on sale on a retired or broken stamp;
//! - [`wap_plans`] — `plan.*`: plans as WAP knows them against the inventory.
//!
//! The engine calls [`evaluate_host`] for each host that changed, [`evaluate_stamp`] for the
//! stamp-wide rules, then [`evaluate_plans`] with every open problem (this run's included).
//! [`RULES`] lists every rule with its scope, which tells the engine which run resolves it.

pub mod capacity;
pub mod certificates;
pub mod collection;
mod describe;
pub mod engine;
pub mod exhaustion;
pub mod forecast;
pub mod load;
pub mod model;
pub mod plans;
pub mod queue;
pub mod remote_console;
pub mod routes;
pub mod staleness;
#[cfg(test)]
mod testkit;
pub mod versions;
pub mod wap_plans;
pub mod worker;

use chrono::{DateTime, Utc};
use serde::Serialize;

use capacity::CapacityInputs;
use model::{Finding, HostFacts, OpenProblem, PlanFact, Severity, StampContext};
use remote_console::RemoteConsoleContext;

/// Which evaluation produces (and so resolves) a rule's findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleScope {
    /// [`evaluate_host`]: one finding set per host.
    Host,
    /// [`evaluate_stamp`]: the stamp as a whole (a finding may still name the VMM host).
    Stamp,
    /// [`evaluate_plans`]: one finding per plan.
    Plan,
}

/// A rule as documentation, the API and the dashboard describe it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleInfo {
    pub id: &'static str,
    /// The usual severity; `cert.expiring` and `host.stale` escalate to critical.
    pub severity: Severity,
    pub family: &'static str,
    pub scope: RuleScope,
    pub description: &'static str,
}

const fn rule(
    id: &'static str,
    severity: Severity,
    family: &'static str,
    scope: RuleScope,
    description: &'static str,
) -> RuleInfo {
    RuleInfo {
        id,
        severity,
        family,
        scope,
        description,
    }
}

use RuleScope::{Host, Plan, Stamp};
use Severity::{Critical, Warning};

// One rule per line reads as the SPEC's table does; rustfmt would spread each over seven.
#[rustfmt::skip]
pub const RULES: &[RuleInfo] = &[
    rule(certificates::EXPIRED, Critical, "certificates", Host,
        "A certificate with a private key in LocalMachine\\My has expired."),
    rule(certificates::EXPIRING, Warning, "certificates", Host,
        "A certificate with a private key in LocalMachine\\My expires within cert_warning_days (critical within cert_critical_days)."),
    rule(certificates::WEAK_SIGNATURE, Warning, "certificates", Host,
        "A certificate with a private key in LocalMachine\\My is signed with MD5 or SHA-1."),
    rule(certificates::WEAK_KEY, Warning, "certificates", Host,
        "A certificate with a private key in LocalMachine\\My has an RSA key under 2048 bits."),
    rule(remote_console::CERT_KEY_USAGE, Critical, "remote_console", Stamp,
        "A VMConnect certificate has no Key Usage extension, or one without digitalSignature."),
    rule(remote_console::CERT_EKU, Critical, "remote_console", Stamp,
        "A VMConnect certificate's EKU lacks Client Authentication (1.3.6.1.5.5.7.3.2)."),
    rule(remote_console::CERT_PROVIDER, Warning, "remote_console", Stamp,
        "VMM keeps a VMConnect certificate's key in a provider other than Microsoft Enhanced RSA and AES Cryptographic Provider (no SHA-256)."),
    rule(remote_console::CERT_NOT_DEPLOYED, Critical, "remote_console", Host,
        "A Hyper-V host lacks the VMConnect Hyper-V certificate in LocalMachine\\My, or an RD Gateway the gateway certificate."),
    rule(remote_console::ROOT_UNTRUSTED, Critical, "remote_console", Host,
        "A Hyper-V host or RD Gateway lacks the VMConnect certificate's root in LocalMachine\\Root."),
    rule(remote_console::VMMS_RESTART_NEEDED, Critical, "remote_console", Host,
        "On a Hyper-V host, vmms started before the VMConnect root appeared in LocalMachine\\Root."),
    rule(remote_console::HOST_TRUSTED_ISSUER, Critical, "remote_console", Host,
        "A Hyper-V host's trusted issuer hashes lack the VMConnect Hyper-V thumbprint, or its allowed hash algorithms exclude SHA256."),
    rule(remote_console::RDGW_TRUSTED_ISSUER, Critical, "remote_console", Host,
        "An RD Gateway's trusted issuer certificates lack the VMConnect gateway thumbprint."),
    rule(remote_console::RDGW_PLUGIN, Critical, "remote_console", Host,
        "An RD Gateway's authentication or authorization plugin is not the Console Connect plugin (FedAuthAuthenticationPlugin / FedAuthAuthorizationPlugin as its installer registers them, or FedAuthorizationPlugin as VMM's documentation names it)."),
    rule(remote_console::RDGW_PUBLIC_CERT, Warning, "remote_console", Host,
        "The RD Gateway's SSL certificate is self-signed or does not match the stamp's rd_gateway_fqdn."),
    rule(routes::DEFAULT_VIA_MANAGEMENT, Critical, "routes", Host,
        "On an NVGRE gateway or a host with a front-end address, the effective default route goes through a management network."),
    rule(routes::DEFAULT_AMBIGUOUS, Warning, "routes", Host,
        "Two or more default routes through different networks tie for the lowest metric."),
    rule(routes::DEFAULT_MISSING, Warning, "routes", Host,
        "An NVGRE gateway has no default route through a front-end network."),
    rule(routes::MANAGEMENT_STATIC_MISSING, Warning, "routes", Host,
        "A host whose default route leaves through another network lacks a static route to a required management prefix via the management gateway."),
    rule(staleness::STALE, Warning, "staleness", Host,
        "The host's newest report is older than 3 × report_interval_s, not counting the service's own outages (critical after 24 h)."),
    rule(collection::COLLECTION_FAILED, Warning, "collection", Host,
        "The host's newest report lists sections its collector could not collect (collection_errors)."),
    rule(versions::VERSION_DRIFT, Warning, "versions", Stamp,
        "Hosts of the stamp report different versions of a component, or a version below the stamp's target."),
    rule(capacity::OVERCOMMIT, Warning, "capacity", Stamp,
        "Plan quotas exceed physical cores × cpu_overcommit or physical memory × memory_overcommit."),
    rule(exhaustion::EXHAUSTION_SOON, Warning, "capacity", Stamp,
        "A resource's forecast use crosses the stamp's limit within exhaustion_warning_days (critical within exhaustion_critical_days)."),
    rule(plans::STAMP_UNHEALTHY, Critical, "plans", Plan,
        "The plan's stamp has an open unacknowledged critical problem (with Remote Console: any open remote_console problem)."),
    rule(plans::STAMP_MISSING, Critical, "plans", Plan,
        "The plan's stamp does not exist or is retired."),
    rule(wap_plans::UNDECLARED, Warning, "wap_plans", Plan,
        "WAP reports a public plan that the inventory does not declare."),
    rule(wap_plans::NOT_IN_WAP, Warning, "wap_plans", Plan,
        "A declared plan is absent from the plans its stamp's WAP server reports."),
    rule(wap_plans::QUOTA_MISMATCH, Warning, "wap_plans", Plan,
        "A declared plan's quotas differ from WAP's (both values in the evidence)."),
    rule(wap_plans::CLOUD_MISMATCH, Critical, "wap_plans", Plan,
        "WAP sells the plan on a VMM cloud that the inventory places on another stamp than the plan's."),
];

/// The rule with this id.
/// The rules whose open problem on a host any report of that host may resolve (it reported
/// again): ingest queues such a host even when its facts did not change.
pub const RESOLVED_BY_A_REPORT: &[&str] = &[staleness::STALE];

pub fn rule_info(id: &str) -> Option<&'static RuleInfo> {
    RULES.iter().find(|r| r.id == id)
}

/// Every host-scoped rule for one host: certificates, its side of Remote Console, routes,
/// staleness and failed collection.
pub fn evaluate_host(
    ctx: &StampContext,
    rc: &RemoteConsoleContext,
    host: &HostFacts,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    let mut findings = certificates::evaluate(ctx, host, now);
    findings.extend(remote_console::evaluate_host(ctx, rc, host));
    findings.extend(routes::evaluate(ctx, host));
    findings.extend(staleness::evaluate(ctx, host, now));
    findings.extend(collection::evaluate(host));
    findings
}

/// Every stamp-scoped rule: the VMConnect certificates, version drift over
/// `(host_id, fqdn, component, version)` rows, capacity and its forecasts. None of them
/// depends on the time today; `_now` keeps the engine's call uniform with [`evaluate_host`]
/// for rules that will.
pub fn evaluate_stamp(
    ctx: &StampContext,
    rc: &RemoteConsoleContext,
    components: &[(i64, String, String, String)],
    capacity: &CapacityInputs,
    forecasts: &[forecast::ResourceForecast],
    _now: DateTime<Utc>,
) -> Vec<Finding> {
    let mut findings = remote_console::evaluate_stamp(rc);
    findings.extend(versions::evaluate(ctx, components));
    findings.extend(capacity::evaluate(ctx, capacity));
    findings.extend(exhaustion::evaluate(ctx, forecasts));
    findings
}

/// Every plan-scoped rule, given the stamp's open problems (this run's findings included).
pub fn evaluate_plans(
    ctx: &StampContext,
    plans: &[PlanFact],
    open: &[OpenProblem],
) -> Vec<Finding> {
    plans::evaluate(ctx, plans, open)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::TimeDelta;
    use stampbook_agent::certgen::{self, CertSpec};
    use stampbook_wire::Role;

    use super::capacity::{HostVitals, PlanQuota};
    use super::model::VitalsFact;
    use super::testkit::{host, my, stamp};
    use super::*;

    #[test]
    fn entry_points_gather_every_family_and_tag_findings_with_known_rules() {
        let ctx = stamp();
        let mut h = host(3, "hv03.ams-01.example.net", &[Role::HypervHost]);
        let now = h.last_collected_at + TimeDelta::hours(2);
        let expired = certgen::self_signed(&CertSpec {
            not_after: now - TimeDelta::days(1),
            ..CertSpec::new("hv03.ams-01.example.net")
        })
        .unwrap();
        h.certificates = Some(vec![my(&expired)]);
        let rc = RemoteConsoleContext::default();
        let host_rules: Vec<&str> = evaluate_host(&ctx, &rc, &h, now)
            .iter()
            .map(|f| f.rule)
            .collect();
        assert_eq!(host_rules, [certificates::EXPIRED, staleness::STALE]);

        let components = [
            (
                3,
                "hv03".to_owned(),
                "vmm_agent".to_owned(),
                "3.2.7620.0".to_owned(),
            ),
            (
                4,
                "hv04".to_owned(),
                "vmm_agent".to_owned(),
                "3.2.7634.0".to_owned(),
            ),
        ];
        let capacity = CapacityInputs {
            hyperv_hosts: vec![HostVitals {
                host_id: 3,
                fqdn: h.fqdn.clone(),
                vitals: VitalsFact {
                    cpu_cores: Some(8),
                    ..VitalsFact::default()
                },
            }],
            plans: vec![PlanQuota {
                wap_plan_id: "gold-ams".into(),
                vms: None,
                vcpus: 33,
                memory_gb: 0,
                storage_gb: None,
            }],
        };
        let stamp_findings = evaluate_stamp(&ctx, &rc, &components, &capacity, &[], now);
        let stamp_rules: Vec<&str> = stamp_findings.iter().map(|f| f.rule).collect();
        assert_eq!(stamp_rules, [versions::VERSION_DRIFT, capacity::OVERCOMMIT]);

        let open: Vec<OpenProblem> = evaluate_host(&ctx, &rc, &h, now)
            .into_iter()
            .map(|f| OpenProblem {
                rule: f.rule.to_owned(),
                severity: f.severity,
                host_id: f.host_id,
                subject: f.subject,
                acknowledged: false,
            })
            .collect();
        let plan = PlanFact {
            plan_id: 9,
            wap_plan_id: "gold-ams".into(),
            name: "Gold IaaS".into(),
            remote_console: false,
            quota_vcpus: 33,
            quota_memory_gb: 0,
        };
        let plan_rules: Vec<&str> = evaluate_plans(&ctx, &[plan], &open)
            .iter()
            .map(|f| f.rule)
            .collect();
        assert_eq!(plan_rules, [plans::STAMP_UNHEALTHY]);

        for f in stamp_findings {
            let info = rule_info(f.rule).unwrap();
            assert_eq!(info.scope, RuleScope::Stamp);
        }
    }

    #[test]
    fn every_rule_of_the_spec_is_listed_once_with_its_family_prefix() {
        let ids: BTreeSet<&str> = RULES.iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), RULES.len());
        assert_eq!(RULES.len(), 29);
        for r in RULES {
            let prefix = r.id.split('.').next().unwrap();
            assert!(!r.description.is_empty());
            assert!(r.description.ends_with('.'), "{}", r.id);
            assert!(
                matches!(
                    prefix,
                    "cert" | "remote_console" | "route" | "host" | "stamp" | "capacity" | "plan"
                ),
                "{}",
                r.id
            );
        }
        assert_eq!(
            rule_info("host.stale").map(|r| r.scope),
            Some(RuleScope::Host)
        );
    }
}
