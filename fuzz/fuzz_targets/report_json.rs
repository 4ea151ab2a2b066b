//! A report body as the server reads it: JSON into `stampbook_wire::Report` (the same decoder
//! as `POST /api/v1/reports`), then the server's parse into domain facts (FQDN, stamp, roles,
//! certificates as DER, routes, settings) and the facts digest. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stampbook_server::ingest::{self, parse};
use stampbook_wire::Report;

fuzz_target!(|data: &[u8]| {
    let Ok(report) = stampbook_server::api::body::from_json::<Report>(data) else {
        return;
    };
    // What decodes must encode again (the agent spools and the server keeps late payloads).
    let _ = serde_json::to_vec(&report);
    let _ = ingest::digest(&report);
    if let Ok(host) = parse::host(&report) {
        let _ = parse::parse(&report, host);
    }
});
