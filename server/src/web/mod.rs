//! The NOC dashboard: server-rendered pages, login and sessions.

pub mod session;
