//! ExecutionService: the budget system's figures pushed and imported (per-row results, replays,
//! unchanged and updated months with their audit line, 10,000 rows), a project's history with
//! its early warning, and who may do what.

use std::time::Instant;

use pbm_proto::monitoring::v1 as mon;
use pbm_testkit::TestDatabase;
use tonic::{Code, Status};

use crate::common::*;

fn row(code: &str, month: i32, budget: &str, executed: &str) -> mon::ExecutionRow {
    mon::ExecutionRow {
        pro_code: code.into(),
        month,
        initial_budget: dec(budget),
        executed: dec(executed),
        agency_code: UNIT.into(),
        department_code: DEPT.into(),
        name: format!("{code} 农村饮水安全巩固提升工程"),
        ..Default::default()
    }
}

impl App {
    async fn push_as(
        &self,
        who: &Who,
        request_id: &str,
        rows: Vec<mon::ExecutionRow>,
    ) -> Result<mon::PushExecutionResponse, Status> {
        let r = mon::PushExecutionRequest {
            request_id: request_id.into(),
            fiscal_year: FY,
            rows,
        };
        Ok(self
            .execution
            .clone()
            .push_execution(self.req(who, r))
            .await?
            .into_inner())
    }

    async fn push(&self, rows: Vec<mon::ExecutionRow>) -> mon::PushExecutionResponse {
        self.push_as(&finance(), &self.rid(), rows).await.unwrap()
    }

    async fn execution_history(
        &self,
        who: &Who,
        code: &str,
    ) -> Result<mon::GetExecutionHistoryResponse, Status> {
        let r = mon::GetExecutionHistoryRequest {
            fiscal_year: FY,
            pro_code: code.into(),
        };
        Ok(self
            .execution
            .clone()
            .get_execution_history(self.req(who, r))
            .await?
            .into_inner())
    }

    async fn stored_months(&self, code: &str) -> Vec<pbm_monitoring::store::ExecutionMonthRow> {
        let code = code.to_owned();
        self.db()
            .read(move |c| pbm_monitoring::store::history(c, FY, &code))
            .await
            .unwrap()
    }
}

fn outcomes(r: &mon::PushExecutionResponse) -> Vec<mon::RowOutcome> {
    r.results.iter().map(|x| x.outcome()).collect()
}

async fn push_replay_unchanged_and_updated(db: TestDatabase) {
    let app = spawn(db).await;
    let rows = vec![
        row("P-1", 1, "1200000", "100000"),
        row("P-1", 2, "1200000", "200000"),
    ];
    let rid = app.rid();
    let first = app.push_as(&finance(), &rid, rows.clone()).await.unwrap();
    assert_eq!(outcomes(&first), [mon::RowOutcome::Created; 2]);
    assert_eq!(
        (
            first.created,
            first.updated,
            first.unchanged,
            first.rejected
        ),
        (2, 0, 0, 0)
    );
    assert_eq!(first.results[1].index, 1);

    // The same request again: the same answer, nothing written twice.
    let replay = app.push_as(&finance(), &rid, rows.clone()).await.unwrap();
    assert_eq!(replay, first);
    let stored = app.stored_months("P-1").await;
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|m| m.version == 1 && m.request_id == rid));

    // The same figures under a new request id: unchanged, no write.
    let again = app.push(rows).await;
    assert_eq!(outcomes(&again), [mon::RowOutcome::Unchanged; 2]);
    assert_eq!(app.stored_months("P-1").await, stored);

    // Different figures replace the month: version 2, audited before and after.
    let rid = app.rid();
    let changed = app
        .push_as(
            &finance(),
            &rid,
            vec![row("P-1", 2, "1200000", "250000.50")],
        )
        .await
        .unwrap();
    assert_eq!(outcomes(&changed), [mon::RowOutcome::Updated]);
    let stored = app.stored_months("P-1").await;
    assert_eq!((stored[0].version, stored[1].version), (1, 2));
    assert_eq!(stored[1].executed.0, rust_decimal_macros::dec!(250000.50));
    let audit = app
        .db()
        .read(move |c| pbm_db::platform::audit_of_request(c, &rid))
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].method, "PushExecution");
    let detail: serde_json::Value = serde_json::from_str(&audit[0].detail).unwrap();
    assert_eq!(detail["updated"], 1);
    assert_eq!(detail["changes"][0]["pro_code"], "P-1");
    assert_eq!(detail["changes"][0]["month"], 2);
    assert_eq!(detail["changes"][0]["version"], 2);
    assert_eq!(
        detail["changes"][0]["before_after"]["executed"],
        serde_json::json!(["200000", "250000.5"])
    );
    let history = app.execution_history(&finance(), "P-1").await.unwrap();
    assert_eq!(history.months.len(), 2);
    assert_eq!(history.months[1].version, 2);
    assert_eq!(history.months[1].executed, dec("250000.5"));
}

async fn rows_are_refused_one_by_one(db: TestDatabase) {
    let app = spawn(db).await;
    app.push(vec![row("P-1", 3, "1000", "300")]).await;
    let mut negative = row("P-3", 1, "1000", "10");
    negative.allocated = dec("-5");
    let r = app
        .push(vec![
            row("P-2", 1, "1000", "10"),
            row("P-2", 13, "1000", "10"),
            negative,
            row("P-4", 1, "1000", "10.123"),
            row("P-1", 4, "1000", "250"),
            row("P-5", 1, "1000", "5000"), // over-spent: data, not an error
        ])
        .await;
    use mon::RowOutcome::{Created, Rejected};
    assert_eq!(
        outcomes(&r),
        [Created, Rejected, Rejected, Rejected, Rejected, Created]
    );
    assert_eq!((r.created, r.rejected), (2, 4));
    let refused: Vec<(i32, &str, &str)> = r
        .results
        .iter()
        .filter(|x| x.outcome() == Rejected)
        .map(|x| (x.index, x.reason.as_str(), x.field.as_str()))
        .collect();
    assert_eq!(
        refused,
        [
            (1, "MONTH_INVALID", "rows[1].month"),
            (2, "AMOUNT_INVALID", "rows[2].allocated"),
            (3, "AMOUNT_INVALID", "rows[3].executed"),
            (4, "EXECUTED_DECREASED", "rows[4].executed"),
        ]
    );
    assert!(r.results[4].message.contains("小于3月的累计执行数 300.00"));
    assert!(r.results[1].message.contains("月份"));
    // Nothing of a refused row was stored.
    assert!(app.stored_months("P-4").await.is_empty());
    assert_eq!(app.stored_months("P-1").await.len(), 1);

    // Over the limits the whole request is refused and nothing is written.
    let too_many: Vec<_> = (0..10_001)
        .map(|i| row(&format!("X-{i}"), 1, "1", "1"))
        .collect();
    let e = app
        .push_as(&finance(), &app.rid(), too_many)
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), reason(&e).as_str()),
        (Code::InvalidArgument, "TOO_MANY_ROWS")
    );
    let long = row(&"X".repeat(65), 1, "1", "1");
    let e = app
        .push_as(&finance(), &app.rid(), vec![long])
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), reason(&e).as_str()),
        (Code::InvalidArgument, "TEXT_TOO_LONG")
    );
    let e = app
        .push_as(&finance(), &app.rid(), vec![])
        .await
        .unwrap_err();
    assert_eq!(reason(&e), "ROWS_REQUIRED");
    assert!(app.stored_months("X-0").await.is_empty());
}

async fn ten_thousand_rows_in_one_push(db: TestDatabase) {
    let backend = format!("{:?}", db.backend());
    let app = spawn(db).await;
    let rows = |executed: &str| -> Vec<mon::ExecutionRow> {
        (0..10_000)
            .map(|i| row(&format!("140500-2026-{i:05}"), 6, "1000000.00", executed))
            .collect()
    };
    let started = Instant::now();
    let created = app.push(rows("400000.00")).await;
    let create_time = started.elapsed();
    assert_eq!(created.created, 10_000);
    assert_eq!(created.results.len(), 10_000);
    assert_eq!(created.results[9_999].index, 9_999);
    let started = Instant::now();
    let updated = app.push(rows("450000.00")).await;
    let update_time = started.elapsed();
    assert_eq!(updated.updated, 10_000);
    let started = Instant::now();
    let unchanged = app.push(rows("450000.00")).await;
    let unchanged_time = started.elapsed();
    assert_eq!(unchanged.unchanged, 10_000);
    println!(
        "PushExecution of 10,000 rows on {backend}: created in {create_time:?}, updated in \
         {update_time:?}, unchanged in {unchanged_time:?} (subjects recomputed: {})",
        updated.subjects_recomputed
    );
    let last = app.stored_months("140500-2026-09999").await;
    assert_eq!(last[0].version, 2);
}

async fn a_history_with_its_early_warning(db: TestDatabase) {
    let app = spawn(db).await;
    // Pushed out of order; 调整后 12,000,000. E3 = 1,500,000 and E6 = 4,500,000, so r =
    // 1,000,000 a month and F = 4,500,000 + 1,000,000 × 6 = 10,500,000: 87.50 % < 90 red.
    let mut rows: Vec<mon::ExecutionRow> = [
        (6, "4500000"),
        (1, "500000"),
        (2, "1000000"),
        (3, "1500000"),
        (5, "3500000"),
        (4, "2500000"),
    ]
    .into_iter()
    .map(|(m, e)| row("P-9", m, "10000000", e))
    .collect();
    for r in &mut rows {
        r.adjusted_budget = dec("12000000");
    }
    let pushed = app.push(rows).await;
    assert_eq!(pushed.created, 6);
    let h = app.execution_history(&finance(), "P-9").await.unwrap();
    assert_eq!(
        h.months.iter().map(|m| m.month).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
    let w = h.forecast.unwrap();
    assert_eq!(w.axis(), mon::Axis::ExecutionForecast);
    assert_eq!(w.colour(), mon::Colour::Red);
    assert_eq!(w.progress, dec("87.5"));
    assert_eq!(w.rules_version, 0);
    assert!(
        w.explanation.contains(
            "F = 4,500,000.00 + 1,000,000.00 × (12 − 6) = 10,500,000.00；预计执行率 = F ÷ \
             全年预算数 12,000,000.00 × 100 = 87.50；< 90 红色"
        ),
        "{}",
        w.explanation
    );
    assert!(
        w.explanation.ends_with("（2026年度监控规则（全国默认））"),
        "{}",
        w.explanation
    );
    assert_eq!(w.inputs["forecast"], "10500000");
    // A year without figures for the project.
    let e = app
        .execution_history(&finance(), "P-NONE")
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), reason(&e).as_str()),
        (Code::NotFound, "EXECUTION_NOT_FOUND")
    );
}

/// The workbook's columns as the import reads them (the 一体化 element names, then Chinese).
fn workbook(rows: &[[&str; 7]]) -> Vec<u8> {
    let col = |header: &'static str| pbm_xlsx::Column {
        header,
        required: false,
        width: 12.0,
    };
    let columns = [
        col("FISCAL_YEAR 预算年度"),
        col("PRO_CODE 项目编码"),
        col("AGENCY_CODE 单位代码"),
        col("月份"),
        col("年初预算数"),
        col("全年预算数（调整后）"),
        col("累计执行数"),
    ];
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
        .collect();
    pbm_xlsx::write_table("预算执行", &columns, &rows).unwrap()
}

async fn import(
    app: &App,
    who: &Who,
    bytes: Vec<u8>,
) -> Result<mon::ImportExecutionResponse, Status> {
    let r = mon::ImportExecutionRequest {
        request_id: app.rid(),
        fiscal_year: FY,
        workbook: bytes,
    };
    Ok(app
        .execution
        .clone()
        .import_execution(app.req(who, r))
        .await?
        .into_inner())
}

async fn a_workbook_is_imported_row_by_row(db: TestDatabase) {
    let app = spawn(db).await;
    let bytes = workbook(&[
        ["2026", "W-1", UNIT, "1", "1000000", "", "80000"],
        ["2026", "W-1", UNIT, "2", "1000000", "1200000", "160000.5"],
        ["2026", "W-2", UNIT, "13", "500000", "", "1000"],
        ["2025", "W-3", UNIT, "1", "500000", "", "1000"],
        ["2026", "", UNIT, "1", "500000", "", "1000"],
        ["2026", "W-4", UNIT, "1", "五十万", "", "1000"],
    ]);
    let r = import(&app, &finance(), bytes).await.unwrap();
    use mon::RowOutcome::{Created, Rejected};
    assert_eq!(
        r.results.iter().map(|x| x.outcome()).collect::<Vec<_>>(),
        [Created, Created, Rejected, Rejected, Rejected, Rejected]
    );
    // Data rows numbered from 1 (Excel's row 2), fields named by their headers.
    let refused: Vec<(i32, &str, &str)> = r
        .results
        .iter()
        .filter(|x| x.outcome() == Rejected)
        .map(|x| (x.index, x.reason.as_str(), x.field.as_str()))
        .collect();
    assert_eq!(
        refused,
        [
            (3, "MONTH_INVALID", "月份"),
            (4, "FISCAL_YEAR_MISMATCH", "FISCAL_YEAR 预算年度"),
            (5, "PRO_CODE_INVALID", "PRO_CODE 项目编码"),
            (6, "AMOUNT_INVALID", "年初预算数"),
        ]
    );
    assert_eq!(r.results[0].index, 1);
    let stored = app.stored_months("W-1").await;
    assert_eq!(stored.len(), 2);
    assert_eq!(
        stored[1].adjusted_budget.unwrap().0,
        rust_decimal_macros::dec!(1200000)
    );
    assert_eq!(stored[1].agency_code, UNIT);
    // The same rules as a push: a lower cumulative figure for February is refused.
    let again = import(
        &app,
        &finance(),
        workbook(&[["", "W-1", "", "3", "1000000", "", "100000"]]),
    )
    .await
    .unwrap();
    assert_eq!(again.results[0].reason, "EXECUTED_DECREASED");
    assert_eq!(again.results[0].field, "累计执行数");

    // A workbook that is not a table of these columns is refused whole.
    let e = import(&app, &finance(), b"not a workbook".to_vec())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let no_month = pbm_xlsx::write_table(
        "预算执行",
        &[pbm_xlsx::Column {
            header: "PRO_CODE 项目编码",
            required: false,
            width: 10.0,
        }],
        &[vec!["W-9".into()]],
    )
    .unwrap();
    let e = import(&app, &finance(), no_month).await.unwrap_err();
    assert_eq!(
        (e.code(), reason(&e).as_str()),
        (Code::InvalidArgument, "COLUMN_MISSING")
    );
}

async fn who_may_push_and_read(db: TestDatabase) {
    let app = spawn(db).await;
    let mut orphan = row("P-ORPHAN", 1, "1000", "10");
    orphan.agency_code.clear();
    orphan.department_code.clear();
    app.push(vec![row("P-1", 1, "1000", "10"), orphan]).await;
    // Only finance of this very region pushes or imports; refused before anything is read.
    for who in [
        unit(),
        department(),
        auditor(),
        Who::finance("140000"),
        province(),
    ] {
        let e = app
            .push_as(&who, &app.rid(), vec![row("P-1", 2, "1000", "20")])
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{who:?}");
        let e = import(&app, &who, b"junk".to_vec()).await.unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{who:?}");
    }
    assert_eq!(app.stored_months("P-1").await.len(), 1);
    // The unit of the project, its department, finance (also of the enclosing province) and
    // auditors read the history; another unit or department is told it does not exist.
    for who in [
        unit(),
        department(),
        finance(),
        auditor(),
        Who::finance("140000"),
    ] {
        let h = app.execution_history(&who, "P-1").await.unwrap();
        assert_eq!(h.months.len(), 1, "{who:?}");
    }
    for who in [unit2(), department2()] {
        let e = app.execution_history(&who, "P-1").await.unwrap_err();
        assert_eq!(
            (e.code(), reason(&e).as_str()),
            (Code::NotFound, "EXECUTION_NOT_FOUND")
        );
    }
    // A project with no unit on its rows and in no round: finance and auditors only.
    let e = app
        .execution_history(&unit(), "P-ORPHAN")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    app.execution_history(&auditor(), "P-ORPHAN").await.unwrap();
    let e = app.execution_history(&province(), "P-1").await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
}

/// docs/drafts/MONITORING.md §2 item 1 with the default bands: p = E ÷ B ÷ (6 ÷ 12) × 100,
/// < 60 red, < 80 yellow, else green — recomputed by each push in the same transaction.
async fn a_push_colours_an_open_round(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    app.approved("P-1", "1200000").await;
    let round = app.open_round().await.unwrap();
    let colour = |app: &App| {
        let r = mon::GetRoundSubjectRequest {
            round_id: round.id,
            subject_key: "P-1".into(),
        };
        let mut rounds = app.rounds.clone();
        let req = app.req(&finance(), r);
        async move {
            rounds
                .get_round_subject(req)
                .await
                .unwrap()
                .into_inner()
                .subject
                .unwrap()
        }
    };
    assert_eq!(colour(&app).await.budget_colour(), mon::Colour::Unspecified);
    for (executed, expected, deviated) in [
        ("300000", mon::Colour::Red, true),       // 50
        ("420000", mon::Colour::Yellow, true),    // 70
        ("479999.99", mon::Colour::Yellow, true), // 79.99…
        ("480000", mon::Colour::Green, false),    // 80
        ("900000", mon::Colour::Green, false),    // 150: over-spent is green on this axis
    ] {
        let pushed = app.push(vec![row("P-1", 6, "1200000", executed)]).await;
        assert_eq!(pushed.subjects_recomputed, 1, "{executed}");
        let s = colour(&app).await;
        assert_eq!(
            (s.budget_colour(), s.deviated),
            (expected, deviated),
            "{executed}"
        );
    }
    // A month after the round's months and a project outside the round recompute nothing of it.
    let later = app.push(vec![row("P-1", 7, "1200000", "100")]).await;
    assert_eq!(later.rejected, 1); // below June's 900,000
    let other = app.push(vec![row("P-OTHER", 6, "1000", "1")]).await;
    assert_eq!(other.subjects_recomputed, 0);
    assert_eq!(colour(&app).await.budget_colour(), mon::Colour::Green);
}

pbm_testkit::backend_tests! {
    push_replay_unchanged_and_updated_ => push_replay_unchanged_and_updated;
    rows_are_refused_one_by_one_ => rows_are_refused_one_by_one;
    ten_thousand_rows_in_one_push_ => ten_thousand_rows_in_one_push;
    a_history_with_its_early_warning_ => a_history_with_its_early_warning;
    a_workbook_is_imported_row_by_row_ => a_workbook_is_imported_row_by_row;
    who_may_push_and_read_ => who_may_push_and_read;
    a_push_colours_an_open_round_ => a_push_colours_an_open_round;
}
