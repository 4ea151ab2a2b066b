//! stampbook-agent: collects host facts (Windows, Linux or a capture folder), builds a report
//! v1 and pushes it to the stampbook server; also simulates whole fleets for demos and load tests.

pub mod certgen;
pub mod collect;
pub mod parse;
