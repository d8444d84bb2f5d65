//! ExecutionService/StreamExecutionSummary: every project of a year with its latest figures and
//! its warnings in the latest round that holds it (the self-evaluation's input) — values exact,
//! the choice of round, projects with figures only and in a round only, the `pro_codes` filter,
//! more projects than one chunk (nothing lost or repeated), the checks, and who may read it.

use std::collections::BTreeSet;

use pbm_auth::Role;
use pbm_proto::monitoring::v1 as mon;
use pbm_testkit::TestDatabase;
use tokio_stream::StreamExt;
use tonic::{Code, Status};

use crate::common::*;

/// Project `code`'s cumulative figures at `month` (initial budget, adjusted budget or "").
fn figures(
    code: &str,
    month: i32,
    initial: &str,
    adjusted: &str,
    executed: &str,
) -> mon::ExecutionRow {
    mon::ExecutionRow {
        pro_code: code.into(),
        month,
        initial_budget: dec(initial),
        adjusted_budget: (!adjusted.is_empty()).then(|| dec(adjusted)).flatten(),
        executed: dec(executed),
        agency_code: UNIT.into(),
        department_code: DEPT.into(),
        name: format!("{code} 农村饮水安全巩固提升工程"),
        ..Default::default()
    }
}

async fn push(app: &App, rows: Vec<mon::ExecutionRow>) {
    let pushed = app
        .execution
        .clone()
        .push_execution(app.req(
            &finance(),
            mon::PushExecutionRequest {
                request_id: app.rid(),
                fiscal_year: FY,
                rows,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pushed.rejected, 0, "{:?}", pushed.results);
}

async fn summary(
    app: &App,
    who: &Who,
    pro_codes: &[&str],
) -> Result<Vec<mon::ExecutionSummary>, Status> {
    summary_of(
        app,
        who,
        FY,
        pro_codes.iter().map(|c| c.to_string()).collect(),
    )
    .await
}

async fn summary_of(
    app: &App,
    who: &Who,
    year: i32,
    pro_codes: Vec<String>,
) -> Result<Vec<mon::ExecutionSummary>, Status> {
    let r = mon::StreamExecutionSummaryRequest {
        fiscal_year: year,
        pro_codes,
    };
    app.execution
        .clone()
        .stream_execution_summary(app.req(who, r))
        .await?
        .into_inner()
        .collect()
        .await
}

fn text(d: &Option<pbm_proto::common::v1::Decimal>) -> &str {
    d.as_ref().map_or("-", |d| d.value.as_str())
}

/// What a test compares: code, month, initial, adjusted, executed, budget, rate, round, red,
/// yellow, deviated.
type Line<'a> = (
    &'a str,
    i32,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    i64,
    i32,
    i32,
    bool,
);

fn line(s: &mon::ExecutionSummary) -> Line<'_> {
    (
        &s.pro_code,
        s.month,
        text(&s.initial_budget),
        text(&s.adjusted_budget),
        text(&s.executed),
        text(&s.budget),
        text(&s.execution_rate),
        s.round_id,
        s.red_warnings,
        s.yellow_warnings,
        s.deviated,
    )
}

async fn open(app: &App, months_to: i32, pro_codes: &[&str]) -> mon::Round {
    let r = mon::OpenRoundRequest {
        request_id: app.rid(),
        fiscal_year: FY,
        name: format!("2026年1-{months_to}月绩效运行监控"),
        months_to,
        starts_on: "2026-07-01".into(),
        deadline: "2026-07-15".into(),
        lead_days: 3,
        scope: Some(mon::RoundScope {
            pro_codes: pro_codes.iter().map(|c| c.to_string()).collect(),
            ..Default::default()
        }),
    };
    app.rounds
        .clone()
        .open_round(app.req(&finance(), r))
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap()
}

/// The red warnings of a subject as ListWarnings lists them (the summary's count, read another way).
async fn listed_red(app: &App, round_id: i64, key: &str) -> i32 {
    let r = mon::ListWarningsRequest {
        round_id,
        subject_key: key.into(),
        colours: vec![mon::Colour::Red as i32],
        page: Some(pbm_proto::common::v1::PageRequest {
            page_size: 100,
            page_token: String::new(),
        }),
        ..Default::default()
    };
    let listed = app
        .deviations
        .clone()
        .list_warnings(app.req(&finance(), r))
        .await
        .unwrap()
        .into_inner()
        .warnings;
    listed.len() as i32
}

/// Default bands (docs/MONITORING.md "Warnings on both axes"), a round of months 1–6: budget
/// progress = executed ÷ base ÷ (6 ÷ 12) × 100 (< 60 red, < 80 yellow); the year-end forecast
/// F = E6 + (E6 − E3) ÷ 3 × 6 against the base (< 90 % red).
async fn values_are_exact_from_the_latest_round(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    for code in ["P-1", "P-2", "P-3", "P-4"] {
        app.approved(code, "1200000").await;
    }
    push(
        &app,
        vec![
            // Budget 250,000 ÷ 1,200,000 ÷ ½ = 41.67 red; F = 550,000: 45.8 % red. Rate 20.83.
            figures("P-1", 3, "1000000", "1200000", "100000"),
            figures("P-1", 5, "1000000", "1200000", "200000"),
            figures("P-1", 6, "1000000", "1200000", "250000"),
            // 150 green; F = 2,100,000 green. Rate 75.
            figures("P-2", 3, "1200000", "", "300000"),
            figures("P-2", 6, "1200000", "", "900000"),
            // 70 yellow; F = 1,140,000: 95 % green. Rate 35.
            figures("P-4", 3, "1200000", "", "60000"),
            figures("P-4", 6, "1200000", "", "420000"),
            // Known only from the figures: in the round without a goal; nothing executed.
            figures("P-X", 4, "500000", "", "0"),
        ],
    )
    .await;
    let first = open(&app, 6, &[]).await;
    // Figures after the opening: in no round.
    push(&app, vec![figures("P-LATE", 7, "0", "", "0")]).await;
    let r1 = first.id;
    let all = summary(&app, &finance(), &[]).await.unwrap();
    assert_eq!(
        all.iter().map(line).collect::<Vec<_>>(),
        [
            (
                "P-1", 6, "1000000", "1200000", "250000", "1200000", "20.83", r1, 2, 0, true
            ),
            (
                "P-2", 6, "1200000", "-", "900000", "1200000", "75", r1, 0, 0, false
            ),
            // In the round, no figures: month 0 and zeros.
            ("P-3", 0, "0", "-", "0", "0", "0", r1, 0, 0, false),
            (
                "P-4", 6, "1200000", "-", "420000", "1200000", "35", r1, 0, 1, true
            ),
            // Figures, in no round; a zero budget gives a rate of 0.
            ("P-LATE", 7, "0", "-", "0", "0", "0", 0, 0, 0, false),
            ("P-X", 4, "500000", "-", "0", "500000", "0", r1, 2, 0, true),
        ]
    );
    for s in &all {
        if s.round_id != 0 {
            assert_eq!(
                s.red_warnings,
                listed_red(&app, s.round_id, &s.pro_code).await,
                "{}",
                s.pro_code
            );
        }
    }

    // A later round of the same months for P-2 alone, and one of fewer months over the region.
    // The first round closes; figures pushed now recompute only the open rounds.
    let second = open(&app, 6, &["P-2"]).await;
    let third = open(&app, 3, &[]).await;
    app.rounds
        .clone()
        .close_round(app.req(
            &finance(),
            mon::CloseRoundRequest {
                request_id: app.rid(),
                round_id: first.id,
                expected_revision: first.revision,
            },
        ))
        .await
        .unwrap();
    // P-2 at 300,000 by June: budget 25 red, F = 300,000 red.
    push(&app, vec![figures("P-2", 6, "1200000", "", "300000")]).await;
    let after = summary(&app, &auditor(), &["P-2", "P-1", "P-3", "P-2"])
        .await
        .unwrap();
    assert_eq!(
        after.iter().map(line).collect::<Vec<_>>(),
        [
            // Still the closed round: the highest months_to beats a later id of fewer months.
            (
                "P-1", 6, "1000000", "1200000", "250000", "1200000", "20.83", r1, 2, 0, true
            ),
            // The later round of the same months, with the new colours.
            (
                "P-2", 6, "1200000", "-", "300000", "1200000", "25", second.id, 2, 0, true
            ),
            ("P-3", 0, "0", "-", "0", "0", "0", r1, 0, 0, false),
        ]
    );
    assert_ne!(third.id, 0);
    // The closed round kept P-2's colours of before (frozen).
    assert_eq!(listed_red(&app, first.id, "P-2").await, 0);
    // Another year has nothing.
    assert!(
        summary_of(&app, &finance(), FY + 1, vec![])
            .await
            .unwrap()
            .is_empty()
    );
}

/// More projects than one chunk (500): with figures and in the round, with figures only (pushed
/// after the opening), in the round only (approved goals without figures), interleaved in code
/// order — each streamed once, in order; the filter applied in the statement (≤ 200 codes) and
/// after the read (more).
async fn chunks_lose_and_repeat_nothing(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    for code in ["S-0500G", "S-1100G"] {
        app.approved(code, "1000000").await;
    }
    let code = |i: usize| format!("S-{i:04}");
    let rows = |parity: usize| {
        (0..1200)
            .filter(|i| i % 2 == parity)
            .map(|i| figures(&code(i), 6, "1000", "", &(i % 1000).to_string()))
            .collect::<Vec<_>>()
    };
    push(&app, rows(0)).await;
    let round = open(&app, 6, &[]).await;
    push(&app, rows(1)).await;

    let all = summary(&app, &finance(), &[]).await.unwrap();
    let codes: Vec<&str> = all.iter().map(|s| s.pro_code.as_str()).collect();
    let mut expected: Vec<String> = (0..1200).map(code).collect();
    expected.extend(["S-0500G".to_owned(), "S-1100G".to_owned()]);
    expected.sort();
    assert_eq!(codes, expected);
    for s in &all {
        let i: usize = s.pro_code[2..6].parse().unwrap();
        if s.pro_code.ends_with('G') {
            assert_eq!((s.month, s.round_id), (0, round.id), "{}", s.pro_code);
        } else {
            let in_round = if i.is_multiple_of(2) { round.id } else { 0 };
            assert_eq!((s.month, s.round_id), (6, in_round), "{}", s.pro_code);
            // executed ÷ 1,000 × 100.
            let rate =
                (rust_decimal::Decimal::from(i % 1000) / rust_decimal::Decimal::TEN).normalize();
            assert_eq!(text(&s.execution_rate), rate.to_string(), "{}", s.pro_code);
        }
    }

    // A short list, with a code nobody knows and one twice: in code order, once each.
    let few = summary(
        &app,
        &finance(),
        &["S-1199", "NOPE", "S-0500G", "S-0001", "S-0001"],
    )
    .await
    .unwrap();
    let few: Vec<_> = few
        .iter()
        .map(|s| (s.pro_code.as_str(), s.round_id))
        .collect();
    assert_eq!(few, [("S-0001", 0), ("S-0500G", round.id), ("S-1199", 0)]);
    // A long list (applied after each chunk's read): every third code and the goals.
    let mut asked: Vec<String> = (0..1200).step_by(3).map(code).collect();
    asked.extend(["S-1100G".to_owned(), "S-9999".to_owned()]);
    let many = summary_of(&app, &finance(), FY, asked.clone())
        .await
        .unwrap();
    let got: BTreeSet<String> = many.iter().map(|s| s.pro_code.clone()).collect();
    asked.pop();
    assert_eq!(got, asked.into_iter().collect::<BTreeSet<_>>());
    assert_eq!(got.len(), many.len());
}

/// Finance of the region, auditors and the province read (and finance of the enclosing province
/// reads as an auditor); every other role is refused before the request is looked at, and so is
/// another region. Then the request's checks.
async fn who_may_read_and_what_is_checked(db: TestDatabase) {
    let app = spawn(db).await;
    push(&app, vec![figures("P-1", 1, "1000", "", "10")]).await;
    for who in [finance(), auditor(), province(), Who::finance("140000")] {
        let all = summary(&app, &who, &[]).await.unwrap();
        assert_eq!(all.len(), 1, "{who:?}");
    }
    for who in [
        unit(),
        department(),
        agency("91140500MA0000000X"),
        Who::new(Role::Expert, REGION).with_expert("E-1"),
        Who::new(Role::Public, REGION),
    ] {
        let e = summary_of(&app, &who, 0, vec![String::new()])
            .await
            .unwrap_err();
        assert_eq!(
            (e.code(), reason(&e).as_str()),
            (Code::PermissionDenied, "ROLE_NOT_ALLOWED"),
            "{who:?}"
        );
    }
    for who in [
        Who::finance("140600"),
        Who::finance("140525"),
        Who::new(Role::Auditor, "140600"),
    ] {
        let e = summary_of(&app, &who, 0, vec![String::new()])
            .await
            .unwrap_err();
        assert_eq!(
            (e.code(), reason(&e).as_str()),
            (Code::PermissionDenied, "REGION_NOT_ALLOWED"),
            "{who:?}"
        );
    }
    let refused = |e: Status| (e.code(), reason(&e));
    let e = summary_of(&app, &finance(), 1999, vec![])
        .await
        .unwrap_err();
    assert_eq!(
        refused(e),
        (Code::InvalidArgument, "FISCAL_YEAR_INVALID".to_owned())
    );
    let e = summary(&app, &finance(), &["P-1", " "]).await.unwrap_err();
    assert_eq!(
        refused(e),
        (Code::InvalidArgument, "PRO_CODES_INVALID".to_owned())
    );
    let too_many: Vec<String> = (0..10_001).map(|i| format!("P-{i}")).collect();
    let e = summary_of(&app, &finance(), FY, too_many)
        .await
        .unwrap_err();
    assert_eq!(
        refused(e),
        (Code::InvalidArgument, "PRO_CODES_INVALID".to_owned())
    );
    let e = summary_of(&app, &finance(), FY, vec!["P".repeat(65)])
        .await
        .unwrap_err();
    assert_eq!(
        refused(e),
        (Code::InvalidArgument, "TEXT_TOO_LONG".to_owned())
    );
    // Exactly 10,000 codes are fine.
    let most: Vec<String> = (0..10_000).map(|i| format!("P-{i}")).collect();
    assert_eq!(
        summary_of(&app, &finance(), FY, most).await.unwrap().len(),
        1
    );
}

pbm_testkit::backend_tests! {
    values_are_exact_from_the_latest_round_ => values_are_exact_from_the_latest_round;
    chunks_lose_and_repeat_nothing_ => chunks_lose_and_repeat_nothing;
    who_may_read_and_what_is_checked_ => who_may_read_and_what_is_checked;
}
