//! SubmitGoal under load (issue 4): a declaration with 10 indicators (8 from the library,
//! re-resolved over gRPC at submission, 2 specific) submitted by 16 concurrent clients on
//! PostgreSQL — target p99 ≤ 25 ms — and the throughput compared with a single-row-insert
//! `pgbench` on the same PostgreSQL in the same run — target ≥ 30 %.
//!
//! ```text
//! PBM_TEST_DATABASE_URL=postgres://… cargo bench -p pbm-goal --bench submit
//! ```
//! The indicator service runs in the same server on SQLite (as `pbm serve` embeds it);
//! `pgbench` is looked up on PATH and in /usr/lib/postgresql/*/bin. Knobs: `BENCH_CLIENTS`
//! (16), `BENCH_GOALS_PER_CLIENT` (250: 4,000 submissions per round, a second or more of
//! steady state rather than the warm-up alone), `BENCH_PGBENCH_SECS` (10), `BENCH_ROUNDS` (3:
//! the submissions and both pgbench runs alternate that many times; this machine's capacity
//! drifts by ± 10–15 % from one minute to the next, so the ratio judged is the rounds' median,
//! and p99 is over every submission). Before the rounds, 50 submissions per client warm up
//! unmeasured and the seeded tables are vacuumed. Each round also prints the CPU per
//! submission (this process / the rest of the machine), how busy the machine was during the
//! submissions and during pgbench, and the WAL written per submission. Exit
//! code 3 when a target is missed. Percentiles, the rounds' median (for an even count of rounds
//! the lower middle one) and the closing verdict block are pbm-bench's.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use ed25519_dalek::SigningKey;
use pbm_auth::{AuthLayer, Claims, Ed25519Verifier, Role, TokenSigner};
use pbm_bench::machine::{cores, cpu_seconds};
use pbm_bench::{Check, Cmp, Latencies, Verdict};
use pbm_db::testing::TestDatabase;
use pbm_proto::common::v1::Decimal;
use pbm_proto::goal::v1 as pb;
use pbm_proto::goal::v1::goal_service_client::GoalServiceClient;
use pbm_proto::indicator::v1 as ind;
use pbm_proto::indicator::v1::indicator_service_client::IndicatorServiceClient;
use pbm_server::ServeOptions;
use pbm_types::{DivisionCode, FiscalYear};
use tonic::transport::Channel;

const REGION: &str = "140500";
const FY: i32 = 2026;
/// Submissions per client before the measured rounds, not measured.
const WARM_UP: usize = 50;

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn req<T>(token: &str, msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

fn dec(v: &str) -> Option<Decimal> {
    Some(Decimal { value: v.into() })
}

fn pgbench() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("pgbench"));
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin/pgbench"));
    on_path.chain(debian).find(|p| p.is_file())
}

/// The issue's reference: one single-row `INSERT` per transaction.
const SINGLE_INSERT: &str = "INSERT INTO bench_rows (payload) VALUES ('x');\n";

/// For comparison only: the statement shape of one workflow step on PostgreSQL when it runs
/// alone (docs/BENCHMARKS.md): one read (the goal with its declaration, project and rules,
/// joined), then one data-modifying statement (the guarded state update with the history,
/// audit and idempotency inserts), each in autocommit. Under load the service batches steps
/// (`steps.rs`), several per statement.
const SUBMIT_SHAPE: &str = "\\set id random(1, 1000)
SELECT payload FROM bench_rows WHERE id = :id;
WITH moved AS (UPDATE bench_rows SET payload = 'y' WHERE id = :id + 1000 * (:client_id + 1) RETURNING id),
history AS (INSERT INTO bench_rows (payload) SELECT 'history' FROM moved),
audit AS (INSERT INTO bench_rows (payload) SELECT 'audit' FROM moved)
INSERT INTO bench_rows (payload) SELECT 'idempotency' FROM moved;
";

/// How busy the machine was, in percent of all its cores, when it spent `busy_seconds` of CPU
/// in `elapsed`.
fn busy_percent(busy_seconds: f64, elapsed: Duration) -> f64 {
    busy_seconds / (elapsed.as_secs_f64() * cores()) * 100.0
}

/// `script` with `clients` connections for `secs` seconds: transactions per second, and how
/// busy the machine was meanwhile (percent of all cores, when /proc tells).
fn pgbench_tps(
    url: &str,
    clients: usize,
    secs: usize,
    script_text: &str,
) -> Option<(f64, Option<f64>)> {
    let bin = pgbench()?;
    let dir = tempfile_dir();
    let script = dir.join("script.sql");
    std::fs::write(&script, script_text).ok()?;
    psql(
        url,
        "CREATE TABLE IF NOT EXISTS bench_rows (id BIGSERIAL PRIMARY KEY, payload TEXT)",
    )?;
    checkpoint(url);
    let (cpu_before, started) = (cpu_seconds(), Instant::now());
    let out = std::process::Command::new(&bin)
        .args([
            "-n",
            "-c",
            &clients.to_string(),
            "-j",
            "2",
            "-T",
            &secs.to_string(),
            "-f",
        ])
        .arg(&script)
        .arg(url)
        .output()
        .ok()?;
    let busy = match (cpu_before, cpu_seconds()) {
        (Some((_, m0)), Some((_, m1))) => Some(busy_percent(m1 - m0, started.elapsed())),
        _ => None,
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let tps = text
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l["tps = ".len()..].split_whitespace().next()?.parse().ok())?;
    Some((tps, busy))
}

/// Flushes PostgreSQL's dirty pages before a measured phase, so that no phase pays for the
/// checkpoint the previous one's writes brought on (best effort: needs the right to
/// `CHECKPOINT`; without `psql` nothing is done).
fn checkpoint(url: &str) {
    psql(url, "CHECKPOINT");
}

/// Runs `sql` with `psql` on `url` and returns what it printed, unaligned and without headers
/// (`None` when there is no `psql` or the statement failed; its error goes to stderr).
fn psql(url: &str, sql: &str) -> Option<String> {
    let psql = pgbench()?.with_file_name("psql");
    let out = std::process::Command::new(psql)
        .args([url, "-qAtc", sql])
        .stderr(std::process::Stdio::inherit())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// PostgreSQL's current WAL position in bytes (`None` without `psql`). The difference of two is
/// the WAL written in between, at once (`pg_stat_wal` lags behind until backends report).
fn wal_bytes(url: &str) -> Option<f64> {
    psql(url, "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")?
        .trim()
        .parse()
        .ok()
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pbm-submit-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

#[tokio::main]
async fn main() {
    let clients = knob("BENCH_CLIENTS", 16);
    let per_client = knob("BENCH_GOALS_PER_CLIENT", 250);
    let pg_secs = knob("BENCH_PGBENCH_SECS", 10);
    let rounds = knob("BENCH_ROUNDS", 3).max(1);
    let goal_db = TestDatabase::postgres().expect("set PBM_TEST_DATABASE_URL (PostgreSQL)");
    let library_db = TestDatabase::sqlite();
    let indicator = pbm_indicator::AppState::open(
        library_db.connect(),
        DivisionCode::parse(REGION).unwrap(),
        FiscalYear::new(FY).unwrap(),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut goal = pbm_goal::AppState::open(
        goal_db.connect(),
        DivisionCode::parse(REGION).unwrap(),
        pbm_goal::Library::new(&format!("http://{addr}")).unwrap(),
        pbm_goal::Pool::new(&format!("http://{addr}")).unwrap(),
    )
    .await
    .unwrap();
    let today = NaiveDate::from_ymd_opt(FY, 1, 15).unwrap();
    goal.today = Arc::new(move || today);
    let signer = TokenSigner::new("b", SigningKey::from_bytes(&[3u8; 32]));
    let options = ServeOptions {
        auth: AuthLayer::new(Ed25519Verifier::new().with_key("b", signer.verifying_key())),
        max_in_flight: 256,
        request_timeout: Duration::from_secs(30),
        health_services: vec![pbm_goal::HEALTH_NAME],
        tls: None,
        health_listen: None,
    };
    tokio::spawn(pbm_server::serve(
        listener,
        pbm_goal::add_to(pbm_indicator::router(indicator), goal),
        options,
        std::future::pending(),
    ));
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .tcp_nodelay(true)
        .connect()
        .await
        .unwrap();
    let token = |role: Role, unit: Option<&str>| {
        signer.sign(
            &Claims::new(format!("bench-{role}"), role, REGION, 3600)
                .with_unit(unit)
                .with_department(Some("140500100")),
        )
    };
    let finance = token(Role::FinanceAdmin, None);

    // --- The library: 8 indicators (4 产出, 3 效益, 1 满意度) ---------------------------------
    let library = IndicatorServiceClient::new(channel.clone());
    let picks = [
        ("O1", "101", "新建工程数量", "处"),
        ("O2", "101", "培训人次", "人次"),
        ("O3", "102", "工程验收合格率", "%"),
        ("O4", "103", "按期完工率", "%"),
        ("B1", "202", "受益人口", "人"),
        ("B2", "202", "新增就业人数", "人"),
        ("B3", "204", "设施持续使用年限", "年"),
        ("S1", "301", "受益群众满意度", "%"),
    ];
    for (code, node, name, unit) in picks {
        library
            .clone()
            .create_indicator(req(
                &finance,
                ind::CreateIndicatorRequest {
                    request_id: format!("lib-{code}"),
                    code: code.into(),
                    spec: Some(ind::IndicatorSpec {
                        fiscal_year: FY,
                        frame_node_code: node.into(),
                        name: name.into(),
                        kind: ind::IndicatorKind::Common as i32,
                        direction: ind::Direction::Ge as i32,
                        unit: unit.into(),
                        explanation: format!("{name}的说明"),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .unwrap();
    }
    let declaration = move |code: &str| pb::GoalDeclaration {
        pro_code: code.into(),
        fiscal_year: FY,
        year_goal: "完成年度建设任务，受益群众满意度达到90%以上".into(),
        serves_people: true,
        indicators: picks
            .iter()
            .map(|(c, ..)| pb::GoalIndicator {
                library_code: (*c).into(),
                target_value: "90".into(),
                ..Default::default()
            })
            .chain([
                pb::GoalIndicator {
                    level2: pb::Level2::Quality as i32,
                    name: "资料归档完整率".into(),
                    direction: ind::Direction::Ge as i32,
                    unit: "%".into(),
                    target_value: "100".into(),
                    ..Default::default()
                },
                pb::GoalIndicator {
                    level2: pb::Level2::Social as i32,
                    name: "群众反映问题办结率".into(),
                    direction: ind::Direction::Ge as i32,
                    unit: "%".into(),
                    target_value: "95".into(),
                    ..Default::default()
                },
            ])
            .collect(),
        ..Default::default()
    };

    // --- Drafts: every client has its own unit and goals, seeded by all clients at once ---
    let goals_client = GoalServiceClient::new(channel.clone());
    let seeded = Instant::now();
    let mut seeding = Vec::new();
    for c in 0..clients {
        let goals_client = goals_client.clone();
        let unit = format!("1405001{c:02}");
        let unit_token = token(Role::BudgetUnit, Some(&unit));
        seeding.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for k in 0..WARM_UP + per_client * rounds {
                let code = format!("P-{c:02}-{k:05}");
                goals_client
                    .clone()
                    .declare_project(req(
                        &unit_token,
                        pb::DeclareProjectRequest {
                            request_id: format!("p-{code}"),
                            spec: Some(pb::ProjectSpec {
                                pro_code: code.clone(),
                                name: format!("{code} 项目"),
                                agency_code: unit.clone(),
                                department_code: "140500100".into(),
                                fiscal_year: FY,
                                fund_source: pb::FundSource::GeneralPublic as i32,
                                special_field: pb::SpecialField::None as i32,
                                continuity: pb::Continuity::Continuing as i32,
                                nature: pb::Nature::Project as i32,
                                requested_amount: dec("500000"),
                                ..Default::default()
                            }),
                            expected_version: 0,
                        },
                    ))
                    .await
                    .unwrap();
                let g = goals_client
                    .clone()
                    .save_goal(req(
                        &unit_token,
                        pb::SaveGoalRequest {
                            request_id: format!("g-{code}"),
                            declaration: Some(declaration(&code)),
                            expected_revision: 0,
                        },
                    ))
                    .await
                    .unwrap()
                    .into_inner()
                    .goal
                    .unwrap();
                mine.push(g);
            }
            mine
        }));
    }
    let mut drafts: Vec<Vec<pb::Goal>> = Vec::new();
    for task in seeding {
        drafts.push(task.await.unwrap());
    }
    eprintln!(
        "seeded {} drafts with 10 indicators in {:.1} s",
        clients * (WARM_UP + per_client * rounds),
        seeded.elapsed().as_secs_f64()
    );
    let unit_tokens: Vec<String> = (0..clients)
        .map(|c| token(Role::BudgetUnit, Some(&format!("1405001{c:02}"))))
        .collect();
    let ms = |d: Duration| format!("{:.2}", pbm_bench::ms(d));
    let percent = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{:.1} %", v * 100.0));
    let cores = cores();
    let mut all = Latencies::new();
    let mut ratios = Vec::new();
    // Warm-up, not measured: the first submissions after seeding pay for first touches
    // (memory, connections, caches); then the seeded tables are vacuumed and analysed, as a
    // running database's are, so that no measured round pays for autovacuum.
    let warm: Vec<Vec<pb::Goal>> = drafts
        .iter_mut()
        .map(|d| d.drain(..WARM_UP).collect())
        .collect();
    submit_round(addr, warm, &unit_tokens).await;
    psql(goal_db.url(), "VACUUM ANALYZE");
    for round in 1..=rounds {
        // --- 16 clients submit concurrently, then pgbench on the same PostgreSQL ------------
        let mine: Vec<Vec<pb::Goal>> = drafts
            .iter_mut()
            .map(|d| d.drain(..per_client).collect())
            .collect();
        checkpoint(goal_db.url());
        let wal_before = wal_bytes(goal_db.url());
        let cpu_before = cpu_seconds();
        let started = Instant::now();
        let mut latencies = submit_round(addr, mine, &unit_tokens).await;
        let elapsed = started.elapsed();
        let cpu_after = cpu_seconds();
        let wal = match (wal_before, wal_bytes(goal_db.url())) {
            (Some(a), Some(b)) => format!("{:.0} B", (b - a) / latencies.len() as f64),
            _ => "—".to_owned(),
        };
        let round_summary = latencies
            .summary(Some(elapsed))
            .expect("BENCH_GOALS_PER_CLIENT ≥ 1");
        let rate = round_summary.throughput().unwrap_or(0.0);
        let (tps, pgbench_busy) = pgbench_tps(goal_db.url(), clients, pg_secs, SINGLE_INSERT)
            .map_or((None, None), |(t, b)| (Some(t), b));
        let shaped = pgbench_tps(goal_db.url(), clients, pg_secs, SUBMIT_SHAPE).map(|(t, _)| t);
        let ratio = tps.map(|t| rate / t);
        ratios.extend(ratio);
        let cpu = match (cpu_before, cpu_after) {
            (Some((p0, m0)), Some((p1, m1))) => {
                let us = |s: f64| s / latencies.len() as f64 * 1e6;
                let busy = busy_percent(m1 - m0, elapsed);
                format!(
                    "{:.0} / {:.0} µs (machine {busy:.0} % busy)",
                    us(p1 - p0),
                    us((m1 - m0) - (p1 - p0))
                )
            }
            _ => "—".to_owned(),
        };
        let budget = tps.map_or("—".to_owned(), |t| {
            format!("{:.0} µs", cores / (0.30 * t) * 1e6)
        });
        println!(
            "| round {round} | {} submits | p50 {} ms | p99 {} ms | max {} ms | {rate:.0} submits/s | pgbench 1-row INSERT {} tps (machine {} busy) | ratio **{}** | same-shape pgbench {} tps ({}) | CPU per submission, this process (services + {clients} gRPC clients) / rest of the machine (PostgreSQL, kernel): {cpu}; 30 % of pgbench on {cores} cores allows {budget} | WAL per submission {wal} |",
            round_summary.count,
            ms(round_summary.p50),
            ms(round_summary.p99),
            ms(round_summary.max),
            tps.map_or("—".to_owned(), |t| format!("{t:.0}")),
            pgbench_busy.map_or("—".to_owned(), |b| format!("{b:.0} %")),
            percent(ratio),
            shaped.map_or("—".to_owned(), |t| format!("{t:.0}")),
            percent(shaped.map(|t| rate / t)),
        );
        all.append(latencies);
    }
    let median = pbm_bench::median(&ratios);
    let all = all.summary(None).expect("at least one round");
    println!(
        "| SubmitGoal, 10 indicators (8 resolved in the library over gRPC), {clients} clients, PostgreSQL, {rounds} rounds | {} submits | p50 {} ms | p99 {} ms | max {} ms | target p99 ≤ 25 ms |",
        all.count,
        ms(all.p50),
        ms(all.p99),
        ms(all.max),
    );
    println!(
        "| SubmitGoal / pgbench single-row INSERT ({clients} clients, same PostgreSQL, {pg_secs} s after each round) | rounds {} | median **{}** | target ≥ 30 % |",
        ratios
            .iter()
            .map(|r| format!("{:.1} %", r * 100.0))
            .collect::<Vec<_>>()
            .join(", "),
        percent(median),
    );
    Verdict::new("PostgreSQL")
        .check(Check::at_most_ms(
            "SubmitGoal p99 over every submission",
            all.p99,
            Duration::from_millis(25),
        ))
        .check(Check::new(
            "SubmitGoal / pgbench single-row INSERT, median of the rounds",
            median.map(|r| r * 100.0),
            Cmp::AtLeast,
            30.0,
            "%",
        ))
        .finish();
}

/// Every client submits its drafts one after the other, all clients at once, each on its own
/// connection (as 16 clerks' browsers or systems would be): the latency of every submission.
async fn submit_round(
    addr: std::net::SocketAddr,
    drafts: Vec<Vec<pb::Goal>>,
    unit_tokens: &[String],
) -> Latencies {
    let mut tasks = Vec::new();
    for (c, mine) in drafts.into_iter().enumerate() {
        // Each client on its own connection, as 16 clerks' browsers or systems would be.
        let client = GoalServiceClient::new(
            Channel::from_shared(format!("http://{addr}"))
                .unwrap()
                .tcp_nodelay(true)
                .connect()
                .await
                .unwrap(),
        );
        let unit_token = unit_tokens[c].clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(mine.len());
            for g in mine {
                let t = Instant::now();
                client
                    .clone()
                    .submit_goal(req(
                        &unit_token,
                        pb::SubmitGoalRequest {
                            request_id: format!("s-{}", g.id),
                            goal_id: g.id,
                            expected_revision: g.revision,
                        },
                    ))
                    .await
                    .unwrap();
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Latencies::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    latencies
}
