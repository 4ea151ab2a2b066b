//! Where webhooks may go (OWASP API7, server-side request forgery): not to loopback,
//! link-local, private, unique-local or otherwise internal addresses, nor to cloud metadata
//! services, unless the operator allow-lists a range (`STAMPBOOK_WEBHOOK_ALLOW_CIDRS`; metadata
//! stays refused). Checked when a URL is registered (its literal address and name) and again at
//! every connection, after DNS resolution: the client connects only to addresses this checked,
//! so a name that resolves elsewhere later (DNS rebinding) gets nowhere.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Cloud instance metadata services: never a webhook target.
const METADATA_ADDRESSES: [IpAddr; 3] = [
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
];
const METADATA_NAMES: [&str; 2] = ["metadata.google.internal", "metadata"];

fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> IpNet {
    IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len))
}

fn v6(segments: [u16; 8], len: u8) -> IpNet {
    let [a, b, c, d, e, f, g, h] = segments;
    IpNet::V6(Ipv6Net::new_assert(
        Ipv6Addr::new(a, b, c, d, e, f, g, h),
        len,
    ))
}

/// Ranges that are not the public internet.
fn internal_ranges() -> Vec<(IpNet, &'static str)> {
    vec![
        (v4(0, 0, 0, 0, 8), "a 'this network' address"),
        (v4(10, 0, 0, 0, 8), "a private address"),
        (
            v4(100, 64, 0, 0, 10),
            "a shared (carrier-grade NAT) address",
        ),
        (v4(127, 0, 0, 0, 8), "a loopback address"),
        (v4(169, 254, 0, 0, 16), "a link-local address"),
        (v4(172, 16, 0, 0, 12), "a private address"),
        (v4(192, 0, 0, 0, 24), "an IETF protocol address"),
        (v4(192, 168, 0, 0, 16), "a private address"),
        (v4(198, 18, 0, 0, 15), "a benchmarking address"),
        (v4(224, 0, 0, 0, 4), "a multicast address"),
        (v4(240, 0, 0, 0, 4), "a reserved address"),
        (v6([0, 0, 0, 0, 0, 0, 0, 0], 128), "the unspecified address"),
        (v6([0, 0, 0, 0, 0, 0, 0, 1], 128), "a loopback address"),
        (
            v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),
            "a unique-local address",
        ),
        (
            v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10),
            "a link-local address",
        ),
        (
            v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10),
            "a site-local address",
        ),
        (v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), "a multicast address"),
    ]
}

/// The operator's allow-list and the check of one address.
#[derive(Debug, Clone, Default)]
pub struct TargetPolicy {
    allow: Vec<IpNet>,
}

impl TargetPolicy {
    pub fn new(allow: Vec<IpNet>) -> Self {
        TargetPolicy { allow }
    }

    pub fn from_settings(s: &crate::config::ServeArgs) -> Self {
        Self::new(s.webhook_allow_cidrs.clone())
    }

    /// Why `ip` is not a webhook target, or `None` when it may be.
    pub fn refuses(&self, ip: IpAddr) -> Option<String> {
        // an IPv4-mapped (::ffff:a.b.c.d) or IPv4-compatible IPv6 address is its IPv4 address
        let ip = match ip {
            IpAddr::V6(v) => v
                .to_ipv4_mapped()
                .map(IpAddr::V4)
                .or_else(|| {
                    let s = v.segments();
                    (s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1))
                        .then(|| v.to_ipv4().map(IpAddr::V4))
                        .flatten()
                })
                .unwrap_or(ip),
            v4 => v4,
        };
        if METADATA_ADDRESSES.contains(&ip) {
            return Some(format!("{ip} is a cloud metadata service"));
        }
        if self.allow.iter().any(|n| n.contains(&ip)) {
            return None;
        }
        internal_ranges()
            .into_iter()
            .find(|(net, _)| net.contains(&ip))
            .map(|(_, what)| {
                format!(
                    "{ip} is {what}; allow its range in STAMPBOOK_WEBHOOK_ALLOW_CIDRS to use it"
                )
            })
    }

    /// Why a host name (not an address) is not a webhook target.
    pub fn refuses_name(&self, host: &str) -> Option<String> {
        let h = host.trim_end_matches('.').to_ascii_lowercase();
        if METADATA_NAMES.contains(&h.as_str()) {
            return Some(format!("{host} is a cloud metadata service"));
        }
        if h == "localhost" || h.ends_with(".localhost") {
            return Some(format!("{host} is the server itself"));
        }
        None
    }

    /// The check at registration: the URL's literal address or its name.
    pub fn refuses_url(&self, url: &reqwest::Url) -> Option<String> {
        match url.host()? {
            url::Host::Ipv4(ip) => self.refuses(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => self.refuses(IpAddr::V6(ip)),
            url::Host::Domain(name) => self.refuses_name(name),
        }
    }
}

/// The delivery client's resolver: resolves with the system, keeps only allowed addresses, and
/// fails when none is left; the client connects to what this answers.
pub struct CheckedResolver {
    pub policy: Arc<TargetPolicy>,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            if let Some(why) = policy.refuses_name(&host) {
                return Err(why.into());
            }
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut why = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| match policy.refuses(a.ip()) {
                    Some(w) => {
                        why = Some(w);
                        false
                    }
                    None => true,
                })
                .collect();
            if allowed.is_empty() {
                let why = why.unwrap_or_else(|| "no address".to_owned());
                return Err(format!("{host} is not an allowed webhook target: {why}").into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(p: &TargetPolicy, ip: &str) -> bool {
        p.refuses(ip.parse().unwrap()).is_some()
    }

    #[test]
    fn internal_and_metadata_addresses_are_refused_unless_allowed() {
        let p = TargetPolicy::default();
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.20.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00:ec2::254",
            "fc00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "224.0.0.1",
        ] {
            assert!(refused(&p, ip), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "2606:2800:220:1::1",
            "::ffff:93.184.216.34",
        ] {
            assert!(!refused(&p, ip), "{ip}");
        }
        let lab = TargetPolicy::new(vec![
            "127.0.0.0/8".parse().unwrap(),
            "169.254.0.0/16".parse().unwrap(),
        ]);
        assert!(!refused(&lab, "127.0.0.1"));
        assert!(refused(&lab, "169.254.169.254"), "metadata stays refused");
        assert!(p.refuses_name("metadata.google.internal.").is_some());
        assert!(p.refuses_name("LOCALHOST").is_some());
        assert!(p.refuses_name("hooks.example.net").is_none());
    }
}
