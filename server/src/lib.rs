//! stampbook server library.
