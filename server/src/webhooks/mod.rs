//! Webhooks: subscribers of `problem.opened` / `problem.resolved`, an outbox written in the same
//! transaction as the problems (so ingest never waits on a receiver), a delivery worker that
//! signs each body (`X-Stampbook-Signature`), retries with backoff and logs every attempt.
//! docs/WEBHOOKS.md is the receiver's guide.

pub mod deliver;
pub mod format;
pub mod outbox;
pub mod signature;
pub mod store;
pub mod target;
