//! The certificates of the simulated fleet, made with `certgen`: the fleet's CAs once, then per
//! stamp its VMConnect certificate, its RD Gateway SSL certificate(s) and one machine
//! certificate per host. Each is made once and shared by every report that shows it.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::faults::FaultKind;
use super::fleet::StampModel;
use crate::certgen::{
    self, CertGenError, CertSpec, Eku, GeneratedCert, KeyKind, KeyUsage, TestRsaKey,
};

/// A certificate as reports carry it: base64 DER (encoded once) and thumbprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertMaterial {
    pub der_base64: String,
    pub thumbprint: String,
}

impl From<&GeneratedCert> for CertMaterial {
    fn from(cert: &GeneratedCert) -> Self {
        CertMaterial {
            der_base64: cert.der_base64(),
            thumbprint: cert.thumbprint.clone(),
        }
    }
}

/// The fleet's own CAs and the weak fixtures.
pub struct FleetCerts {
    /// The enterprise CA that issues machine certificates (ECDSA, so 10 000 hosts are quick).
    internal_root_cert: GeneratedCert,
    pub internal_root: CertMaterial,
    /// The "public" CA that issues the RD Gateways' SSL certificates.
    public_root_cert: GeneratedCert,
    pub public_root: CertMaterial,
    pub weak_sha1: CertMaterial,
    pub weak_md5: CertMaterial,
    pub weak_rsa1024: CertMaterial,
}

impl FleetCerts {
    pub fn generate(now: DateTime<Utc>) -> Result<FleetCerts, CertGenError> {
        let internal = certgen::self_signed(&CertSpec {
            key: KeyKind::EcdsaP256,
            not_before: now - Duration::days(2000),
            not_after: now + Duration::days(3000),
            ..CertSpec::ca("Example Net Internal Root CA")
        })?;
        let public = certgen::self_signed(&CertSpec {
            not_before: now - Duration::days(3000),
            not_after: now + Duration::days(4000),
            ..CertSpec::ca("Simulated Public TLS Root CA G2")
        })?;
        Ok(FleetCerts {
            internal_root: CertMaterial::from(&internal),
            internal_root_cert: internal,
            public_root: CertMaterial::from(&public),
            public_root_cert: public,
            weak_sha1: CertMaterial::from(&certgen::weak_sha1_rsa()),
            weak_md5: CertMaterial::from(&certgen::weak_md5_rsa()),
            weak_rsa1024: CertMaterial::from(&certgen::weak_rsa1024()),
        })
    }
}

/// One stamp's certificates.
pub struct StampCerts {
    pub vmconnect: CertMaterial,
    /// Issued by the public CA for the stamp's `rd_gateway_fqdn`.
    pub rdgw_ssl: CertMaterial,
    /// Per RD Gateway with a public-certificate fault: the faulty certificate it serves.
    pub rdgw_ssl_faulty: HashMap<String, CertMaterial>,
    /// Per host FQDN.
    pub machine: HashMap<String, CertMaterial>,
    /// The thumbprint of the VMConnect certificate this one replaced, still configured where a
    /// trusted-issuer fault is.
    pub previous_vmconnect_thumbprint: String,
}

impl StampCerts {
    pub fn generate(
        stamp: &StampModel,
        fleet: &FleetCerts,
        now: DateTime<Utc>,
    ) -> Result<StampCerts, CertGenError> {
        let mut rng = StdRng::seed_from_u64(stamp.salt ^ 0xCE27);
        let vmconnect = certgen::self_signed(&vmconnect_spec(stamp))?;
        let ssl_not_after = now + Duration::days(rng.random_range(60..=330));
        let ssl_spec = CertSpec {
            dns_names: vec![stamp.rd_gateway_fqdn.clone()],
            not_before: ssl_not_after - Duration::days(365),
            not_after: ssl_not_after,
            eku: Some(vec![Eku::ServerAuth]),
            key: KeyKind::Rsa2048(TestRsaKey::Three),
            ..CertSpec::new(stamp.rd_gateway_fqdn.clone())
        };
        let rdgw_ssl = certgen::issued_by(&ssl_spec, &fleet.public_root_cert)?;
        let mut rdgw_ssl_faulty = HashMap::new();
        let mut machine = HashMap::with_capacity(stamp.hosts.len());
        for host in &stamp.hosts {
            match host.fault {
                Some(FaultKind::RdgwSelfSignedSsl) => {
                    let cert = certgen::self_signed(&ssl_spec)?;
                    rdgw_ssl_faulty.insert(host.fqdn.clone(), CertMaterial::from(&cert));
                }
                Some(FaultKind::RdgwWrongCnSsl) => {
                    // Issued for the machine's own name, not the public console name.
                    let spec = CertSpec {
                        common_name: host.fqdn.clone(),
                        dns_names: vec![host.fqdn.clone()],
                        ..ssl_spec.clone()
                    };
                    let cert = certgen::issued_by(&spec, &fleet.public_root_cert)?;
                    rdgw_ssl_faulty.insert(host.fqdn.clone(), CertMaterial::from(&cert));
                }
                _ => {}
            }
            let not_after = machine_not_after(host.fault, &mut rng, now);
            let spec = CertSpec {
                dns_names: vec![host.fqdn.clone()],
                not_before: not_after - Duration::days(730),
                not_after,
                key: KeyKind::EcdsaP256,
                ..CertSpec::new(host.fqdn.clone())
            };
            let cert = certgen::issued_by(&spec, &fleet.internal_root_cert)?;
            machine.insert(host.fqdn.clone(), CertMaterial::from(&cert));
        }
        let previous: [u8; 20] = rng.random();
        Ok(StampCerts {
            vmconnect: CertMaterial::from(&vmconnect),
            rdgw_ssl: CertMaterial::from(&rdgw_ssl),
            rdgw_ssl_faulty,
            machine,
            previous_vmconnect_thumbprint: hex::encode_upper(previous),
        })
    }

    /// The SSL certificate an RD Gateway serves.
    pub fn rdgw_ssl_for(&self, fqdn: &str) -> &CertMaterial {
        self.rdgw_ssl_faulty.get(fqdn).unwrap_or(&self.rdgw_ssl)
    }
}

/// The self-signed certificate VMM signs Remote Console tokens with: RSA-2048, Key Usage
/// digitalSignature, EKU Client Authentication, unless the stamp carries a fault on it.
fn vmconnect_spec(stamp: &StampModel) -> CertSpec {
    let key_usage = if stamp.has_fault(FaultKind::VmconnectNoDigitalSignature) {
        vec![KeyUsage::KeyEncipherment]
    } else {
        vec![KeyUsage::DigitalSignature]
    };
    let eku = if stamp.has_fault(FaultKind::VmconnectNoClientAuth) {
        vec![Eku::ServerAuth]
    } else {
        vec![Eku::ClientAuth]
    };
    CertSpec {
        not_before: stamp.vmconnect_since - Duration::hours(1),
        not_after: stamp.vmconnect_since + Duration::days(5 * 365),
        key_usage: Some(key_usage),
        eku: Some(eku),
        key: KeyKind::Rsa2048(TestRsaKey::One),
        ..CertSpec::new(format!("Remote Console Connect ({})", stamp.name))
    }
}

/// A machine certificate's end of validity: comfortably far, or as the host's fault wants it.
fn machine_not_after(
    fault: Option<FaultKind>,
    rng: &mut StdRng,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    match fault {
        Some(FaultKind::CertExpired) => now - Duration::days(rng.random_range(1..=20)),
        Some(FaultKind::CertExpiringWarning) => now + Duration::days(rng.random_range(10..=25)),
        Some(FaultKind::CertExpiringCritical) => now + Duration::hours(rng.random_range(30..=120)),
        _ => now + Duration::days(rng.random_range(60..=700)),
    }
}
