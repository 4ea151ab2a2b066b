//! Remote Console rules over a small stamp built from real certificates: VMM server vmm01,
//! Hyper-V host hv03 and RD Gateway rdgw01, healthy until a test breaks one link.

use std::sync::Arc;

use stampbook_agent::certgen::{self, CertSpec, Eku, GeneratedCert, KeyUsage};
use stampbook_wire::{
    HypervTerminalService, MY_STORE, ROOT_STORE, RdGatewaySettings, Role, VMM_STORE, VmmSettings,
};

use super::*;
use crate::rules::model::{Finding, HostCert, HostFacts, ServiceFact, Severity};
use crate::rules::testkit::{at, host, in_store, my, parsed, root, stamp};

const VMM: i64 = 1;
const HV: i64 = 3;
const RDGW: i64 = 30;

struct World {
    vc: GeneratedCert,
    vmm: HostFacts,
    hv: HostFacts,
    rdgw: HostFacts,
}

fn vmconnect(spec: CertSpec) -> GeneratedCert {
    certgen::self_signed(&spec).unwrap()
}

fn public_cert(cn: &str) -> GeneratedCert {
    let ca = certgen::self_signed(&CertSpec::ca("Public Trust CA")).unwrap();
    let spec = CertSpec {
        dns_names: vec![cn.into()],
        eku: Some(vec![Eku::ServerAuth]),
        ..CertSpec::new(cn)
    };
    certgen::issued_by(&spec, &ca).unwrap()
}

impl World {
    fn new(vc: GeneratedCert) -> World {
        let thumb = vc.thumbprint.clone();
        let mut vmm = host(VMM, "vmm01.ams-01.example.net", &[Role::VmmServer]);
        vmm.settings.vmm = Some(VmmSettings {
            vmconnect_gateway_certificate_thumbprint: Some(thumb.clone()),
            vmconnect_hyperv_certificate_thumbprint: Some(thumb.clone()),
            ..VmmSettings::default()
        });
        let mut in_vmm = in_store(&vc, VMM_STORE, true);
        in_vmm.provider = Some(REQUIRED_PROVIDER.into());
        vmm.certificates = Some(vec![in_vmm]);

        let mut hv = host(HV, "hv03.ams-01.example.net", &[Role::HypervHost]);
        let mut trusted = root(&vc);
        trusted.added_at = Some(at(2024, 2, 6, 9));
        hv.certificates = Some(vec![my(&vc), trusted]);
        hv.services = Some(vec![ServiceFact {
            name: "vmms".into(),
            state: "running".into(),
            started_at: Some(at(2024, 2, 10, 8)),
        }]);
        hv.settings.hyperv_terminal_service = Some(HypervTerminalService {
            trusted_issuer_certificate_hashes: vec![thumb.clone()],
            allowed_hash_algorithms: vec![],
        });

        let public = public_cert("console.ams-01.example.net");
        let mut rdgw = host(RDGW, "rdgw01.ams-01.example.net", &[Role::RdGateway]);
        rdgw.certificates = Some(vec![my(&vc), root(&vc), my(&public)]);
        rdgw.settings.rd_gateway = Some(RdGatewaySettings {
            trusted_issuer_certificates: Some(vec![thumb]),
            authentication_plugin: Some(FED_AUTH_PLUGIN.into()),
            authorization_plugin: Some(FED_AUTH_PLUGIN.into()),
            ssl_certificate_thumbprint: Some(public.thumbprint.clone()),
        });
        World { vc, vmm, hv, rdgw }
    }

    fn healthy() -> World {
        World::new(vmconnect(CertSpec::new("Remote Console Connect")))
    }

    fn hosts(&self) -> [&HostFacts; 3] {
        [&self.vmm, &self.hv, &self.rdgw]
    }

    /// What the engine gathers: VMM settings, sightings of VMConnect thumbprints, Root stores.
    fn rc(&self) -> RemoteConsoleContext {
        let mut inputs = RemoteConsoleInputs::default();
        for h in self.hosts() {
            if let Some(vmm) = &h.settings.vmm {
                inputs.vmm.push((h.host_id, h.fqdn.clone(), vmm.clone()));
            }
        }
        let wanted: Vec<String> = inputs
            .vmm
            .iter()
            .flat_map(|(_, _, s)| {
                [
                    &s.vmconnect_gateway_certificate_thumbprint,
                    &s.vmconnect_hyperv_certificate_thumbprint,
                ]
            })
            .flatten()
            .map(|t| stampbook_wire::thumbprint_key(t))
            .collect();
        for h in self.hosts() {
            for c in h.certificates.iter().flatten() {
                if wanted.contains(&c.cert.thumbprint) {
                    inputs
                        .sightings
                        .push((h.host_id, h.fqdn.clone(), c.clone()));
                }
                if c.store == ROOT_STORE {
                    inputs.root_candidates.push(Arc::clone(&c.cert));
                }
            }
        }
        context(&inputs)
    }

    fn host_findings(&self, h: &HostFacts) -> Vec<Finding> {
        evaluate_host(&stamp(), &self.rc(), h)
    }

    fn stamp_findings(&self) -> Vec<Finding> {
        evaluate_stamp(&self.rc())
    }

    fn all(&self) -> Vec<Finding> {
        let mut out = self.stamp_findings();
        for h in self.hosts() {
            out.extend(self.host_findings(h));
        }
        out
    }
}

fn rules(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.rule).collect()
}

fn one<'a>(findings: &'a [Finding], rule: &str) -> &'a Finding {
    let matching: Vec<&Finding> = findings.iter().filter(|f| f.rule == rule).collect();
    assert_eq!(matching.len(), 1, "{rule} in {findings:#?}");
    matching[0]
}

fn without(certs: &mut Option<Vec<HostCert>>, store: &str) {
    if let Some(certs) = certs {
        certs.retain(|c| c.store != store);
    }
}

fn pasted(thumbprint: &str) -> String {
    let pairs: Vec<String> = thumbprint
        .to_lowercase()
        .as_bytes()
        .chunks(2)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    format!("\u{200e}{}", pairs.join(" "))
}

#[test]
fn a_healthy_chain_fires_nothing() {
    let w = World::healthy();
    assert!(w.all().is_empty(), "{:#?}", w.all());
    let rc = w.rc();
    let hv = rc.hyperv.as_ref().unwrap();
    assert_eq!(hv.thumbprint, w.vc.thumbprint);
    assert_eq!(hv.reported_by, (VMM, "vmm01.ams-01.example.net".to_owned()));
    assert_eq!(hv.provider.as_deref(), Some(REQUIRED_PROVIDER));
    assert_eq!(
        hv.root.as_ref().unwrap().thumbprint,
        w.vc.thumbprint,
        "self-signed: its own root"
    );
}

#[test]
fn key_usage_without_digital_signature_or_without_extension_is_critical() {
    let ke_only = World::new(vmconnect(CertSpec {
        key_usage: Some(vec![KeyUsage::KeyEncipherment]),
        ..CertSpec::new("Remote Console Connect")
    }));
    let findings = ke_only.stamp_findings();
    let f = one(&findings, CERT_KEY_USAGE);
    assert_eq!((f.severity, f.host_id), (Severity::Critical, Some(VMM)));
    assert_eq!(f.subject, ke_only.vc.thumbprint);
    assert!(
        f.message.contains("\"Remote Console Connect\""),
        "{}",
        f.message
    );
    assert!(f.message.contains(&ke_only.vc.thumbprint));
    assert!(
        f.message
            .contains("VMConnect Hyper-V and gateway certificate"),
        "{}",
        f.message
    );
    assert!(
        f.message
            .contains("keyEncipherment without digitalSignature"),
        "{}",
        f.message
    );

    let none = World::new(vmconnect(CertSpec {
        key_usage: None,
        ..CertSpec::new("Remote Console Connect")
    }));
    let findings = none.stamp_findings();
    assert!(
        one(&findings, CERT_KEY_USAGE)
            .message
            .contains("has no Key Usage extension")
    );
}

#[test]
fn eku_without_client_authentication_or_without_extension_is_critical() {
    let server_only = World::new(vmconnect(CertSpec {
        eku: Some(vec![Eku::ServerAuth]),
        ..CertSpec::new("Remote Console Connect")
    }));
    let findings = server_only.stamp_findings();
    let f = one(&findings, CERT_EKU);
    assert_eq!((f.severity, f.host_id), (Severity::Critical, Some(VMM)));
    assert!(
        f.message
            .contains("Server Authentication without Client Authentication")
    );

    let none = World::new(vmconnect(CertSpec {
        eku: None,
        ..CertSpec::new("Remote Console Connect")
    }));
    let findings = none.stamp_findings();
    assert!(
        one(&findings, CERT_EKU)
            .message
            .contains("no Enhanced Key Usage extension")
    );
    assert_eq!(rules(&findings), [CERT_EKU]);
}

#[test]
fn a_provider_without_sha256_is_a_warning_and_an_unreported_one_is_not_judged() {
    let mut w = World::healthy();
    let set_provider = |w: &mut World, p: Option<&str>| {
        for c in w.vmm.certificates.iter_mut().flatten() {
            c.provider = p.map(str::to_owned);
        }
    };
    set_provider(&mut w, Some("Microsoft Strong Cryptographic Provider"));
    let findings = w.stamp_findings();
    let f = one(&findings, CERT_PROVIDER);
    assert_eq!((f.severity, f.host_id), (Severity::Warning, Some(VMM)));
    assert!(f.message.contains("vmm01.ams-01.example.net"));
    assert!(
        f.message
            .contains("certutil -csp \"Microsoft Enhanced RSA and AES Cryptographic Provider\"")
    );

    set_provider(
        &mut w,
        Some("microsoft enhanced rsa and aes cryptographic provider"),
    );
    assert!(w.stamp_findings().is_empty());
    set_provider(&mut w, None);
    assert!(w.stamp_findings().is_empty());
}

#[test]
fn hosts_lacking_the_certificate_in_my_are_named() {
    let mut w = World::healthy();
    without(&mut w.hv.certificates, MY_STORE);
    let findings = w.host_findings(&w.hv);
    let f = one(&findings, CERT_NOT_DEPLOYED);
    assert_eq!((f.severity, f.host_id), (Severity::Critical, Some(HV)));
    assert_eq!(f.subject, w.vc.thumbprint);
    assert!(
        f.message
            .starts_with("hv03.ams-01.example.net: the VMConnect Hyper-V certificate")
    );

    w.rdgw
        .certificates
        .as_mut()
        .unwrap()
        .retain(|c| c.cert.thumbprint != w.vc.thumbprint || c.store != MY_STORE);
    let findings = w.host_findings(&w.rdgw);
    assert!(
        one(&findings, CERT_NOT_DEPLOYED)
            .message
            .contains("VMConnect gateway certificate")
    );
}

#[test]
fn a_deployed_certificate_without_key_counts_and_uncollected_stores_are_not_judged() {
    let mut w = World::healthy();
    w.hv.certificates.as_mut().unwrap()[0].has_private_key = false;
    assert!(w.host_findings(&w.hv).is_empty());
    w.hv.certificates = None;
    assert!(w.host_findings(&w.hv).is_empty());
}

#[test]
fn a_host_without_the_root_in_its_root_store_does_not_trust_the_chain() {
    let mut w = World::healthy();
    without(&mut w.hv.certificates, ROOT_STORE);
    let findings = w.host_findings(&w.hv);
    let f = one(&findings, ROOT_UNTRUSTED);
    assert_eq!(
        (f.severity, f.host_id, f.subject.as_str()),
        (Severity::Critical, Some(HV), w.vc.thumbprint.as_str())
    );
    assert!(f.message.contains("then restart vmms"), "{}", f.message);
    assert_eq!(
        rules(&findings),
        [ROOT_UNTRUSTED],
        "absent root is not also a vmms restart"
    );
}

#[test]
fn a_certificate_issued_by_a_ca_in_root_has_the_ca_as_root() {
    let ca = certgen::self_signed(&CertSpec::ca("Contoso Issuing Root")).unwrap();
    let vc = certgen::issued_by(&CertSpec::new("Remote Console Connect"), &ca).unwrap();
    let mut w = World::new(vc);
    for h in [&mut w.hv, &mut w.rdgw] {
        without(&mut h.certificates, ROOT_STORE);
    }
    let mut ca_root = root(&ca);
    ca_root.added_at = Some(at(2024, 2, 6, 9));
    w.hv.certificates.as_mut().unwrap().push(ca_root);

    let rc = w.rc();
    assert_eq!(
        rc.hyperv
            .as_ref()
            .unwrap()
            .root
            .as_ref()
            .unwrap()
            .thumbprint,
        ca.thumbprint
    );
    assert!(w.host_findings(&w.hv).is_empty());
    let findings = w.host_findings(&w.rdgw);
    let f = one(&findings, ROOT_UNTRUSTED);
    assert_eq!(
        (f.host_id, f.subject.as_str()),
        (Some(RDGW), ca.thumbprint.as_str())
    );
    assert!(
        f.message.contains("\"Contoso Issuing Root\""),
        "{}",
        f.message
    );
}

#[test]
fn an_issuer_in_no_root_store_of_the_stamp_is_untrusted_everywhere() {
    let ca = certgen::self_signed(&CertSpec::ca("Contoso Issuing Root")).unwrap();
    let vc = certgen::issued_by(&CertSpec::new("Remote Console Connect"), &ca).unwrap();
    let mut w = World::new(vc);
    for h in [&mut w.hv, &mut w.rdgw] {
        without(&mut h.certificates, ROOT_STORE);
    }
    for h in [&w.hv, &w.rdgw] {
        let findings = w.host_findings(h);
        let f = one(&findings, ROOT_UNTRUSTED);
        assert_eq!(f.subject, "CN=Contoso Issuing Root");
    }
}

#[test]
fn vmms_started_before_the_root_was_added_needs_a_restart() {
    let mut w = World::healthy();
    assert!(
        w.host_findings(&w.hv).is_empty(),
        "vmms started after added_at"
    );
    w.hv.services.as_mut().unwrap()[0].started_at = Some(at(2024, 2, 1, 8));
    let findings = w.host_findings(&w.hv);
    let f = one(&findings, VMMS_RESTART_NEEDED);
    assert_eq!(
        (f.severity, f.host_id, f.subject.as_str()),
        (Severity::Critical, Some(HV), "vmms")
    );
    assert!(
        f.message
            .starts_with("hv03.ams-01.example.net: restart vmms on hv03.ams-01.example.net")
    );
    assert!(f.message.contains(&w.vc.thumbprint));
}

#[test]
fn a_registry_time_for_the_roots_arrival_is_said_to_be_an_upper_bound() {
    let mut w = World::healthy();
    w.hv.services.as_mut().unwrap()[0].started_at = Some(at(2024, 2, 1, 8));
    let findings = w.host_findings(&w.hv);
    let exact = one(&findings, VMMS_RESTART_NEEDED);
    assert_eq!(exact.evidence["root_added_at_is_upper_bound"], false);
    assert!(!exact.message.contains("upper bound"));
    w.hv.certificates.as_mut().unwrap()[1].added_at_upper_bound = true;
    let findings = w.host_findings(&w.hv);
    let bounded = one(&findings, VMMS_RESTART_NEEDED);
    assert_eq!(bounded.evidence["root_added_at_is_upper_bound"], true);
    assert!(
        bounded.message.contains("an upper bound"),
        "{}",
        bounded.message
    );
}

#[test]
fn without_added_at_the_first_report_showing_the_root_counts() {
    let mut w = World::healthy();
    let root_entry = &mut w.hv.certificates.as_mut().unwrap()[1];
    root_entry.added_at = None;
    root_entry.first_seen_at = at(2024, 2, 12, 0);
    let findings = w.host_findings(&w.hv);
    assert!(
        one(&findings, VMMS_RESTART_NEEDED)
            .message
            .contains("(first report showing it)")
    );
    w.hv.services.as_mut().unwrap()[0].started_at = Some(at(2024, 2, 12, 1));
    assert!(w.host_findings(&w.hv).is_empty());
    w.hv.services = None;
    assert!(w.host_findings(&w.hv).is_empty());
}

#[test]
fn a_root_already_there_in_the_hosts_first_report_says_nothing_about_vmms() {
    let mut w = World::healthy();
    w.hv.first_seen_at = at(2024, 2, 12, 0);
    let root_entry = &mut w.hv.certificates.as_mut().unwrap()[1];
    root_entry.added_at = None;
    root_entry.first_seen_at = at(2024, 2, 12, 0);
    // vmms started long before monitoring began: the order of the two is unknown
    w.hv.services.as_mut().unwrap()[0].started_at = Some(at(2023, 6, 1, 0));
    assert!(w.host_findings(&w.hv).is_empty());
    // the same root appearing in a later report is evidence again
    w.hv.first_seen_at = at(2024, 2, 1, 0);
    assert_eq!(
        one(&w.host_findings(&w.hv), VMMS_RESTART_NEEDED).subject,
        "vmms"
    );
}

#[test]
fn hyperv_trusted_issuer_pasted_with_spaces_and_lrm_matches() {
    let mut w = World::healthy();
    let ts = w.hv.settings.hyperv_terminal_service.as_mut().unwrap();
    ts.trusted_issuer_certificate_hashes = vec![pasted(&w.vc.thumbprint)];
    ts.allowed_hash_algorithms = vec!["sha-256".into(), "SHA1".into()];
    assert!(w.host_findings(&w.hv).is_empty());
}

#[test]
fn hyperv_trusted_issuer_lacking_the_thumbprint_or_sha256_fires() {
    let mut w = World::healthy();
    let ts = w.hv.settings.hyperv_terminal_service.as_mut().unwrap();
    ts.trusted_issuer_certificate_hashes = vec!["AB".repeat(20)];
    let findings = w.host_findings(&w.hv);
    let f = one(&findings, HOST_TRUSTED_ISSUER);
    assert_eq!(
        (f.severity, f.host_id, f.subject.as_str()),
        (Severity::Critical, Some(HV), w.vc.thumbprint.as_str())
    );
    assert!(
        f.message.contains(&format!("lacks {}", w.vc.thumbprint)),
        "{}",
        f.message
    );

    let ts = w.hv.settings.hyperv_terminal_service.as_mut().unwrap();
    ts.trusted_issuer_certificate_hashes = vec![w.vc.thumbprint.clone()];
    ts.allowed_hash_algorithms = vec!["SHA1".into()];
    let findings = w.host_findings(&w.hv);
    assert!(
        one(&findings, HOST_TRUSTED_ISSUER)
            .message
            .contains("AllowedHashAlgorithms (SHA1) does not allow SHA256")
    );
}

#[test]
fn sha256_is_recognised_in_any_usual_spelling() {
    for yes in [
        "SHA256",
        "sha-256",
        "SHA_256",
        "SHA2-256",
        "CALG_SHA_256",
        "32780",
        "0x800C",
    ] {
        assert!(is_sha256(yes), "{yes}");
    }
    for no in ["SHA1", "SHA384", "32772", ""] {
        assert!(!is_sha256(no), "{no}");
    }
}

#[test]
fn rdgw_trusted_issuer_pasted_matches_and_a_different_one_fires() {
    let mut w = World::healthy();
    let rd = w.rdgw.settings.rd_gateway.as_mut().unwrap();
    rd.trusted_issuer_certificates = Some(vec![format!(
        "{}; {}",
        "CD".repeat(20),
        pasted(&w.vc.thumbprint)
    )]);
    assert!(w.host_findings(&w.rdgw).is_empty());

    // FedAuthSettings not collected: not judged
    let rd = w.rdgw.settings.rd_gateway.as_mut().unwrap();
    rd.trusted_issuer_certificates = None;
    assert!(
        w.host_findings(&w.rdgw)
            .iter()
            .all(|f| f.rule != RDGW_TRUSTED_ISSUER)
    );

    let rd = w.rdgw.settings.rd_gateway.as_mut().unwrap();
    rd.trusted_issuer_certificates = Some(vec!["CD".repeat(20)]);
    let findings = w.host_findings(&w.rdgw);
    let f = one(&findings, RDGW_TRUSTED_ISSUER);
    assert_eq!(
        (f.severity, f.host_id, f.subject.as_str()),
        (Severity::Critical, Some(RDGW), w.vc.thumbprint.as_str())
    );
    assert!(f.message.starts_with("rdgw01.ams-01.example.net:"));
}

#[test]
fn rdgw_plugins_other_than_fed_authorization_fire_per_setting() {
    let mut w = World::healthy();
    let rd = w.rdgw.settings.rd_gateway.as_mut().unwrap();
    rd.authentication_plugin = Some("fedauthorizationplugin".into());
    rd.authorization_plugin = Some("NPS".into());
    let findings = w.host_findings(&w.rdgw);
    let f = one(&findings, RDGW_PLUGIN);
    assert_eq!(
        (f.severity, f.subject.as_str()),
        (Severity::Critical, "authorization_plugin")
    );
    assert!(f.message.contains("AuthorizationPluginName is \"NPS\""));
    let rd = w.rdgw.settings.rd_gateway.as_mut().unwrap();
    rd.authorization_plugin = None;
    assert!(
        w.host_findings(&w.rdgw).is_empty(),
        "not reported is not judged"
    );
}

#[test]
fn rdgw_plugins_as_the_console_connect_installer_registers_them_are_correct() {
    let mut w = World::healthy();
    let rd = w.rdgw.settings.rd_gateway.as_mut().unwrap();
    rd.authentication_plugin = Some("FedAuthAuthenticationPlugin".into());
    rd.authorization_plugin = Some("FedAuthAuthorizationPlugin".into());
    assert!(
        w.host_findings(&w.rdgw).is_empty(),
        "the installer's names are a correct configuration"
    );
    // each name belongs to its own setting: swapped, neither is the right plugin
    let rd = w.rdgw.settings.rd_gateway.as_mut().unwrap();
    rd.authentication_plugin = Some("FedAuthAuthorizationPlugin".into());
    rd.authorization_plugin = Some("FedAuthAuthenticationPlugin".into());
    let findings = w.host_findings(&w.rdgw);
    assert_eq!(
        findings.iter().filter(|f| f.rule == RDGW_PLUGIN).count(),
        2,
        "{findings:?}"
    );
}

#[test]
fn rdgw_public_cert_self_signed_or_misnamed_is_a_warning() {
    let mut w = World::healthy();
    let self_signed = certgen::self_signed(&CertSpec::new("console.ams-01.example.net")).unwrap();
    let misnamed = public_cert("rdgw01.ams-01.example.net");
    let wildcard = public_cert("*.ams-01.example.net");
    let certs = w.rdgw.certificates.as_mut().unwrap();
    certs.extend([my(&self_signed), my(&misnamed), my(&wildcard)]);

    let bind = |w: &mut World, cert: &GeneratedCert| {
        w.rdgw
            .settings
            .rd_gateway
            .as_mut()
            .unwrap()
            .ssl_certificate_thumbprint = Some(pasted(&cert.thumbprint));
    };
    bind(&mut w, &self_signed);
    let findings = w.host_findings(&w.rdgw);
    let f = one(&findings, RDGW_PUBLIC_CERT);
    assert_eq!(
        (f.severity, f.host_id, f.subject.as_str()),
        (
            Severity::Warning,
            Some(RDGW),
            self_signed.thumbprint.as_str()
        )
    );
    assert!(f.message.contains("is self-signed"), "{}", f.message);

    bind(&mut w, &misnamed);
    let findings = w.host_findings(&w.rdgw);
    assert!(
        one(&findings, RDGW_PUBLIC_CERT).message.contains(
            "does not name console.ams-01.example.net (CN/SAN: rdgw01.ams-01.example.net"
        )
    );

    bind(&mut w, &wildcard);
    assert!(w.host_findings(&w.rdgw).is_empty());
}

#[test]
fn without_a_reported_ssl_thumbprint_the_best_matching_my_certificate_is_judged() {
    let mut w = World::healthy();
    w.rdgw
        .settings
        .rd_gateway
        .as_mut()
        .unwrap()
        .ssl_certificate_thumbprint = None;
    let machine = certgen::self_signed(&CertSpec::new("rdgw01.ams-01.example.net")).unwrap();
    w.rdgw.certificates.as_mut().unwrap().push(my(&machine));
    assert!(
        w.host_findings(&w.rdgw).is_empty(),
        "the public certificate matches"
    );

    w.rdgw
        .certificates
        .as_mut()
        .unwrap()
        .retain(|c| c.cert.subject_cn.as_deref() != Some("console.ams-01.example.net"));
    let findings = w.host_findings(&w.rdgw);
    let f = one(&findings, RDGW_PUBLIC_CERT);
    assert_eq!(f.subject, machine.thumbprint);
    assert!(
        f.message
            .contains("the best candidate \"rdgw01.ams-01.example.net\""),
        "{}",
        f.message
    );

    w.rdgw.certificates = Some(vec![root(&w.vc), my(&w.vc)]);
    w.rdgw.certificates.as_mut().unwrap()[1].has_private_key = false;
    let findings = w.host_findings(&w.rdgw);
    let f = one(&findings, RDGW_PUBLIC_CERT);
    assert_eq!(f.subject, "console.ams-01.example.net");
    assert!(f.message.contains("no certificate with a private key"));
}

#[test]
fn vmm_thumbprints_are_normalised_and_disagreement_is_evidence() {
    let mut w = World::healthy();
    let other = "EF".repeat(20);
    w.vmm
        .settings
        .vmm
        .as_mut()
        .unwrap()
        .vmconnect_hyperv_certificate_thumbprint = Some(pasted(&w.vc.thumbprint));
    let mut vmm02 = host(2, "vmm02.ams-01.example.net", &[Role::VmmServer]);
    vmm02.settings.vmm = Some(VmmSettings {
        vmconnect_hyperv_certificate_thumbprint: Some(other.clone()),
        ..VmmSettings::default()
    });
    let inputs = RemoteConsoleInputs {
        vmm: [&w.vmm, &vmm02]
            .iter()
            .map(|h| (h.host_id, h.fqdn.clone(), h.settings.vmm.clone().unwrap()))
            .collect(),
        sightings: vec![(HV, w.hv.fqdn.clone(), my(&w.vc))],
        root_candidates: vec![parsed(&w.vc)],
    };
    let rc = context(&inputs);
    let hv = rc.hyperv.as_ref().unwrap();
    // One vote each: the lowest host id wins.
    assert_eq!(hv.thumbprint, w.vc.thumbprint);
    assert_eq!(hv.disagreement.len(), 2);
    assert_eq!(
        hv.evidence()["vmm_disagreement"][1]["thumbprint"],
        other.as_str()
    );
    assert_eq!(
        rc.gateway.as_ref().unwrap().disagreement.len(),
        0,
        "vmm02 reports no gateway"
    );
}

#[test]
fn without_vmm_settings_nothing_in_the_family_is_judged() {
    let mut w = World::healthy();
    w.vmm.settings.vmm = None;
    without(&mut w.hv.certificates, MY_STORE);
    without(&mut w.hv.certificates, ROOT_STORE);
    assert!(w.all().is_empty());
}

#[test]
fn a_vmconnect_certificate_found_nowhere_is_not_deployed_anywhere() {
    let mut w = World::healthy();
    let missing = "12".repeat(20);
    w.vmm
        .settings
        .vmm
        .as_mut()
        .unwrap()
        .vmconnect_hyperv_certificate_thumbprint = Some(missing.clone());
    let findings = w.all();
    assert_eq!(rules(&findings), [CERT_NOT_DEPLOYED, HOST_TRUSTED_ISSUER]);
    assert_eq!(findings[0].subject, missing);
    assert!(findings[0].message.contains(&format!(
        "VMConnect Hyper-V certificate (thumbprint {missing})"
    )));
}
