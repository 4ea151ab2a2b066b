//! The fleet simulator: deterministic from its seed, valid wire reports, real certificates, and
//! every fault visible in the reports where the fault plan says it is (and nowhere else).

#![expect(
    clippy::unwrap_used,
    reason = "the rule-engine-like helpers of this test fail the test loudly"
)]

mod support;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, TimeZone, Utc};
use sha1::{Digest, Sha1};
use stampbook_agent::simulate::certs::FleetCerts;
use stampbook_agent::simulate::faults::{FaultKind, RULE_IDS};
use stampbook_agent::simulate::fleet::StampModel;
use stampbook_agent::simulate::runner::{self, Sink};
use stampbook_agent::simulate::{Fleet, FleetOptions};
use stampbook_wire::{MY_STORE, ROOT_STORE, Report, Role, VMM_STORE, normalize_thumbprint};
use support::{Answer, Receiver};
use x509_parser::prelude::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap()
}

fn options(stamps: usize, hosts: usize, faults: bool, seed: u64) -> FleetOptions {
    FleetOptions {
        stamps,
        hosts_per_stamp: hosts,
        faults,
        seed,
        now: now(),
    }
}

/// Every report of the fleet, per stamp name.
fn reports(fleet: &Fleet) -> HashMap<String, Vec<Report>> {
    let certs = FleetCerts::generate(fleet.options.now).unwrap();
    fleet
        .stamps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.clone(), fleet.stamp_reports(i, &certs).unwrap()))
        .collect()
}

/// Replaces what differs between two runs with the same seed (certificate bytes, serials and
/// therefore thumbprints) so that the rest can be compared.
fn mask(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "der" {
                    *v = "DER".into();
                } else {
                    mask(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(mask),
        serde_json::Value::String(s) if normalize_thumbprint(s).is_some() => *s = "THUMB".into(),
        _ => {}
    }
}

#[test]
fn the_same_seed_builds_the_same_fleet_and_the_same_reports() {
    let (a, b) = (
        Fleet::build(options(6, 12, true, 42)),
        Fleet::build(options(6, 12, true, 42)),
    );
    assert_eq!(a, b);
    assert_eq!(
        serde_json::to_value(a.inventory()).unwrap(),
        serde_json::to_value(b.inventory()).unwrap()
    );
    let (ra, rb) = (reports(&a), reports(&b));
    for (stamp, list) in &ra {
        for (x, y) in list.iter().zip(&rb[stamp]) {
            let (mut x, mut y) = (
                serde_json::to_value(x).unwrap(),
                serde_json::to_value(y).unwrap(),
            );
            mask(&mut x);
            mask(&mut y);
            assert_eq!(x, y);
        }
    }
    let other = Fleet::build(options(6, 12, true, 43));
    assert_ne!(
        a.stamps[0].hosts[0].report_id,
        other.stamps[0].hosts[0].report_id
    );
}

#[test]
fn faults_target_every_rule_id_and_leave_about_a_third_of_the_stamps_healthy() {
    let fleet = Fleet::build(options(10, 16, true, 7));
    let expected = fleet.faults.expected_rules();
    let all: BTreeSet<&str> = RULE_IDS.into_iter().collect();
    assert_eq!(expected, all, "{}", fleet.faults.render());
    assert!(
        fleet.faults.not_placed.is_empty(),
        "{:?}",
        fleet.faults.not_placed
    );
    let placed: BTreeSet<FaultKind> = fleet.faults.injections.iter().map(|i| i.fault).collect();
    assert_eq!(
        placed.len(),
        FaultKind::ALL.len(),
        "every fault kind is somewhere"
    );
    let healthy = fleet
        .stamps
        .iter()
        .filter(|s| fault_kinds(s).is_empty())
        .count();
    assert!(healthy >= 2, "{healthy} healthy stamps of 10");

    let quiet = Fleet::build(options(10, 16, false, 7));
    assert!(quiet.faults.injections.is_empty());
    assert!(quiet.stamps.iter().all(|s| fault_kinds(s).is_empty()));
}

#[test]
fn every_report_round_trips_through_the_wire_types_and_hosts_are_unique() {
    let fleet = Fleet::build(options(3, 12, true, 1));
    let all = reports(&fleet);
    let mut fqdns = BTreeSet::new();
    for report in all.values().flatten() {
        let json = serde_json::to_string(report).unwrap();
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, report);
        assert_eq!(report.schema, stampbook_wire::SCHEMA_V1);
        assert!(
            fqdns.insert(report.host.fqdn.clone()),
            "{}",
            report.host.fqdn
        );
    }
    assert_eq!(fqdns.len(), 36);
    let regions: BTreeSet<&str> = fleet.stamps.iter().map(|s| s.region).collect();
    assert_eq!(regions.len(), 3, "three stamps, three regions");
}

#[test]
fn the_vmconnect_thumbprint_in_settings_is_the_sha1_of_the_generated_certificate() {
    let fleet = Fleet::build(options(4, 10, false, 3));
    for (stamp, list) in reports(&fleet) {
        let vmm = list
            .iter()
            .find(|r| r.host.roles == [Role::VmmServer])
            .unwrap();
        let settings = vmm.settings.as_ref().unwrap().vmm.collected().unwrap();
        let cert = certs(vmm)
            .into_iter()
            .find(|c| c.store == VMM_STORE)
            .unwrap();
        assert_eq!(
            settings.vmconnect_hyperv_certificate_thumbprint.as_deref(),
            Some(cert.thumbprint.as_str())
        );
        assert_eq!(
            settings.vmconnect_gateway_certificate_thumbprint.as_deref(),
            Some(cert.thumbprint.as_str())
        );
        assert!(cert.self_signed && cert.rsa_bits == Some(2048), "{stamp}");
        assert_eq!(
            (cert.digital_signature, cert.client_auth),
            (Some(true), true)
        );
        assert_eq!(
            cert.provider.as_deref(),
            Some("Microsoft Enhanced RSA and AES Cryptographic Provider")
        );
        for host in list.iter().filter(|r| r.host.roles == [Role::HypervHost]) {
            let ts = host
                .settings
                .as_ref()
                .unwrap()
                .hyperv_terminal_service
                .collected()
                .unwrap();
            assert_eq!(
                ts.trusted_issuer_certificate_hashes,
                vec![cert.thumbprint.clone()]
            );
            assert!(ts.allowed_hash_algorithms.is_empty());
        }
    }
}

#[test]
fn each_fault_shows_in_the_reports_where_the_plan_puts_it_and_nowhere_else() {
    let fleet = Fleet::build(options(10, 16, true, 11));
    let all = reports(&fleet);
    for injection in &fleet.faults.injections {
        let stamp = fleet
            .stamps
            .iter()
            .find(|s| s.name == injection.stamp)
            .unwrap();
        let ctx = Ctx::new(stamp, &all[&stamp.name], &fleet);
        let host = injection.host.as_ref().map(|fqdn| ctx.report(fqdn));
        assert!(
            ctx.exhibits(injection.fault, host),
            "{:?} not visible on {} {:?}",
            injection.fault,
            injection.stamp,
            injection.host
        );
    }
    let healthy: Vec<&StampModel> = fleet
        .stamps
        .iter()
        .filter(|s| fault_kinds(s).is_empty())
        .collect();
    assert!(
        healthy.len() >= 2,
        "the seed leaves healthy stamps to check"
    );
    for stamp in healthy {
        let ctx = Ctx::new(stamp, &all[&stamp.name], &fleet);
        for kind in FaultKind::ALL {
            let hosts: Vec<Option<&Report>> = match kind {
                FaultKind::Retired | FaultKind::PlanOnUnhealthyStamp => vec![],
                _ if ctx.role_of(kind).is_none() => vec![None],
                _ => ctx
                    .reports
                    .iter()
                    .filter(|h| ctx.applies(kind, h))
                    .map(Some)
                    .collect(),
            };
            for host in hosts {
                assert!(
                    !ctx.exhibits(kind, host),
                    "healthy {} shows {kind:?} on {:?}",
                    stamp.name,
                    host.map(|h| &h.host.fqdn)
                );
            }
        }
    }
}

fn fault_kinds(stamp: &StampModel) -> Vec<FaultKind> {
    stamp
        .faults
        .iter()
        .copied()
        .chain(stamp.hosts.iter().filter_map(|h| h.fault))
        .collect()
}

/// What the server would parse out of a reported certificate.
struct Cert {
    store: String,
    has_key: bool,
    provider: Option<String>,
    thumbprint: String,
    not_after: DateTime<Utc>,
    signature_oid: String,
    rsa_bits: Option<usize>,
    digital_signature: Option<bool>,
    client_auth: bool,
    self_signed: bool,
    names: Vec<String>,
}

fn certs(report: &Report) -> Vec<Cert> {
    let list = report.certificates.as_deref().unwrap_or_default();
    list.iter()
        .map(|c| {
            let der = STANDARD.decode(&c.der).unwrap();
            let (_, x) = X509Certificate::from_der(&der).unwrap();
            let mut names: Vec<String> = x
                .subject()
                .iter_common_name()
                .filter_map(|n| n.as_str().ok())
                .map(str::to_owned)
                .collect();
            if let Ok(Some(san)) = x.subject_alternative_name() {
                names.extend(san.value.general_names.iter().filter_map(|n| match n {
                    GeneralName::DNSName(d) => Some((*d).to_owned()),
                    _ => None,
                }));
            }
            let rsa_bits = match x.public_key().parsed() {
                Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => Some(rsa.key_size()),
                _ => None,
            };
            Cert {
                store: c.store.clone(),
                has_key: c.has_private_key,
                provider: c.provider.clone(),
                thumbprint: hex::encode_upper(Sha1::digest(&der)),
                not_after: Utc
                    .timestamp_opt(x.validity().not_after.timestamp(), 0)
                    .unwrap(),
                signature_oid: x.signature_algorithm.algorithm.to_id_string(),
                rsa_bits,
                digital_signature: x
                    .key_usage()
                    .ok()
                    .flatten()
                    .map(|ku| ku.value.digital_signature()),
                client_auth: x
                    .extended_key_usage()
                    .ok()
                    .flatten()
                    .is_some_and(|e| e.value.client_auth),
                self_signed: x.subject() == x.issuer(),
                names,
            }
        })
        .collect()
}

fn version(v: &str) -> Vec<u64> {
    v.split('.').filter_map(|p| p.parse().ok()).collect()
}

/// One stamp's reports, with the checks a rule engine would make.
struct Ctx<'a> {
    stamp: &'a StampModel,
    reports: &'a [Report],
    fleet: &'a Fleet,
    vmconnect: String,
}

impl<'a> Ctx<'a> {
    fn new(stamp: &'a StampModel, reports: &'a [Report], fleet: &'a Fleet) -> Self {
        let vmm = reports
            .iter()
            .find(|r| r.host.roles == [Role::VmmServer])
            .unwrap();
        let vmconnect = vmm
            .settings
            .as_ref()
            .unwrap()
            .vmm
            .collected()
            .unwrap()
            .vmconnect_hyperv_certificate_thumbprint
            .clone()
            .unwrap();
        Ctx {
            stamp,
            reports,
            fleet,
            vmconnect,
        }
    }

    fn report(&self, fqdn: &str) -> &'a Report {
        self.reports.iter().find(|r| r.host.fqdn == *fqdn).unwrap()
    }

    fn role_of(&self, kind: FaultKind) -> Option<&'static [Role]> {
        match kind.target() {
            stampbook_agent::simulate::faults::Target::Host(roles) => Some(roles),
            stampbook_agent::simulate::faults::Target::Stamp => None,
        }
    }

    fn applies(&self, kind: FaultKind, host: &Report) -> bool {
        self.role_of(kind)
            .is_some_and(|roles| roles.contains(&host.host.roles[0]))
    }

    fn vmm_cert(&self) -> Cert {
        let vmm = self
            .reports
            .iter()
            .find(|r| r.host.roles == [Role::VmmServer])
            .unwrap();
        certs(vmm)
            .into_iter()
            .find(|c| c.store == VMM_STORE)
            .unwrap()
    }

    fn component(&self, report: &Report, name: &str) -> Option<String> {
        let list = report.settings.as_ref()?.components.collected()?;
        list.iter()
            .find(|c| c.name == name)
            .map(|c| c.version.clone())
    }

    /// The interfaces carrying the lowest-metric default routes.
    fn effective_defaults(&self, report: &Report) -> Vec<String> {
        let routes = report.routes.as_deref().unwrap_or_default();
        let defaults: Vec<_> = routes
            .iter()
            .filter(|r| r.destination == "0.0.0.0/0")
            .collect();
        let best = defaults.iter().map(|r| r.metric).min();
        defaults
            .iter()
            .filter(|r| Some(r.metric) == best)
            .filter_map(|r| r.interface.clone())
            .collect()
    }

    fn exhibits(&self, kind: FaultKind, host: Option<&Report>) -> bool {
        use FaultKind::*;
        let now = self.fleet.options.now;
        let host_certs = host.map(certs).unwrap_or_default();
        let keyed_my = || {
            host_certs
                .iter()
                .filter(|c| c.store == MY_STORE && c.has_key)
        };
        let in_store = |store: &str| {
            host_certs
                .iter()
                .any(|c| c.store == store && c.thumbprint == self.vmconnect)
        };
        let settings = host.and_then(|h| h.settings.clone()).unwrap_or_default();
        let ts = settings
            .hyperv_terminal_service
            .collected()
            .cloned()
            .unwrap_or_default();
        let rdgw = settings.rd_gateway.collected().cloned().unwrap_or_default();
        let matches_vmconnect =
            |t: &String| normalize_thumbprint(t).as_deref() == Some(self.vmconnect.as_str());
        match kind {
            CertExpired => keyed_my().any(|c| c.not_after <= now),
            CertExpiringWarning => keyed_my().any(|c| {
                c.not_after > now + Duration::days(7) && c.not_after <= now + Duration::days(30)
            }),
            CertExpiringCritical => {
                keyed_my().any(|c| c.not_after > now && c.not_after <= now + Duration::days(7))
            }
            WeakSha1 => keyed_my().any(|c| c.signature_oid == "1.2.840.113549.1.1.5"),
            WeakMd5 => keyed_my().any(|c| c.signature_oid == "1.2.840.113549.1.1.4"),
            WeakRsa1024 => keyed_my().any(|c| c.rsa_bits.is_some_and(|b| b < 2048)),
            VmconnectMissingFromMy | RdgwGatewayCertMissing => !in_store(MY_STORE),
            RootMissing | RdgwRootMissing => !in_store(ROOT_STORE),
            VmmsStartedBeforeRoot => {
                let added = host_certs
                    .iter()
                    .zip(host.unwrap().certificates.as_deref().unwrap())
                    .find(|(c, _)| c.store == ROOT_STORE && c.thumbprint == self.vmconnect)
                    .and_then(|(_, raw)| raw.added_at);
                let vmms = host
                    .unwrap()
                    .services
                    .as_deref()
                    .unwrap()
                    .iter()
                    .find(|s| s.name == "vmms")
                    .and_then(|s| s.started_at);
                matches!((vmms, added), (Some(v), Some(a)) if v < a)
            }
            TrustedHashMissing => !ts
                .trusted_issuer_certificate_hashes
                .iter()
                .any(matches_vmconnect),
            TrustedHashAlgorithms => {
                !ts.allowed_hash_algorithms.is_empty()
                    && !ts
                        .allowed_hash_algorithms
                        .iter()
                        .any(|a| a.eq_ignore_ascii_case("SHA256"))
            }
            TrustedHashNearMiss => ts
                .trusted_issuer_certificate_hashes
                .iter()
                .any(|t| matches_vmconnect(t) && *t != self.vmconnect),
            StaleHours => host.is_some_and(|h| {
                now - h.collected_at > Duration::minutes(15)
                    && now - h.collected_at < Duration::hours(24)
            }),
            StaleDays => host.is_some_and(|h| now - h.collected_at > Duration::hours(24)),
            OlderUpdateRollup => {
                let vmm = self
                    .reports
                    .iter()
                    .find(|r| r.host.roles == [Role::VmmServer])
                    .unwrap();
                self.component(host.unwrap(), "vmm_agent") != self.component(vmm, "vmm_agent")
            }
            RdgwTrustedIssuerMismatch => !rdgw
                .trusted_issuer_certificates
                .iter()
                .flatten()
                .any(matches_vmconnect),
            // the Console Connect plugin by either of its names (SPEC §5)
            RdgwWrongPlugin => [
                (&rdgw.authentication_plugin, "FedAuthAuthenticationPlugin"),
                (&rdgw.authorization_plugin, "FedAuthAuthorizationPlugin"),
            ]
            .iter()
            .any(|(p, installed)| {
                !matches!(p.as_deref(), Some(v) if v == "FedAuthorizationPlugin" || v == *installed)
            }),
            RdgwSettingsAccessDenied => host.is_some_and(|h| {
                h.collection_errors
                    .as_deref()
                    .is_some_and(|e| e.iter().any(|e| e.section == "settings.rd_gateway"))
                    && h.settings.as_ref().is_none_or(|s| s.rd_gateway.is_absent())
            }),
            RdgwSelfSignedSsl | RdgwWrongCnSsl => {
                let ssl = rdgw.ssl_certificate_thumbprint.clone().unwrap_or_default();
                let cert = host_certs
                    .iter()
                    .find(|c| c.store == MY_STORE && c.thumbprint == ssl)
                    .unwrap();
                if kind == RdgwSelfSignedSsl {
                    cert.self_signed
                } else {
                    !cert.names.contains(&self.stamp.rd_gateway_fqdn)
                }
            }
            GwDefaultTie => self.effective_defaults(host.unwrap()).len() >= 2,
            GwDefaultViaManagement => self
                .effective_defaults(host.unwrap())
                .iter()
                .any(|i| i == "Management"),
            GwNoFrontEndDefault => !host.unwrap().routes.as_deref().unwrap().iter().any(|r| {
                r.destination == "0.0.0.0/0" && r.interface.as_deref() == Some("Front-end")
            }),
            ManagementStaticMissing => {
                let h = host.unwrap();
                !self.effective_defaults(h).iter().any(|i| i == "Management")
                    && !h
                        .routes
                        .as_deref()
                        .unwrap()
                        .iter()
                        .any(|r| r.destination == "10.0.0.0/8")
            }
            VmconnectNoDigitalSignature => self.vmm_cert().digital_signature != Some(true),
            VmconnectNoClientAuth => !self.vmm_cert().client_auth,
            VmconnectWeakProvider => {
                self.vmm_cert().provider.as_deref()
                    != Some("Microsoft Enhanced RSA and AES Cryptographic Provider")
            }
            BelowTargetVersion => {
                let target = self
                    .fleet
                    .inventory()
                    .stamps
                    .iter()
                    .find(|s| s.name == self.stamp.name)
                    .unwrap()
                    .target_versions["vmm_server"]
                    .clone();
                let vmm = self
                    .reports
                    .iter()
                    .find(|r| r.host.roles == [Role::VmmServer])
                    .unwrap();
                version(&self.component(vmm, "vmm_server").unwrap()) < version(&target)
            }
            Overcommit => {
                let cores: u64 = self
                    .reports
                    .iter()
                    .filter_map(|r| r.host.vitals.as_ref()?.cpu_cores)
                    .map(u64::from)
                    .sum();
                let memory_gb: u64 = self
                    .reports
                    .iter()
                    .filter_map(|r| r.host.vitals.as_ref()?.memory_mb)
                    .sum::<u64>()
                    / 1024;
                let vcpus: u64 = self.stamp.plans.iter().map(|p| p.quota.vcpus).sum();
                let memory: u64 = self.stamp.plans.iter().map(|p| p.quota.memory_gb).sum();
                vcpus > cores * 4 && memory > memory_gb
            }
            Retired => {
                self.fleet.faults.retired.contains(&self.stamp.name) && !self.stamp.plans.is_empty()
            }
            PlanOnUnhealthyStamp => {
                let faults = fault_kinds(self.stamp);
                let critical = faults.iter().any(|k| k.is_critical());
                let remote_console = faults
                    .iter()
                    .any(|k| k.rules().iter().any(|r| r.starts_with("remote_console.")));
                self.stamp
                    .plans
                    .iter()
                    .any(|p| critical || (remote_console && p.remote_console))
            }
        }
    }
}

#[tokio::test]
async fn a_dry_run_writes_the_inventory_the_fault_plan_and_one_file_per_report() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = Arc::new(Fleet::build(options(3, 10, true, 5)));
    let summary = runner::run(fleet, Sink::DryRun(dir.path().to_owned()), 4, true)
        .await
        .unwrap();
    assert_eq!((summary.sent, summary.failed), (30, 0));
    assert!(
        summary
            .line()
            .starts_with("reports sent: 30 (0 duplicate), failures: 0")
    );
    let inventory: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("inventory.json")).unwrap()).unwrap();
    assert_eq!(inventory["stamps"].as_array().unwrap().len(), 3);
    assert!(inventory["plans"].as_array().unwrap().len() >= 6);
    let faults: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("faults.json")).unwrap()).unwrap();
    assert_eq!(faults["retired"].as_array().unwrap().len(), 1);
    let files: usize = std::fs::read_dir(dir.path().join("reports"))
        .unwrap()
        .map(|d| std::fs::read_dir(d.unwrap().path()).unwrap().count())
        .sum();
    assert_eq!(files, 30);
}

#[tokio::test]
async fn the_fleet_goes_through_the_api_inventory_first_then_reports_then_the_retirement() {
    // inventory; then every stamp of the fleet the server holds as retired is brought back (a
    // previous run or an operator may have retired it), and only those; then the reports; then
    // this run's retirement
    use stampbook_agent::push::{PushConfig, Pusher};
    use stampbook_agent::token::Token;
    let fleet = Arc::new(Fleet::build(options(2, 10, true, 9)));
    let retired = fleet.faults.retired.clone();
    let live = fleet
        .stamps
        .iter()
        .map(|s| s.name.clone())
        .find(|n| !retired.contains(n))
        .unwrap();
    let page = |items: serde_json::Value, next: Option<&str>| {
        Answer::new(
            200,
            serde_json::json!({"items": items, "next_cursor": next}).to_string(),
        )
    };
    let server = Receiver::start(vec![
        Answer::accepted(),
        page(
            serde_json::json!([
                {"name": "elsewhere-01", "retired_at": "2026-01-01T00:00:00Z"},
                {"name": retired[0], "retired_at": null},
            ]),
            Some("c+1/="),
        ),
        page(
            serde_json::json!([{"name": live, "retired_at": "2026-01-02T00:00:00Z"}]),
            None,
        ),
        Answer::accepted(),
    ])
    .await;
    let pusher = |token: &str| {
        Box::new(Pusher::new(PushConfig::new(server.url.clone(), Token::new(token))).unwrap())
    };
    let sink = Sink::Server {
        reports: pusher("collector-token"),
        admin: pusher("admin-token"),
    };
    let summary = runner::run(fleet.clone(), sink, 4, true).await.unwrap();
    assert!(summary.succeeded(), "{summary:?}");
    assert_eq!(summary.sent, 20);

    let requests = server.requests();
    assert_eq!(requests.len(), 25);
    let first = &requests[0];
    assert_eq!(
        (first.method.as_str(), first.path.as_str()),
        ("PUT", "/api/v1/inventory")
    );
    assert_eq!(first.header("authorization"), Some("Bearer admin-token"));
    assert_eq!(
        first.json(),
        serde_json::to_value(fleet.inventory()).unwrap()
    );
    assert_eq!(
        (requests[1].method.as_str(), requests[1].path.as_str()),
        ("GET", "/api/v1/stamps?include_retired=true&limit=1000")
    );
    assert_eq!(
        requests[2].path,
        "/api/v1/stamps?include_retired=true&limit=1000&cursor=c%2B1%2F%3D"
    );
    let unretire = &requests[3];
    assert_eq!(unretire.method, "PATCH");
    assert_eq!(unretire.path, format!("/api/v1/stamps/{live}"));
    assert_eq!(unretire.json(), serde_json::json!({"retired": false}));
    for r in &requests[4..24] {
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/api/v1/reports")
        );
        assert_eq!(r.header("authorization"), Some("Bearer collector-token"));
        let _: Report = serde_json::from_value(r.json()).unwrap();
    }
    let last = &requests[24];
    assert_eq!(last.method, "DELETE");
    assert_eq!(last.path, format!("/api/v1/stamps/{}", retired[0]));
    assert_eq!(last.header("authorization"), Some("Bearer admin-token"));
}
