//! `Get-NetRoute` output (with `InterfaceMetric` joined from `Get-NetIPInterface`) into routes
//! with the effective metric that `route print` would show.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;
use stampbook_wire::{ON_LINK, Route};

use super::{ParseError, item, psjson};

/// Parses `netroute.json`. `Get-NetRoute` lists a persistent route twice (once per store);
/// the pair becomes one route, persistent, with the effective metric.
pub fn parse_netroute(text: &str) -> Result<Vec<Route>, ParseError> {
    let mut routes: Vec<Route> = Vec::new();
    for (index, value) in psjson::parse_list(text)?.iter().enumerate() {
        let route = row(value, index)?;
        let twin = routes.iter_mut().find(|r| {
            r.destination == route.destination
                && r.next_hop == route.next_hop
                && r.interface == route.interface
        });
        match twin {
            Some(existing) => {
                existing.persistent |= route.persistent;
                // The active copy carries the metric in force; prefer it if they differ.
                if !route.persistent {
                    existing.metric = route.metric;
                }
            }
            None => routes.push(route),
        }
    }
    Ok(routes)
}

fn row(value: &Value, index: usize) -> Result<Route, ParseError> {
    let obj = psjson::as_object(value, index)?;
    let ctx = item(index);
    let prefix = psjson::req_str(obj, "DestinationPrefix", &ctx)?;
    let destination: IpNet = prefix.parse().map_err(|_| {
        ParseError::invalid(
            &ctx,
            "DestinationPrefix",
            format!("{prefix:?} is not a CIDR prefix"),
        )
    })?;
    let hop = psjson::get_str(obj, "NextHop", &ctx)?.unwrap_or_else(|| "0.0.0.0".into());
    let hop: IpAddr = hop
        .parse()
        .map_err(|_| ParseError::invalid(&ctx, "NextHop", format!("{hop:?} is not an address")))?;
    let route_metric = psjson::get_u32(obj, "RouteMetric", &ctx)?
        .ok_or_else(|| ParseError::missing(&ctx, "RouteMetric"))?;
    // Without the interface metric the effective metric is unknowable; guessing would
    // misjudge which default route wins, the very thing the routes are collected for.
    let if_metric = psjson::get_u32(obj, "InterfaceMetric", &ctx)?.ok_or_else(|| {
        ParseError::missing(&ctx, "InterfaceMetric (join it from Get-NetIPInterface)")
    })?;
    let metric = route_metric
        .checked_add(if_metric)
        .ok_or_else(|| ParseError::invalid(&ctx, "RouteMetric", "metric sum overflows"))?;
    Ok(Route {
        destination: destination.to_string(),
        next_hop: if hop.is_unspecified() {
            ON_LINK.to_owned()
        } else {
            hop.to_string()
        },
        interface: psjson::get_str(obj, "InterfaceAlias", &ctx)?,
        metric,
        persistent: is_persistent(psjson::get(obj, "Store"), &ctx)?,
    })
}

/// `Store` is the enum name or its number (0 = PersistentStore, 1 = ActiveStore), depending
/// on how the capture selected it.
fn is_persistent(store: Option<&Value>, ctx: &str) -> Result<bool, ParseError> {
    match store {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(true),
        Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(false),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("PersistentStore") || s == "0" => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("ActiveStore") || s == "1" => Ok(false),
        Some(v) => Err(ParseError::invalid(
            ctx,
            "Store",
            format!("unknown store {v}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn active_and_persistent_copies_merge_into_one_persistent_route() {
        let text = r#"[
          {"DestinationPrefix":"0.0.0.0/0","NextHop":"10.0.0.1","RouteMetric":300,"InterfaceAlias":"Management","InterfaceMetric":5,"Store":1},
          {"DestinationPrefix":"0.0.0.0/0","NextHop":"10.0.0.1","RouteMetric":300,"InterfaceAlias":"Management","InterfaceMetric":5,"Store":0},
          {"DestinationPrefix":"fe80::/64","NextHop":"::","RouteMetric":256,"InterfaceAlias":"Management","InterfaceMetric":5,"Store":1}
        ]"#;
        let routes = parse_netroute(text).unwrap();
        assert_eq!(routes.len(), 2);
        assert_eq!((routes[0].metric, routes[0].persistent), (305, true));
        assert_eq!(
            (routes[1].next_hop.as_str(), routes[1].persistent),
            (ON_LINK, false)
        );
    }

    #[test]
    fn a_missing_interface_metric_is_an_error_naming_the_item() {
        let err = parse_netroute(
            r#"{"DestinationPrefix":"0.0.0.0/0","NextHop":"10.0.0.1","RouteMetric":1}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("item 1") && err.contains("InterfaceMetric"),
            "{err}"
        );
        assert!(
            parse_netroute(
                r#"{"DestinationPrefix":"10.0.0.0/33","RouteMetric":1,"InterfaceMetric":1}"#
            )
            .is_err()
        );
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC*") {
            let _ = parse_netroute(&s);
        }
    }
}
