//! The fault catalogue: every way the simulator breaks a stamp, what it is put on, what it looks
//! like and which SPEC §5 rules it must make fire.

use serde::Serialize;
use stampbook_wire::Role;

/// The rule ids of SPEC §5 the fault plan makes fire.
pub const RULE_IDS: [&str; 24] = [
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
    "host.collection_failed",
    "stamp.version_drift",
    "plan.stamp_unhealthy",
    "plan.stamp_missing",
    "capacity.overcommit",
];

/// The rule ids of SPEC §5 no fault of the plan makes fire, and what does: the WAP servers'
/// plans (`wap::drifts`, with `--faults`) and the capacity history (`--backfill-days`).
pub const RULE_IDS_ELSEWHERE: [(&str, &str); 5] = [
    ("plan.undeclared", "the WAP servers' plans"),
    ("plan.not_in_wap", "the WAP servers' plans"),
    ("plan.quota_mismatch", "the WAP servers' plans"),
    ("plan.cloud_mismatch", "the WAP servers' plans"),
    (
        "capacity.exhaustion_soon",
        "the capacity history (--backfill-days)",
    ),
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
    /// An RD Gateway whose agent may not read `Win32_TSGatewayServerSettings`: its
    /// `settings.rd_gateway` is a collection error, and its stamp's Remote Console is unknown.
    RdgwSettingsAccessDenied,
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
    pub const ALL: [FaultKind; 33] = {
        use FaultKind::*;
        [
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
            RdgwSettingsAccessDenied,
            PlanOnUnhealthyStamp,
        ]
    };

    pub fn target(self) -> Target {
        use FaultKind::*;
        match self {
            CertExpired
            | CertExpiringWarning
            | CertExpiringCritical
            | WeakSha1
            | WeakMd5
            | WeakRsa1024
            | VmconnectMissingFromMy
            | RootMissing
            | VmmsStartedBeforeRoot
            | TrustedHashMissing
            | TrustedHashAlgorithms
            | TrustedHashNearMiss
            | StaleHours
            | StaleDays
            | OlderUpdateRollup => Target::Host(HV),
            RdgwTrustedIssuerMismatch
            | RdgwWrongPlugin
            | RdgwSelfSignedSsl
            | RdgwWrongCnSsl
            | RdgwGatewayCertMissing
            | RdgwRootMissing
            | RdgwSettingsAccessDenied => Target::Host(RDGW),
            GwDefaultTie | GwDefaultViaManagement | GwNoFrontEndDefault => Target::Host(GW),
            ManagementStaticMissing => Target::Host(EDGE),
            VmconnectNoDigitalSignature
            | VmconnectNoClientAuth
            | VmconnectWeakProvider
            | BelowTargetVersion
            | Overcommit
            | Retired
            | PlanOnUnhealthyStamp => Target::Stamp,
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
            VmconnectMissingFromMy | RdgwGatewayCertMissing => {
                &["remote_console.cert_not_deployed"]
            }
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
            RdgwSettingsAccessDenied => &["host.collection_failed"],
            PlanOnUnhealthyStamp => &["plan.stamp_unhealthy"],
        }
    }

    /// Whether a rule it fires is critical, which makes the stamp's plans fire
    /// `plan.stamp_unhealthy` too.
    pub fn is_critical(self) -> bool {
        use FaultKind::*;
        !matches!(
            self,
            CertExpiringWarning
                | WeakSha1
                | WeakMd5
                | WeakRsa1024
                | TrustedHashNearMiss
                | StaleHours
                | OlderUpdateRollup
                | RdgwSelfSignedSsl
                | RdgwWrongCnSsl
                | ManagementStaticMissing
                | VmconnectWeakProvider
                | BelowTargetVersion
                | Overcommit
                | Retired
                | RdgwSettingsAccessDenied
                | PlanOnUnhealthyStamp
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
            RdgwWrongCnSsl => {
                "RD Gateway SSL certificate is for the host name, not the console name"
            }
            RdgwGatewayCertMissing => "VMConnect certificate absent from the RD Gateway's My store",
            RdgwRootMissing => "VMConnect root absent from the RD Gateway's Root store",
            GwDefaultTie => "both NICs have a default route at metric 266 (no metrics set)",
            GwDefaultViaManagement => {
                "management default (metric 261) beats the front-end one (291)"
            }
            GwNoFrontEndDefault => "front-end NIC has no gateway; default only via management",
            ManagementStaticMissing => "default via front-end but no route to 10.0.0.0/8 via mgmt",
            VmconnectNoDigitalSignature => {
                "VMConnect certificate Key Usage is keyEncipherment only"
            }
            VmconnectNoClientAuth => "VMConnect certificate EKU is serverAuth only",
            VmconnectWeakProvider => "VMM reports Microsoft Strong Cryptographic Provider",
            BelowTargetVersion => "whole stamp one update rollup below its target_versions",
            Overcommit => {
                "plan quotas exceed cores x cpu_overcommit and memory x memory_overcommit"
            }
            Retired => "stamp retired (DELETE) after its reports; its plans stay",
            RdgwSettingsAccessDenied => {
                "RD Gateway settings not collected: Win32_TSGatewayServerSettings access denied"
            }
            PlanOnUnhealthyStamp => {
                "plans on sale on a stamp with a critical or Remote Console problem"
            }
        }
    }
}
