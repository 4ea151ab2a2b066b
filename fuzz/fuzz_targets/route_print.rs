//! `route print` output as a capture folder holds it (any encoding, any language): the agent's
//! text decoding, then its Active Routes and Persistent Routes parsers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stampbook_agent::parse::{route_print, text};

fuzz_target!(|data: &[u8]| {
    let decoded = text::decode(data).unwrap_or_else(|_| text::decode_lossy(data));
    let _ = route_print::parse_route_print(&decoded);
    let _ = route_print::parse_persistent_routes(&decoded);
});
