//! stampbook-agent: collects host facts (Windows, Linux or a capture folder), builds a report
//! v1 and pushes it to the stampbook server; also simulates whole fleets for demos and load tests.

pub mod backoff;
pub mod certgen;
pub mod cli;
pub mod collect;
pub mod daemon;
pub mod deliver;
pub mod duration;
pub mod parse;
pub mod push;
pub mod simulate;
pub mod source;
pub mod spool;
pub mod token;
