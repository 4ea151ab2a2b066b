//! PowerShell `ConvertTo-Json` output (5.1 or 7, UTF-8 or UTF-16 with BOM, one object or an
//! array): the agent's psjson reader and every capture-file parser built on it get the same
//! bytes. Each must answer Ok or Err, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stampbook_agent::parse::{
    certs, hostinfo, netipconfig, netroute, psjson, services, settings, text,
};

fuzz_target!(|data: &[u8]| {
    let Ok(json) = text::decode(data) else {
        return;
    };
    let _ = psjson::parse_list(&json);
    let _ = psjson::parse_object(&json);
    let _ = certs::parse_certificates(&json, "LocalMachine\\My");
    let _ = hostinfo::parse_host(&json);
    let _ = netroute::parse_netroute(&json);
    let _ = netipconfig::parse_netipconfig(&json);
    let _ = services::parse_services(&json);
    let _ = settings::parse_ts_settings(&json);
    let _ = settings::parse_fedauth(&json);
    let _ = settings::parse_tsgateway(&json);
    let _ = settings::parse_vmm(&json);
    let _ = settings::parse_components(&json);
    // Short inputs are also what a date or a state field holds.
    if json.len() < 64 {
        let _ = psjson::parse_date(&json);
        let _ = psjson::service_state(&serde_json::Value::String(json.clone()));
    }
});
