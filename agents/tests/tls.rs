//! HTTPS with a private CA (`--ca-file`): trusted when given, refused otherwise. The server is
//! a blocking rustls loop on 127.0.0.1:0 with a certgen certificate for `localhost`.

#![expect(
    clippy::unwrap_used,
    reason = "the test server's set-up fails the test loudly"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use stampbook_agent::backoff::Backoff;
use stampbook_agent::certgen::{self, CertSpec, Eku, KeyKind};
use stampbook_agent::push::{PushConfig, PushError, Pusher, PusherBuildError};
use stampbook_agent::token::Token;
use stampbook_wire::{HostSection, Report, SCHEMA_V1};

fn report() -> Report {
    Report {
        schema: SCHEMA_V1.into(),
        report_id: uuid::Uuid::new_v4(),
        collected_at: chrono::Utc::now(),
        agent: None,
        host: HostSection {
            fqdn: "sql01.ams-01.example.net".into(),
            stamp: "ams-01".into(),
            scale_unit: None,
            roles: vec![],
            os: None,
            vitals: None,
            unknown_roles: Vec::new(),
        },
        certificates: None,
        interfaces: None,
        routes: None,
        services: None,
        settings: None,
        collection_errors: None,
        wap: None,
    }
}

/// Serves every connection with a 202 for the report it reads; returns the port.
fn spawn_tls_server(cert: &certgen::GeneratedCert) -> u16 {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![CertificateDer::from(cert.der.clone())],
        PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).unwrap(),
    )
    .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, stream);
            let _ = answer_one(&mut tls);
        }
    });
    port
}

fn answer_one(tls: &mut impl ReadWrite) -> std::io::Result<()> {
    let mut reader = BufReader::new(&mut *tls);
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if line.trim_end().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(body.as_slice()).read_to_end(&mut json)?;
    let sent: serde_json::Value = serde_json::from_slice(&json)?;
    let answer = serde_json::json!({"report_id": sent["report_id"], "host": sent["host"]["fqdn"], "duplicate": false}).to_string();
    write!(
        tls,
        "HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
        answer.len()
    )?;
    tls.flush()
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn pusher(port: u16, ca_file: Option<std::path::PathBuf>) -> Result<Pusher, PusherBuildError> {
    let url = reqwest::Url::parse(&format!("https://localhost:{port}/")).unwrap();
    let mut config = PushConfig::new(url, Token::new("tls-test"));
    config.ca_file = ca_file;
    config.backoff = Backoff {
        max_attempts: 1,
        ..Backoff::default()
    };
    config.connect_timeout = Duration::from_secs(5);
    Pusher::new(config)
}

#[tokio::test]
async fn a_server_certificate_from_a_private_ca_is_trusted_only_with_ca_file() {
    let ca = certgen::self_signed(&CertSpec::ca("stampbook test private CA")).unwrap();
    let leaf = certgen::issued_by(
        &CertSpec {
            dns_names: vec!["localhost".into()],
            eku: Some(vec![Eku::ServerAuth]),
            key: KeyKind::EcdsaP256,
            ..CertSpec::new("localhost")
        },
        &ca,
    )
    .unwrap();
    let port = spawn_tls_server(&leaf);
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.cert_pem()).unwrap();

    let sent = report();
    let accepted = pusher(port, Some(ca_file))
        .unwrap()
        .push_report(&sent)
        .await
        .unwrap();
    assert_eq!(accepted.report_id, sent.report_id);

    let err = pusher(port, None)
        .unwrap()
        .push_report(&sent)
        .await
        .unwrap_err();
    assert!(matches!(err, PushError::Unavailable { .. }), "{err}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
}

#[test]
fn a_ca_file_without_a_certificate_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ca.pem");
    std::fs::write(&file, "not a certificate\n").unwrap();
    assert!(matches!(
        pusher(1, Some(file)),
        Err(PusherBuildError::CaPem { .. })
    ));
    let missing = dir.path().join("missing.pem");
    assert!(matches!(
        pusher(1, Some(missing)),
        Err(PusherBuildError::CaFile { .. })
    ));
}
