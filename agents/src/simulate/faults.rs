//! Fault injection: a seeded plan that puts every fault of the catalogue on a few stamps (one
//! host per fault), keeps the rest of the fleet healthy, and says which rule each should fire.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use serde::Serialize;
use stampbook_wire::Role;

use super::fleet::StampModel;

/// Every rule id of SPEC §5.
pub const RULE_IDS: [&str; 23] = [
    "cert.expired",
    "cert.expiring",
    "cert.weak_signature",
    "cert.weak_key",
    "remote_console.cert_key_usage",
    "remote_console.cert_eku",
    "remote_console.cert_provider",
    "remote_console.cert_not_deployed",
    "remote_console.root_untrusted",
    "remote_console.vmms_restart_needed",
    "remote_console.host_trusted_issuer",
    "remote_console.rdgw_trusted_issuer",
    "remote_console.rdgw_plugin",
    "remote_console.rdgw_public_cert",
    "route.default_via_management",
    "route.default_ambiguous",
    "route.default_missing",
    "route.management_static_missing",
    "host.stale",
    "stamp.version_drift",
    "plan.stamp_unhealthy",
    "plan.stamp_missing",
    "capacity.overcommit",
];

/// One kind of injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    CertExpired,
    CertExpiringWarning,
    CertExpiringCritical,
    WeakSha1,
    WeakMd5,
    WeakRsa1024,
    VmconnectMissingFromMy,
    RootMissing,
    VmmsStartedBeforeRoot,
    TrustedHashMissing,
    TrustedHashAlgorithms,
    TrustedHashNearMiss,
    StaleHours,
    StaleDays,
    OlderUpdateRollup,
    RdgwTrustedIssuerMismatch,
    RdgwWrongPlugin,
    RdgwSelfSignedSsl,
    RdgwWrongCnSsl,
    RdgwGatewayCertMissing,
    RdgwRootMissing,
    GwDefaultTie,
    GwDefaultViaManagement,
    GwNoFrontEndDefault,
    ManagementStaticMissing,
    VmconnectNoDigitalSignature,
    VmconnectNoClientAuth,
    VmconnectWeakProvider,
    BelowTargetVersion,
    Overcommit,
    Retired,
    /// Not injected: follows from the critical faults of a stamp that sells plans.
    PlanOnUnhealthyStamp,
}

/// What a fault is put on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Stamp,
    Host(&'static [Role]),
}

const HV: &[Role] = &[Role::HypervHost];
const RDGW: &[Role] = &[Role::RdGateway];
const GW: &[Role] = &[Role::NvgreGateway];
const EDGE: &[Role] = &[Role::WapServer, Role::NvgreGateway];

impl FaultKind {
    pub const ALL: [FaultKind; 32] = {
        use FaultKind::*;
        [
            CertExpired, CertExpiringWarning, CertExpiringCritical, WeakSha1, WeakMd5, WeakRsa1024,
            VmconnectMissingFromMy, RootMissing, VmmsStartedBeforeRoot, TrustedHashMissing,
            TrustedHashAlgorithms, TrustedHashNearMiss, StaleHours, StaleDays, OlderUpdateRollup,
            RdgwTrustedIssuerMismatch, RdgwWrongPlugin, RdgwSelfSignedSsl, RdgwWrongCnSsl,
            RdgwGatewayCertMissing, RdgwRootMissing, GwDefaultTie, GwDefaultViaManagement,
            GwNoFrontEndDefault, ManagementStaticMissing, VmconnectNoDigitalSignature,
            VmconnectNoClientAuth, VmconnectWeakProvider, BelowTargetVersion, Overcommit, Retired,
            PlanOnUnhealthyStamp,
        ]
    };

    pub fn target(self) -> Target {
        use FaultKind::*;
        match self {
            CertExpired | CertExpiringWarning | CertExpiringCritical | WeakSha1 | WeakMd5
            | WeakRsa1024 | VmconnectMissingFromMy | RootMissing | VmmsStartedBeforeRoot
            | TrustedHashMissing | TrustedHashAlgorithms | TrustedHashNearMiss | StaleHours
            | StaleDays | OlderUpdateRollup => Target::Host(HV),
            RdgwTrustedIssuerMismatch | RdgwWrongPlugin | RdgwSelfSignedSsl | RdgwWrongCnSsl
            | RdgwGatewayCertMissing | RdgwRootMissing => Target::Host(RDGW),
            GwDefaultTie | GwDefaultViaManagement | GwNoFrontEndDefault => Target::Host(GW),
            ManagementStaticMissing => Target::Host(EDGE),
            VmconnectNoDigitalSignature | VmconnectNoClientAuth | VmconnectWeakProvider
            | BelowTargetVersion | Overcommit | Retired | PlanOnUnhealthyStamp => Target::Stamp,
        }
    }

    /// The rules this fault must make fire (empty for a near miss, which must fire nothing).
    pub fn rules(self) -> &'static [&'static str] {
        use FaultKind::*;
        match self {
            CertExpired => &["cert.expired"],
            CertExpiringWarning | CertExpiringCritical => &["cert.expiring"],
            WeakSha1 | WeakMd5 => &["cert.weak_signature"],
            WeakRsa1024 => &["cert.weak_key"],
            VmconnectMissingFromMy | RdgwGatewayCertMissing => &["remote_console.cert_not_deployed"],
            RootMissing | RdgwRootMissing => &["remote_console.root_untrusted"],
            VmmsStartedBeforeRoot => &["remote_console.vmms_restart_needed"],
            TrustedHashMissing | TrustedHashAlgorithms => &["remote_console.host_trusted_issuer"],
            TrustedHashNearMiss => &[],
            StaleHours | StaleDays => &["host.stale"],
            OlderUpdateRollup | BelowTargetVersion => &["stamp.version_drift"],
            RdgwTrustedIssuerMismatch => &["remote_console.rdgw_trusted_issuer"],
            RdgwWrongPlugin => &["remote_console.rdgw_plugin"],
            RdgwSelfSignedSsl | RdgwWrongCnSsl => &["remote_console.rdgw_public_cert"],
            GwDefaultTie => &["route.default_ambiguous", "route.default_via_management"],
            GwDefaultViaManagement => &["route.default_via_management"],
            GwNoFrontEndDefault => &["route.default_missing", "route.default_via_management"],
            ManagementStaticMissing => &["route.management_static_missing"],
            VmconnectNoDigitalSignature => &["remote_console.cert_key_usage"],
            VmconnectNoClientAuth => &["remote_console.cert_eku"],
            VmconnectWeakProvider => &["remote_console.cert_provider"],
            Overcommit => &["capacity.overcommit"],
            Retired => &["plan.stamp_missing"],
            PlanOnUnhealthyStamp => &["plan.stamp_unhealthy"],
        }
    }

    /// Whether a rule it fires is critical, which makes the stamp's plans fire
    /// `plan.stamp_unhealthy` too.
    pub fn is_critical(self) -> bool {
        use FaultKind::*;
        !matches!(
            self,
            CertExpiringWarning | WeakSha1 | WeakMd5 | WeakRsa1024 | TrustedHashNearMiss
                | StaleHours | OlderUpdateRollup | RdgwSelfSignedSsl | RdgwWrongCnSsl
                | ManagementStaticMissing | VmconnectWeakProvider | BelowTargetVersion
                | Overcommit | Retired | PlanOnUnhealthyStamp
        )
    }

    /// What the fault looks like in the reports.
    pub fn description(self) -> &'static str {
        use FaultKind::*;
        match self {
            CertExpired => "machine certificate with private key in My expired 1-20 days ago",
            CertExpiringWarning => "machine certificate in My expires in 10-25 days (warning)",
            CertExpiringCritical => "machine certificate in My expires in 1-5 days (critical)",
            WeakSha1 => "SHA-1-signed certificate with private key in My",
            WeakMd5 => "MD5-signed certificate with private key in My",
            WeakRsa1024 => "RSA-1024 certificate with private key in My",
            VmconnectMissingFromMy => "VMConnect certificate absent from the host's My store",
            RootMissing => "VMConnect root absent from the host's Root store",
            VmmsStartedBeforeRoot => "vmms started 2 days before the VMConnect root was added",
            TrustedHashMissing => "trusted_issuer_certificate_hashes holds an old thumbprint only",
            TrustedHashAlgorithms => "allowed_hash_algorithms is [SHA1] (no SHA256)",
            TrustedHashNearMiss => {
                "NEAR MISS (must not fire): thumbprint pasted lower-case with spaces and U+200E"
            }
            StaleHours => "last report collected 2-8 hours ago",
            StaleDays => "last report collected 2-5 days ago",
            OlderUpdateRollup => "one Hyper-V host's VMM agent is one update rollup behind",
            RdgwTrustedIssuerMismatch => "RD Gateway trusts another thumbprint than VMM's",
            RdgwWrongPlugin => "RD Gateway authorization plugin is NativeAuthorization",
            RdgwSelfSignedSsl => "RD Gateway SSL certificate is self-signed",
            RdgwWrongCnSsl => "RD Gateway SSL certificate is for the host name, not the console name",
            RdgwGatewayCertMissing => "VMConnect certificate absent from the RD Gateway's My store",
            RdgwRootMissing => "VMConnect root absent from the RD Gateway's Root store",
            GwDefaultTie => "both NICs have a default route at metric 266 (no metrics set)",
            GwDefaultViaManagement => "management default route (200) beats front-end (300)",
            GwNoFrontEndDefault => "front-end NIC has no gateway; default only via management",
            ManagementStaticMissing => "default via front-end but no route to 10.0.0.0/8 via mgmt",
            VmconnectNoDigitalSignature => "VMConnect certificate Key Usage is keyEncipherment only",
            VmconnectNoClientAuth => "VMConnect certificate EKU is serverAuth only",
            VmconnectWeakProvider => "VMM reports Microsoft Strong Cryptographic Provider",
            BelowTargetVersion => "whole stamp one update rollup below its target_versions",
            Overcommit => "plan quotas exceed cores x cpu_overcommit and memory x memory_overcommit",
            Retired => "stamp retired (DELETE) after its reports; its plans stay",
            PlanOnUnhealthyStamp => "plans still on sale on a stamp with a critical problem",
        }
    }
}

/// One fault put somewhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Injection {
    pub fault: FaultKind,
    pub stamp: String,
    pub host: Option<String>,
    pub rules: Vec<&'static str>,
    pub description: &'static str,
    /// Specifics, e.g. the plans concerned.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// The seeded fault plan of a fleet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FaultPlan {
    pub injections: Vec<Injection>,
    /// Faults for which the fleet had no room (too few stamps or hosts).
    pub not_placed: Vec<FaultKind>,
    /// Stamps to retire once their reports are in.
    pub retired: Vec<String>,
}

impl FaultPlan {
    /// Every rule id the injected faults should fire.
    pub fn expected_rules(&self) -> std::collections::BTreeSet<&'static str> {
        self.injections.iter().flat_map(|i| i.rules.iter().copied()).collect()
    }
}

/// Puts faults on the fleet: the retired stamp apart, about 30% of the stamps stay healthy;
/// each fault goes on `stamps / 8` stamps (1 to 3), preferring the least faulty stamps.
pub fn inject(stamps: &mut [StampModel], seed: u64) -> FaultPlan {
    let mut rng = StdRng::seed_from_u64(seed ^ 0xFA17_5EED);
    let mut plan = FaultPlan::default();
    let mut order: Vec<usize> = (0..stamps.len()).collect();
    order.shuffle(&mut rng);
    if stamps.len() >= 2
        && let Some(last) = order.pop()
    {
        let stamp = &mut stamps[last];
        stamp.faults.push(FaultKind::Retired);
        plan.retired.push(stamp.name.clone());
        plan.injections.push(injection(FaultKind::Retired, stamp, None));
    } else {
        plan.not_placed.push(FaultKind::Retired);
    }
    let keep_healthy = if stamps.len() >= 4 { stamps.len() * 3 / 10 } else { 0 };
    order.truncate(order.len().saturating_sub(keep_healthy).max(1));
    let copies = (stamps.len() / 8).clamp(1, 3);
    let mut load = vec![0usize; stamps.len()];
    let placed_here = FaultKind::ALL
        .into_iter()
        .filter(|k| !matches!(k, FaultKind::Retired | FaultKind::PlanOnUnhealthyStamp));
    for kind in placed_here {
        for copy in 0..copies {
            let chosen = order
                .iter()
                .enumerate()
                .filter(|(_, s)| fits(&stamps[**s], kind))
                .min_by_key(|(position, s)| (load[**s], *position))
                .map(|(_, s)| *s);
            let Some(index) = chosen else {
                if copy == 0 {
                    plan.not_placed.push(kind);
                }
                break;
            };
            load[index] += 1;
            let stamp = &mut stamps[index];
            let host = match kind.target() {
                Target::Stamp => {
                    stamp.faults.push(kind);
                    None
                }
                Target::Host(roles) => {
                    let free: Vec<usize> = (0..stamp.hosts.len())
                        .filter(|h| {
                            stamp.hosts[*h].fault.is_none() && roles.contains(&stamp.hosts[*h].role)
                        })
                        .collect();
                    free.choose(&mut rng).map(|h| {
                        stamp.hosts[*h].fault = Some(kind);
                        stamp.hosts[*h].fqdn.clone()
                    })
                }
            };
            plan.injections.push(injection(kind, stamp, host));
        }
    }
    plan
}

fn fits(stamp: &StampModel, kind: FaultKind) -> bool {
    if stamp.has_fault(kind) || stamp.hosts.iter().any(|h| h.fault == Some(kind)) {
        return false;
    }
    match kind.target() {
        Target::Stamp => true,
        Target::Host(roles) => stamp
            .hosts
            .iter()
            .any(|h| h.fault.is_none() && roles.contains(&h.role)),
    }
}

fn injection(kind: FaultKind, stamp: &StampModel, host: Option<String>) -> Injection {
    Injection {
        fault: kind,
        stamp: stamp.name.clone(),
        host,
        rules: kind.rules().to_vec(),
        description: kind.description(),
        detail: String::new(),
    }
}

/// Adds `plan.stamp_unhealthy` for the plans of every stamp carrying a critical fault.
pub fn add_unhealthy_plans(plan: &mut FaultPlan, stamps: &[StampModel]) {
    for stamp in stamps {
        let mut faults = stamp
            .faults
            .iter()
            .chain(stamp.hosts.iter().filter_map(|h| h.fault.as_ref()));
        if stamp.plans.is_empty() || !faults.any(|k| k.is_critical()) {
            continue;
        }
        let plans: Vec<&str> = stamp.plans.iter().map(|p| p.wap_plan_id.as_str()).collect();
        let mut entry = injection(FaultKind::PlanOnUnhealthyStamp, stamp, None);
        entry.detail = format!("plans {}", plans.join(", "));
        plan.injections.push(entry);
    }
}
