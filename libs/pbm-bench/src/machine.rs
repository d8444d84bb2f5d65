//! What the machine did during a phase: its wall time and the CPU it took in this process and
//! in the rest of the machine (PostgreSQL, other work), from /proc (Linux; `None` elsewhere).

use std::time::{Duration, Instant};

use crate::Summary;

/// CPU seconds (user + system) used so far by this process and by the whole machine (busy time
/// of all cores).
pub fn cpu_seconds() -> Option<(f64, f64)> {
    let own = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = own.rsplit_once(") ")?.1.split_whitespace().collect();
    let ticks = |v: &str| v.parse::<f64>().ok();
    let process = ticks(fields.get(11)?)? + ticks(fields.get(12)?)?;
    let all = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu: Vec<f64> = all
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(ticks)
        .collect();
    // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    let machine = cpu.iter().take(8).sum::<f64>() - cpu.get(3)? - cpu.get(4)?;
    Some((process / 100.0, machine / 100.0))
}

/// The cores this process may run on.
pub fn cores() -> f64 {
    std::thread::available_parallelism().map_or(1, |c| c.get()) as f64
}

/// A phase's wall time and CPU: this process's and the rest of the machine's.
pub struct Meter {
    started: Instant,
    cpu: Option<(f64, f64)>,
}

impl Meter {
    pub fn start() -> Meter {
        Meter {
            cpu: cpu_seconds(),
            started: Instant::now(),
        }
    }

    /// The elapsed time and "CPU this process x s / rest of the machine y s (z % of n cores
    /// busy)".
    pub fn stop(&self) -> (Duration, String) {
        let elapsed = self.started.elapsed();
        let cpu = match (self.cpu, cpu_seconds()) {
            (Some((p0, m0)), Some((p1, m1))) => {
                let busy = (m1 - m0) / (elapsed.as_secs_f64() * cores()) * 100.0;
                format!(
                    "CPU this process {:.2} s / rest of the machine {:.2} s ({busy:.0} % of {} cores busy)",
                    p1 - p0,
                    ((m1 - m0) - (p1 - p0)).max(0.0),
                    cores()
                )
            }
            _ => "CPU —".to_owned(),
        };
        (elapsed, cpu)
    }
}

/// Prints one result line of a bench's table: `| name | n calls | p50 | p99 | max | calls/s | cpu |`.
pub fn print_row(name: &str, s: &Summary, cpu: &str) {
    let ms = |d: Duration| format!("{:.2}", crate::ms(d));
    println!(
        "| {name} | {} calls | p50 {} ms | p99 {} ms | max {} ms | {:.0} calls/s | {cpu} |",
        s.count,
        ms(s.p50),
        ms(s.p99),
        ms(s.max),
        s.throughput().unwrap_or(0.0),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phase_is_measured() {
        let meter = Meter::start();
        let mut x = 0u64;
        for i in 0..200_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert_ne!(x, 1);
        let (elapsed, cpu) = meter.stop();
        assert!(elapsed > Duration::ZERO);
        if cfg!(target_os = "linux") {
            assert!(cpu.starts_with("CPU this process "), "{cpu}");
        }
        assert!(cores() >= 1.0);
    }
}
