//! Builders for rule tests: the Amsterdam stamp of SPEC §3, bare hosts, and real certificates
//! from certgen placed in a store.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use stampbook_agent::certgen::GeneratedCert;
use stampbook_wire::{MY_STORE, ROOT_STORE, Role};

use crate::facts::x509::{ParsedCertificate, parse_der};
use crate::inventory::model::Thresholds;

use super::model::{
    HostCert, HostFacts, InterfaceFact, NetworkFact, NetworkRole, SettingsFacts, StampContext,
    VitalsFact,
};

pub fn at(y: i32, mo: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, 0, 0).unwrap()
}

/// `ams-01` with the SPEC's mgmt (10.0.0.0/24, required 10.0.0.0/16) and frontend networks.
pub fn stamp() -> StampContext {
    StampContext {
        stamp_id: 1,
        name: "ams-01".into(),
        retired: false,
        rd_gateway_fqdn: Some("console.ams-01.example.net".into()),
        report_interval_s: 300,
        thresholds: Thresholds::default(),
        target_versions: BTreeMap::new(),
        networks: vec![
            NetworkFact {
                name: "mgmt".into(),
                role: NetworkRole::Management,
                cidr: "10.0.0.0/24".parse().unwrap(),
                gateway: Some("10.0.0.1".parse().unwrap()),
                required_prefixes: vec!["10.0.0.0/16".parse().unwrap()],
            },
            NetworkFact {
                name: "frontend".into(),
                role: NetworkRole::FrontEnd,
                cidr: "77.233.248.0/24".parse().unwrap(),
                gateway: Some("77.233.248.1".parse().unwrap()),
                required_prefixes: vec![],
            },
        ],
        outages: vec![],
    }
}

/// A host that reported nothing but its identity (every section "not collected").
pub fn host(host_id: i64, fqdn: &str, roles: &[Role]) -> HostFacts {
    HostFacts {
        host_id,
        fqdn: fqdn.into(),
        roles: roles.to_vec(),
        last_collected_at: at(2024, 2, 24, 10),
        first_seen_at: at(2013, 1, 1, 0),
        vitals: VitalsFact::default(),
        certificates: None,
        interfaces: None,
        routes: None,
        services: None,
        settings: SettingsFacts::default(),
        components: BTreeMap::new(),
        collection_errors: None,
    }
}

pub fn interface(name: &str, address: &str) -> InterfaceFact {
    InterfaceFact {
        name: name.into(),
        addresses: vec![address.parse().unwrap()],
        gateway: None,
    }
}

pub fn parsed(cert: &GeneratedCert) -> Arc<ParsedCertificate> {
    Arc::new(parse_der(&cert.der).unwrap())
}

pub fn in_store(cert: &GeneratedCert, store: &str, has_private_key: bool) -> HostCert {
    HostCert {
        store: store.into(),
        has_private_key,
        provider: None,
        added_at: None,
        added_at_upper_bound: false,
        first_seen_at: at(2024, 1, 1, 0),
        cert: parsed(cert),
    }
}

pub fn my(cert: &GeneratedCert) -> HostCert {
    in_store(cert, MY_STORE, true)
}

pub fn root(cert: &GeneratedCert) -> HostCert {
    in_store(cert, ROOT_STORE, false)
}
