//! Certificate parsing over real Windows certificates, certgen's in-memory ones and the weak
//! openssl fixtures, plus the promise never to panic on bytes a host sends.
#![expect(
    clippy::unwrap_used,
    reason = "fixture helpers outside #[test] functions: a broken fixture should fail loudly"
)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use stampbook_agent::certgen::{self, CertSpec, Eku, KeyKind, KeyUsage, TestRsaKey};
use stampbook_server::facts::x509::{
    self, ANY_EKU, CLIENT_AUTH_EKU, CertParseError, KeyAlgorithm, KeyUsageFlag, ParsedCertificate,
    SERVER_AUTH_EKU, SignatureHash,
};

const CERT_MY_RDGW: &str = include_str!("fixtures/certs/cert-my-rdgw-ps51.json");

struct WindowsCert {
    thumbprint: String,
    subject: String,
    not_after: DateTime<Utc>,
    der: Vec<u8>,
}

/// The `My` store of the RD Gateway fixture, as PowerShell 5.1 wrote it.
fn rdgw_my_store() -> Vec<WindowsCert> {
    let entries: Vec<serde_json::Value> = serde_json::from_str(CERT_MY_RDGW).unwrap();
    entries
        .iter()
        .map(|entry| {
            let text = |key: &str| entry[key].as_str().unwrap().to_owned();
            // "\/Date(1708596000000)\/" arrives as "/Date(1708596000000)/".
            let millis: i64 = text("NotAfter")
                .trim_start_matches("/Date(")
                .trim_end_matches(")/")
                .parse()
                .unwrap();
            WindowsCert {
                thumbprint: text("Thumbprint"),
                subject: text("Subject"),
                not_after: DateTime::from_timestamp_millis(millis).unwrap(),
                der: BASE64.decode(text("RawData")).unwrap(),
            }
        })
        .collect()
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

fn parse(cert: &certgen::GeneratedCert) -> ParsedCertificate {
    x509::parse_der(&cert.der).unwrap()
}

#[test]
fn remote_console_token_signing_certificate_is_read_field_by_field() {
    let store = rdgw_my_store();
    let cert = x509::parse_der(&store[0].der).unwrap();
    assert_eq!(
        cert,
        ParsedCertificate {
            thumbprint: "90D0A19F51A0EA8B4D9925D6A956485C8D06F805".into(),
            subject: "CN=Remote Console Connect".into(),
            subject_cn: Some("Remote Console Connect".into()),
            issuer: "CN=Remote Console Connect".into(),
            serial: "4561CB133BDA8D9C2039BFCCB9799C8EE190E9CD".into(),
            not_before: utc(2014, 2, 6, 10, 0, 0),
            not_after: utc(2024, 2, 22, 10, 0, 0),
            signature_algorithm: "sha256WithRSAEncryption".into(),
            signature_hash: Some(SignatureHash::Sha256),
            key_algorithm: KeyAlgorithm::Rsa,
            key_bits: Some(2048),
            key_usage: Some(vec![
                KeyUsageFlag::DigitalSignature,
                KeyUsageFlag::KeyEncipherment
            ]),
            eku: Some(vec![CLIENT_AUTH_EKU.into()]),
            san_dns: vec![],
            self_signed: true,
        }
    );
}

#[test]
fn rd_gateway_ssl_certificate_is_read_field_by_field() {
    let store = rdgw_my_store();
    let cert = x509::parse_der(&store[1].der).unwrap();
    assert_eq!(
        cert,
        ParsedCertificate {
            thumbprint: "901050FAEE38FB93047BFD563064B282BF9F7B7B".into(),
            subject: "CN=console.ams-01.example.net".into(),
            subject_cn: Some("console.ams-01.example.net".into()),
            issuer: "CN=console.ams-01.example.net".into(),
            serial: "79BE7D86131ADD7C4807FD9791D6C81347D904DD".into(),
            not_before: utc(2014, 1, 25, 10, 0, 0),
            not_after: utc(2014, 3, 8, 10, 0, 0),
            signature_algorithm: "sha256WithRSAEncryption".into(),
            signature_hash: Some(SignatureHash::Sha256),
            key_algorithm: KeyAlgorithm::Rsa,
            key_bits: Some(2048),
            key_usage: Some(vec![
                KeyUsageFlag::DigitalSignature,
                KeyUsageFlag::KeyEncipherment
            ]),
            eku: Some(vec![SERVER_AUTH_EKU.into()]),
            san_dns: vec!["console.ams-01.example.net".into()],
            self_signed: true,
        }
    );
    assert!(cert.matches_dns_name("CONSOLE.ams-01.example.net."));
    assert!(!cert.matches_dns_name("console.ams-02.example.net"));
}

#[test]
fn sha1_signed_host_certificate_is_read_field_by_field() {
    let store = rdgw_my_store();
    let cert = x509::parse_der(&store[2].der).unwrap();
    assert_eq!(
        cert,
        ParsedCertificate {
            thumbprint: "CACDDE3EC06BF137B580C0299D2973293DEB14D1".into(),
            subject: "CN=hv01.ams-01.example.net".into(),
            subject_cn: Some("hv01.ams-01.example.net".into()),
            issuer: "CN=hv01.ams-01.example.net".into(),
            serial: "21DFD70443AAFF58801A129501CCDB3C2CD1281A".into(),
            not_before: utc(2026, 11, 26, 4, 10, 37),
            not_after: utc(2027, 6, 14, 4, 10, 37),
            signature_algorithm: "sha1WithRSAEncryption".into(),
            signature_hash: Some(SignatureHash::Sha1),
            key_algorithm: KeyAlgorithm::Rsa,
            key_bits: Some(2048),
            key_usage: Some(vec![
                KeyUsageFlag::DigitalSignature,
                KeyUsageFlag::KeyEncipherment
            ]),
            eku: Some(vec![CLIENT_AUTH_EKU.into()]),
            san_dns: vec![],
            self_signed: true,
        }
    );
    assert!(cert.signature_hash.is_some_and(SignatureHash::is_weak));
}

#[test]
fn windows_thumbprint_subject_and_expiry_agree_with_the_parse() {
    for windows in rdgw_my_store() {
        let cert = x509::parse_der(&windows.der).unwrap();
        assert_eq!(cert.thumbprint, windows.thumbprint);
        assert_eq!(x509::thumbprint(&windows.der), windows.thumbprint);
        assert_eq!(cert.subject, windows.subject);
        assert_eq!(cert.not_after, windows.not_after);
    }
}

#[test]
fn certificate_without_key_usage_eku_or_san_says_none_rather_than_empty() {
    let cert = parse(
        &certgen::self_signed(&CertSpec {
            key_usage: None,
            eku: None,
            ..CertSpec::new("Remote Console Connect")
        })
        .unwrap(),
    );
    assert_eq!(cert.key_usage, None);
    assert_eq!(cert.eku, None);
    assert!(cert.san_dns.is_empty());
    assert!(!cert.has_key_usage(KeyUsageFlag::DigitalSignature));
    assert!(!cert.has_eku(CLIENT_AUTH_EKU));
    assert!(cert.self_signed);
}

#[test]
fn every_key_usage_bit_round_trips() {
    let all = vec![
        KeyUsage::DigitalSignature,
        KeyUsage::NonRepudiation,
        KeyUsage::KeyEncipherment,
        KeyUsage::DataEncipherment,
        KeyUsage::KeyAgreement,
        KeyUsage::KeyCertSign,
        KeyUsage::CrlSign,
        KeyUsage::EncipherOnly,
        KeyUsage::DecipherOnly,
    ];
    let cert = parse(
        &certgen::self_signed(&CertSpec {
            key_usage: Some(all),
            ..CertSpec::new("all-bits.example.net")
        })
        .unwrap(),
    );
    assert_eq!(cert.key_usage, Some(KeyUsageFlag::ALL.to_vec()));
    let names: Vec<_> = KeyUsageFlag::ALL.iter().map(|f| f.as_str()).collect();
    assert_eq!(
        names,
        [
            "digitalSignature",
            "nonRepudiation",
            "keyEncipherment",
            "dataEncipherment",
            "keyAgreement",
            "keyCertSign",
            "cRLSign",
            "encipherOnly",
            "decipherOnly"
        ]
    );
}

#[test]
fn key_usage_without_digital_signature_is_visible() {
    let cert = parse(
        &certgen::self_signed(&CertSpec {
            key_usage: Some(vec![KeyUsage::KeyEncipherment]),
            ..CertSpec::new("vmconnect.example.net")
        })
        .unwrap(),
    );
    assert_eq!(cert.key_usage, Some(vec![KeyUsageFlag::KeyEncipherment]));
    assert!(cert.has_key_usage(KeyUsageFlag::KeyEncipherment));
    assert!(!cert.has_key_usage(KeyUsageFlag::DigitalSignature));
}

#[test]
fn eku_lists_oids_including_any_extended_key_usage() {
    let cert = parse(
        &certgen::self_signed(&CertSpec {
            eku: Some(vec![Eku::Any, Eku::ServerAuth]),
            ..CertSpec::new("any.example.net")
        })
        .unwrap(),
    );
    let eku = cert.eku.clone().unwrap();
    assert_eq!(eku.len(), 2);
    assert!(eku.contains(&ANY_EKU.to_owned()));
    assert!(cert.has_eku(SERVER_AUTH_EKU));
    assert!(!cert.has_eku(CLIENT_AUTH_EKU));
}

#[test]
fn san_dns_names_keep_their_order_and_other_san_types_are_left_out() {
    let cert = parse(
        &certgen::self_signed(&CertSpec {
            dns_names: vec![
                "console.ams-01.example.net".into(),
                "rdgw01.ams-01.example.net".into(),
            ],
            ..CertSpec::new("console.ams-01.example.net")
        })
        .unwrap(),
    );
    assert_eq!(
        cert.san_dns,
        ["console.ams-01.example.net", "rdgw01.ams-01.example.net"]
    );
    assert!(cert.matches_dns_name("rdgw01.ams-01.example.net"));
}

#[test]
fn ecdsa_p256_certificate() {
    let cert = parse(
        &certgen::self_signed(&CertSpec {
            key: KeyKind::EcdsaP256,
            ..CertSpec::new("ec256.example.net")
        })
        .unwrap(),
    );
    assert_eq!(cert.key_algorithm, KeyAlgorithm::Ec);
    assert_eq!(cert.key_bits, Some(256));
    assert_eq!(cert.signature_algorithm, "ecdsa-with-SHA256");
    assert_eq!(cert.signature_hash, Some(SignatureHash::Sha256));
    assert!(cert.self_signed);
}

#[test]
fn ecdsa_p384_certificate() {
    let cert = parse(
        &certgen::self_signed(&CertSpec {
            key: KeyKind::EcdsaP384,
            ..CertSpec::new("ec384.example.net")
        })
        .unwrap(),
    );
    assert_eq!(cert.key_algorithm, KeyAlgorithm::Ec);
    assert_eq!(cert.key_bits, Some(384));
    assert_eq!(cert.signature_algorithm, "ecdsa-with-SHA384");
    assert_eq!(cert.signature_hash, Some(SignatureHash::Sha384));
    assert!(cert.self_signed);
}

#[test]
fn rsa_2048_certificate_with_exact_validity() {
    let not_before = utc(2014, 2, 6, 10, 0, 0);
    let not_after = utc(2060, 2, 6, 10, 0, 0); // past 2049: GeneralizedTime, not UTCTime
    let cert = parse(
        &certgen::self_signed(&CertSpec {
            not_before,
            not_after,
            key: KeyKind::Rsa2048(TestRsaKey::Two),
            ..CertSpec::new("rsa.example.net")
        })
        .unwrap(),
    );
    assert_eq!(cert.key_algorithm, KeyAlgorithm::Rsa);
    assert_eq!(cert.key_bits, Some(2048));
    assert_eq!(cert.signature_algorithm, "sha256WithRSAEncryption");
    assert_eq!((cert.not_before, cert.not_after), (not_before, not_after));
    assert!(!cert.serial.is_empty());
    assert!(
        cert.serial
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
    );
}

#[test]
fn certificate_issued_by_a_ca_is_not_self_signed() {
    let ca = certgen::self_signed(&CertSpec::ca("Stamp Root CA")).unwrap();
    let leaf = certgen::issued_by(&CertSpec::new("hv02.ams-01.example.net"), &ca).unwrap();
    let (ca, leaf) = (parse(&ca), parse(&leaf));
    assert!(ca.self_signed);
    assert_eq!(ca.subject, "CN=Stamp Root CA");
    assert!(ca.has_key_usage(KeyUsageFlag::KeyCertSign));
    assert_eq!(leaf.issuer, "CN=Stamp Root CA");
    assert_eq!(leaf.subject, "CN=hv02.ams-01.example.net");
    assert!(!leaf.self_signed);
}

#[test]
fn same_name_signed_by_another_key_is_not_self_signed() {
    // Issuer and subject match byte for byte, and the leaf has no Subject Key Identifier, so
    // only the signature check can tell.
    let ca = certgen::self_signed(&CertSpec::ca("Remote Console Connect")).unwrap();
    let leaf = certgen::issued_by(&CertSpec::new("Remote Console Connect"), &ca).unwrap();
    let leaf = parse(&leaf);
    assert_eq!(leaf.issuer, leaf.subject);
    assert!(!leaf.self_signed);
}

#[test]
fn signature_algorithm_follows_the_issuer_key_not_the_subject_key() {
    let ca = certgen::self_signed(&CertSpec {
        key: KeyKind::EcdsaP384,
        ..CertSpec::ca("EC Root")
    })
    .unwrap();
    let leaf = parse(&certgen::issued_by(&CertSpec::new("rsa-leaf.example.net"), &ca).unwrap());
    assert_eq!(leaf.key_algorithm, KeyAlgorithm::Rsa);
    assert_eq!(leaf.signature_algorithm, "ecdsa-with-SHA384");
    assert!(!leaf.self_signed);
}

#[test]
fn expired_self_signed_certificate_reads_as_both() {
    let now = Utc::now();
    let cert = parse(
        &certgen::self_signed(&CertSpec {
            not_before: now - Duration::days(400),
            not_after: now - Duration::days(35),
            ..CertSpec::new("expired.ams-01.example.net")
        })
        .unwrap(),
    );
    assert!(cert.not_after <= now);
    assert!(cert.self_signed);
}

#[test]
fn weak_sha1_fixture() {
    let fixture = certgen::weak_sha1_rsa();
    let cert = parse(&fixture);
    assert_eq!(cert.thumbprint, fixture.thumbprint);
    assert_eq!(cert.subject, "CN=weak-sha1.test.invalid");
    assert_eq!(cert.serial, "2905308F2ABE150E21EFDC86D50CA0891DF3E4A1");
    assert_eq!(cert.signature_algorithm, "sha1WithRSAEncryption");
    assert_eq!(cert.signature_hash, Some(SignatureHash::Sha1));
    assert_eq!(cert.key_bits, Some(2048));
    assert_eq!(cert.not_before, utc(2020, 1, 1, 0, 0, 0));
    assert_eq!(cert.not_after, utc(2045, 1, 1, 0, 0, 0));
    assert_eq!(cert.san_dns, ["weak-sha1.test.invalid"]);
    assert_eq!(
        cert.eku,
        Some(vec![SERVER_AUTH_EKU.into(), CLIENT_AUTH_EKU.into()])
    );
    assert!(cert.self_signed);
}

#[test]
fn weak_md5_fixture_is_self_signed_by_its_key_identifiers() {
    // ring cannot check MD5 signatures; the absent Authority Key Identifier decides.
    let cert = parse(&certgen::weak_md5_rsa());
    assert_eq!(cert.signature_algorithm, "md5WithRSAEncryption");
    assert_eq!(cert.signature_hash, Some(SignatureHash::Md5));
    assert!(cert.signature_hash.is_some_and(SignatureHash::is_weak));
    assert_eq!(cert.key_bits, Some(2048));
    assert!(cert.self_signed);
}

#[test]
fn weak_rsa1024_fixture() {
    // ring refuses SHA-256 signatures from keys under 2048 bits; that is no evidence
    // against self-signing.
    let cert = parse(&certgen::weak_rsa1024());
    assert_eq!(cert.key_algorithm, KeyAlgorithm::Rsa);
    assert_eq!(cert.key_bits, Some(1024));
    assert_eq!(cert.signature_algorithm, "sha256WithRSAEncryption");
    assert!(!cert.signature_hash.is_some_and(SignatureHash::is_weak));
    assert!(cert.self_signed);
}

#[test]
fn rsa_pss_certificate_names_its_hash_and_its_key_size() {
    let der = include_bytes!("fixtures/certs/rsa-pss-sha384.der");
    let cert = x509::parse_der(der).unwrap();
    assert_eq!(cert.thumbprint, "4A66D53C2BB4089D47C2EFE63E2C705F83F9C706");
    assert_eq!(cert.signature_algorithm, "rsassa-pss");
    assert_eq!(cert.signature_hash, Some(SignatureHash::Sha384));
    assert_eq!(cert.key_algorithm, KeyAlgorithm::Rsa);
    assert_eq!(cert.key_bits, Some(2048));
    assert!(cert.self_signed);
}

#[test]
fn ed25519_certificate() {
    let der = include_bytes!("fixtures/certs/ed25519.der");
    let cert = x509::parse_der(der).unwrap();
    assert_eq!(cert.thumbprint, "0335A83A0D4D187BAA72281475CB1A2EF2B1CCFA");
    assert_eq!(cert.subject_cn.as_deref(), Some("ed25519.test.invalid"));
    assert_eq!(cert.signature_algorithm, "ed25519");
    assert_eq!(cert.signature_hash, None);
    assert_eq!(cert.key_algorithm, KeyAlgorithm::Ed25519);
    assert_eq!(cert.key_bits, Some(256));
    assert!(cert.self_signed);
}

#[test]
fn wildcard_names_cover_exactly_one_label() {
    let cert = parse(
        &certgen::self_signed(&CertSpec {
            dns_names: vec!["*.ams-01.example.net".into()],
            ..CertSpec::new("Remote Console Gateway")
        })
        .unwrap(),
    );
    for (name, expected) in [
        ("console.ams-01.example.net", true),
        ("CONSOLE.AMS-01.EXAMPLE.NET", true),
        ("console.ams-01.example.net.", true),
        ("ams-01.example.net", false),
        (".ams-01.example.net", false),
        ("a.console.ams-01.example.net", false),
        ("console.ams-02.example.net", false),
        ("consoleams-01.example.net", false),
        ("", false),
    ] {
        assert_eq!(cert.matches_dns_name(name), expected, "{name:?}");
    }
}

#[test]
fn the_common_name_alone_is_enough_to_match() {
    let cert = parse(&certgen::self_signed(&CertSpec::new("console.ams-01.example.net")).unwrap());
    assert!(cert.san_dns.is_empty());
    assert!(cert.matches_dns_name("console.ams-01.example.net"));
    assert!(!cert.matches_dns_name("other.ams-01.example.net"));
}

#[test]
fn empty_input_is_an_error() {
    assert_eq!(x509::parse_der(&[]), Err(CertParseError::Empty));
}

#[test]
fn pem_text_is_refused_with_a_hint() {
    let pem = certgen::weak_sha1_rsa().cert_pem();
    let err = x509::parse_der(pem.as_bytes()).unwrap_err();
    assert_eq!(err, CertParseError::Pem);
    assert!(err.to_string().contains("base64"));
}

#[test]
fn garbage_is_not_der() {
    let err = x509::parse_der(b"this is not a certificate").unwrap_err();
    assert!(matches!(err, CertParseError::NotDer(_)), "{err:?}");
    assert!(err.to_string().starts_with("not a DER X.509 certificate"));
}

#[test]
fn every_truncation_of_a_real_certificate_is_an_error() {
    let der = &rdgw_my_store()[1].der;
    for len in 1..der.len() {
        let result = x509::parse_der(&der[..len]);
        assert!(result.is_err(), "prefix of {len} bytes parsed");
    }
    assert_eq!(
        x509::parse_der(&der[..der.len() - 10]),
        Err(CertParseError::Truncated)
    );
}

#[test]
fn trailing_bytes_are_an_error() {
    let mut der = rdgw_my_store()[0].der.clone();
    der.extend_from_slice(&[0, 0, 0]);
    assert_eq!(x509::parse_der(&der), Err(CertParseError::TrailingData(3)));
}

#[test]
fn parsed_certificate_serialises_with_snake_case_enums() {
    let cert = x509::parse_der(&rdgw_my_store()[0].der).unwrap();
    let json = serde_json::to_value(&cert).unwrap();
    assert_eq!(json["key_algorithm"], "rsa");
    assert_eq!(json["signature_hash"], "sha256");
    assert_eq!(
        json["key_usage"],
        serde_json::json!(["digital_signature", "key_encipherment"])
    );
    assert_eq!(json["eku"], serde_json::json!([CLIENT_AUTH_EKU]));
    assert_eq!(json["not_after"], "2024-02-22T10:00:00Z");
    assert_eq!(json["self_signed"], true);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(cert) = x509::parse_der(&bytes) {
            prop_assert_eq!(cert.thumbprint, x509::thumbprint(&bytes));
        }
    }

    #[test]
    fn corrupted_real_certificates_never_panic(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut der = rdgw_my_store()[which].der.clone();
        for (at, value) in edits {
            let i = at.index(der.len());
            der[i] = value;
        }
        if let Ok(cert) = x509::parse_der(&der) {
            prop_assert_eq!(cert.thumbprint, x509::thumbprint(&der));
        }
    }
}
