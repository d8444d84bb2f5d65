//! Bench support shared by every PBM benchmark (`services/*/benches`) and the load generator
//! (`clients/pbm-load`), so that their figures are computed the same way and compare.
//!
//! * [`percentile`] / [`percentile_sorted`] – **the** percentile definition: nearest rank (see
//!   [`rank_index`]). [`median`] is its 50th percentile.
//! * [`Latencies`] – recorded latencies; [`Summary`] – count, p50, p90, p99, max, mean and the
//!   throughput over a wall time.
//! * [`Verdict`] – the pass/fail block every bench ends with: a list of [`Check`]s (name,
//!   measured value, comparison, target, unit) printed as one uniform `VERDICT` table, followed
//!   by `<title>: ALL TARGETS MET` or `<title>: SOME TARGETS MISSED`.
//! * [`machine`] – a phase's wall time and CPU (this process, the rest of the machine).
//! * [`postgres`] – the PostgreSQL baseline: its durability settings and a single-row-INSERT
//!   `pgbench` in the same run.
//!
//! Pure std: it reads /proc, runs `psql`/`pgbench` and prints.

mod latencies;
pub mod machine;
mod percentile;
pub mod postgres;
mod verdict;

pub use latencies::{Latencies, Summary, ms};
pub use percentile::{median, percentile, percentile_sorted, rank_index};
pub use verdict::{Check, Cmp, MISSED_EXIT_CODE, Verdict};
