//! stampbook server: the inventory of every WAP/VMM stamp. Request → parse into domain types →
//! store → evaluate rules → respond; `startup` builds the application, `main.rs` is a thin shell.

pub mod access_log;
pub mod alertmanager;
pub mod api;
pub mod audit;
pub mod auth;
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
