//! The verdict block every bench ends with.

use std::fmt::Write as _;
use std::time::Duration;

use crate::latencies::ms;

/// The exit code of a bench (or `pbm-load run`'s caller scripts) when a target is missed.
pub const MISSED_EXIT_CODE: i32 = 3;

/// How a measured value must compare with its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// measured ≤ target (latencies, durations, error counts).
    AtMost,
    /// measured ≥ target (throughput, ratios).
    AtLeast,
}

impl Cmp {
    /// Whether `measured` meets `target` (never for a NaN).
    pub fn holds(self, measured: f64, target: f64) -> bool {
        match self {
            Cmp::AtMost => measured <= target,
            Cmp::AtLeast => measured >= target,
        }
    }

    /// `≤` or `≥`.
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::AtMost => "≤",
            Cmp::AtLeast => "≥",
        }
    }
}

/// One target: a name, the measured value (`None` when it could not be measured, which fails),
/// the comparison, the target and the unit both are in. The measured value is printed with
/// [`Check::decimals`] decimals (2 unless changed), the target as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub name: String,
    pub measured: Option<f64>,
    pub cmp: Cmp,
    pub target: f64,
    pub unit: String,
    pub decimals: usize,
}

impl Check {
    pub fn new(
        name: impl Into<String>,
        measured: Option<f64>,
        cmp: Cmp,
        target: f64,
        unit: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            measured,
            cmp,
            target,
            unit: unit.into(),
            decimals: 2,
        }
    }

    /// measured ≤ target.
    pub fn at_most(
        name: impl Into<String>,
        measured: f64,
        target: f64,
        unit: impl Into<String>,
    ) -> Self {
        Self::new(name, Some(measured), Cmp::AtMost, target, unit)
    }

    /// measured ≥ target.
    pub fn at_least(
        name: impl Into<String>,
        measured: f64,
        target: f64,
        unit: impl Into<String>,
    ) -> Self {
        Self::new(name, Some(measured), Cmp::AtLeast, target, unit)
    }

    /// A duration ≤ a target duration, both in milliseconds.
    pub fn at_most_ms(name: impl Into<String>, measured: Duration, target: Duration) -> Self {
        Self::at_most(name, ms(measured), ms(target), "ms")
    }

    /// The same check, its measured value printed with `n` decimals.
    pub fn decimals(mut self, n: usize) -> Self {
        self.decimals = n;
        self
    }

    /// Whether the measured value meets the target (`false` when not measured or NaN).
    pub fn passed(&self) -> bool {
        self.measured
            .is_some_and(|m| self.cmp.holds(m, self.target))
    }

    fn with_unit(&self, value: String) -> String {
        if self.unit.is_empty() {
            value
        } else {
            format!("{value} {}", self.unit)
        }
    }

    fn cells(&self) -> [String; 4] {
        let measured = match self.measured {
            Some(m) => self.with_unit(format!("{m:.*}", self.decimals)),
            None => "not measured".to_owned(),
        };
        [
            self.name.clone(),
            measured,
            format!(
                "{} {}",
                self.cmp.symbol(),
                self.with_unit(self.target.to_string())
            ),
            if self.passed() { "PASS" } else { "FAIL" }.to_owned(),
        ]
    }
}

/// A bench's pass/fail block: its [`Check`]s, printed as
///
/// ```text
/// VERDICT: SQLite
/// | check           | measured | target  | result |
/// |-----------------|----------|---------|--------|
/// | DrawExperts p99 | 11.14 ms | ≤ 20 ms | PASS   |
/// SQLite: ALL TARGETS MET
/// ```
///
/// (`<title>: SOME TARGETS MISSED` when a check failed). A verdict without checks fails.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    title: String,
    checks: Vec<Check>,
}

impl Verdict {
    /// An empty verdict; `title` names what was measured (a backend, a bench).
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            checks: Vec::new(),
        }
    }

    /// Adds a check.
    pub fn check(&mut self, check: Check) -> &mut Self {
        self.checks.push(check);
        self
    }

    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    /// Whether there are checks and every one passed.
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(Check::passed)
    }

    /// The block, one line each, ending with a newline.
    pub fn render(&self) -> String {
        let header = ["check", "measured", "target", "result"].map(str::to_owned);
        let mut rows: Vec<[String; 4]> = self.checks.iter().map(Check::cells).collect();
        if rows.is_empty() {
            rows.push(["no checks".into(), "—".into(), "—".into(), "FAIL".into()]);
        }
        let mut widths = [0; 4];
        for row in std::iter::once(&header).chain(&rows) {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |row: &[String; 4]| {
            let mut s = String::from("|");
            for (cell, w) in row.iter().zip(widths) {
                let pad = w - cell.chars().count();
                let _ = write!(s, " {cell}{} |", " ".repeat(pad));
            }
            s.push('\n');
            s
        };
        let mut out = format!("VERDICT: {}\n", self.title);
        out += &line(&header);
        out.push('|');
        for w in widths {
            out += &"-".repeat(w + 2);
            out.push('|');
        }
        out.push('\n');
        for row in &rows {
            out += &line(row);
        }
        let _ = writeln!(
            out,
            "{}: {}",
            self.title,
            if self.passed() {
                "ALL TARGETS MET"
            } else {
                "SOME TARGETS MISSED"
            }
        );
        out
    }

    /// Prints an empty line and the block to stdout; returns [`Verdict::passed`].
    pub fn print(&self) -> bool {
        print!("\n{}", self.render());
        self.passed()
    }

    /// Prints the block ([`Verdict::print`]) and ends the process with [`MISSED_EXIT_CODE`] when
    /// a target was missed.
    pub fn finish(&self) {
        if !self.print() {
            std::process::exit(MISSED_EXIT_CODE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_met() {
        let mut v = Verdict::new("SQLite");
        v.check(Check::at_most_ms(
            "DrawExperts p99",
            Duration::from_micros(11_140),
            Duration::from_millis(20),
        ))
        .check(Check::at_least("SubmitGoal / pgbench median", 30.6, 30.0, "%").decimals(1));
        assert!(v.passed());
        assert_eq!(
            v.render(),
            "VERDICT: SQLite\n\
             | check                       | measured | target  | result |\n\
             |-----------------------------|----------|---------|--------|\n\
             | DrawExperts p99             | 11.14 ms | ≤ 20 ms | PASS   |\n\
             | SubmitGoal / pgbench median | 30.6 %   | ≥ 30 %  | PASS   |\n\
             SQLite: ALL TARGETS MET\n"
        );
    }

    #[test]
    fn one_miss_fails_the_verdict() {
        let mut v = Verdict::new("PostgreSQL");
        v.check(Check::at_most("p99", 24.0, 25.0, "ms"))
            .check(Check::at_least("ratio", 28.8, 30.0, "%"));
        assert!(!v.passed());
        assert!(v.render().ends_with("PostgreSQL: SOME TARGETS MISSED\n"));
        assert!(
            v.render()
                .contains("| ratio | 28.80 %  | ≥ 30 %  | FAIL   |")
        );
    }

    #[test]
    fn the_target_itself_passes() {
        assert!(Check::at_most("a", 20.0, 20.0, "ms").passed());
        assert!(Check::at_least("b", 30.0, 30.0, "%").passed());
        assert!(!Check::at_most("c", 20.001, 20.0, "ms").passed());
        assert!(!Check::at_least("d", 29.999, 30.0, "%").passed());
    }

    #[test]
    fn not_measured_or_nan_fails() {
        let missing = Check::new("ratio", None, Cmp::AtLeast, 30.0, "%");
        assert!(!missing.passed());
        assert!(!Check::at_most("nan", f64::NAN, 1.0, "").passed());
        let mut v = Verdict::new("x");
        v.check(missing);
        assert!(
            v.render()
                .contains("| ratio | not measured | ≥ 30 % | FAIL   |")
        );
    }

    #[test]
    fn no_checks_fail() {
        let v = Verdict::new("empty");
        assert!(!v.passed());
        assert!(
            v.render()
                .contains("| no checks | —        | —      | FAIL   |")
        );
        assert!(v.render().ends_with("empty: SOME TARGETS MISSED\n"));
    }

    #[test]
    fn counts_without_decimals_or_unit() {
        let c = Check::at_most("requests not OK", 0.0, 0.0, "").decimals(0);
        assert!(c.passed());
        assert_eq!(c.cells()[1], "0");
        assert_eq!(c.cells()[2], "≤ 0");
    }
}
