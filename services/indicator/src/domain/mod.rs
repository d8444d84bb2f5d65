//! Pure rules of the indicator library: no transport, no database.
//!
//! * [`frame`] – the first and second levels, per fiscal year, and the national templates.
//! * [`indicator`] – third-level indicators: attributes, validation, versions.
//! * [`access`] – who may read and write the library.
//! * [`mirror`] – following an upstream library: cursors, when to resync, what to apply.

pub mod access;
pub mod frame;
pub mod indicator;
pub mod mirror;
