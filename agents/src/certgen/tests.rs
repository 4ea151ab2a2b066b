//! certgen's own guarantees; what the certificates contain is checked by the server's parser
//! tests (`server/tests/x509.rs`), which read them with x509-parser.

use base64::Engine as _;
use chrono::{TimeZone, Utc};

use super::*;

#[test]
fn weak_fixtures_have_the_thumbprints_openssl_computes() {
    assert_eq!(
        weak_sha1_rsa().thumbprint,
        "75B090C18261274B388CD9E2D64BE5CCBAF355C5"
    );
    assert_eq!(
        weak_md5_rsa().thumbprint,
        "F13D2B64839F473EE2D5CA880F76B2F5E5615BD6"
    );
    assert_eq!(
        weak_rsa1024().thumbprint,
        "8DFD300B04414BE9955BCE9814B2F56058384140"
    );
}

#[test]
fn thumbprint_is_uppercase_sha1_of_the_der() {
    let cert = self_signed(&CertSpec::new("hv01.ams-01.example.net")).unwrap();
    assert_eq!(cert.thumbprint, hex::encode_upper(Sha1::digest(&cert.der)));
    assert_eq!(cert.thumbprint.len(), 40);
    assert!(!cert.thumbprint.bytes().any(|b| b.is_ascii_lowercase()));
}

#[test]
fn rsa_certificates_carry_the_committed_test_key() {
    let cert = self_signed(&CertSpec {
        key: KeyKind::Rsa2048(TestRsaKey::Three),
        ..CertSpec::new("gw01.ams-01.example.net")
    })
    .unwrap();
    let committed = KeyPair::from_pem(TestRsaKey::Three.pem()).unwrap();
    let carried = KeyPair::from_pem(&cert.key_pem).unwrap();
    assert_eq!(carried.public_key_raw(), committed.public_key_raw());
    assert_eq!(cert.subject_cn, "gw01.ams-01.example.net");
}

#[test]
fn ecdsa_keys_are_fresh_for_every_certificate() {
    let spec = CertSpec {
        key: KeyKind::EcdsaP256,
        ..CertSpec::new("a.example.net")
    };
    let first = self_signed(&spec).unwrap();
    let second = self_signed(&spec).unwrap();
    assert_ne!(first.key_pem, second.key_pem);
    assert_ne!(first.thumbprint, second.thumbprint);
}

#[test]
fn two_certificates_on_one_rsa_key_get_different_serials_and_thumbprints() {
    let spec = CertSpec::new("same.example.net");
    let first = self_signed(&spec).unwrap();
    let second = self_signed(&spec).unwrap();
    assert_eq!(first.key_pem, second.key_pem);
    assert_ne!(first.thumbprint, second.thumbprint);
}

#[test]
fn a_certificate_can_issue_with_the_key_it_carries() {
    let ca = self_signed(&CertSpec::ca("Stamp Root CA")).unwrap();
    let leaf = issued_by(&CertSpec::new("hv02.ams-01.example.net"), &ca).unwrap();
    let grandchild = issued_by(
        &CertSpec {
            key: KeyKind::EcdsaP384,
            ..CertSpec::new("deeper.example.net")
        },
        &leaf,
    )
    .unwrap();
    assert_ne!(leaf.thumbprint, grandchild.thumbprint);
    // The SHA-1 fixture's key is a 2048-bit test key, so it can sign (with SHA-256).
    issued_by(&CertSpec::new("under-weak.example.net"), &weak_sha1_rsa()).unwrap();
}

#[test]
fn the_rsa1024_fixture_cannot_issue_and_says_so() {
    let err = issued_by(&CertSpec::new("x.example.net"), &weak_rsa1024()).unwrap_err();
    assert!(matches!(err, CertGenError::Rcgen(_)), "{err:?}");
}

#[test]
fn empty_extension_lists_are_refused_rather_than_silently_dropped() {
    let no_ku = self_signed(&CertSpec {
        key_usage: Some(vec![]),
        ..CertSpec::new("x.example.net")
    });
    assert!(matches!(no_ku, Err(CertGenError::EmptyList("Key Usage"))));
    let no_eku = self_signed(&CertSpec {
        eku: Some(vec![]),
        ..CertSpec::new("x.example.net")
    });
    assert!(matches!(no_eku, Err(CertGenError::EmptyList("EKU"))));
}

#[test]
fn dates_beyond_year_9999_are_an_error() {
    let result = self_signed(&CertSpec {
        not_after: Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap(),
        ..CertSpec::new("far.example.net")
    });
    assert!(
        matches!(
            result,
            Err(CertGenError::Date {
                field: "not_after",
                ..
            })
        ),
        "{result:?}"
    );
}

#[test]
fn non_ascii_dns_names_are_an_error() {
    let result = self_signed(&CertSpec {
        dns_names: vec!["bücher.example.net".into()],
        ..CertSpec::new("x.example.net")
    });
    assert!(matches!(result, Err(CertGenError::Rcgen(_))), "{result:?}");
}

#[test]
fn cert_pem_wraps_the_der_in_64_column_base64() {
    let cert = weak_sha1_rsa();
    let pem = cert.cert_pem();
    let lines: Vec<&str> = pem.lines().collect();
    assert_eq!(lines.first(), Some(&"-----BEGIN CERTIFICATE-----"));
    assert_eq!(lines.last(), Some(&"-----END CERTIFICATE-----"));
    let body = &lines[1..lines.len() - 1];
    assert!(body.iter().all(|line| line.len() <= 64));
    assert_eq!(BASE64.decode(body.concat()).unwrap(), cert.der);
    assert_eq!(BASE64.decode(cert.der_base64()).unwrap(), cert.der);
}

#[test]
fn debug_output_leaves_the_private_key_out() {
    let shown = format!("{:?}", weak_md5_rsa());
    assert!(shown.contains("weak-md5.test.invalid"));
    assert!(!shown.contains("PRIVATE KEY"));
}
