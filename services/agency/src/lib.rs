//! 第三方机构/专家库 (third-party agency and expert pool) with dynamic rating.
//!
//! # Layout
//! * [`domain`] – pure rules: identifiers, rule sets, eligibility, independence, rating, draws.

pub mod domain;
