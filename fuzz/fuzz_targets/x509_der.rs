//! Certificate bytes: the server's DER parser (`facts::x509`: names, validity, key, Key Usage,
//! EKU, SAN, self-signed) and thumbprint, and the agent's PEM/DER file reader.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stampbook_server::facts::x509;

fuzz_target!(|data: &[u8]| {
    let _ = x509::thumbprint(data);
    if let Ok(cert) = x509::parse_der(data) {
        let _ = cert.matches_dns_name("console.ams-01.example.net");
        let _ = cert.has_eku(x509::CLIENT_AUTH_EKU);
    }
    let _ = stampbook_agent::parse::pem::parse_certificate_file(data);
});
