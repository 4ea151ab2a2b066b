//! Webhooks: subscribers of `problem.opened` / `problem.resolved`, an outbox written in the same
//! transaction as the problems (so ingest never waits on a receiver), and a delivery worker.

pub mod outbox;
