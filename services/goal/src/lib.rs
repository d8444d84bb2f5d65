//! 绩效目标管理 (performance goal management) with 事前绩效评估 (ex-ante assessment) and the
//! funding gate: a project without an approved performance goal gets no budget.
//!
//! # Layout
//! * [`domain`] – pure rules: projects, declarations, quality checks, the 二上二下 workflow,
//!   ex-ante assessment, the funding gate, statistics.

pub mod domain;
