//! Fixture helpers shared by the integration tests.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::PathBuf;

use stampbook_agent::parse::text;
use stampbook_wire::Route;

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn bytes(rel: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// A fixture decoded the way the agent decodes captures.
pub fn text(rel: &str) -> String {
    text::decode(&bytes(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The one route to `destination` via `next_hop`.
pub fn route<'a>(routes: &'a [Route], destination: &str, next_hop: &str) -> &'a Route {
    let found: Vec<&Route> = routes
        .iter()
        .filter(|r| r.destination == destination && r.next_hop == next_hop)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "routes to {destination} via {next_hop}: {found:?}"
    );
    found[0]
}

/// (metric, persistent, interface) of a route, for compact assertions.
pub fn facts(r: &Route) -> (u32, bool, Option<&str>) {
    (r.metric, r.persistent, r.interface.as_deref())
}
