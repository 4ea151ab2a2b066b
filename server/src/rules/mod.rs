//! Problem rules: pure functions from one stamp's facts to findings, the engine that runs them
//! and keeps problems open/resolved, and the queue that says which stamps need it.

pub mod engine;
pub mod load;
pub mod model;
pub mod queue;
pub mod worker;
