//! Stable names for the signature and key algorithms found in certificates.
//!
//! The names are part of the API and of rule evidence, so they come from a fixed table here
//! rather than from whatever the OID registry of the day prints.

use serde::{Serialize, Serializer};
use x509_parser::prelude::*;
use x509_parser::public_key::RSAPublicKey;
use x509_parser::signature_algorithm::RsaSsaPssParams;

const RSASSA_PSS: &str = "1.2.840.113549.1.1.10";

/// The hash a certificate's signature was made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureHash {
    Md5,
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl SignatureHash {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "md5",
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// MD5 and SHA-1 have practical collision attacks, so a signature over them proves little
    /// (`cert.weak_signature`).
    pub fn is_weak(self) -> bool {
        matches!(self, Self::Md5 | Self::Sha1)
    }

    /// The inverse of [`SignatureHash::as_str`] (for values read back from storage).
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Md5,
            Self::Sha1,
            Self::Sha256,
            Self::Sha384,
            Self::Sha512,
        ]
        .into_iter()
        .find(|h| h.as_str() == s)
    }

    fn from_digest_oid(oid: &str) -> Option<Self> {
        match oid {
            "1.2.840.113549.2.5" => Some(Self::Md5),
            "1.3.14.3.2.26" => Some(Self::Sha1),
            "2.16.840.1.101.3.4.2.1" => Some(Self::Sha256),
            "2.16.840.1.101.3.4.2.2" => Some(Self::Sha384),
            "2.16.840.1.101.3.4.2.3" => Some(Self::Sha512),
            _ => None,
        }
    }
}

/// The algorithm of the certificate's subject public key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    Rsa,
    Ec,
    Dsa,
    Ed25519,
    /// Anything else, as its dotted OID.
    Other(String),
}

impl KeyAlgorithm {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Rsa => "rsa",
            Self::Ec => "ec",
            Self::Dsa => "dsa",
            Self::Ed25519 => "ed25519",
            Self::Other(oid) => oid,
        }
    }

    /// The inverse of [`KeyAlgorithm::as_str`] (for values read back from storage).
    pub fn parse(s: &str) -> Self {
        match s {
            "rsa" => Self::Rsa,
            "ec" => Self::Ec,
            "dsa" => Self::Dsa,
            "ed25519" => Self::Ed25519,
            other => Self::Other(other.to_owned()),
        }
    }

    pub(super) fn from_spki_oid(oid: &str) -> Self {
        match oid {
            // rsaEncryption, and RSASSA-PSS keys (still RSA, restricted to PSS signatures).
            "1.2.840.113549.1.1.1" | RSASSA_PSS => Self::Rsa,
            "1.2.840.10045.2.1" => Self::Ec,
            "1.2.840.10040.4.1" => Self::Dsa,
            "1.3.101.112" => Self::Ed25519,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// One string, like the other enums, so API clients need no special case for `Other`.
impl Serialize for KeyAlgorithm {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The stable name of a signature algorithm (the dotted OID when it has none) and the hash it
/// signs over, when that is one of [`SignatureHash`].
pub(super) fn signature_algorithm(
    alg: &AlgorithmIdentifier<'_>,
) -> (String, Option<SignatureHash>) {
    use SignatureHash::{Md5, Sha1, Sha256, Sha384, Sha512};
    let oid = alg.algorithm.to_id_string();
    let (name, hash) = match oid.as_str() {
        "1.2.840.113549.1.1.4" => (Some("md5WithRSAEncryption"), Some(Md5)),
        // 1.3.14.3.2.29 is the obsolete OIW alias some old Windows CAs still wrote.
        "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" => (Some("sha1WithRSAEncryption"), Some(Sha1)),
        "1.2.840.113549.1.1.11" => (Some("sha256WithRSAEncryption"), Some(Sha256)),
        "1.2.840.113549.1.1.12" => (Some("sha384WithRSAEncryption"), Some(Sha384)),
        "1.2.840.113549.1.1.13" => (Some("sha512WithRSAEncryption"), Some(Sha512)),
        "1.2.840.10045.4.1" => (Some("ecdsa-with-SHA1"), Some(Sha1)),
        "1.2.840.10045.4.3.2" => (Some("ecdsa-with-SHA256"), Some(Sha256)),
        "1.2.840.10045.4.3.3" => (Some("ecdsa-with-SHA384"), Some(Sha384)),
        "1.2.840.10045.4.3.4" => (Some("ecdsa-with-SHA512"), Some(Sha512)),
        RSASSA_PSS => (Some("rsassa-pss"), pss_hash(alg)),
        "1.3.101.112" => (Some("ed25519"), None),
        // Unnamed in the API, but their hash still matters to `cert.weak_signature`.
        "1.3.14.3.2.25" => (None, Some(Md5)),
        "1.2.840.10040.4.3" => (None, Some(Sha1)),
        "2.16.840.1.101.3.4.3.2" => (None, Some(Sha256)),
        _ => (None, None),
    };
    (name.map_or(oid.clone(), str::to_owned), hash)
}

/// RSASSA-PSS carries its hash in the parameters; absent means SHA-1 (RFC 4055).
fn pss_hash(alg: &AlgorithmIdentifier<'_>) -> Option<SignatureHash> {
    let params = RsaSsaPssParams::try_from(alg.parameters.as_ref()?).ok()?;
    SignatureHash::from_digest_oid(&params.hash_algorithm_oid().to_id_string())
}

/// Key size in bits: the RSA modulus length, the EC curve size. `None` where a size is not
/// meaningful or cannot be read (DSA, unknown algorithms, an unparsable key).
pub(super) fn key_bits(spki: &SubjectPublicKeyInfo<'_>, algorithm: &KeyAlgorithm) -> Option<u32> {
    match algorithm {
        // Read the RSAPublicKey directly: `parsed()` only knows rsaEncryption keys and
        // answers `Unknown` for RSASSA-PSS ones.
        KeyAlgorithm::Rsa => {
            let (_, rsa) = RSAPublicKey::from_der(&spki.subject_public_key.data).ok()?;
            Some(unsigned_bits(rsa.modulus))
        }
        KeyAlgorithm::Ec => {
            let curve = spki.algorithm.parameters.as_ref()?.as_oid().ok()?;
            match curve.to_id_string().as_str() {
                // P-256 and secp256k1
                "1.2.840.10045.3.1.7" | "1.3.132.0.10" => Some(256),
                "1.3.132.0.34" => Some(384),
                "1.3.132.0.35" => Some(521),
                // Other named curves: the point's coordinate size is the curve size, give or
                // take the rounding to whole bytes.
                _ => u32::try_from(spki.parsed().ok()?.key_size())
                    .ok()
                    .filter(|b| *b > 0),
            }
        }
        KeyAlgorithm::Ed25519 => Some(256),
        KeyAlgorithm::Dsa | KeyAlgorithm::Other(_) => None,
    }
}

/// Bits of a big-endian unsigned integer. DER adds a leading zero byte when the top bit is set
/// (x509-parser's own `key_size` assumes that byte is always there, which it is not).
fn unsigned_bits(be: &[u8]) -> u32 {
    let significant = be
        .iter()
        .position(|b| *b != 0)
        .map_or(&[][..], |i| &be[i..]);
    match significant.first() {
        None => 0,
        Some(first) => {
            let rest = u32::try_from(significant.len() - 1).unwrap_or(u32::MAX / 8);
            rest.saturating_mul(8)
                .saturating_add(8 - first.leading_zeros())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_bits_ignores_leading_zero_bytes_and_counts_the_top_byte() {
        assert_eq!(unsigned_bits(&[]), 0);
        assert_eq!(unsigned_bits(&[0, 0]), 0);
        assert_eq!(unsigned_bits(&[0x01]), 1);
        assert_eq!(unsigned_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(unsigned_bits(&[0xC0, 0x00]), 16);
        assert_eq!(unsigned_bits(&[0x7F, 0xFF]), 15);
    }

    #[test]
    fn only_md5_and_sha1_are_weak() {
        let weak: Vec<_> = [
            SignatureHash::Md5,
            SignatureHash::Sha1,
            SignatureHash::Sha256,
            SignatureHash::Sha384,
            SignatureHash::Sha512,
        ]
        .into_iter()
        .filter(|h| h.is_weak())
        .collect();
        assert_eq!(weak, [SignatureHash::Md5, SignatureHash::Sha1]);
    }

    #[test]
    fn other_key_algorithm_serialises_as_its_oid() {
        let other = KeyAlgorithm::from_spki_oid("1.2.643.2.2.19");
        assert_eq!(other, KeyAlgorithm::Other("1.2.643.2.2.19".into()));
        assert_eq!(
            serde_json::to_string(&other).unwrap(),
            r#""1.2.643.2.2.19""#
        );
        assert_eq!(
            serde_json::to_string(&KeyAlgorithm::Rsa).unwrap(),
            r#""rsa""#
        );
    }
}
