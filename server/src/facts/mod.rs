//! What hosts told us: certificate parsing, fact storage and history.

pub mod x509;
