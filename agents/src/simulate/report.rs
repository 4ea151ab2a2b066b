//! One simulated host's report v1: certificates per store, interfaces and routes, services and
//! role settings, with the host's or the stamp's fault applied.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stampbook_wire::{
    AgentInfo, Certificate, CollectionError, HostSection, HypervTerminalService, MY_STORE, Os,
    Part, ROOT_STORE, RdGatewaySettings, Report, Role, SCHEMA_V1, Service, Settings, VMM_STORE,
    VmmSettings,
};

use super::certs::{CertMaterial, FleetCerts, StampCerts};
use super::faults::FaultKind;
use super::fleet::{HostModel, StampModel};
use super::network::interfaces_and_routes;
use super::versions::StampVersions;

/// The provider that supports SHA-256, as Remote Console needs.
pub const ENHANCED_PROVIDER: &str = "Microsoft Enhanced RSA and AES Cryptographic Provider";
/// A legacy provider without SHA-256.
pub const STRONG_PROVIDER: &str = "Microsoft Strong Cryptographic Provider";
const KSP: &str = "Microsoft Software Key Storage Provider";
/// The Console Connect plugin as its installer registers it on an RD Gateway (VMM's documentation
/// calls both `FedAuthorizationPlugin`; the server takes either as correct).
const FED_AUTHENTICATION_PLUGIN: &str = "FedAuthAuthenticationPlugin";
const FED_AUTHORIZATION_PLUGIN: &str = "FedAuthAuthorizationPlugin";

/// What every host report of one stamp shares.
pub struct StampContext<'a> {
    pub stamp: &'a StampModel,
    pub certs: &'a StampCerts,
    pub fleet: &'a FleetCerts,
}

impl StampContext<'_> {
    fn versions(&self) -> StampVersions {
        if self.stamp.has_fault(FaultKind::BelowTargetVersion) {
            StampVersions::behind(1)
        } else {
            StampVersions::current()
        }
    }
}

/// The report `host` sends, as of `now`.
pub fn host_report(ctx: &StampContext<'_>, host: &HostModel, now: DateTime<Utc>) -> Report {
    let mut rng = StdRng::seed_from_u64(host.salt);
    let collected_at = match host.fault {
        Some(FaultKind::StaleHours) => now - Duration::minutes(rng.random_range(120..=480)),
        Some(FaultKind::StaleDays) => now - Duration::hours(rng.random_range(48..=120)),
        _ => host.collected_at,
    };
    let (interfaces, routes) = interfaces_and_routes(ctx.stamp, host);
    Report {
        schema: SCHEMA_V1.to_owned(),
        report_id: host.report_id,
        collected_at,
        agent: Some(AgentInfo {
            name: "stampbook-agent".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            spool_dropped: None,
            spool_rejected: None,
        }),
        host: HostSection {
            fqdn: host.fqdn.clone(),
            stamp: ctx.stamp.name.clone(),
            scale_unit: Some(host.scale_unit.clone()),
            roles: vec![host.role],
            os: Some(Os {
                name: host.os_name.to_owned(),
                version: "6.3.9600".to_owned(),
            }),
            vitals: Some(host.vitals.clone()),
            unknown_roles: Vec::new(),
        },
        certificates: Some(certificates(ctx, host)),
        interfaces: Some(interfaces),
        routes: Some(routes),
        services: Some(services(host)),
        settings: Some(settings(ctx, host)),
        collection_errors: collection_errors(host),
        wap: None,
    }
}

/// What the agent could not collect: only a faulty host says anything (an older agent's silence
/// is what the rest of the fleet keeps sending).
fn collection_errors(host: &HostModel) -> Option<Vec<CollectionError>> {
    (host.fault == Some(FaultKind::RdgwSettingsAccessDenied)).then(|| {
        vec![CollectionError {
            section: "settings.rd_gateway".to_owned(),
            source: Some("Win32_TSGatewayServerSettings".to_owned()),
            message: "Access denied".to_owned(),
        }]
    })
}

fn cert(
    store: &str,
    material: &CertMaterial,
    provider: Option<&str>,
    added_at: Option<DateTime<Utc>>,
) -> Certificate {
    Certificate {
        added_at_source: None,
        store: store.to_owned(),
        der: material.der_base64.clone(),
        has_private_key: provider.is_some(),
        provider: provider.map(str::to_owned),
        added_at,
    }
}

fn certificates(ctx: &StampContext<'_>, host: &HostModel) -> Vec<Certificate> {
    let certs = ctx.certs;
    let fault = host.fault;
    let mut out = Vec::with_capacity(6);
    if let Some(machine) = certs.machine.get(&host.fqdn) {
        out.push(cert(MY_STORE, machine, Some(KSP), None));
    }
    out.push(cert(ROOT_STORE, &ctx.fleet.internal_root, None, None));
    let weak = match fault {
        Some(FaultKind::WeakSha1) => Some(&ctx.fleet.weak_sha1),
        Some(FaultKind::WeakMd5) => Some(&ctx.fleet.weak_md5),
        Some(FaultKind::WeakRsa1024) => Some(&ctx.fleet.weak_rsa1024),
        _ => None,
    };
    if let Some(weak) = weak {
        out.push(cert(MY_STORE, weak, Some(ENHANCED_PROVIDER), None));
    }
    let vmconnect = &certs.vmconnect;
    let root_added = Some(host.root_added_at);
    match host.role {
        Role::VmmServer => {
            let provider = if ctx.stamp.has_fault(FaultKind::VmconnectWeakProvider) {
                STRONG_PROVIDER
            } else {
                ENHANCED_PROVIDER
            };
            out.push(cert(VMM_STORE, vmconnect, Some(provider), None));
        }
        Role::HypervHost => {
            if fault != Some(FaultKind::VmconnectMissingFromMy) {
                out.push(cert(MY_STORE, vmconnect, None, None));
            }
            if fault != Some(FaultKind::RootMissing) {
                out.push(cert(ROOT_STORE, vmconnect, None, root_added));
            }
        }
        Role::RdGateway => {
            let ssl = certs.rdgw_ssl_for(&host.fqdn);
            out.push(cert(MY_STORE, ssl, Some(KSP), None));
            if fault != Some(FaultKind::RdgwGatewayCertMissing) {
                out.push(cert(MY_STORE, vmconnect, None, None));
            }
            if fault != Some(FaultKind::RdgwRootMissing) {
                out.push(cert(ROOT_STORE, vmconnect, None, root_added));
            }
            out.push(cert(ROOT_STORE, &ctx.fleet.public_root, None, None));
        }
        _ => {}
    }
    out
}

fn services(host: &HostModel) -> Vec<Service> {
    let names: &[&str] = match host.role {
        Role::HypervHost => &["vmms", "SCVMMAgent", "WinRM"],
        Role::RdGateway => &["TSGateway", "W3SVC", "WinRM"],
        Role::VmmServer => &["SCVMMService", "SCVMMAgent", "WinRM"],
        Role::NvgreGateway => &["RemoteAccess", "WinRM"],
        Role::SqlServer => &["MSSQLSERVER", "SQLSERVERAGENT", "WinRM"],
        _ => &["W3SVC", "WinRM"],
    };
    names
        .iter()
        .zip(0i64..)
        .map(|(name, n)| {
            let started_at =
                if *name == "vmms" && host.fault == Some(FaultKind::VmmsStartedBeforeRoot) {
                    // Started, then the root was imported, and nobody restarted vmms.
                    host.root_added_at - Duration::days(2)
                } else {
                    host.booted_at + Duration::seconds(20 + 7 * n)
                };
            Service {
                name: (*name).to_owned(),
                state: "running".to_owned(),
                started_at: Some(started_at),
            }
        })
        .collect()
}

/// A thumbprint as copied from the certificate dialog: lower case, spaced, with a leading
/// U+200E LEFT-TO-RIGHT MARK. It is the same thumbprint once normalised.
pub fn pasted_thumbprint(thumbprint: &str) -> String {
    let pairs: Vec<String> = thumbprint
        .as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).to_lowercase())
        .collect();
    format!("\u{200e}{}", pairs.join(" "))
}

fn settings(ctx: &StampContext<'_>, host: &HostModel) -> Settings {
    let thumbprint = &ctx.certs.vmconnect.thumbprint;
    let previous = &ctx.certs.previous_vmconnect_thumbprint;
    let versions = if host.fault == Some(FaultKind::OlderUpdateRollup) {
        ctx.versions().older()
    } else {
        ctx.versions()
    };
    let mut settings = Settings {
        components: Part::Collected(versions.components(host.role)),
        ..Settings::default()
    };
    match host.role {
        Role::VmmServer => {
            settings.vmm = Part::Collected(VmmSettings {
                vmconnect_gateway_certificate_thumbprint: Some(thumbprint.clone()),
                vmconnect_hyperv_certificate_thumbprint: Some(thumbprint.clone()),
                host_identification_mode: Some("FQDN".to_owned()),
                vmconnect_ttl_minutes: Some(2),
            });
        }
        Role::HypervHost => {
            let (hashes, algorithms) = match host.fault {
                Some(FaultKind::TrustedHashMissing) => (vec![previous.clone()], vec![]),
                Some(FaultKind::TrustedHashAlgorithms) => {
                    (vec![thumbprint.clone()], vec!["SHA1".to_owned()])
                }
                Some(FaultKind::TrustedHashNearMiss) => {
                    (vec![pasted_thumbprint(thumbprint)], vec![])
                }
                _ => (vec![thumbprint.clone()], vec![]),
            };
            settings.hyperv_terminal_service = Part::Collected(HypervTerminalService {
                trusted_issuer_certificate_hashes: hashes,
                allowed_hash_algorithms: algorithms,
            });
        }
        Role::RdGateway => {
            let trusted = if host.fault == Some(FaultKind::RdgwTrustedIssuerMismatch) {
                previous.clone()
            } else {
                thumbprint.clone()
            };
            let authorization = if host.fault == Some(FaultKind::RdgwWrongPlugin) {
                "NativeAuthorization"
            } else {
                FED_AUTHORIZATION_PLUGIN
            };
            if host.fault == Some(FaultKind::RdgwSettingsAccessDenied) {
                // not collected: absent, and named in collection_errors
                return settings;
            }
            settings.rd_gateway = Part::Collected(RdGatewaySettings {
                trusted_issuer_certificates: Some(vec![trusted]),
                authentication_plugin: Some(FED_AUTHENTICATION_PLUGIN.to_owned()),
                authorization_plugin: Some(authorization.to_owned()),
                ssl_certificate_thumbprint: Some(
                    ctx.certs.rdgw_ssl_for(&host.fqdn).thumbprint.clone(),
                ),
            });
        }
        _ => {}
    }
    settings
}
