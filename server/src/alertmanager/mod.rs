//! Alertmanager as a sink: open problems are posted to Prometheus Alertmanager's v2 API as
//! alerts, re-sent before the `endsAt` they carry passes, and sent once more with their
//! resolution time when they resolve. docs/ALERTING.md is the operator's guide.

pub mod alert;
pub mod sink;
