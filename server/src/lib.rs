//! stampbook server: the inventory of every WAP/VMM stamp. Request → parse into domain types →
//! store → evaluate rules → respond; `startup` builds the application, `main.rs` is a thin shell.

pub mod access_log;
pub mod alertmanager;
pub mod api;
pub mod audit;
pub mod auth;
pub mod background;
pub mod capacity;
pub mod config;
pub mod db;
pub mod directory;
pub mod domain;
pub mod edge;
pub mod error;
pub mod facts;
pub mod health;
pub mod heartbeat;
pub mod in_flight;
pub mod ingest;
pub mod inventory;
pub mod json;
pub mod metrics;
pub mod problems;
pub mod read_retry;
pub mod retention;
pub mod rules;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod web;
pub mod webhooks;

/// Every binary built on this library (the server, its benches and tests) allocates with
/// mimalloc: a rule run builds and drops each host's facts and findings, and glibc's malloc and
/// free were 40% of the evaluator's CPU; re-evaluating 1,000,000 hosts on 2 cores took 61–64 s
/// with mimalloc where glibc's took 75–88 s (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
