//! X.509 certificates as hosts report them (DER), parsed into the facts the certificate and
//! Remote Console rules read (SPEC §4, §5).

mod algorithms;
mod names;
mod self_signed;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha1::{Digest, Sha1};
use x509_parser::prelude::*;

pub use algorithms::{KeyAlgorithm, SignatureHash};
use names::{attribute_to_string, dns_pattern_matches, name_to_string, normalise_dns};

/// EKU Client Authentication: what VMM's Remote Console token-signing certificate needs.
pub const CLIENT_AUTH_EKU: &str = "1.3.6.1.5.5.7.3.2";
/// EKU Server Authentication: what an RD Gateway's SSL certificate needs.
pub const SERVER_AUTH_EKU: &str = "1.3.6.1.5.5.7.3.1";
/// anyExtendedKeyUsage. Kept as a plain OID in [`ParsedCertificate::eku`]; whether it stands
/// in for a specific purpose is for the rule to decide.
pub const ANY_EKU: &str = "2.5.29.37.0";

/// The facts of one certificate, as the server computes them from its DER.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParsedCertificate {
    /// Uppercase hex SHA-1 of the DER, as Windows shows it.
    pub thumbprint: String,
    /// The subject as x509-parser prints it: attributes in DER order, `, ` between them
    /// (e.g. `CN=console.ams-01.example.net`). Windows prints the same name in reverse order.
    pub subject: String,
    /// The first Common Name of the subject.
    pub subject_cn: Option<String>,
    pub issuer: String,
    /// The DER INTEGER's bytes in uppercase hex, no separators. A leading `00` stays when the
    /// encoding has it, as in Windows' `SerialNumber`.
    pub serial: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// A stable name (`sha256WithRSAEncryption`, `ecdsa-with-SHA256`, `rsassa-pss`, ...), else
    /// the dotted OID.
    pub signature_algorithm: String,
    pub signature_hash: Option<SignatureHash>,
    pub key_algorithm: KeyAlgorithm,
    /// RSA modulus bits, EC curve size (256, 384, 521), 256 for Ed25519.
    pub key_bits: Option<u32>,
    /// `None` when the certificate has no Key Usage extension.
    pub key_usage: Option<Vec<KeyUsageFlag>>,
    /// Dotted OIDs; `None` when the certificate has no Extended Key Usage extension.
    pub eku: Option<Vec<String>>,
    pub san_dns: Vec<String>,
    /// Issuer and subject are the same name (byte for byte) and the certificate's own key
    /// made its signature. Where the signature cannot be checked (MD5, RSA under 2048 bits
    /// with SHA-2, unusual curves), matching or absent key identifiers stand in for it.
    pub self_signed: bool,
}

/// One bit of the Key Usage extension, in RFC 5280 order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyUsageFlag {
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

impl KeyUsageFlag {
    /// Bit `i` of the extension is `ALL[i]`.
    pub const ALL: [Self; 9] = [
        Self::DigitalSignature,
        Self::NonRepudiation,
        Self::KeyEncipherment,
        Self::DataEncipherment,
        Self::KeyAgreement,
        Self::KeyCertSign,
        Self::CrlSign,
        Self::EncipherOnly,
        Self::DecipherOnly,
    ];

    /// The RFC 5280 name, as operators know it from certificate dialogs and `openssl`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DigitalSignature => "digitalSignature",
            Self::NonRepudiation => "nonRepudiation",
            Self::KeyEncipherment => "keyEncipherment",
            Self::DataEncipherment => "dataEncipherment",
            Self::KeyAgreement => "keyAgreement",
            Self::KeyCertSign => "keyCertSign",
            Self::CrlSign => "cRLSign",
            Self::EncipherOnly => "encipherOnly",
            Self::DecipherOnly => "decipherOnly",
        }
    }

    /// The inverse of [`KeyUsageFlag::as_str`] (for values read back from storage).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// Why bytes reported as a certificate could not be read as one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertParseError {
    #[error("the certificate is empty (no bytes)")]
    Empty,
    #[error(
        "this is PEM text, not DER: send the base64-decoded bytes between the BEGIN and END lines"
    )]
    Pem,
    #[error("not a DER X.509 certificate: the data ends before the certificate does (truncated?)")]
    Truncated,
    #[error("not a DER X.509 certificate: {0}")]
    NotDer(String),
    #[error("{0} bytes of trailing data after the certificate")]
    TrailingData(usize),
    #[error("the {extension} extension is unreadable: {reason}")]
    InvalidExtension {
        extension: &'static str,
        reason: String,
    },
    #[error("the certificate's {field} ({timestamp}) is outside the dates the server can store")]
    DateOutOfRange { field: &'static str, timestamp: i64 },
}

/// Uppercase hex SHA-1 of the DER: the thumbprint Windows shows and that settings refer to.
pub fn thumbprint(der: &[u8]) -> String {
    hex::encode_upper(Sha1::digest(der))
}

/// Parse one DER certificate. Never panics, whatever the bytes.
pub fn parse_der(der: &[u8]) -> Result<ParsedCertificate, CertParseError> {
    if der.is_empty() {
        return Err(CertParseError::Empty);
    }
    if der.trim_ascii_start().starts_with(b"-----BEGIN") {
        return Err(CertParseError::Pem);
    }
    // x509-parser reports a cut-off certificate in several ways depending on where the cut
    // falls; the outer SEQUENCE's declared length tells it plainly.
    if is_cut_off_sequence(der) {
        return Err(CertParseError::Truncated);
    }
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| match e {
        nom::Err::Incomplete(_)
        | nom::Err::Error(X509Error::Der(asn1_rs::Error::Incomplete(_)))
        | nom::Err::Failure(X509Error::Der(asn1_rs::Error::Incomplete(_))) => {
            CertParseError::Truncated
        }
        nom::Err::Error(X509Error::NomError(kind))
        | nom::Err::Failure(X509Error::NomError(kind)) => {
            CertParseError::NotDer(format!("malformed ASN.1 inside the certificate ({kind:?})"))
        }
        nom::Err::Error(e) | nom::Err::Failure(e) => CertParseError::NotDer(e.to_string()),
    })?;
    if !rest.is_empty() {
        return Err(CertParseError::TrailingData(rest.len()));
    }

    let (signature_algorithm, signature_hash) =
        algorithms::signature_algorithm(&cert.signature_algorithm);
    let spki = cert.public_key();
    let key_algorithm = KeyAlgorithm::from_spki_oid(&spki.algorithm.algorithm.to_id_string());
    let key_bits = algorithms::key_bits(spki, &key_algorithm);

    Ok(ParsedCertificate {
        thumbprint: thumbprint(der),
        subject: name_to_string(cert.subject()),
        subject_cn: cert
            .subject()
            .iter_common_name()
            .next()
            .map(attribute_to_string),
        issuer: name_to_string(cert.issuer()),
        serial: hex::encode_upper(cert.raw_serial()),
        not_before: to_utc("notBefore", cert.validity().not_before)?,
        not_after: to_utc("notAfter", cert.validity().not_after)?,
        key_usage: key_usage(&cert)?,
        eku: eku(&cert)?,
        san_dns: san_dns(&cert)?,
        self_signed: self_signed::is_self_signed(&cert, &key_algorithm, signature_hash, key_bits),
        signature_algorithm,
        signature_hash,
        key_algorithm,
        key_bits,
    })
}

/// Whether `der` starts a DER SEQUENCE whose header declares more bytes than follow it.
fn is_cut_off_sequence(der: &[u8]) -> bool {
    let Some((&0x30, after_tag)) = der.split_first() else {
        return false;
    };
    let Some((&first, after_first)) = after_tag.split_first() else {
        return true;
    };
    let (length, body) = if first < 0x80 {
        (usize::from(first), after_first)
    } else {
        let count = usize::from(first & 0x7f);
        // Indefinite (BER) or absurd lengths: x509-parser says what is wrong with those.
        if !(1..=4).contains(&count) {
            return false;
        }
        if after_first.len() < count {
            return true;
        }
        let (length_bytes, body) = after_first.split_at(count);
        let length = length_bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (length, body)
    };
    body.len() < length
}

impl ParsedCertificate {
    pub fn has_key_usage(&self, flag: KeyUsageFlag) -> bool {
        self.key_usage
            .as_ref()
            .is_some_and(|flags| flags.contains(&flag))
    }

    /// Whether the EKU extension lists `oid` itself (no extension, or anyExtendedKeyUsage
    /// alone, answer false).
    pub fn has_eku(&self, oid: &str) -> bool {
        self.eku
            .as_ref()
            .is_some_and(|ekus| ekus.iter().any(|e| e == oid))
    }

    /// Whether a client connecting to `name` would accept this certificate's name: the CN or
    /// a SAN DNS name equal to it (ASCII case-insensitive, a trailing dot ignored), or a
    /// wildcard `*.example.net` covering exactly one label in its place. Windows' RD Gateway
    /// clients still accept the CN, so it counts even when SANs are present.
    pub fn matches_dns_name(&self, name: &str) -> bool {
        let name = normalise_dns(name);
        if name.is_empty() {
            return false;
        }
        self.subject_cn
            .iter()
            .chain(&self.san_dns)
            .any(|pattern| dns_pattern_matches(&normalise_dns(pattern), &name))
    }
}

fn to_utc(field: &'static str, time: ASN1Time) -> Result<DateTime<Utc>, CertParseError> {
    let timestamp = time.timestamp();
    DateTime::from_timestamp(timestamp, 0)
        .ok_or(CertParseError::DateOutOfRange { field, timestamp })
}

fn invalid_extension(extension: &'static str) -> impl Fn(X509Error) -> CertParseError {
    move |e| CertParseError::InvalidExtension {
        extension,
        reason: e.to_string(),
    }
}

fn key_usage(cert: &X509Certificate<'_>) -> Result<Option<Vec<KeyUsageFlag>>, CertParseError> {
    let Some(ext) = cert.key_usage().map_err(invalid_extension("Key Usage"))? else {
        return Ok(None);
    };
    let flags = KeyUsageFlag::ALL
        .into_iter()
        .enumerate()
        .filter(|(bit, _)| ext.value.flags & (1 << bit) != 0)
        .map(|(_, flag)| flag)
        .collect();
    Ok(Some(flags))
}

fn eku(cert: &X509Certificate<'_>) -> Result<Option<Vec<String>>, CertParseError> {
    let Some(ext) = cert
        .extended_key_usage()
        .map_err(invalid_extension("Extended Key Usage"))?
    else {
        return Ok(None);
    };
    // x509-parser folds the well-known purposes into booleans; turn them back into OIDs.
    let eku = ext.value;
    let known = [
        (eku.any, ANY_EKU),
        (eku.server_auth, SERVER_AUTH_EKU),
        (eku.client_auth, CLIENT_AUTH_EKU),
        (eku.code_signing, "1.3.6.1.5.5.7.3.3"),
        (eku.email_protection, "1.3.6.1.5.5.7.3.4"),
        (eku.time_stamping, "1.3.6.1.5.5.7.3.8"),
        (eku.ocsp_signing, "1.3.6.1.5.5.7.3.9"),
    ];
    let oids = known
        .into_iter()
        .filter(|(present, _)| *present)
        .map(|(_, oid)| oid.to_owned())
        .chain(eku.other.iter().map(|oid| oid.to_id_string()))
        .collect();
    Ok(Some(oids))
}

fn san_dns(cert: &X509Certificate<'_>) -> Result<Vec<String>, CertParseError> {
    let san = cert
        .subject_alternative_name()
        .map_err(invalid_extension("Subject Alternative Name"))?;
    Ok(san
        .into_iter()
        .flat_map(|ext| &ext.value.general_names)
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some((*dns).to_owned()),
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_off_sequences_are_told_apart_from_other_garbage() {
        for (bytes, cut_off) in [
            (&b"\x30"[..], true),
            (b"\x30\x03\x01\x01", true),
            (b"\x30\x02\x01\x01", false),
            (b"\x30\x82\x01", true),
            (b"\x30\x82\x00\x02\x05\x00", false),
            (b"\x30\x82\x01\x00\x05\x00", true),
            (b"\x30\x80\x05\x00\x00\x00", false),
            (b"\x04\x05", false),
            (b"", false),
        ] {
            assert_eq!(is_cut_off_sequence(bytes), cut_off, "{bytes:02X?}");
        }
    }
}
