//! Who is calling and what they may do: bearer tokens (stored only as a SHA-256 hash), their
//! scopes, and the checks every route makes.

pub mod principal;
pub mod ratelimit;
pub mod session;
pub mod throttle;
pub mod token_cache;
pub mod tokens;

pub use principal::Principal;
pub use tokens::Scope;
