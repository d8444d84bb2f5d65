//! The national monitoring table over real gRPC: exported with the 一体化 element names for the
//! subjects the caller may see, filled in and imported again; an import's rows checked one by
//! one, `validate_only` writing nothing.

use pbm_proto::monitoring::v1 as mon;
use pbm_testkit::{TestDatabase, refused};
use pbm_xlsx::Column;
use tonic::Code;

use crate::common::*;
use crate::reports::{P1, P2, on_track, report_round};

/// A second project of [`UNIT`].
const P3: &str = "P-2026-103";

fn column(header: &'static str) -> Column {
    Column {
        header,
        required: false,
        width: 12.0,
    }
}

/// The columns a test reads and writes, by their headers in the exported table.
const HEADERS: [&str; 11] = [
    "PRO_CODE 项目编码",
    "KPI_SEQ 指标序号",
    "KPI_LV3 三级指标",
    "KPI_ACTUAL 实际完成值",
    "KPI_FORECAST 全年预计完成值",
    "KPI_POSSIBILITY 完成目标可能性",
    "DEV_CAUSE 偏差原因",
    "DEV_CAUSE_DESC 其他原因说明",
    "KPI_REMARK 备注",
    "EXEC_DESC 预算执行情况说明",
    "AGENCY_CODE 单位代码",
];

fn columns() -> Vec<Column> {
    HEADERS.iter().map(|h| column(h)).collect()
}

fn workbook(rows: &[[&str; 11]]) -> Vec<u8> {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
        .collect();
    pbm_xlsx::write_table("监控表", &columns(), &rows).unwrap()
}

impl App {
    pub async fn export_table(&self, who: &Who, round_id: i64, department: &str) -> Vec<u8> {
        let mut stream = self
            .reports
            .clone()
            .export_monitoring_table(self.req(
                who,
                mon::ExportMonitoringTableRequest {
                    round_id,
                    department_code: department.into(),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.message().await.unwrap() {
            bytes.extend(chunk.data);
        }
        bytes
    }

    pub async fn import_table(
        &self,
        who: &Who,
        round_id: i64,
        workbook: Vec<u8>,
        validate_only: bool,
    ) -> Result<mon::ImportReportsResponse, tonic::Status> {
        Ok(self
            .reports
            .clone()
            .import_reports(self.req(
                who,
                mon::ImportReportsRequest {
                    request_id: self.rid(),
                    round_id,
                    workbook,
                    validate_only,
                },
            ))
            .await?
            .into_inner())
    }

    async fn report_of(
        &self,
        who: &Who,
        round_id: i64,
        key: &str,
    ) -> Result<mon::Report, tonic::Status> {
        Ok(self
            .reports
            .clone()
            .get_report(self.req(
                who,
                mon::GetReportRequest {
                    round_id,
                    subject_key: key.into(),
                    ..Default::default()
                },
            ))
            .await?
            .into_inner()
            .report
            .unwrap())
    }
}

/// The exported table's rows, in the columns of [`HEADERS`].
fn table(bytes: &[u8]) -> Vec<Vec<String>> {
    pbm_xlsx::read_table(bytes, &columns())
        .unwrap()
        .into_iter()
        .map(|r| r.cells)
        .collect()
}

async fn an_exported_table_imports_again(db: TestDatabase) {
    let app = spawn(db).await;
    let round = report_round(&app).await;
    let mut values = on_track();
    values[1].causes = vec![mon::Cause::Funding as i32, mon::Cause::Other as i32];
    values[1].other_text = "材料价格上涨".into();
    values[1].remark = "已协调".into();
    let saved = app
        .save_report(&unit(), round, P1, 0, values)
        .await
        .unwrap();

    // Each reader's table holds its own subjects, one row per indicator.
    let pro_codes = |bytes: &[u8]| {
        let mut codes: Vec<String> = table(bytes).into_iter().map(|r| r[0].clone()).collect();
        codes.dedup();
        codes
    };
    assert_eq!(
        pro_codes(&app.export_table(&finance(), round, "").await),
        [P1, P2]
    );
    assert_eq!(
        pro_codes(&app.export_table(&auditor(), round, "").await),
        [P1, P2]
    );
    assert_eq!(
        pro_codes(&app.export_table(&finance(), round, DEPT2).await),
        [P2]
    );
    assert_eq!(pro_codes(&app.export_table(&unit(), round, "").await), [P1]);
    assert_eq!(
        pro_codes(&app.export_table(&department2(), round, "").await),
        [P2]
    );
    assert!(pro_codes(&app.export_table(&department(), round, DEPT2).await).is_empty());

    // The unit's table as exported: the 一体化 names, its values in Chinese.
    let mine = app.export_table(&unit(), round, "").await;
    let rows = table(&mine);
    assert_eq!(rows.len(), 4);
    assert_eq!(
        rows[1][..9],
        [
            P1,
            "2",
            "单位工程成本",
            "40",
            "45",
            "确定能",
            "经费保障、其他",
            "材料价格上涨",
            "已协调"
        ]
    );
    assert_eq!(rows[1][10], UNIT);
    // Imported as it is, it saves the same values (a new revision).
    let again = app.import_table(&unit(), round, mine, false).await.unwrap();
    assert_eq!(
        (again.rows, again.reports_saved),
        (4, 1),
        "{:?}",
        again.errors
    );
    assert!(again.errors.is_empty());
    let reread = app.report_of(&unit(), round, P1).await.unwrap();
    assert_eq!(reread.indicators, saved.indicators);
    assert_eq!(reread.revision, saved.revision + 1);

    // The other unit fills in its empty table and imports it.
    let blank = app.export_table(&unit2(), round, "").await;
    let mut rows = table(&blank);
    assert!(rows.iter().all(|r| r[3].is_empty()));
    for (row, (achieved, likelihood)) in rows.iter_mut().zip([
        ("3", "有可能"),
        ("40", "确定能"),
        ("16000", "确定能"),
        ("95", "确定能"),
    ]) {
        row[3] = achieved.into();
        row[4] = "12".into();
        row[5] = likelihood.into();
    }
    rows[0][6] = "人员保障".into();
    rows[0][9] = "上半年施工受阻".into();
    let filled: Vec<[&str; 11]> = rows
        .iter()
        .map(|r| std::array::from_fn(|i| r[i].as_str()))
        .collect();
    let imported = app
        .import_table(&unit2(), round, workbook(&filled), false)
        .await
        .unwrap();
    assert_eq!(
        (imported.rows, imported.reports_saved),
        (4, 1),
        "{:?}",
        imported.errors
    );
    let report = app.report_of(&unit2(), round, P2).await.unwrap();
    assert_eq!(report.status, mon::ReportStatus::Draft as i32);
    assert_eq!(report.execution_narrative, "上半年施工受阻");
    assert_eq!(report.indicators[0].achieved, "3");
    assert_eq!(
        report.indicators[0].likelihood,
        mon::Likelihood::Possible as i32
    );
    assert_eq!(report.indicators[0].causes, [mon::Cause::Staff as i32]);
    // Complete as imported: it submits.
    let submitted = app.submit_report(&unit2(), &report).await.unwrap();
    assert_eq!(submitted.status, mon::ReportStatus::Submitted as i32);
}

async fn rows_are_checked_one_by_one(db: TestDatabase) {
    let app = spawn(db).await;
    let round = {
        app.library().await;
        app.approved(P1, "1000000").await;
        app.approved(P3, "800000").await;
        app.approved_for(&unit2(), P2, DEPT2, UNIT2, "1000000")
            .await;
        app.open_round().await.unwrap().id
    };
    let book = workbook(&[
        // P3: both rows good, by seq and by name: saved.
        [P3, "1", "", "6", "12", "确定能", "", "", "", "进度正常", ""],
        [
            P3,
            "",
            "受益人口",
            "16000",
            "32000",
            "有可能",
            "经费保障",
            "",
            "",
            "",
            "",
        ],
        // P1: a value with its unit, an unknown likelihood and cause: not saved.
        [P1, "1", "", "6处", "", "大概", "天气", "", "", "", ""],
        [P1, "2", "", "40", "", "确定能", "", "", "", "", ""],
        [P1, "9", "", "1", "", "", "", "", "", "", ""],
        // Another unit's project, one not in the round, and no code at all.
        [P2, "1", "", "6", "", "", "", "", "", "", ""],
        ["P-NONE", "1", "", "6", "", "", "", "", "", "", ""],
        ["", "1", "", "6", "", "", "", "", "", "", ""],
    ]);
    let expected = [
        (4, "KPI_ACTUAL 实际完成值", "VALUE_INVALID"),
        (4, "KPI_POSSIBILITY 完成目标可能性", "LIKELIHOOD_INVALID"),
        (4, "DEV_CAUSE 偏差原因", "CAUSE_INVALID"),
        (6, "KPI_SEQ 指标序号", "INDICATOR_NOT_FOUND"),
        (7, "PRO_CODE 项目编码", "SUBJECT_NOT_FOUND"),
        (8, "PRO_CODE 项目编码", "SUBJECT_NOT_FOUND"),
        (9, "PRO_CODE 项目编码", "CELL_REQUIRED"),
    ];
    let errors = |r: &mon::ImportReportsResponse| {
        let mut e: Vec<(i32, String, String)> = r
            .errors
            .iter()
            .map(|e| (e.row, e.column.clone(), e.reason.clone()))
            .collect();
        e.sort();
        e
    };
    let mut want: Vec<(i32, String, String)> = expected
        .iter()
        .map(|(r, c, why)| (*r, c.to_string(), why.to_string()))
        .collect();
    want.sort();

    // Validating writes nothing.
    let checked = app
        .import_table(&unit(), round, book.clone(), true)
        .await
        .unwrap();
    assert_eq!((checked.rows, checked.reports_saved), (8, 0));
    assert_eq!(errors(&checked), want);
    refused(
        app.report_of(&unit(), round, P3).await,
        Code::NotFound,
        "REPORT_NOT_FOUND",
    );

    // Importing saves the subjects whose rows are all good, and lists the same problems.
    let imported = app.import_table(&unit(), round, book, false).await.unwrap();
    assert_eq!((imported.rows, imported.reports_saved), (8, 1));
    assert_eq!(errors(&imported), want);
    let p3 = app.report_of(&unit(), round, P3).await.unwrap();
    assert_eq!(p3.execution_narrative, "进度正常");
    let values: Vec<(i32, &str)> = p3
        .indicators
        .iter()
        .map(|i| (i.seq, i.achieved.as_str()))
        .collect();
    assert_eq!(values, [(1, "6"), (3, "16000")]);
    refused(
        app.report_of(&unit(), round, P1).await,
        Code::NotFound,
        "REPORT_NOT_FOUND",
    );

    // Finance does not fill in units' tables; a file that is not a workbook is refused whole.
    refused(
        app.import_table(&finance(), round, b"PK".to_vec(), false)
            .await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
    refused(
        app.import_table(&unit(), round, b"not a workbook".to_vec(), false)
            .await,
        Code::InvalidArgument,
        "WORKBOOK_INVALID",
    );
}

pbm_testkit::backend_tests! {
    round_trip => an_exported_table_imports_again;
    row_errors => rows_are_checked_one_by_one;
}
