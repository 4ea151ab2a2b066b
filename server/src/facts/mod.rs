//! What hosts told us: certificate parsing, fact storage and history.

pub mod blind;
pub mod expiry_tally;
pub mod history;
pub mod list;
pub mod model;
pub mod read;
pub mod report;
pub mod reports;
pub mod store;
pub mod summary;
pub mod wap;
pub mod x509;
