//! Pure rules of the evaluation service (绩效评价). No transport, no database, no I/O, no
//! floating point. Every score and grade is computed by the one engine, `pbm_scoring`; these
//! modules decide who may do what, when a sheet is complete, deadlines, sampling and the risk
//! score. Rule: docs/DOMAIN.md "Evaluation and scoring", "Self-evaluation, spot checks, key
//! evaluations"; the project's choices: docs/EVALUATION.md.
pub mod access;
pub mod completeness;
pub mod deadline;
pub mod region;
pub mod review;
pub mod risk;
pub mod sampling;
pub mod stats;
pub mod table;
pub mod workflow;
