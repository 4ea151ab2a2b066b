//! Windows `route print` text (English or any localisation) into routes.
//!
//! The words change with the display language (`Active Routes:`, `Aktive Routen:`,
//! `Itinéraires actifs :`, `On-link`, `Auf Verbindung`, `Sur la liaison`...), and a capture
//! made from `cmd.exe` may even have them garbled by the OEM code page. So sections are found
//! by structure: a table starts at a line mentioning `IPv4`/`IPv6` followed by a `====` rule;
//! inside it, the first title line ending in `:` opens the active routes and the second the
//! persistent ones; rows are recognised by their shape (addresses and numbers in known
//! columns), and any gateway that is not an address is the localised "on-link".

use std::net::{IpAddr, Ipv4Addr};

use ipnet::{Ipv4Net, Ipv6Net};
use stampbook_wire::{ON_LINK, Route};

use super::{ParseError, text};

/// A route from a `Persistent Routes:` section. `metric` is the route metric as configured
/// (`route -p add ... METRIC n`); `None` is `Default`, i.e. the interface metric alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistentRoute {
    pub destination: String,
    pub next_hop: String,
    pub metric: Option<u32>,
}

/// The active routes (IPv4, then IPv6) with their effective metric, each marked persistent
/// when the same destination and gateway is listed under persistent routes. Blank text is
/// "collected, none".
pub fn parse_route_print(text: &str) -> Result<Vec<Route>, ParseError> {
    let tables = scan(text)?;
    let mut routes = tables.active;
    for route in &mut routes {
        // A persistent route added with the interface's own address as gateway is shown
        // on-link among the active routes.
        route.persistent = tables.persistent.iter().any(|p| {
            p.destination == route.destination
                && (p.next_hop == route.next_hop
                    || (route.next_hop == ON_LINK
                        && route.interface.as_deref() == Some(p.next_hop.as_str())))
        });
    }
    Ok(routes)
}

/// The persistent routes alone, as configured (what survives a reboot).
pub fn parse_persistent_routes(text: &str) -> Result<Vec<PersistentRoute>, ParseError> {
    Ok(scan(text)?.persistent)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Family {
    V4,
    V6,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Active,
    Persistent,
}

#[derive(Default)]
struct Tables {
    active: Vec<Route>,
    persistent: Vec<PersistentRoute>,
}

fn scan(input: &str) -> Result<Tables, ParseError> {
    let mut tables = Tables::default();
    if text::is_blank(input) {
        return Ok(tables);
    }
    let lines: Vec<&str> = input.lines().map(str::trim_end).collect();
    let mut family: Option<Family> = None;
    let mut titles_in_table = 0;
    let mut seen_section = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if let Some(f) = table_marker(&lines, i) {
            family = Some(f);
            titles_in_table = 0;
            i += 1;
        } else if is_title(line) {
            // Title words are only a hint (they can be garbled); position decides otherwise.
            let kind = if titles_in_table > 0 || says_persistent(line) {
                Kind::Persistent
            } else {
                Kind::Active
            };
            titles_in_table += 1;
            seen_section = true;
            i = section(&lines, i + 1, family, kind, &mut tables)?;
        } else {
            i += 1;
        }
    }
    if !seen_section {
        return Err(ParseError::Unrecognised(
            "no route table found: expected `route print` output with a section such as `Active Routes:`"
                .into(),
        ));
    }
    Ok(tables)
}

/// `IPv4 Route Table` / `IPv4-Routentabelle` / `Table de routage IPv4`, always followed by a
/// `====` rule (which also keeps adapter names mentioning IPv6 from counting).
fn table_marker(lines: &[&str], i: usize) -> Option<Family> {
    let followed_by_rule = lines.get(i + 1).is_some_and(|l| is_rule(l.trim()));
    let line = lines[i];
    if !followed_by_rule || is_title(line.trim()) {
        None
    } else if line.contains("IPv4") {
        Some(Family::V4)
    } else if line.contains("IPv6") {
        Some(Family::V6)
    } else {
        None
    }
}

fn is_rule(line: &str) -> bool {
    line.len() >= 10 && line.bytes().all(|b| b == b'=')
}

fn is_title(line: &str) -> bool {
    line.ends_with(':') && !line.starts_with(|c: char| c.is_ascii_digit())
}

fn says_persistent(title: &str) -> bool {
    let t = title.to_lowercase();
    ["persist", "ständig", "permanent"]
        .iter()
        .any(|w| t.contains(w))
}

/// Reads the rows of one section starting at `start`; returns the index after it.
fn section(
    lines: &[&str],
    start: usize,
    family: Option<Family>,
    kind: Kind,
    tables: &mut Tables,
) -> Result<usize, ParseError> {
    let mut i = start;
    while i < lines.len() {
        let line = lines[i].trim();
        if line.is_empty() || is_rule(line) || is_title(line) || table_marker(lines, i).is_some() {
            break;
        }
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let line_no = i + 1;
        let layout = |reason: String| ParseError::Layout {
            line: line_no,
            reason,
        };
        if family != Some(Family::V6) && tokens[0].parse::<Ipv4Addr>().is_ok() {
            v4_row(&tokens, tables).map_err(layout)?;
        } else if family != Some(Family::V4) && tokens.len() >= 3 && is_number(tokens[0]) {
            // A long IPv6 destination pushes the gateway onto the next line on its own.
            let mut row = tokens.clone();
            if row.len() == 3
                && let Some(next) = lines.get(i + 1).map(|l| l.trim())
                && !next.is_empty()
                && !is_rule(next)
                && !is_title(next)
                && !next.split_whitespace().next().is_some_and(is_number)
            {
                row.extend(next.split_whitespace());
                i += 1;
            }
            v6_row(&row, kind, tables).map_err(layout)?;
        }
        // Anything else is the column header or the localised "None".
        i += 1;
    }
    Ok(i)
}

fn v4_row(t: &[&str], tables: &mut Tables) -> Result<(), String> {
    let n = t.len();
    let destination = v4_cidr(t[0], t.get(1).copied().unwrap_or_default())?;
    let is_active = n >= 5 && t[n - 2].parse::<Ipv4Addr>().is_ok() && is_number(t[n - 1]);
    if is_active {
        // Active: destination, netmask, gateway (possibly several words), interface, metric.
        tables.active.push(Route {
            destination,
            next_hop: next_hop(&t[2..n - 2].join(" ")),
            interface: Some(t[n - 2].to_owned()),
            metric: number(t[n - 1])?,
            persistent: false,
        });
    } else if n >= 4 {
        // Persistent: destination, netmask, gateway address, metric or `Default`.
        tables.persistent.push(PersistentRoute {
            destination,
            next_hop: next_hop(t[2]),
            metric: t[3].parse().ok(),
        });
    } else {
        return Err(format!(
            "an IPv4 route row needs at least 4 columns, found {n}"
        ));
    }
    Ok(())
}

fn v6_row(t: &[&str], kind: Kind, tables: &mut Tables) -> Result<(), String> {
    // If, Metric, Network Destination, Gateway (possibly several words).
    let net: Ipv6Net = t[2]
        .parse()
        .map_err(|_| format!("{:?} is not an IPv6 destination", t[2]))?;
    if t.len() < 4 {
        return Err(format!("IPv6 route to {net} has no gateway"));
    }
    let hop = next_hop(&t[3..].join(" "));
    match kind {
        Kind::Active => tables.active.push(Route {
            destination: net.to_string(),
            next_hop: hop,
            // The IPv6 table names interfaces by index only.
            interface: Some(t[0].to_owned()),
            metric: number(t[1])?,
            persistent: false,
        }),
        Kind::Persistent => tables.persistent.push(PersistentRoute {
            destination: net.to_string(),
            next_hop: hop,
            metric: t[1].parse().ok(),
        }),
    }
    Ok(())
}

fn v4_cidr(dest: &str, mask: &str) -> Result<String, String> {
    let addr: Ipv4Addr = dest
        .parse()
        .map_err(|_| format!("{dest:?} is not an IPv4 address"))?;
    let mask: Ipv4Addr = mask
        .parse()
        .map_err(|_| format!("{mask:?} is not a netmask"))?;
    let prefix = ipnet::ipv4_mask_to_prefix(mask)
        .map_err(|_| format!("{mask} is not a contiguous netmask"))?;
    Ipv4Net::new(addr, prefix)
        .map(|n| n.to_string())
        .map_err(|e| e.to_string())
}

/// An address stays an address; every localised "on-link" word (and the unspecified
/// address some tools print instead) is on-link.
fn next_hop(gateway: &str) -> String {
    match gateway.parse::<IpAddr>() {
        Ok(ip) if !ip.is_unspecified() => ip.to_string(),
        _ => ON_LINK.to_owned(),
    }
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn number(s: &str) -> Result<u32, String> {
    s.parse()
        .map_err(|_| format!("metric {s:?} is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_non_contiguous_netmask_names_its_line() {
        let text = "IPv4 Route Table\n==========\nActive Routes:\nNetwork Destination Netmask Gateway Interface Metric\n 10.0.0.0 255.0.255.0 On-link 10.0.0.2 5\n";
        let err = parse_route_print(text).unwrap_err().to_string();
        assert!(
            err.contains("line 5") && err.contains("contiguous"),
            "{err}"
        );
    }

    #[test]
    fn text_that_is_not_route_print_is_refused_and_blank_is_empty() {
        assert!(parse_route_print("hello world\n").is_err());
        assert!(parse_route_print("\r\n").unwrap().is_empty());
    }

    #[test]
    fn sections_without_table_markers_are_still_read_by_shape() {
        let text = "Active Routes:\nDest Mask Gw If Metric\n0.0.0.0 0.0.0.0 10.0.0.1 10.0.0.5 25\n\
                    ====================\nPersistent Routes:\nA M G Metric\n0.0.0.0 0.0.0.0 10.0.0.1 Default\n";
        let routes = parse_route_print(text).unwrap();
        assert_eq!(routes.len(), 1);
        assert!(routes[0].persistent);
        let own_address = "Active Routes:\nh\n10.5.0.0 255.255.0.0 On-link 10.0.0.5 261\n\
                           Persistent Routes:\nh\n10.5.0.0 255.255.0.0 10.0.0.5 5\n";
        assert!(parse_route_print(own_address).unwrap()[0].persistent);
        let p = parse_persistent_routes(text).unwrap();
        assert_eq!(p[0].metric, None);
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC*") {
            let _ = parse_route_print(&s);
        }

        #[test]
        fn route_like_noise_never_panics(lines in proptest::collection::vec(
            "( *[0-9.:a-f/]{0,20}){0,6}|IPv[46] x|=========|[A-Za-z ]{0,10}:", 0..20)) {
            let _ = parse_route_print(&lines.join("\n"));
        }
    }
}
