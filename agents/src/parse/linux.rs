//! iproute2's JSON (`ip -j route`, `ip -j -6 route`, `ip -j addr`) into routes and interfaces.
//! Service state (`systemctl show`) lives in `systemd`, certificate files in `pem`.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::{Map, Value};
use stampbook_wire::{Interface, ON_LINK, Route};

use super::{ParseError, item, psjson};

/// Parses `ip -j route` (or `ip -j -6 route`). Linux metrics are already effective. Routes
/// added by an administrator or the network configuration (`protocol` `static` or `boot`)
/// count as persistent; DHCP, RA and kernel routes do not. Non-unicast routes (`blackhole`,
/// `unreachable`, ...) carry no next hop and are skipped; a multipath route gives one route
/// per next hop.
pub fn parse_ip_route(text: &str) -> Result<Vec<Route>, ParseError> {
    let items = psjson::parse_list(text)?;
    // `ip route` prints one family at a time and `default` does not say which; any IPv6
    // address in the output settles it.
    let v6 = items.iter().any(|v| {
        ["dst", "gateway", "prefsrc"].iter().any(|k| {
            v.get(k)
                .and_then(Value::as_str)
                .is_some_and(|s| s.contains(':'))
        })
    });
    let mut out = Vec::new();
    for (index, value) in items.iter().enumerate() {
        let obj = psjson::as_object(value, index)?;
        let ctx = item(index);
        if psjson::get_str(obj, "type", &ctx)?.is_some_and(|t| t != "unicast") {
            continue;
        }
        let destination = destination(&psjson::req_str(obj, "dst", &ctx)?, v6, &ctx)?;
        let metric = psjson::get_u32(obj, "metric", &ctx)?.unwrap_or(0);
        let persistent =
            psjson::get_str(obj, "protocol", &ctx)?.is_some_and(|p| p == "static" || p == "boot");
        let hops: Vec<&Map<String, Value>> = match psjson::get(obj, "nexthops") {
            Some(Value::Array(hops)) => hops.iter().filter_map(Value::as_object).collect(),
            _ => vec![obj],
        };
        for hop in hops {
            out.push(Route {
                destination: destination.clone(),
                next_hop: match psjson::get_str(hop, "gateway", &ctx)? {
                    Some(gw) => gw.parse::<IpAddr>().map(|ip| ip.to_string()).map_err(|_| {
                        ParseError::invalid(&ctx, "gateway", format!("{gw:?} is not an address"))
                    })?,
                    None => ON_LINK.to_owned(),
                },
                interface: psjson::get_str(hop, "dev", &ctx)?,
                metric,
                persistent,
            });
        }
    }
    Ok(out)
}

fn destination(dst: &str, v6: bool, ctx: &str) -> Result<String, ParseError> {
    if dst == "default" {
        return Ok(if v6 { "::/0" } else { "0.0.0.0/0" }.to_owned());
    }
    // A host route is printed without its /32 or /128.
    let net = dst
        .parse::<IpNet>()
        .or_else(|_| dst.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| ParseError::invalid(ctx, "dst", format!("{dst:?} is not a destination")))?;
    Ok(net.to_string())
}

/// Parses `ip -j addr` into interfaces: IPv4 addresses and global IPv6 addresses (link-local
/// ones say nothing about which network a host is on), the loopback left out as Windows'
/// `Get-NetIPConfiguration` does. The gateway is the next hop of the interface's default route
/// among `routes` (IPv4 preferred).
pub fn parse_ip_addr(text: &str, routes: &[Route]) -> Result<Vec<Interface>, ParseError> {
    let mut out = Vec::new();
    for (index, value) in psjson::parse_list(text)?.iter().enumerate() {
        let obj = psjson::as_object(value, index)?;
        let ctx = item(index);
        let name = psjson::req_str(obj, "ifname", &ctx)?;
        if psjson::get_str(obj, "link_type", &ctx)?.as_deref() == Some("loopback") {
            continue;
        }
        let mut addresses = Vec::new();
        let infos = match psjson::get(obj, "addr_info") {
            Some(Value::Array(a)) => a.as_slice(),
            _ => &[],
        };
        for info in infos.iter().filter_map(Value::as_object) {
            // Older iproute2 prints empty `{}` entries for filtered addresses.
            let Some(local) = psjson::get_str(info, "local", &ctx)? else {
                continue;
            };
            let family = psjson::get_str(info, "family", &ctx)?.unwrap_or_default();
            let scope = psjson::get_str(info, "scope", &ctx)?.unwrap_or_default();
            if family == "inet6" && scope != "global" {
                continue;
            }
            let prefix = psjson::get_u32(info, "prefixlen", &ctx)?;
            let text = prefix.map_or_else(|| local.clone(), |p| format!("{local}/{p}"));
            if text.parse::<IpNet>().is_err() && text.parse::<IpAddr>().is_err() {
                return Err(ParseError::invalid(
                    &ctx,
                    "addr_info",
                    format!("{text:?} is not an address"),
                ));
            }
            addresses.push(text);
        }
        let gateway = ["0.0.0.0/0", "::/0"].iter().find_map(|default| {
            routes
                .iter()
                .find(|r| {
                    r.destination == *default
                        && r.interface.as_deref() == Some(name.as_str())
                        && r.next_hop != ON_LINK
                })
                .map(|r| r.next_hop.clone())
        });
        out.push(Interface {
            name,
            addresses,
            gateway,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn multipath_blackhole_and_host_routes() {
        let text = r#"[{"dst":"default","protocol":"static","metric":1024,"flags":[],"nexthops":[{"gateway":"10.0.0.1","dev":"eth0","weight":1,"flags":[]},{"gateway":"10.1.0.1","dev":"eth1","weight":1,"flags":[]}]},{"type":"blackhole","dst":"10.9.0.0/16","flags":[]},{"dst":"10.2.0.7","dev":"tun0","scope":"link","flags":[]}]"#;
        let routes = parse_ip_route(text).unwrap();
        assert_eq!(routes.len(), 3);
        assert_eq!(
            (routes[1].next_hop.as_str(), routes[1].interface.as_deref()),
            ("10.1.0.1", Some("eth1"))
        );
        assert!(routes[0].persistent);
        assert_eq!(
            (routes[2].destination.as_str(), routes[2].metric),
            ("10.2.0.7/32", 0)
        );
        assert_eq!(routes[2].next_hop, ON_LINK);
    }

    #[test]
    fn ipv6_default_is_recognised_by_the_family_of_the_output() {
        let text = r#"[{"dst":"default","dev":"wg0","protocol":"boot","metric":1024,"flags":[]},{"dst":"2001:db8::/64","dev":"wg0","protocol":"kernel","metric":256,"pref":"medium","flags":[]}]"#;
        let routes = parse_ip_route(text).unwrap();
        assert_eq!(routes[0].destination, "::/0");
        assert!(parse_ip_route(r#"[{"dst":"bogus"}]"#).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC*") {
            let routes = parse_ip_route(&s).unwrap_or_default();
            let _ = parse_ip_addr(&s, &routes);
        }
    }
}
