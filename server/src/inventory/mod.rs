//! Declared inventory: stamps, their networks and scale units, and the plans sold on them.

pub mod apply;
pub mod model;
pub mod store;
pub mod validate;
pub mod yaml;
