//! stampbook server library.

pub mod facts;
