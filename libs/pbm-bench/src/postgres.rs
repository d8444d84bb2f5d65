//! The PostgreSQL baseline of a bench on PostgreSQL: the server's durability settings and a
//! single-row-INSERT `pgbench` on the same server, printed as table rows (docs/BENCHMARKS.md
//! "Method": a write figure is compared with a durable PostgreSQL's in the same run).

use std::path::PathBuf;

use crate::machine::Meter;

/// A PostgreSQL program (`psql`, `pgbench`) on PATH or under Debian's /usr/lib/postgresql.
pub fn pg_bin(name: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name));
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin").join(name));
    on_path.chain(debian).find(|p| p.is_file())
}

/// Runs `sql` with `psql` on `url`: what it printed, unaligned, without headers.
pub fn psql(url: &str, sql: &str) -> Option<String> {
    let out = std::process::Command::new(pg_bin("psql")?)
        .args([url, "-qAtc", sql])
        .stderr(std::process::Stdio::inherit())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Prints the server's durability settings and runs a single-row-INSERT `pgbench` on it
/// (`clients` clients, 5 s), printing its tps and the CPU it took; `name` tells the script's
/// file apart.
pub fn baseline(url: &str, clients: usize, name: &str) {
    let setting = |s: &str| psql(url, &format!("SHOW {s}")).unwrap_or("?".into());
    println!(
        "| PostgreSQL settings | fsync = {} | synchronous_commit = {} | full_page_writes = {} | shared_buffers = {} |",
        setting("fsync"),
        setting("synchronous_commit"),
        setting("full_page_writes"),
        setting("shared_buffers"),
    );
    let Some(bin) = pg_bin("pgbench") else {
        println!("| pgbench | not found |");
        return;
    };
    psql(
        url,
        "CREATE TABLE IF NOT EXISTS bench_rows (id BIGSERIAL PRIMARY KEY, payload TEXT)",
    );
    let script = std::env::temp_dir().join(format!("{name}-{}.sql", std::process::id()));
    if std::fs::write(&script, "INSERT INTO bench_rows (payload) VALUES ('x');\n").is_err() {
        println!("| pgbench | no script file |");
        return;
    }
    let meter = Meter::start();
    let out = std::process::Command::new(bin)
        .args(["-n", "-c", &clients.to_string(), "-j", "2", "-T", "5", "-f"])
        .arg(&script)
        .arg(url)
        .output();
    let (_, cpu) = meter.stop();
    let _ = std::fs::remove_file(&script);
    let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    let tps = text.ok().and_then(|t| {
        t.lines().find(|l| l.starts_with("tps = ")).and_then(|l| {
            l["tps = ".len()..]
                .split_whitespace()
                .next()
                .map(str::to_owned)
        })
    });
    println!(
        "| pgbench single-row INSERT, {clients} clients, 5 s | {} tps | {cpu} |",
        tps.unwrap_or("—".into())
    );
}
