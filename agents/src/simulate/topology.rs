//! How a stamp is laid out: its site and region, networks (management /17 with the 10.0.0.0/8
//! supernet required, a public-looking front end /24, provider, storage), scale units, and
//! hosts (VMM, SPF, WAP, SQL, two NVGRE gateways, two RD Gateways, the rest Hyper-V hosts).

use std::net::Ipv4Addr;

use chrono::{DateTime, Duration, Utc};
use ipnet::Ipv4Net;
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use stampbook_wire::{Role, Vitals};
use uuid::Uuid;

use super::fleet::{
    DOMAIN, HostModel, INFRA_HOSTS, MANAGEMENT_SUPERNET, NetRole, NetworkModel, ScaleUnitModel,
    StampModel, stamp_rng, uuid_from,
};

struct Site {
    code: &'static str,
    city: &'static str,
    region: &'static str,
}

/// Ordered so that consecutive stamps land in different regions.
const SITES: [Site; 12] = [
    Site {
        code: "ams",
        city: "Amsterdam",
        region: "eu-west",
    },
    Site {
        code: "fra",
        city: "Frankfurt",
        region: "eu-central",
    },
    Site {
        code: "iad",
        city: "Ashburn",
        region: "us-east",
    },
    Site {
        code: "dub",
        city: "Dublin",
        region: "eu-west",
    },
    Site {
        code: "zrh",
        city: "Zurich",
        region: "eu-central",
    },
    Site {
        code: "nyc",
        city: "New York",
        region: "us-east",
    },
    Site {
        code: "lon",
        city: "London",
        region: "eu-west",
    },
    Site {
        code: "vie",
        city: "Vienna",
        region: "eu-central",
    },
    Site {
        code: "bos",
        city: "Boston",
        region: "us-east",
    },
    Site {
        code: "par",
        city: "Paris",
        region: "eu-west",
    },
    Site {
        code: "waw",
        city: "Warsaw",
        region: "eu-central",
    },
    Site {
        code: "atl",
        city: "Atlanta",
        region: "us-east",
    },
];

/// Builds stamp number `index` (0-based) with `hosts` hosts, healthy, without plans.
pub fn build_stamp(seed: u64, index: usize, hosts: usize, now: DateTime<Utc>) -> StampModel {
    let mut rng = stamp_rng(seed, index);
    let site = &SITES[index % SITES.len()];
    let number = index / SITES.len() + 1;
    let name = format!("{}-{number:02}", site.code);
    let domain = format!("{name}.{DOMAIN}");
    let purpose = match index % 7 {
        4 => "private",
        6 => "mixed",
        _ => "public",
    };
    let networks = stamp_networks(index);
    let vmconnect_since = now - Duration::days(rng.random_range(120..=700));
    let hyperv = hosts.saturating_sub(INFRA_HOSTS).max(1);
    let racks = hyperv.div_ceil(24);
    let mut scale_units = vec![ScaleUnitModel {
        name: "mgmt-r0".into(),
        kind: "compute",
        rack: "R0".into(),
        notes: "management cluster: VMM, SPF, WAP, SQL",
    }];
    scale_units.extend((1..=racks).map(|r| ScaleUnitModel {
        name: format!("compute-r{r}"),
        kind: "compute",
        rack: format!("R{r}"),
        notes: "Hyper-V cluster",
    }));
    scale_units.push(ScaleUnitModel {
        name: "storage-s1".into(),
        kind: "storage",
        rack: "S1".into(),
        notes: "Scale-Out File Server",
    });
    scale_units.push(ScaleUnitModel {
        name: "edge-n1".into(),
        kind: "network",
        rack: "N1".into(),
        notes: "NVGRE gateways, RD Gateways",
    });
    let mut stamp = StampModel {
        index,
        display_name: format!("{} {number}", site.city),
        region: site.region,
        location: format!("{} DC{}", site.code.to_uppercase(), index % 3 + 1),
        purpose,
        vmm_server: format!("vmm01.{domain}"),
        spf_endpoint: format!("https://spf01.{domain}:8090"),
        rd_gateway_fqdn: format!("console.{domain}"),
        name,
        domain,
        networks,
        scale_units,
        hosts: Vec::with_capacity(hosts),
        plans: Vec::new(),
        vmconnect_since,
        faults: Vec::new(),
        salt: rng.random(),
    };
    let layout = infra_layout()
        .into_iter()
        .chain((0..hyperv).map(|h| HostSlot {
            name: format!("hv{:03}", h + 1),
            role: Role::HypervHost,
            networks: &[NetRole::Management, NetRole::Storage],
            ordinal: h,
        }));
    let hardware = *HARDWARE.choose(&mut rng).unwrap_or(&HARDWARE[0]);
    for slot in layout {
        let host = build_host(&stamp, slot, hardware, &mut rng, now);
        stamp.hosts.push(host);
    }
    stamp
}

fn stamp_networks(index: usize) -> Vec<NetworkModel> {
    let x = u8::try_from(index + 1).unwrap_or(u8::MAX);
    let net = |a: [u8; 4], len: u8| Ipv4Net::new(Ipv4Addr::from(a), len).unwrap_or_default();
    let supernet = MANAGEMENT_SUPERNET.parse().unwrap_or_default();
    vec![
        NetworkModel {
            name: "mgmt",
            interface: "Management",
            role: NetRole::Management,
            cidr: net([10, x, 0, 0], 17),
            gateway: Some(Ipv4Addr::new(10, x, 0, 1)),
            required_prefixes: vec![supernet],
        },
        NetworkModel {
            name: "frontend",
            interface: "Front-end",
            role: NetRole::FrontEnd,
            cidr: net([77, 233, x, 0], 24),
            gateway: Some(Ipv4Addr::new(77, 233, x, 1)),
            required_prefixes: vec![],
        },
        NetworkModel {
            name: "provider",
            interface: "Provider",
            role: NetRole::Provider,
            cidr: net([10, x, 192, 0], 18),
            gateway: Some(Ipv4Addr::new(10, x, 192, 1)),
            required_prefixes: vec![],
        },
        NetworkModel {
            name: "storage",
            interface: "Storage",
            role: NetRole::Storage,
            cidr: net([10, x, 128, 0], 18),
            gateway: None,
            required_prefixes: vec![],
        },
    ]
}

struct HostSlot {
    name: String,
    role: Role,
    networks: &'static [NetRole],
    /// Position among the hosts of the same role.
    ordinal: usize,
}

fn infra_layout() -> Vec<HostSlot> {
    const MGMT: &[NetRole] = &[NetRole::Management];
    const EDGE: &[NetRole] = &[NetRole::Management, NetRole::FrontEnd];
    const GATEWAY: &[NetRole] = &[NetRole::Management, NetRole::FrontEnd, NetRole::Provider];
    let slot = |name: &str, role, networks, ordinal| HostSlot {
        name: name.to_owned(),
        role,
        networks,
        ordinal,
    };
    vec![
        slot("vmm01", Role::VmmServer, MGMT, 0),
        slot("spf01", Role::SpfServer, MGMT, 0),
        slot("wap01", Role::WapServer, EDGE, 0),
        slot("sql01", Role::SqlServer, MGMT, 0),
        slot("gw01", Role::NvgreGateway, GATEWAY, 0),
        slot("gw02", Role::NvgreGateway, GATEWAY, 1),
        slot("rdgw01", Role::RdGateway, EDGE, 0),
        slot("rdgw02", Role::RdGateway, EDGE, 1),
    ]
}

/// Hyper-V host hardware of one stamp: (cores, memory GB); a stamp is bought in one batch.
const HARDWARE: [(u32, u64); 6] = [
    (16, 256),
    (24, 384),
    (32, 512),
    (40, 512),
    (48, 768),
    (64, 1024),
];

/// The last octets of an infrastructure server's addresses.
fn infra_octet(role: Role, ordinal: usize) -> u8 {
    let base: u8 = match role {
        Role::VmmServer => 10,
        Role::SpfServer => 11,
        Role::WapServer => 12,
        Role::SqlServer => 13,
        Role::NvgreGateway => 21,
        Role::RdGateway => 31,
        _ => 40,
    };
    base + u8::try_from(ordinal).unwrap_or(0)
}

fn build_host(
    stamp: &StampModel,
    slot: HostSlot,
    (cores, memory_gb): (u32, u64),
    rng: &mut StdRng,
    now: DateTime<Utc>,
) -> HostModel {
    let addresses = slot
        .networks
        .iter()
        .filter_map(|role| {
            let cidr = stamp.network(*role)?.cidr;
            let [a, b, c, _] = cidr.network().octets();
            let address = if slot.role == Role::HypervHost {
                let (hi, lo) = (slot.ordinal / 250, slot.ordinal % 250);
                let hi = u8::try_from(hi).unwrap_or(0);
                Ipv4Addr::new(a, b, c + 1 + hi, 4 + u8::try_from(lo).unwrap_or(0))
            } else {
                Ipv4Addr::new(a, b, c, infra_octet(slot.role, slot.ordinal))
            };
            Some((*role, address))
        })
        .collect();
    let vitals = if slot.role == Role::HypervHost {
        let vm_count: u32 = rng.random_range(cores / 2..=cores * 2);
        let vm_vcpus = vm_count * rng.random_range(2..=4);
        let memory_mb = memory_gb * 1024;
        let per_vm_mb = rng.random_range(4..=12) * 1024;
        let vm_memory_mb = (u64::from(vm_count) * per_vm_mb).min(memory_mb * 85 / 100);
        Vitals {
            cpu_cores: Some(cores),
            memory_mb: Some(memory_mb),
            storage_gb: Some(rng.random_range(2..=8) * 600),
            vm_count: Some(vm_count),
            vm_vcpus: Some(vm_vcpus),
            vm_memory_mb: Some(vm_memory_mb),
        }
    } else {
        let vcores = *[4u32, 8].choose(rng).unwrap_or(&4);
        Vitals {
            cpu_cores: Some(vcores),
            memory_mb: Some(u64::from(vcores) * 4 * 1024),
            storage_gb: Some(if slot.role == Role::SqlServer {
                1024
            } else {
                127
            }),
            vm_count: Some(0),
            vm_vcpus: None,
            vm_memory_mb: None,
        }
    };
    let scale_unit = match slot.role {
        Role::HypervHost => format!("compute-r{}", slot.ordinal / 24 + 1),
        Role::NvgreGateway | Role::RdGateway => "edge-n1".into(),
        _ => "mgmt-r0".into(),
    };
    let root_added_at = stamp.vmconnect_since + Duration::minutes(rng.random_range(30..=600));
    // Restarted on a patch day within the last two months, long after the root (>= 120 days
    // old) was imported.
    let booted_at = now - Duration::hours(rng.random_range(6..=60 * 24));
    HostModel {
        fqdn: format!("{}.{}", slot.name, stamp.domain),
        role: slot.role,
        scale_unit,
        addresses,
        vitals,
        os_name: if slot.role == Role::HypervHost {
            "Windows Server 2012 R2 Datacenter"
        } else {
            "Windows Server 2012 R2 Standard"
        },
        booted_at,
        root_added_at,
        collected_at: now - Duration::seconds(rng.random_range(0..=90)),
        // same seed and instant, same id; a later run of the same fleet sends new reports
        report_id: Uuid::new_v5(&uuid_from(rng), now.to_rfc3339().as_bytes()),
        fault: None,
        salt: rng.random(),
    }
}
