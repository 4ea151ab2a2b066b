//! Real X.509 certificates made in memory, for the fleet simulator and for tests on both sides
//! of the wire: self-signed or issued by another generated certificate, ECDSA or RSA, with or
//! without Key Usage, EKU and SAN, plus committed weak fixtures that ring cannot sign.
//!
//! RSA certificates use the committed `certgen/test-only-*.pem` keys, because ring signs with
//! RSA keys but cannot generate them, and Windows certificates are overwhelmingly RSA. Those
//! keys are public: nothing made here may protect anything.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use stampbook_agent::certgen::{self, CertSpec, Eku};
//!
//! // A VMConnect token-signing certificate that expired on 2024-02-22.
//! let expired = certgen::self_signed(&CertSpec {
//!     not_before: Utc.with_ymd_and_hms(2014, 2, 6, 10, 0, 0).unwrap(),
//!     not_after: Utc.with_ymd_and_hms(2024, 2, 22, 10, 0, 0).unwrap(),
//!     eku: Some(vec![Eku::ClientAuth]),
//!     ..CertSpec::new("Remote Console Connect")
//! })?;
//! assert_eq!(expired.thumbprint.len(), 40);
//! # Ok::<(), certgen::CertGenError>(())
//! ```

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Duration, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use sha1::{Digest, Sha1};
use time::OffsetDateTime;

/// What to put in a certificate. Start from [`CertSpec::new`] or [`CertSpec::ca`] and change
/// fields with struct update syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSpec {
    /// The subject is `CN=<common_name>` and nothing else, like most Windows certificates.
    pub common_name: String,
    /// SAN DNS names; empty writes no SAN extension.
    pub dns_names: Vec<String>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// `None` writes no Key Usage extension (a `remote_console.cert_key_usage` fault).
    pub key_usage: Option<Vec<KeyUsage>>,
    /// `None` writes no EKU extension.
    pub eku: Option<Vec<Eku>>,
    /// Writes Basic Constraints `CA:TRUE` and a Subject Key Identifier; otherwise neither.
    pub is_ca: bool,
    pub key: KeyKind,
}

impl CertSpec {
    /// A leaf like the ones VMM and RD Gateway use: RSA-2048 (test key one), Key Usage
    /// digitalSignature + keyEncipherment, EKU Server and Client Authentication, no SAN,
    /// valid from a day ago for a year.
    pub fn new(common_name: impl Into<String>) -> Self {
        let now = Utc::now();
        Self {
            common_name: common_name.into(),
            dns_names: Vec::new(),
            not_before: now - Duration::days(1),
            not_after: now + Duration::days(365),
            key_usage: Some(vec![KeyUsage::DigitalSignature, KeyUsage::KeyEncipherment]),
            eku: Some(vec![Eku::ServerAuth, Eku::ClientAuth]),
            is_ca: false,
            key: KeyKind::Rsa2048(TestRsaKey::One),
        }
    }

    /// A root CA: RSA-2048 (test key two, so it differs from [`CertSpec::new`]'s), Key Usage
    /// keyCertSign + cRLSign + digitalSignature, no EKU, valid from a day ago for ten years.
    pub fn ca(common_name: impl Into<String>) -> Self {
        let now = Utc::now();
        Self {
            not_after: now + Duration::days(3650),
            key_usage: Some(vec![
                KeyUsage::KeyCertSign,
                KeyUsage::CrlSign,
                KeyUsage::DigitalSignature,
            ]),
            eku: None,
            is_ca: true,
            key: KeyKind::Rsa2048(TestRsaKey::Two),
            ..Self::new(common_name)
        }
    }
}

/// Key Usage bits (RFC 5280 §4.2.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyUsage {
    DigitalSignature,
    NonRepudiation,
    KeyEncipherment,
    DataEncipherment,
    KeyAgreement,
    KeyCertSign,
    CrlSign,
    EncipherOnly,
    DecipherOnly,
}

/// Extended Key Usage purposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Eku {
    ServerAuth,
    ClientAuth,
    /// anyExtendedKeyUsage (2.5.29.37.0).
    Any,
}

/// The subject's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// A fresh ECDSA P-256 key, signed with SHA-256.
    EcdsaP256,
    /// A fresh ECDSA P-384 key, signed with SHA-384.
    EcdsaP384,
    /// One of the committed RSA-2048 test keys, signed with SHA-256.
    Rsa2048(TestRsaKey),
}

/// The committed RSA-2048 test keys (`certgen/test-only-rsa2048-*.pem`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TestRsaKey {
    One,
    Two,
    Three,
}

impl TestRsaKey {
    /// The PKCS#8 PEM of the key.
    pub fn pem(self) -> &'static str {
        match self {
            Self::One => include_str!("certgen/test-only-rsa2048-1.pem"),
            Self::Two => include_str!("certgen/test-only-rsa2048-2.pem"),
            Self::Three => include_str!("certgen/test-only-rsa2048-3.pem"),
        }
    }
}

/// A certificate and its private key.
#[derive(Clone, PartialEq, Eq)]
pub struct GeneratedCert {
    pub der: Vec<u8>,
    /// Uppercase hex SHA-1 of `der`, the Windows thumbprint.
    pub thumbprint: String,
    pub subject_cn: String,
    /// The subject's private key, PKCS#8 PEM.
    pub key_pem: String,
}

impl GeneratedCert {
    fn new(der: Vec<u8>, subject_cn: impl Into<String>, key_pem: impl Into<String>) -> Self {
        Self {
            thumbprint: hex::encode_upper(Sha1::digest(&der)),
            der,
            subject_cn: subject_cn.into(),
            key_pem: key_pem.into(),
        }
    }

    /// The `der` field of a report's certificate (what `[Convert]::ToBase64String($cert.RawData)`
    /// gives on Windows).
    pub fn der_base64(&self) -> String {
        BASE64.encode(&self.der)
    }

    /// `-----BEGIN CERTIFICATE-----` text, as Linux hosts keep certificates on disk.
    pub fn cert_pem(&self) -> String {
        let body = BASE64.encode(&self.der);
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in body.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem
    }
}

/// The key stays out of logs even though it is a test key: the habit matters more.
impl fmt::Debug for GeneratedCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedCert")
            .field("subject_cn", &self.subject_cn)
            .field("thumbprint", &self.thumbprint)
            .field("der_len", &self.der.len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CertGenError {
    #[error("rcgen could not make the certificate: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("{field} {value} cannot be written in a certificate")]
    Date {
        field: &'static str,
        value: DateTime<Utc>,
    },
    #[error("an empty {0} list would write no extension at all; use None to mean that")]
    EmptyList(&'static str),
}

/// A certificate signed with its own key.
pub fn self_signed(spec: &CertSpec) -> Result<GeneratedCert, CertGenError> {
    let key = spec.key.key_pair()?;
    let cert = spec.params()?.self_signed(&key)?;
    Ok(GeneratedCert::new(
        cert.der().to_vec(),
        &spec.common_name,
        key.serialize_pem(),
    ))
}

/// A certificate signed by `issuer`'s key, naming `issuer`'s subject as its issuer and
/// carrying an Authority Key Identifier, as a real CA writes it. Whether `issuer` is a CA is
/// not checked, so broken chains can be built on purpose. Fails when `issuer`'s key cannot
/// sign with ring (the RSA-1024 fixture).
pub fn issued_by(spec: &CertSpec, issuer: &GeneratedCert) -> Result<GeneratedCert, CertGenError> {
    let key = spec.key.key_pair()?;
    let issuer_key = KeyPair::from_pem(&issuer.key_pem)?;
    let issuer = Issuer::from_ca_cert_der(&issuer.der.as_slice().into(), issuer_key)?;
    let mut params = spec.params()?;
    params.use_authority_key_identifier_extension = true;
    let cert = params.signed_by(&key, &issuer)?;
    Ok(GeneratedCert::new(
        cert.der().to_vec(),
        &spec.common_name,
        key.serialize_pem(),
    ))
}

/// Self-signed, sha1WithRSAEncryption, RSA-2048 (test key three), `CN=weak-sha1.test.invalid`,
/// valid 2020-01-01 to 2045-01-01. See `certgen/fixtures/README.md`.
pub fn weak_sha1_rsa() -> GeneratedCert {
    GeneratedCert::new(
        include_bytes!("certgen/fixtures/weak-sha1.der").to_vec(),
        "weak-sha1.test.invalid",
        TestRsaKey::Three.pem(),
    )
}

/// Self-signed, md5WithRSAEncryption, RSA-2048 (test key three), `CN=weak-md5.test.invalid`,
/// valid 2020-01-01 to 2045-01-01.
pub fn weak_md5_rsa() -> GeneratedCert {
    GeneratedCert::new(
        include_bytes!("certgen/fixtures/weak-md5.der").to_vec(),
        "weak-md5.test.invalid",
        TestRsaKey::Three.pem(),
    )
}

/// Self-signed, sha256WithRSAEncryption, RSA-1024, `CN=weak-rsa1024.test.invalid`, valid
/// 2020-01-01 to 2045-01-01. ring cannot load its key, so it cannot issue certificates.
pub fn weak_rsa1024() -> GeneratedCert {
    GeneratedCert::new(
        include_bytes!("certgen/fixtures/weak-rsa1024.der").to_vec(),
        "weak-rsa1024.test.invalid",
        include_str!("certgen/test-only-rsa1024.pem"),
    )
}

impl KeyKind {
    fn key_pair(self) -> Result<KeyPair, rcgen::Error> {
        match self {
            Self::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
            Self::EcdsaP384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
            Self::Rsa2048(key) => KeyPair::from_pem(key.pem()),
        }
    }
}

impl CertSpec {
    fn params(&self) -> Result<CertificateParams, CertGenError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, self.common_name.as_str());
        params.subject_alt_names = self
            .dns_names
            .iter()
            .map(|name| Ok(SanType::DnsName(name.as_str().try_into()?)))
            .collect::<Result<_, rcgen::Error>>()?;
        params.not_before = to_offset("not_before", self.not_before)?;
        params.not_after = to_offset("not_after", self.not_after)?;
        // rcgen would derive the serial from the key, and the shared RSA test keys would then
        // give many certificates one serial; real CAs use random ones.
        let mut serial: [u8; 16] = rand::random();
        serial[0] &= 0x7f;
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        params.key_usages = match &self.key_usage {
            None => Vec::new(),
            Some(list) if list.is_empty() => return Err(CertGenError::EmptyList("Key Usage")),
            Some(list) => list.iter().map(|usage| usage.to_rcgen()).collect(),
        };
        params.extended_key_usages = match &self.eku {
            None => Vec::new(),
            Some(list) if list.is_empty() => return Err(CertGenError::EmptyList("EKU")),
            Some(list) => list.iter().map(|eku| eku.to_rcgen()).collect(),
        };
        params.is_ca = if self.is_ca {
            IsCa::Ca(BasicConstraints::Unconstrained)
        } else {
            IsCa::NoCa
        };
        Ok(params)
    }
}

fn to_offset(field: &'static str, value: DateTime<Utc>) -> Result<OffsetDateTime, CertGenError> {
    OffsetDateTime::from_unix_timestamp(value.timestamp())
        .map_err(|_| CertGenError::Date { field, value })
}

impl KeyUsage {
    fn to_rcgen(self) -> KeyUsagePurpose {
        match self {
            Self::DigitalSignature => KeyUsagePurpose::DigitalSignature,
            Self::NonRepudiation => KeyUsagePurpose::ContentCommitment,
            Self::KeyEncipherment => KeyUsagePurpose::KeyEncipherment,
            Self::DataEncipherment => KeyUsagePurpose::DataEncipherment,
            Self::KeyAgreement => KeyUsagePurpose::KeyAgreement,
            Self::KeyCertSign => KeyUsagePurpose::KeyCertSign,
            Self::CrlSign => KeyUsagePurpose::CrlSign,
            Self::EncipherOnly => KeyUsagePurpose::EncipherOnly,
            Self::DecipherOnly => KeyUsagePurpose::DecipherOnly,
        }
    }
}

impl Eku {
    fn to_rcgen(self) -> ExtendedKeyUsagePurpose {
        match self {
            Self::ServerAuth => ExtendedKeyUsagePurpose::ServerAuth,
            Self::ClientAuth => ExtendedKeyUsagePurpose::ClientAuth,
            Self::Any => ExtendedKeyUsagePurpose::Any,
        }
    }
}

#[cfg(test)]
mod tests;
