//! The evaluation service at a city's year-end peak (the issue's numbers; docs/EVALUATION.md
//! "Numbers", docs/BENCHMARKS.md "Evaluation"): 10,000 approved goals with 10 indicators each,
//! their December execution pushed to the monitoring service, one self-evaluation opened over
//! them (evaluation → goal and monitoring over gRPC on loopback, as `pbm serve` hosts them), with
//! the production stack (authentication, limits, the 10 s request timeout of
//! `PBM_REQUEST_TIMEOUT_SECS`).
//!
//! ```text
//! cargo bench -p pbm-evaluation --bench evaluation                 # PostgreSQL when PBM_TEST_DATABASE_URL is set, else SQLite
//! cargo bench -p pbm-evaluation --bench evaluation -- --sqlite     # SQLite (embedded) even so
//! ```
//! Measured, in this order:
//! 1. OpenCampaign over the 10,000 goals (the goal snapshot, the execution summary, every sheet
//!    scored and written in one transaction): wall time.
//! 2. SaveSelfEvaluation with 10 entries by `BENCH_SAVE_CLIENTS` (16) units at once, every sheet
//!    saved once, complete (every indicator at its target, the execution reason, the summary):
//!    p50/p99 (target p99 ≤ 25 ms on PostgreSQL).
//! 3. The year-end peak: the 10,000 sheets submitted by `BENCH_SUBMIT_CLIENTS` (64) clients at
//!    once: wall time (target ≤ 60 s), then counted in the database and through the API —
//!    every sheet submitted exactly once, one `submitted` event each: none lost, none
//!    duplicated (asserted).
//! 4. RankRisk, limit 50, over the 10,000 submitted sheets, one call at a time, `BENCH_RUNS`
//!    (20) calls after 3 warm-up calls: p50/p99 (target ≤ 200 ms).
//!
//! Baselines in the same run, printed first and last: a bare tonic echo server in this process
//! (`pbm.bench.v1.EchoService`, no layers; how fast this machine answers a gRPC call right now),
//! and on PostgreSQL a single-row-INSERT `pgbench` on the same server with its `fsync` and
//! `synchronous_commit` (services/monitoring/benches/monitoring.rs does the same). Every phase
//! prints the CPU it took in this process (services and clients) and in the rest of the machine.
//! Exit code 3 when a target is missed. Percentiles and the verdict are pbm-bench's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use diesel::prelude::*;
use pbm_bench::machine::{Meter, cores, print_row};
use pbm_bench::{Check, Latencies, Verdict};
use pbm_db::StoreError;
use pbm_evaluation::store::schema::{
    evaluation_sheet_events as ev_events, evaluation_sheets as sh,
};
use pbm_goal::domain::workflow::{Action, Actor, GoalState, ReviewOutcome, Role as GoalRole};
use pbm_goal::store::{GoalRow, ProjectRow};
use pbm_proto::common::v1::{Decimal, PageRequest};
use pbm_proto::evaluation::v1 as ev;
use pbm_proto::goal::v1 as pb;
use pbm_proto::goal::v1::goal_service_client::GoalServiceClient;
use pbm_proto::indicator::v1 as ind;
use pbm_proto::indicator::v1::indicator_service_client::IndicatorServiceClient;
use pbm_proto::monitoring::v1 as mon;
use pbm_server::ServeOptions;
use pbm_testkit::echo::connect;
use pbm_testkit::{TestDatabase, Tokens, Who};
use pbm_types::{DivisionCode, FiscalYear};
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

/// The budget unit of `agency_code` (`1405dd0uu`) as a caller.
fn unit_caller(agency_code: &str) -> Who {
    Who::unit(REGION, &format!("{}000", &agency_code[..6]), agency_code)
}

/// One project in seven spent only 60 % of its budget by December: a high self-score with low
/// execution, what the risk score looks for.
fn slow(i: usize) -> bool {
    i % 7 == 3
}

// -- the machine (pbm_bench::machine) -------------------------------------------

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

/// The 10 indicators of every goal (4 from the library, 6 specific), with their targets.
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
        specific(pb::Level2::Social, "受益农户数"),
        specific(pb::Level2::Ecological, "水源保护区面积"),
        specific(pb::Level2::Sustainability, "建立长效管护机制数"),
    ]
}

/// The library's four indicators, then project P-SEED with its saved (draft) goal of 10
/// indicators through the goal service; then `n` projects with an approved goal copied from it,
/// written through the goal service's store (as services/monitoring/benches/monitoring.rs).
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
    let seed_unit = unit_caller(&unit_code(0, 0));
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

/// December's figures of every project: a budget of 1,000,000 元, 95 % executed (60 % for the
/// slow ones).
fn december(n: usize) -> Vec<mon::ExecutionRow> {
    (0..n)
        .map(|i| {
            let (department_code, agency_code) = owner(i);
            let executed = if slow(i) { "600000" } else { "950000" };
            mon::ExecutionRow {
                pro_code: pro_code(i),
                month: 12,
                initial_budget: dec("1000000"),
                executed: dec(executed),
                agency_code,
                department_code,
                name: format!("项目{i}"),
                ..Default::default()
            }
        })
        .collect()
}

// -- the measured calls ------------------------------------------------------------------------------

/// A sheet to fill: its id, its unit and the revision the last write left.
#[derive(Clone)]
struct Sheet {
    id: i64,
    agency_code: String,
    revision: i64,
}

/// The campaign's sheets, read from the evaluation service's database (setup, not measured).
async fn sheets(db: &pbm_db::Db, campaign_id: i64) -> Vec<Sheet> {
    db.read(move |conn| -> Result<_, StoreError> {
        Ok(sh::table
            .filter(sh::campaign_id.eq(campaign_id))
            .select((sh::id, sh::agency_code, sh::revision))
            .order(sh::id)
            .load::<(i64, String, i64)>(conn)?)
    })
    .await
    .unwrap()
    .into_iter()
    .map(|(id, agency_code, revision)| Sheet {
        id,
        agency_code,
        revision,
    })
    .collect()
}

/// A complete sheet: every indicator achieved at its target (no indicator deviates), the
/// execution reason (needed by the slow projects, harmless for the others) and the summary.
fn complete(
    sheet: &Sheet,
    entries: &[ev::IndicatorEntry],
    request_id: String,
) -> ev::SaveSelfEvaluationRequest {
    ev::SaveSelfEvaluationRequest {
        request_id,
        self_evaluation_id: sheet.id,
        expected_revision: sheet.revision,
        entries: entries.to_vec(),
        execution_reason: "部分工程款按合同约定于次年验收后支付".into(),
        summary: "全年完成12处农村饮水工程，巩固提升3.2万人饮水安全，各项指标均达到年度目标".into(),
    }
}

/// The sheets dealt to `clients` clients, a unit's sheets always to the same client.
fn deal(sheets: &[Sheet], clients: usize) -> Vec<Vec<Sheet>> {
    let mut units: Vec<&str> = sheets.iter().map(|s| s.agency_code.as_str()).collect();
    units.sort_unstable();
    units.dedup();
    let mut dealt = vec![Vec::new(); clients];
    for s in sheets {
        let u = units.binary_search(&s.agency_code.as_str()).unwrap();
        dealt[u % clients].push(s.clone());
    }
    dealt
}

/// `clients` units save their sheets complete, each sheet once: the latencies and the sheets
/// with their new revisions.
async fn save_all(
    addr: std::net::SocketAddr,
    tokens: &Arc<Tokens>,
    sheets: &[Sheet],
    entries: &[ev::IndicatorEntry],
    clients: usize,
) -> (Latencies, Vec<Sheet>) {
    let mut tasks = Vec::new();
    for share in deal(sheets, clients) {
        let client = ev::self_evaluation_service_client::SelfEvaluationServiceClient::new(
            connect(addr).await,
        );
        let (tokens, entries) = (tokens.clone(), entries.to_vec());
        tasks.push(tokio::spawn(async move {
            let mut l = Vec::with_capacity(share.len());
            let mut saved = Vec::with_capacity(share.len());
            for mut s in share {
                let who = unit_caller(&s.agency_code);
                let r = complete(&s, &entries, tokens.rid());
                let t = Instant::now();
                let sheet = client
                    .clone()
                    .save_self_evaluation(tokens.req(&who, r))
                    .await
                    .unwrap()
                    .into_inner()
                    .self_evaluation
                    .unwrap();
                l.push(t.elapsed());
                s.revision = sheet.revision;
                saved.push(s);
            }
            (l, saved)
        }));
    }
    let mut all = Latencies::new();
    let mut saved = Vec::new();
    for t in tasks {
        let (l, s) = t.await.unwrap();
        all.extend(l);
        saved.extend(s);
    }
    (all, saved)
}

/// `clients` clients submit every sheet once, each its units' sheets: the latencies and the
/// refusals (none expected).
async fn submit_all(
    addr: std::net::SocketAddr,
    tokens: &Arc<Tokens>,
    sheets: &[Sheet],
    clients: usize,
) -> (Latencies, Vec<String>) {
    let mut tasks = Vec::new();
    for share in deal(sheets, clients) {
        let client = ev::self_evaluation_service_client::SelfEvaluationServiceClient::new(
            connect(addr).await,
        );
        let tokens = tokens.clone();
        tasks.push(tokio::spawn(async move {
            let mut l = Vec::with_capacity(share.len());
            let mut refused = Vec::new();
            for s in share {
                let who = unit_caller(&s.agency_code);
                let r = ev::SubmitSelfEvaluationRequest {
                    request_id: tokens.rid(),
                    self_evaluation_id: s.id,
                    expected_revision: s.revision,
                };
                let t = Instant::now();
                let answer = client
                    .clone()
                    .submit_self_evaluation(tokens.req(&who, r))
                    .await;
                l.push(t.elapsed());
                if let Err(status) = answer {
                    refused.push(format!(
                        "sheet {}: {:?} {}",
                        s.id,
                        status.code(),
                        status.message()
                    ));
                }
            }
            (l, refused)
        }));
    }
    let mut all = Latencies::new();
    let mut refused = Vec::new();
    for t in tasks {
        let (l, r) = t.await.unwrap();
        all.extend(l);
        refused.extend(r);
    }
    (all, refused)
}

/// What the database holds after the peak: sheets submitted, `submitted` events, and the
/// distinct sheets those events name.
async fn count_submitted(db: &pbm_db::Db, campaign_id: i64) -> (i64, i64, i64) {
    db.read(move |conn| -> Result<_, StoreError> {
        let sheets: i64 = sh::table
            .filter(sh::campaign_id.eq(campaign_id))
            .filter(sh::status.eq("submitted"))
            .count()
            .get_result(conn)?;
        let of_campaign = sh::table
            .filter(sh::campaign_id.eq(campaign_id))
            .select(sh::id);
        let events: i64 = ev_events::table
            .filter(ev_events::action.eq("submitted"))
            .filter(ev_events::sheet_id.eq_any(of_campaign))
            .count()
            .get_result(conn)?;
        let distinct: i64 = ev_events::table
            .filter(ev_events::action.eq("submitted"))
            .filter(ev_events::sheet_id.eq_any(of_campaign))
            .select(diesel::dsl::count(ev_events::sheet_id).aggregate_distinct())
            .get_result(conn)?;
        Ok((sheets, events, distinct))
    })
    .await
    .unwrap()
}

#[tokio::main]
async fn main() {
    let n = knob("BENCH_SHEETS", 10_000);
    let save_clients = knob("BENCH_SAVE_CLIENTS", 16);
    let submit_clients = knob("BENCH_SUBMIT_CLIENTS", 64);
    let runs = knob("BENCH_RUNS", 20);
    let timeout = Duration::from_secs(knob("BENCH_REQUEST_TIMEOUT_SECS", 10) as u64);
    let force_sqlite = std::env::args().any(|a| a == "--sqlite");
    let (db, goal_db, monitoring_db) = match (!force_sqlite).then(TestDatabase::postgres).flatten()
    {
        Some(db) => (
            db,
            TestDatabase::postgres().unwrap(),
            TestDatabase::postgres().unwrap(),
        ),
        None => (
            TestDatabase::sqlite(),
            TestDatabase::sqlite(),
            TestDatabase::sqlite(),
        ),
    };
    let backend = match db.backend() {
        pbm_db::Backend::Postgres => "PostgreSQL",
        pbm_db::Backend::Sqlite => "SQLite",
    };
    println!(
        "## evaluation bench: {backend} ({}), {n} approved goals × 10 indicators, {} cores, request timeout {} s",
        db.url().rsplit('/').next().unwrap_or_default(),
        cores(),
        timeout.as_secs()
    );

    // --- The echo baseline and the database's ---------------------------------------------------
    let echo_addr = pbm_testkit::echo::serve().await;
    pbm_testkit::echo::baseline(echo_addr, save_clients, 3, "before").await;
    if db.backend() == pbm_db::Backend::Postgres {
        pbm_bench::postgres::baseline(db.url(), save_clients, "pbm-evaluation-bench");
    }

    // --- The server: indicator library (SQLite), goal, monitoring and evaluation services -------
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
        monitoring_db.connect(),
        region.clone(),
        pbm_monitoring::clients::Goals::over_tls(&url, &tls).unwrap(),
        pbm_monitoring::clients::Pool::over_tls(&url, &tls).unwrap(),
    )
    .await
    .unwrap();
    let december_end = NaiveDate::from_ymd_opt(FY, 12, 31).unwrap();
    monitoring.today = Arc::new(move || december_end);
    let mut evaluation = pbm_evaluation::AppState::open(
        db.connect(),
        region,
        pbm_evaluation::clients::Goals::over_tls(&url, &tls).unwrap(),
        pbm_evaluation::clients::Monitoring::over_tls(&url, &tls).unwrap(),
        pbm_evaluation::clients::Pool::over_tls(&url, &tls).unwrap(),
    )
    .await
    .unwrap();
    // The spring after the fiscal year, when self-evaluations are filled.
    let march = NaiveDate::from_ymd_opt(FY + 1, 3, 5).unwrap();
    evaluation.today = Arc::new(move || march);
    let evaluation_store = evaluation.db.clone();
    let tokens = Arc::new(Tokens::default());
    let options = ServeOptions {
        auth: tokens.auth_layer(),
        // The production defaults (ServerArgs): 256 in flight, a 10 s deadline.
        max_in_flight: 256,
        request_timeout: timeout,
        health_services: vec![pbm_evaluation::HEALTH_NAME],
        tls: None,
        health_listen: None,
    };
    let routes = pbm_evaluation::add_to(
        pbm_monitoring::add_to(
            pbm_goal::add_to(pbm_indicator::router(indicator), goal),
            monitoring,
        ),
        evaluation,
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
    let push = mon::PushExecutionRequest {
        request_id: tokens.rid(),
        fiscal_year: FY,
        rows: december(n),
    };
    let pushed = mon::execution_service_client::ExecutionServiceClient::new(channel.clone())
        .max_encoding_message_size(64 << 20)
        .max_decoding_message_size(64 << 20)
        .push_execution(tokens.req(&finance, push))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pushed.rejected, 0);
    println!(
        "| seed | {n} approved goals × 10 indicators through the goal store, December's execution pushed | {} s |",
        secs(seeded.elapsed())
    );

    // --- 1. OpenCampaign -------------------------------------------------------------------------
    let campaigns = ev::campaign_service_client::CampaignServiceClient::new(channel.clone());
    let open = ev::OpenCampaignRequest {
        request_id: tokens.rid(),
        fiscal_year: FY,
        name: "2026年度项目支出绩效自评".into(),
        deadline: "2027-03-31".into(),
        lead_days: 5,
    };
    let meter = Meter::start();
    let opened = campaigns
        .clone()
        .open_campaign(tokens.req(&finance, open))
        .await;
    let (open_wall, open_cpu) = meter.stop();
    let campaign = match opened {
        Ok(r) => r.into_inner().campaign.unwrap(),
        Err(status) => {
            println!(
                "| OpenCampaign, {n} goals | FAILED after {} s: {:?} {} |",
                secs(open_wall),
                status.code(),
                status.message()
            );
            Verdict::new(backend)
                .check(Check::at_most(
                    "OpenCampaign answered within the request timeout",
                    open_wall.as_secs_f64(),
                    timeout.as_secs_f64(),
                    "s",
                ))
                .finish();
            return;
        }
    };
    assert_eq!(campaign.sheets, n as i64, "{campaign:?}");
    println!(
        "| OpenCampaign, {n} goals × 10 indicators, every sheet scored | {} s | {open_cpu} |",
        secs(open_wall)
    );

    // --- 2. SaveSelfEvaluation, 10 entries, every sheet once ---------------------------------------
    let sheets = sheets(&evaluation_store, campaign.id).await;
    assert_eq!(sheets.len(), n);
    // Every sheet has the template's indicators: each achieved at its target.
    let selfs =
        ev::self_evaluation_service_client::SelfEvaluationServiceClient::new(channel.clone());
    let first = selfs
        .clone()
        .get_self_evaluation(tokens.req(
            &finance,
            ev::GetSelfEvaluationRequest {
                self_evaluation_id: sheets[0].id,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .self_evaluation
        .unwrap();
    let entries: Vec<ev::IndicatorEntry> = first
        .indicators
        .iter()
        .map(|i| ev::IndicatorEntry {
            seq: i.seq,
            achieved_value: i.target_value.clone(),
            ..Default::default()
        })
        .collect();
    assert_eq!(entries.len(), 10, "{first:?}");
    let meter = Meter::start();
    let (mut saves, saved) = save_all(addr, &tokens, &sheets, &entries, save_clients).await;
    let (save_wall, save_cpu) = meter.stop();
    let saves = saves.summary(Some(save_wall)).unwrap();
    print_row(
        &format!("SaveSelfEvaluation, 10 entries, {save_clients} units at once, every sheet once"),
        &saves,
        &save_cpu,
    );

    // --- 3. The year-end peak: every sheet submitted by 64 clients -----------------------------------
    let meter = Meter::start();
    let (mut submits, refused) = submit_all(addr, &tokens, &saved, submit_clients).await;
    let (submit_wall, submit_cpu) = meter.stop();
    let submits = submits.summary(Some(submit_wall)).unwrap();
    print_row(
        &format!("SubmitSelfEvaluation, {n} sheets by {submit_clients} clients at once"),
        &submits,
        &submit_cpu,
    );
    println!(
        "| the peak: {n} submissions, {submit_clients} clients | {} s wall | {} refused |",
        secs(submit_wall),
        refused.len()
    );
    assert!(
        refused.is_empty(),
        "refused submissions: {:#?}",
        &refused[..refused.len().min(10)]
    );
    let (submitted, events, distinct) = count_submitted(&evaluation_store, campaign.id).await;
    let listed = selfs
        .clone()
        .list_self_evaluations(tokens.req(
            &finance,
            ev::ListSelfEvaluationsRequest {
                campaign_id: campaign.id,
                status: ev::SheetStatus::Submitted as i32,
                page: Some(PageRequest {
                    page_size: 1,
                    page_token: String::new(),
                }),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .page
        .unwrap_or_default()
        .total_size;
    println!(
        "| counted after the peak | {submitted} sheets submitted | {events} submitted events on {distinct} sheets | ListSelfEvaluations SUBMITTED: {listed} |"
    );
    let n64 = n as i64;
    assert_eq!(submitted, n64, "sheets lost");
    assert_eq!((events, distinct), (n64, n64), "events lost or duplicated");
    assert_eq!(listed, n64, "the API's count");

    // --- 4. RankRisk, limit 50, over the submitted sheets ----------------------------------------------
    let spots = ev::spot_check_service_client::SpotCheckServiceClient::new(channel.clone())
        .max_decoding_message_size(16 << 20);
    let mut ranks = Latencies::with_capacity(runs);
    let meter = Meter::start();
    let mut top = Vec::new();
    for run in 0..runs + 3 {
        let m = ev::RankRiskRequest {
            campaign_id: campaign.id,
            limit: 50,
            weights: None,
        };
        let t = Instant::now();
        let answer = spots
            .clone()
            .rank_risk(tokens.req(&finance, m))
            .await
            .unwrap()
            .into_inner();
        let took = t.elapsed();
        assert_eq!(answer.candidates, n64);
        assert_eq!(answer.entries.len(), 50.min(n));
        top = answer.entries;
        if run >= 3 {
            ranks.record(took);
        }
    }
    let (_, rank_cpu) = meter.stop();
    let ranks = ranks.summary(None).unwrap();
    let slow_on_top = top
        .iter()
        .filter(|e| {
            e.subject_key
                .rsplit('-')
                .next()
                .and_then(|i| i.parse::<usize>().ok())
                .is_some_and(slow)
        })
        .count();
    print_row(
        &format!(
            "RankRisk, 50 of {n} submitted ({slow_on_top} of the 50 are the 60 %-executed projects), one call at a time"
        ),
        &ranks,
        &rank_cpu,
    );
    pbm_testkit::echo::baseline(echo_addr, save_clients, 3, "after").await;

    Verdict::new(format!("{backend} (the issue's numbers)"))
        .check(Check::at_most_ms(
            "SaveSelfEvaluation p99, 10 entries, 16 clients",
            saves.p99,
            Duration::from_millis(25),
        ))
        .check(Check::at_most(
            "10,000 submissions by 64 clients, wall",
            submit_wall.as_secs_f64(),
            60.0,
            "s",
        ))
        .check(Check::at_most_ms(
            "RankRisk p99, 50 of 10,000",
            ranks.p99,
            Duration::from_millis(200),
        ))
        .finish();
}
