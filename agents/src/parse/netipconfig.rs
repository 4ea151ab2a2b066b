//! `netipconfiguration.json` (`Get-NetIPConfiguration`, flattened by the capture script) into
//! interfaces with their addresses and default gateway.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::{Map, Value};
use stampbook_wire::Interface;

use super::{ParseError, item, psjson};

/// Parses `[{InterfaceAlias, IPv4Address, IPv4DefaultGateway}]`. Addresses are CIDR strings
/// (one string or an array); the raw CIM objects (`{IPAddress, PrefixLength}`,
/// `{NextHop}`) that an unflattened `ConvertTo-Json` writes are accepted too. An optional
/// `IPv6Address` is read the same way.
pub fn parse_netipconfig(text: &str) -> Result<Vec<Interface>, ParseError> {
    let mut out = Vec::new();
    for (index, value) in psjson::parse_list(text)?.iter().enumerate() {
        let obj = psjson::as_object(value, index)?;
        let ctx = item(index);
        let name = psjson::req_str(obj, "InterfaceAlias", &ctx)?;
        let mut addresses = addresses_of(obj, "IPv4Address", &ctx)?;
        addresses.extend(addresses_of(obj, "IPv6Address", &ctx)?);
        out.push(Interface {
            name,
            addresses,
            gateway: gateway(obj, &ctx)?,
        });
    }
    Ok(out)
}

fn addresses_of(obj: &Map<String, Value>, key: &str, ctx: &str) -> Result<Vec<String>, ParseError> {
    let mut out = Vec::new();
    for v in one_or_many(psjson::get(obj, key)) {
        let text = match v {
            Value::String(s) => s.trim().to_owned(),
            Value::Object(o) => {
                let ip = psjson::req_str(o, "IPAddress", ctx)?;
                match psjson::get_u32(o, "PrefixLength", ctx)? {
                    Some(len) => format!("{ip}/{len}"),
                    None => ip,
                }
            }
            other => {
                return Err(ParseError::invalid(
                    ctx,
                    key,
                    format!("expected addresses, found {}", psjson::kind(other)),
                ));
            }
        };
        if text.is_empty() {
            continue;
        }
        // Keep what Windows reported, but only if it is an address: a bare address (no
        // prefix) stays bare rather than pretending to be a /32.
        if text.parse::<IpNet>().is_err() && text.parse::<IpAddr>().is_err() {
            return Err(ParseError::invalid(
                ctx,
                key,
                format!("{text:?} is not an address"),
            ));
        }
        out.push(text);
    }
    Ok(out)
}

fn gateway(obj: &Map<String, Value>, ctx: &str) -> Result<Option<String>, ParseError> {
    const KEY: &str = "IPv4DefaultGateway";
    // Several gateways on one interface are possible; the first is the one shown by
    // `ipconfig`, and the routes section carries the full picture anyway.
    let Some(first) = one_or_many(psjson::get(obj, KEY)).into_iter().next() else {
        return Ok(None);
    };
    let hop = match first {
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s.trim().to_owned(),
        Value::Object(o) => match psjson::get_str(o, "NextHop", ctx)? {
            Some(h) => h,
            None => return Ok(None),
        },
        other => {
            return Err(ParseError::invalid(
                ctx,
                KEY,
                format!("expected an address, found {}", psjson::kind(other)),
            ));
        }
    };
    hop.parse::<IpAddr>()
        .map(|ip| Some(ip.to_string()))
        .map_err(|_| ParseError::invalid(ctx, KEY, format!("{hop:?} is not an address")))
}

fn one_or_many(v: Option<&Value>) -> Vec<&Value> {
    match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().filter(|i| !i.is_null()).collect(),
        Some(other) => vec![other],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn strings_arrays_objects_and_nulls_all_read() {
        let text = r#"[
          {"InterfaceAlias":"Management","IPv4Address":["10.0.0.21/24"],"IPv4DefaultGateway":"10.0.0.1"},
          {"InterfaceAlias":"Front-end","IPv4Address":"77.233.248.21/24","IPv4DefaultGateway":["77.233.248.1"]},
          {"InterfaceAlias":"Storage","IPv4Address":[{"IPAddress":"10.9.0.4","PrefixLength":16}],"IPv4DefaultGateway":null}
        ]"#;
        let ifs = parse_netipconfig(text).unwrap();
        assert_eq!(ifs[0].addresses, vec!["10.0.0.21/24"]);
        assert_eq!(ifs[0].gateway.as_deref(), Some("10.0.0.1"));
        assert_eq!(ifs[1].addresses, vec!["77.233.248.21/24"]);
        assert_eq!(ifs[1].gateway.as_deref(), Some("77.233.248.1"));
        assert_eq!(ifs[2].addresses, vec!["10.9.0.4/16"]);
        assert_eq!(ifs[2].gateway, None);
    }

    #[test]
    fn a_bad_address_names_interface_item_and_key() {
        let err = parse_netipconfig(r#"{"InterfaceAlias":"x","IPv4Address":"10.0.0.300/24"}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("item 1") && err.contains("IPv4Address"),
            "{err}"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC*") {
            let _ = parse_netipconfig(&s);
        }
    }
}
