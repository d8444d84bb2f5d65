//! The monitoring service at a city's scale (docs/MONITORING.md "Numbers", docs/BENCHMARKS.md
//! "Monitoring"): 10,000 approved goals with 8 indicators each, over real gRPC against the goal
//! and monitoring services on one server (as `pbm serve` hosts them: the monitoring service
//! snapshots the goals through StreamApprovedGoals on loopback), with the production stack
//! (authentication, limits, the 10 s request timeout of `PBM_REQUEST_TIMEOUT_SECS`).
//!
//! ```text
//! cargo bench -p pbm-monitoring --bench monitoring                 # PostgreSQL when PBM_TEST_DATABASE_URL is set, else SQLite
//! cargo bench -p pbm-monitoring --bench monitoring -- --sqlite     # SQLite (embedded) even so
//! ```
//! Measured, in this order, on one round of months 1–6:
//! 1. OpenRound over the 10,000 goals: wall time, with where it goes: the snapshot stream
//!    alone (StreamApprovedGoals as the round asks for it, timed by this client) and the
//!    recompute of every subject alone (SetRoundRules right after, which re-pins and recomputes);
//!    the rest is the round's inserts, the audit line and the idempotency record.
//! 2. PushExecution of 10,000 rows (each project's cumulative execution to month 4, 5, then 6;
//!    one call each) with the recompute of the 10,000 affected subjects: wall time per call.
//!    Project i executes 15 % of its budget by June when i % 7 = 3 (one in seven, ≈ 14 %:
//!    deviated), 55 % otherwise.
//!    Then StreamExecutionSummary of every project (figures and warnings, as the evaluation
//!    service reads them when a self-evaluation opens; ≤ 1 s, docs/MONITORING.md "Numbers"):
//!    slowest of 3 calls.
//! 3. SaveReport with 8 indicators by `BENCH_CLIENTS` (16) units at once, each on its own 25
//!    subjects, `BENCH_SAVES_PER_CLIENT` (100) saves each; then SubmitReport of those reports
//!    by the same clients: p50/p99 and throughput.
//! 4. ListDeviations of the round, pages of 50, walked from the first page to the last by
//!    `BENCH_LIST_CLIENTS` (8) finance clients at once, `BENCH_LIST_WALKS` (3) walks each.
//! 5. CheckPaymentHolds with 2,000 codes (200 of them decided: 暂缓拨款 or 停止拨款),
//!    `BENCH_RUNS` (20) calls after 3 warm-up calls.
//!
//! Baselines in the same run, printed first and last: a bare tonic echo server in this process
//! (`pbm.bench.v1.EchoService`, no layers; `BENCH_CLIENTS` clients for 3 s: how fast this
//! machine answers a gRPC call right now, and how busy the rest of the machine is), and on
//! PostgreSQL a single-row-INSERT `pgbench` (`BENCH_CLIENTS` clients, 5 s) on the same server,
//! with its `fsync` and `synchronous_commit`. Every phase prints the CPU it took in this
//! process (services and clients) and in the rest of the machine (the database server, the
//! kernel, other work). The design targets are docs/drafts/MONITORING.md's (the issue names
//! none); exit code 3 when one is missed. Percentiles and the verdict are pbm-bench's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use pbm_bench::machine::{Meter, cores, print_row};
use pbm_bench::{Check, Latencies, Verdict};
use pbm_db::StoreError;
use pbm_goal::domain::workflow::{Action, Actor, GoalState, ReviewOutcome, Role as GoalRole};
use pbm_goal::store::{GoalRow, ProjectRow};
use pbm_proto::common::v1::{Decimal, PageRequest};
use pbm_proto::goal::v1 as pb;
use pbm_proto::goal::v1::goal_service_client::GoalServiceClient;
use pbm_proto::indicator::v1 as ind;
use pbm_proto::indicator::v1::indicator_service_client::IndicatorServiceClient;
use pbm_proto::monitoring::v1 as mon;
use pbm_server::ServeOptions;
use pbm_testkit::echo::connect;
use pbm_testkit::{TestDatabase, Tokens, Who};
use pbm_types::{DivisionCode, FiscalYear};
use tokio_stream::StreamExt;
use tonic::transport::Channel;

const REGION: &str = "140500";
const FY: i32 = 2026;
/// 40 departments of 10 units each; project i belongs to department i % 40, unit (i / 40) % 10.
const DEPARTMENTS: usize = 40;
const UNITS: usize = 10;

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn dec(v: &str) -> Option<Decimal> {
    Some(Decimal { value: v.into() })
}

fn department(d: usize) -> String {
    format!("1405{d:02}000")
}

fn unit_code(d: usize, u: usize) -> String {
    format!("1405{d:02}{:03}", u + 1)
}

fn pro_code(i: usize) -> String {
    format!("{REGION}-{FY}-{i:05}")
}

/// Project i's department and unit.
fn owner(i: usize) -> (String, String) {
    let (d, u) = (i % DEPARTMENTS, (i / DEPARTMENTS) % UNITS);
    (department(d), unit_code(d, u))
}

/// The budget unit (d, u) as a caller.
fn unit_caller(d: usize, u: usize) -> Who {
    Who::unit(REGION, &department(d), &unit_code(d, u))
}

/// One project in seven spends slowly (15 % of its budget by June): it deviates.
fn slow(i: usize) -> bool {
    i % 7 == 3
}

// -- the machine -----------------------------------------------------------------------------------

fn secs(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64())
}

// -- seeding ---------------------------------------------------------------------------------------

fn approved_state() -> GoalState {
    let (unit, finance) = (
        Actor::new(GoalRole::BudgetUnit, "u"),
        Actor::new(GoalRole::Finance, "f"),
    );
    let review = Action::Review {
        outcome: ReviewOutcome::Excellent,
        comments: String::new(),
    };
    let mut s = GoalState {
        revision: 1,
        ..GoalState::new()
    };
    for (action, actor) in [
        (Action::Submit, &unit),
        (review, &finance),
        (Action::Approve, &finance),
    ] {
        s = pbm_goal::domain::workflow::apply(&s, &action, actor)
            .unwrap()
            .to;
    }
    s
}

/// The 8 indicators of every goal (4 from the library, 4 specific), with their targets: a
/// report that achieves every target is on track.
fn indicators() -> Vec<pb::GoalIndicator> {
    let lib = |c: &str, t: &str| pb::GoalIndicator {
        library_code: c.into(),
        target_value: t.into(),
        ..Default::default()
    };
    let specific = |l2: pb::Level2, name: &str| pb::GoalIndicator {
        level2: l2 as i32,
        name: name.into(),
        direction: ind::Direction::Ge as i32,
        unit: "个".into(),
        target_value: "100".into(),
        ..Default::default()
    };
    vec![
        lib("OUT-001", "12"),
        lib("COST-001", "50"),
        lib("BEN-001", "32000"),
        lib("SAT-001", "90"),
        specific(pb::Level2::Quality, "工程验收合格数"),
        specific(pb::Level2::Timeliness, "按期完工工程数"),
        specific(pb::Level2::Economic, "带动就业岗位数"),
        specific(pb::Level2::Sustainability, "建立长效管护机制数"),
    ]
}

/// The library's four indicators, then project P-SEED with its saved (draft) goal of 8
/// indicators through the goal service; then `n` projects with an approved goal copied from it,
/// written through the goal service's store (as services/goal/tests/api/snapshot.rs `perf_10k`).
async fn seed(channel: &Channel, tokens: &Tokens, goal_db: &pbm_db::Db, n: usize) {
    let finance = Who::finance(REGION);
    let library = IndicatorServiceClient::new(channel.clone());
    for (code, node, name, unit, direction) in [
        (
            "OUT-001",
            "101",
            "新建农村饮水工程数量",
            "处",
            ind::Direction::Ge,
        ),
        (
            "COST-001",
            "104",
            "单位工程成本",
            "万元",
            ind::Direction::Le,
        ),
        ("BEN-001", "202", "受益人口", "人", ind::Direction::Ge),
        ("SAT-001", "301", "受益群众满意度", "%", ind::Direction::Ge),
    ] {
        let r = ind::CreateIndicatorRequest {
            request_id: tokens.rid(),
            code: code.into(),
            spec: Some(ind::IndicatorSpec {
                fiscal_year: FY,
                frame_node_code: node.into(),
                name: name.into(),
                kind: ind::IndicatorKind::Common as i32,
                direction: direction as i32,
                unit: unit.into(),
                explanation: format!("{name}的说明"),
                reference_target: "90".into(),
                scoring_rule: format!("{name}达到目标值得满分"),
                ..Default::default()
            }),
        };
        library
            .clone()
            .create_indicator(tokens.req(&finance, r))
            .await
            .unwrap();
    }
    let goals = GoalServiceClient::new(channel.clone());
    let seed_unit = unit_caller(0, 0);
    let spec = pb::ProjectSpec {
        pro_code: "P-SEED".into(),
        name: "P-SEED 农村饮水安全巩固提升工程".into(),
        agency_code: unit_code(0, 0),
        department_code: department(0),
        fiscal_year: FY,
        fund_source: pb::FundSource::GeneralPublic as i32,
        special_field: pb::SpecialField::None as i32,
        continuity: pb::Continuity::Continuing as i32,
        nature: pb::Nature::Project as i32,
        requested_amount: dec("1000000"),
        ..Default::default()
    };
    let r = pb::DeclareProjectRequest {
        request_id: tokens.rid(),
        spec: Some(spec),
        expected_version: 0,
    };
    goals
        .clone()
        .declare_project(tokens.req(&seed_unit, r))
        .await
        .unwrap();
    let r = pb::SaveGoalRequest {
        request_id: tokens.rid(),
        declaration: Some(pb::GoalDeclaration {
            pro_code: "P-SEED".into(),
            fiscal_year: FY,
            year_goal: "完成12处农村饮水工程，巩固提升3.2万人饮水安全".into(),
            serves_people: true,
            indicators: indicators(),
            ..Default::default()
        }),
        expected_revision: 0,
    };
    let template = goals
        .clone()
        .save_goal(tokens.req(&seed_unit, r))
        .await
        .unwrap()
        .into_inner()
        .goal
        .unwrap()
        .id;
    goal_db
        .write(move |conn| -> Result<(), StoreError> {
            use pbm_goal::store;
            let (text, _, _) = store::version(conn, template, 1)?.unwrap();
            let s = approved_state();
            let state = serde_json::to_string(&s).unwrap();
            let now = pbm_db::now();
            for i in 0..n {
                let (department_code, agency_code) = owner(i);
                let p = ProjectRow {
                    pro_code: pro_code(i),
                    fiscal_year: FY,
                    name: format!("项目{i}"),
                    agency_code,
                    department_code,
                    fund_source: "general_public".into(),
                    special_field: "none".into(),
                    continuity: "continuing".into(),
                    nature: "project".into(),
                    requested_amount: pbm_db::Money(rust_decimal::Decimal::new(1_000_000, 0)),
                    mid_term_from: None,
                    mid_term_to: None,
                    version: 1,
                    changed_by: "seed".into(),
                    changed_at: now,
                };
                store::insert_project(conn, &p)?;
                let id = store::insert_goal(
                    conn,
                    &GoalRow {
                        id: 0,
                        fiscal_year: FY,
                        target_kind: "project".into(),
                        target_code: p.pro_code.clone(),
                        agency_code: p.agency_code.clone(),
                        department_code: p.department_code.clone(),
                        status: s.status.kind().as_db().into(),
                        approved_version: Some(1),
                        published_version: None,
                        state: state.clone(),
                        revision: 4,
                        changed_by: "seed".into(),
                        changed_at: now,
                        working_version: 1,
                    },
                )?;
                let declaration = text.replace("\"P-SEED\"", &format!("\"{}\"", p.pro_code));
                store::insert_version(conn, id, 1, &declaration, "seed", now)?;
            }
            Ok(())
        })
        .await
        .unwrap();
}

// -- the measured calls ------------------------------------------------------------------------------

/// Each project's cumulative execution to `month` of a 1,000,000 元 budget.
fn execution(n: usize, month: i32) -> Vec<mon::ExecutionRow> {
    (0..n)
        .map(|i| {
            let (department_code, agency_code) = owner(i);
            let june: i64 = if slow(i) { 150_000 } else { 550_000 };
            mon::ExecutionRow {
                pro_code: pro_code(i),
                month,
                initial_budget: dec("1000000"),
                executed: dec(&(june * i64::from(month) / 6).to_string()),
                agency_code,
                department_code,
                name: format!("项目{i}"),
                ..Default::default()
            }
        })
        .collect()
}

/// A report on track: every indicator at its target, 确定能.
fn report(round_id: i64, key: &str, request_id: String, revision: i64) -> mon::SaveReportRequest {
    mon::SaveReportRequest {
        request_id,
        round_id,
        subject_key: key.into(),
        expected_revision: revision,
        indicators: indicators()
            .iter()
            .enumerate()
            .map(|(k, g)| mon::IndicatorReport {
                seq: i32::try_from(k + 1).unwrap(),
                achieved: g.target_value.clone(),
                forecast: g.target_value.clone(),
                likelihood: mon::Likelihood::Certain as i32,
                ..Default::default()
            })
            .collect(),
        execution_narrative: "按合同进度支付，下半年完成剩余工程款拨付".into(),
        expected_year_end_execution: dec("1000000"),
    }
}

/// The subjects of client c's unit (department c % 40, its first unit): 25 project codes.
fn subjects_of_client(c: usize, n: usize) -> Vec<String> {
    let (d, u) = (c % DEPARTMENTS, c / DEPARTMENTS);
    (0..n)
        .filter(|i| i % DEPARTMENTS == d && (i / DEPARTMENTS) % UNITS == u)
        .map(pro_code)
        .collect()
}

/// `clients` units save reports on their own subjects at once, `per_client` saves each
/// (round-robin over the subjects, each save on the revision the last one returned); then the
/// same clients submit the reports. The latencies of the saves and of the submissions.
async fn reports(
    addr: std::net::SocketAddr,
    tokens: &Arc<Tokens>,
    round_id: i64,
    n: usize,
    clients: usize,
    per_client: usize,
) -> (Latencies, Duration, String, Latencies, Duration, String) {
    let mut clients_state = Vec::new();
    for c in 0..clients {
        let client = mon::report_service_client::ReportServiceClient::new(connect(addr).await);
        clients_state.push((client, subjects_of_client(c, n), c));
    }
    let meter = Meter::start();
    let mut tasks = Vec::new();
    for (client, keys, c) in clients_state.clone() {
        let tokens = tokens.clone();
        tasks.push(tokio::spawn(async move {
            let who = unit_caller(c % DEPARTMENTS, c / DEPARTMENTS);
            let mut revisions = vec![(0i64, 0i64); keys.len()];
            let mut l = Vec::with_capacity(per_client);
            for k in 0..per_client {
                let s = k % keys.len();
                let r = report(round_id, &keys[s], tokens.rid(), revisions[s].1);
                let t = Instant::now();
                let saved = client
                    .clone()
                    .save_report(tokens.req(&who, r))
                    .await
                    .unwrap()
                    .into_inner()
                    .report
                    .unwrap();
                l.push(t.elapsed());
                revisions[s] = (saved.id, saved.revision);
            }
            (l, revisions)
        }));
    }
    let mut saves = Latencies::new();
    let mut saved = Vec::new();
    for t in tasks {
        let (l, revisions) = t.await.unwrap();
        saves.extend(l);
        saved.push(revisions);
    }
    let (save_wall, save_cpu) = meter.stop();
    let meter = Meter::start();
    let mut tasks = Vec::new();
    for ((client, _, c), revisions) in clients_state.into_iter().zip(saved) {
        let tokens = tokens.clone();
        tasks.push(tokio::spawn(async move {
            let who = unit_caller(c % DEPARTMENTS, c / DEPARTMENTS);
            let mut l = Vec::new();
            for (id, revision) in revisions.into_iter().filter(|(id, _)| *id != 0) {
                let m = mon::SubmitReportRequest {
                    request_id: tokens.rid(),
                    report_id: id,
                    expected_revision: revision,
                };
                let t = Instant::now();
                client
                    .clone()
                    .submit_report(tokens.req(&who, m))
                    .await
                    .unwrap();
                l.push(t.elapsed());
            }
            l
        }));
    }
    let mut submits = Latencies::new();
    for t in tasks {
        submits.extend(t.await.unwrap());
    }
    let (submit_wall, submit_cpu) = meter.stop();
    (saves, save_wall, save_cpu, submits, submit_wall, submit_cpu)
}

/// Finance walks the deviation list from the first page to the last: the keys and the latency
/// of every page.
async fn walk_deviations(
    client: &mon::deviation_service_client::DeviationServiceClient<Channel>,
    tokens: &Tokens,
    round_id: i64,
) -> (Vec<String>, Vec<Duration>) {
    let finance = Who::finance(REGION);
    let (mut keys, mut l, mut token) = (Vec::new(), Vec::new(), String::new());
    loop {
        let m = mon::ListDeviationsRequest {
            round_id,
            department_code: String::new(),
            page: Some(PageRequest {
                page_size: 50,
                page_token: token,
            }),
        };
        let t = Instant::now();
        let page = client
            .clone()
            .list_deviations(tokens.req(&finance, m))
            .await
            .unwrap()
            .into_inner();
        l.push(t.elapsed());
        keys.extend(
            page.deviations
                .iter()
                .map(|d| d.subject.as_ref().unwrap().subject_key.clone()),
        );
        token = page.page.unwrap_or_default().next_page_token;
        if token.is_empty() {
            return (keys, l);
        }
    }
}

#[tokio::main]
async fn main() {
    let n = knob("BENCH_GOALS", 10_000);
    let clients = knob("BENCH_CLIENTS", 16);
    let per_client = knob("BENCH_SAVES_PER_CLIENT", 100);
    let list_clients = knob("BENCH_LIST_CLIENTS", 8);
    let list_walks = knob("BENCH_LIST_WALKS", 3);
    let runs = knob("BENCH_RUNS", 20);
    let timeout = Duration::from_secs(knob("BENCH_REQUEST_TIMEOUT_SECS", 10) as u64);
    let force_sqlite = std::env::args().any(|a| a == "--sqlite");
    let (db, goal_db) = match (!force_sqlite).then(TestDatabase::postgres).flatten() {
        Some(db) => (db, TestDatabase::postgres().unwrap()),
        None => (TestDatabase::sqlite(), TestDatabase::sqlite()),
    };
    let backend = match db.backend() {
        pbm_db::Backend::Postgres => "PostgreSQL",
        pbm_db::Backend::Sqlite => "SQLite",
    };
    println!(
        "## monitoring bench: {backend} ({}), {n} goals × 8 indicators, {} cores, request timeout {} s",
        db.url().rsplit('/').next().unwrap_or_default(),
        cores(),
        timeout.as_secs()
    );

    // --- The echo baseline and the database's ---------------------------------------------------
    let echo_addr = pbm_testkit::echo::serve().await;
    pbm_testkit::echo::baseline(echo_addr, clients, 3, "before").await;
    if db.backend() == pbm_db::Backend::Postgres {
        pbm_bench::postgres::baseline(db.url(), clients, "pbm-monitoring-bench");
    }

    // --- The server: indicator library (SQLite), goal and monitoring services -------------------
    let region = DivisionCode::parse(REGION).unwrap();
    let library_db = TestDatabase::sqlite();
    let indicator = pbm_indicator::AppState::open(
        library_db.connect(),
        region.clone(),
        FiscalYear::new(FY).unwrap(),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let url = format!("http://{addr}");
    let mut goal = pbm_goal::AppState::open(
        goal_db.connect(),
        region.clone(),
        pbm_goal::Library::new(&url).unwrap(),
        pbm_goal::Pool::new(&url).unwrap(),
    )
    .await
    .unwrap();
    let goal_today = NaiveDate::from_ymd_opt(FY, 1, 15).unwrap();
    goal.today = Arc::new(move || goal_today);
    let goal_store = goal.db.clone();
    let tls = pbm_proto::tls::ClientTlsFiles::default();
    let mut monitoring = pbm_monitoring::AppState::open(
        db.connect(),
        region,
        pbm_monitoring::clients::Goals::over_tls(&url, &tls).unwrap(),
        pbm_monitoring::clients::Pool::over_tls(&url, &tls).unwrap(),
    )
    .await
    .unwrap();
    let july = NaiveDate::from_ymd_opt(FY, 7, 5).unwrap();
    monitoring.today = Arc::new(move || july);
    let tokens = Arc::new(Tokens::default());
    let options = ServeOptions {
        auth: tokens.auth_layer(),
        // The production defaults (ServerArgs): 256 in flight, a 10 s deadline.
        max_in_flight: 256,
        request_timeout: timeout,
        health_services: vec![pbm_monitoring::HEALTH_NAME],
        tls: None,
        health_listen: None,
    };
    let routes = pbm_monitoring::add_to(
        pbm_goal::add_to(pbm_indicator::router(indicator), goal),
        monitoring,
    );
    tokio::spawn(pbm_server::serve(
        listener,
        routes,
        options,
        std::future::pending(),
    ));
    let channel = connect(addr).await;
    let finance = Who::finance(REGION);
    let seeded = Instant::now();
    seed(&channel, &tokens, &goal_store, n).await;
    println!(
        "| seed | {n} approved goals × 8 indicators through the goal store | {} s |",
        secs(seeded.elapsed())
    );

    // --- 1. OpenRound ----------------------------------------------------------------------------
    let ask = pb::StreamApprovedGoalsRequest {
        fiscal_year: FY,
        include_unapproved: true,
        ..Default::default()
    };
    let goals = GoalServiceClient::new(channel.clone()).max_decoding_message_size(16 << 20);
    let meter = Meter::start();
    let items: Vec<pb::ApprovedGoalItem> = goals
        .clone()
        .stream_approved_goals(tokens.req(&finance, ask))
        .await
        .unwrap()
        .into_inner()
        .collect::<Result<_, _>>()
        .await
        .unwrap();
    let (stream_wall, stream_cpu) = meter.stop();
    println!(
        "| StreamApprovedGoals alone ({} items, as OpenRound asks) | {} s | {stream_cpu} |",
        items.len(),
        secs(stream_wall)
    );
    let rounds = mon::round_service_client::RoundServiceClient::new(channel.clone());
    let open = mon::OpenRoundRequest {
        request_id: tokens.rid(),
        fiscal_year: FY,
        name: "2026年1-6月绩效运行监控".into(),
        months_to: 6,
        starts_on: "2026-07-01".into(),
        deadline: "2026-07-15".into(),
        lead_days: 3,
        scope: Some(mon::RoundScope::default()),
    };
    let meter = Meter::start();
    let opened = rounds.clone().open_round(tokens.req(&finance, open)).await;
    let (open_wall, open_cpu) = meter.stop();
    let round = match opened {
        Ok(r) => r.into_inner().round.unwrap(),
        Err(status) => {
            println!(
                "| OpenRound, {n} goals | FAILED after {} s: {:?} {} |",
                secs(open_wall),
                status.code(),
                status.message()
            );
            Verdict::new(backend)
                .check(Check::at_most(
                    "OpenRound answered within the request timeout",
                    open_wall.as_secs_f64(),
                    timeout.as_secs_f64(),
                    "s",
                ))
                .finish();
            return;
        }
    };
    println!(
        "| OpenRound, {n} goals × 8 indicators | {} s | {open_cpu} |",
        secs(open_wall)
    );
    let meter = Meter::start();
    let round = rounds
        .clone()
        .set_round_rules(tokens.req(
            &finance,
            mon::SetRoundRulesRequest {
                request_id: tokens.rid(),
                round_id: round.id,
                expected_revision: round.revision,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    let (recompute_wall, recompute_cpu) = meter.stop();
    println!(
        "| SetRoundRules (recompute of every subject, no execution or reports yet) | {} s | {recompute_cpu} |",
        secs(recompute_wall)
    );

    // --- 2. PushExecution ------------------------------------------------------------------------
    let execution_client =
        mon::execution_service_client::ExecutionServiceClient::new(channel.clone())
            .max_decoding_message_size(64 << 20)
            .max_encoding_message_size(64 << 20);
    let mut push_max = Duration::ZERO;
    for month in [4, 5, 6] {
        let m = mon::PushExecutionRequest {
            request_id: tokens.rid(),
            fiscal_year: FY,
            rows: execution(n, month),
        };
        let meter = Meter::start();
        let pushed = execution_client
            .clone()
            .push_execution(tokens.req(&finance, m))
            .await;
        let (wall, cpu) = meter.stop();
        push_max = push_max.max(wall);
        let pushed = match pushed {
            Ok(p) => p.into_inner(),
            Err(status) => {
                // Cancelled by the request timeout, its transaction may still commit: the
                // next month's push is then measured against what it left.
                println!(
                    "| PushExecution, {n} rows of month {month} | FAILED after {} s: {:?} {} | {cpu} |",
                    secs(wall),
                    status.code(),
                    status.message()
                );
                continue;
            }
        };
        assert_eq!(
            pushed.rejected,
            0,
            "{:?}",
            pushed.results.iter().find(|r| !r.reason.is_empty())
        );
        println!(
            "| PushExecution, {n} rows of month {month} ({} created), {} subjects recomputed | {} s | {cpu} |",
            pushed.created,
            pushed.subjects_recomputed,
            secs(wall)
        );
    }

    // --- 2b. StreamExecutionSummary -------------------------------------------------------------
    // Every project with its figures and its warnings in the round, as the evaluation service
    // reads them when a year's self-evaluation opens: slowest of 3 calls.
    let mut summary_max = Duration::ZERO;
    for _ in 0..3 {
        let ask = mon::StreamExecutionSummaryRequest {
            fiscal_year: FY,
            pro_codes: Vec::new(),
        };
        let meter = Meter::start();
        let items: Vec<mon::ExecutionSummary> = execution_client
            .clone()
            .stream_execution_summary(tokens.req(&finance, ask))
            .await
            .unwrap()
            .into_inner()
            .collect::<Result<_, _>>()
            .await
            .unwrap();
        let (wall, cpu) = meter.stop();
        summary_max = summary_max.max(wall);
        let red = items.iter().filter(|s| s.red_warnings > 0).count();
        println!(
            "| StreamExecutionSummary, {} projects ({red} with a red warning) | {} s | {cpu} |",
            items.len(),
            secs(wall)
        );
    }

    // --- 3. SaveReport and SubmitReport ------------------------------------------------------------
    let (mut saves, save_wall, save_cpu, mut submits, submit_wall, submit_cpu) =
        reports(addr, &tokens, round.id, n, clients, per_client).await;
    let saves = saves.summary(Some(save_wall)).unwrap();
    let submits = submits.summary(Some(submit_wall)).unwrap();
    print_row(
        &format!("SaveReport, 8 indicators, {clients} units at once on their own subjects"),
        &saves,
        &save_cpu,
    );
    print_row(
        &format!("SubmitReport of those reports, {clients} units at once"),
        &submits,
        &submit_cpu,
    );

    // --- 4. ListDeviations -----------------------------------------------------------------------
    let deviations = mon::deviation_service_client::DeviationServiceClient::new(channel.clone());
    let (deviated, _) = walk_deviations(&deviations, &tokens, round.id).await;
    let meter = Meter::start();
    let mut tasks = Vec::new();
    for _ in 0..list_clients {
        let client =
            mon::deviation_service_client::DeviationServiceClient::new(connect(addr).await);
        let tokens = tokens.clone();
        let round_id = round.id;
        tasks.push(tokio::spawn(async move {
            let mut l = Vec::new();
            for _ in 0..list_walks {
                l.extend(walk_deviations(&client, &tokens, round_id).await.1);
            }
            l
        }));
    }
    let mut pages = Latencies::new();
    for t in tasks {
        pages.extend(t.await.unwrap());
    }
    let (list_wall, list_cpu) = meter.stop();
    let pages = pages.summary(Some(list_wall)).unwrap();
    print_row(
        &format!(
            "ListDeviations, {} of {} subjects deviated, pages of 50, {list_clients} clients walking the list",
            deviated.len(),
            n + 1
        ),
        &pages,
        &list_cpu,
    );

    // --- 5. CheckPaymentHolds ----------------------------------------------------------------------
    let decided: Vec<String> = deviated.iter().take(200).cloned().collect();
    for (k, key) in decided.iter().enumerate() {
        let (kind, amount) = if k % 2 == 0 {
            (mon::DecisionKind::HoldPayments, None)
        } else {
            (mon::DecisionKind::StopPayments, None)
        };
        deviations
            .clone()
            .record_decision(tokens.req(
                &finance,
                mon::RecordDecisionRequest {
                    request_id: tokens.rid(),
                    round_id: round.id,
                    subject_key: key.clone(),
                    kind: kind as i32,
                    amount,
                    reason: "预算执行严重滞后，待整改".into(),
                },
            ))
            .await
            .unwrap();
    }
    let mut codes = decided.clone();
    codes.extend(
        (0..n)
            .map(pro_code)
            .filter(|c| !decided.contains(c))
            .take(2000 - decided.len()),
    );
    let mut holds = Latencies::with_capacity(runs);
    let meter = Meter::start();
    let mut on_hold = 0;
    for run in 0..runs + 3 {
        let m = mon::CheckPaymentHoldsRequest {
            fiscal_year: FY,
            pro_codes: codes.clone(),
        };
        let t = Instant::now();
        let answer = deviations
            .clone()
            .check_payment_holds(tokens.req(&finance, m))
            .await
            .unwrap()
            .into_inner()
            .holds;
        let took = t.elapsed();
        assert_eq!(answer.len(), codes.len());
        on_hold = answer.iter().filter(|h| h.on_hold).count();
        if run >= 3 {
            holds.record(took);
        }
    }
    let (_, holds_cpu) = meter.stop();
    let holds = holds.summary(None).unwrap();
    print_row(
        &format!(
            "CheckPaymentHolds, {} codes ({on_hold} on hold), one call at a time",
            codes.len()
        ),
        &holds,
        &holds_cpu,
    );

    // --- Recompute with every input present, and the baseline again --------------------------------
    let meter = Meter::start();
    rounds
        .clone()
        .set_round_rules(tokens.req(
            &finance,
            mon::SetRoundRulesRequest {
                request_id: tokens.rid(),
                round_id: round.id,
                expected_revision: round.revision,
            },
        ))
        .await
        .unwrap();
    let (wall, cpu) = meter.stop();
    println!(
        "| SetRoundRules again (every subject with its execution, {} with reports) | {} s | {cpu} |",
        clients * per_client.min(25),
        secs(wall)
    );
    pbm_testkit::echo::baseline(echo_addr, clients, 3, "after").await;

    Verdict::new(format!(
        "{backend} (design targets, docs/drafts/MONITORING.md)"
    ))
    .check(Check::at_most(
        "OpenRound, 10,000 goals",
        open_wall.as_secs_f64(),
        30.0,
        "s",
    ))
    .check(Check::at_most(
        "PushExecution 10,000 rows + recompute, slowest of 3",
        push_max.as_secs_f64(),
        5.0,
        "s",
    ))
    .check(Check::at_most(
        "StreamExecutionSummary, 10,000 projects, slowest of 3",
        summary_max.as_secs_f64(),
        1.0,
        "s",
    ))
    .check(Check::at_most_ms(
        "SubmitReport p99, 16 clients",
        submits.p99,
        Duration::from_millis(25),
    ))
    .check(Check::at_most_ms(
        "ListDeviations p99, pages of 50, 8 clients",
        pages.p99,
        Duration::from_millis(50),
    ))
    .check(Check::at_most_ms(
        "CheckPaymentHolds p99, 2,000 codes",
        holds.p99,
        Duration::from_millis(200),
    ))
    .finish();
}
