//! The inventory document as `stampbook-server apply` and `PUT /api/v1/inventory` read it:
//! YAML and JSON decoding, then the per-stamp, per-network, per-scale-unit and per-plan
//! validation that runs before anything is written.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stampbook_server::inventory::apply::parse_document;
use stampbook_server::inventory::validate;

fuzz_target!(|data: &[u8]| {
    for yaml in [true, false] {
        let Ok(doc) = parse_document(data, yaml) else {
            continue;
        };
        for (i, stamp) in doc.stamps.iter().enumerate() {
            let at = format!("stamps[{i}]");
            let _ = validate::stamp(stamp, None, &at);
            if let Some(networks) = stamp.networks.as_deref() {
                let _ = validate::networks(networks, &at);
            }
            if let Some(units) = stamp.scale_units.as_deref() {
                let _ = validate::scale_units(units, &at);
            }
        }
        for (i, plan) in doc.plans.iter().enumerate() {
            let _ = validate::plan(plan, None, &format!("plans[{i}]"));
        }
    }
});
