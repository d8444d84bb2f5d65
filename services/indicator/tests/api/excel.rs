//! Excel export and import: Chinese headers, whole-file validation, nothing written on errors.

use pbm_indicator::excel::COLUMNS;
use pbm_proto::indicator::v1 as proto;
use pbm_testkit::TestDatabase;
use tonic::Code;

use crate::common::*;

/// Column index by header.
fn col(header: &str) -> usize {
    COLUMNS
        .iter()
        .position(|c| c.header == header)
        .unwrap_or_else(|| panic!("no column {header}"))
}

/// A valid import row (all 25 columns).
fn row(code: &str, name: &str) -> Vec<String> {
    let mut r = vec![String::new(); COLUMNS.len()];
    for (h, v) in [
        ("指标编码", code),
        ("预算年度", "2026"),
        ("一级指标", "产出指标"),
        ("二级指标", "数量指标"),
        ("三级指标名称", name),
        ("指标类型", "共性"),
        ("行业标签", "水利、农业"),
        ("指标方向", "≥"),
        ("计量单位", "人"),
        ("指标解释", "说明"),
        ("参考指标值", "1000"),
        ("上年值", "900.5"),
        ("是否固化", "否"),
    ] {
        r[col(h)] = v.into();
    }
    r
}

fn workbook(rows: &[Vec<String>]) -> Vec<u8> {
    pbm_xlsx::write_table("s", &COLUMNS, rows).expect("write workbook")
}

fn cells(rows: &[pbm_xlsx::Row], header: &str) -> Vec<String> {
    rows.iter().map(|r| r.cells[col(header)].clone()).collect()
}

async fn export_reads_back(db: TestDatabase) {
    let app = spawn_app(db).await;
    app.create(
        "E1",
        proto::IndicatorSpec {
            industry_tags: vec!["水利".into(), "农业".into()],
            last_year_value: Some(pbm_proto::common::v1::Decimal {
                value: "900.50".into(),
            }),
            fixed: true,
            enabled_from_year: 2025,
            ..spec("受益人口")
        },
    )
    .await
    .unwrap();
    app.create(
        "E2",
        proto::IndicatorSpec {
            frame_node_code: "301".into(),
            direction: Direction::Qualitative as i32,
            unit: String::new(),
            reference_target: "明显提升".into(),
            ..spec("群众满意度")
        },
    )
    .await
    .unwrap();
    app.set_status("E2", 1, IndicatorStatus::Disabled, "停用")
        .await
        .unwrap();

    let (bytes, count) = app
        .export_as(&finance(), Default::default())
        .await
        .expect("export");
    assert_eq!(count, 2);
    assert_eq!(&bytes[..2], b"PK", "an .xlsx is a zip");
    let rows = pbm_xlsx::read_table(&bytes, &COLUMNS[..24]).expect("valid workbook");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].number, 2, "data starts below the header");
    assert_eq!(cells(&rows, "指标编码"), ["E1", "E2"]);
    assert_eq!(cells(&rows, "预算年度"), ["2026", "2026"]);
    assert_eq!(cells(&rows, "一级指标"), ["产出指标", "满意度指标"]);
    assert_eq!(cells(&rows, "二级指标"), ["数量指标", "服务对象满意度指标"]);
    assert_eq!(cells(&rows, "三级指标名称"), ["受益人口", "群众满意度"]);
    assert_eq!(cells(&rows, "指标类型"), ["共性", "共性"]);
    assert_eq!(cells(&rows, "行业标签"), ["水利、农业", "水利"]);
    assert_eq!(cells(&rows, "指标方向"), ["≥", "定性"]);
    assert_eq!(cells(&rows, "计量单位"), ["人", ""]);
    assert_eq!(cells(&rows, "参考指标值"), ["1000", "明显提升"]);
    assert_eq!(cells(&rows, "上年值"), ["900.5", ""]);
    assert_eq!(cells(&rows, "是否固化"), ["是", "否"]);
    assert_eq!(cells(&rows, "启用起始年度"), ["2025", ""]);
    assert_eq!(cells(&rows, "状态"), ["启用", "停用"]);
    let with_version = pbm_xlsx::read_table(&bytes, &COLUMNS).unwrap();
    assert_eq!(cells(&with_version, "版本"), ["1", "2"]);

    // Filtered export.
    let (bytes, count) = app
        .export_as(
            &finance(),
            proto::IndicatorFilter {
                status: IndicatorStatus::Enabled as i32,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(count, 1);
    assert_eq!(
        cells(
            &pbm_xlsx::read_table(&bytes, &COLUMNS[..24]).unwrap(),
            "指标编码"
        ),
        ["E1"]
    );

    // The export imports back unchanged; a cell edited in Excel becomes a new version.
    let (bytes, _) = app.export_as(&finance(), Default::default()).await.unwrap();
    let mut edited: Vec<Vec<String>> = pbm_xlsx::read_table(&bytes, &COLUMNS)
        .unwrap()
        .into_iter()
        .map(|r| r.cells)
        .collect();
    let same = app
        .import(workbook(&edited), false)
        .await
        .expect("re-import export");
    assert_eq!(
        (same.rows, same.created, same.updated, same.unchanged),
        (2, 0, 0, 2)
    );
    edited[0][col("三级指标名称")] = "受益人口数量".into();
    let changed = app
        .import(workbook(&edited), false)
        .await
        .expect("import edited");
    assert_eq!(
        (
            changed.rows,
            changed.created,
            changed.updated,
            changed.unchanged
        ),
        (2, 0, 1, 1)
    );
    assert_eq!(app.versions("E1").await, [2, 1]);
    assert_eq!(
        app.get("E1").await.unwrap().spec.unwrap().name,
        "受益人口数量"
    );
    assert_eq!(app.versions("E2").await, [2, 1]);
}

async fn import_creates_updates_and_refuses(db: TestDatabase) {
    let app = spawn_app(db).await;
    let three = vec![
        row("X1", "受益人口"),
        row("X2", "新建里程"),
        row("X3", "覆盖率"),
    ];

    let created = app.import(workbook(&three), false).await.expect("import");
    assert_eq!(
        (
            created.rows,
            created.created,
            created.updated,
            created.unchanged
        ),
        (3, 3, 0, 0)
    );
    assert!(created.errors.is_empty());
    assert_eq!(app.codes(Default::default()).await, ["X1", "X2", "X3"]);
    let x1 = app.get("X1").await.unwrap();
    assert_eq!((x1.version, x1.level2_name.as_str()), (1, "数量指标"));
    let s = x1.spec.unwrap();
    assert_eq!(s.frame_node_code, "101");
    assert_eq!(s.industry_tags, ["水利", "农业"]);
    assert_eq!(s.last_year_value.unwrap().value, "900.5");
    assert_eq!(s.kind, IndicatorKind::Common as i32);
    // Imported indicators are searchable at once.
    let r = proto::SearchIndicatorsRequest {
        query: "里程".into(),
        filter: None,
        limit: 0,
    };
    let hits = app
        .client()
        .search_indicators(app.fin(r))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(hits.total_matches, 1);

    let again = app
        .import(workbook(&three), false)
        .await
        .expect("re-import");
    assert_eq!(
        (again.rows, again.created, again.updated, again.unchanged),
        (3, 0, 0, 3)
    );
    assert_eq!(app.versions("X1").await, [1]);

    let mut changed = three.clone();
    changed[1][col("参考指标值")] = "2000".into();
    let updated = app
        .import(workbook(&changed), false)
        .await
        .expect("import changed");
    assert_eq!(
        (
            updated.rows,
            updated.created,
            updated.updated,
            updated.unchanged
        ),
        (3, 0, 1, 2)
    );
    assert_eq!(app.versions("X2").await, [2, 1]);
    let x2 = app.get("X2").await.unwrap();
    assert_eq!(x2.spec.unwrap().reference_target, "2000");
    assert!(x2.change_note.contains("第 3 行"), "{}", x2.change_note);
    assert_eq!(app.versions("X1").await, [1]);
    // Each version written is announced as every library write is (docs/ARCHITECTURE.md
    // "Events"): three created, one updated, nothing for the unchanged rows.
    let mut announced: Vec<(String, String)> = app
        .state
        .db
        .read(|c| pbm_db::platform::unpublished_outbox(c, 100))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.topic == "pbm.indicator.changed")
        .map(|e| (e.entity_id, e.payload))
        .collect();
    announced.sort();
    let versions: Vec<(&str, i64)> = announced
        .iter()
        .map(|(code, payload)| {
            let p: serde_json::Value = serde_json::from_str(payload).unwrap();
            (code.as_str(), p["version"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(versions, [("X1", 1), ("X2", 1), ("X2", 2), ("X3", 1)]);

    // One bad workbook: row 3 names an unknown second level, row 4 is ≥ without a unit. Rows 2
    // (a new indicator) and 5 (a change) are fine but must not be written either.
    let mut bad = vec![
        row("Y1", "新指标"),
        row("Y2", "未知二级"),
        row("Y3", "缺单位"),
        row("X1", "受益人口改名"),
    ];
    bad[1][col("二级指标")] = "不存在的指标".into();
    bad[2][col("计量单位")] = String::new();
    let before = app.count().await;
    let s = refused(
        app.import(workbook(&bad), false).await,
        Code::InvalidArgument,
        "IMPORT_ROWS_INVALID",
    );
    assert_eq!(fields(&s), ["rows[3].二级指标", "rows[4].计量单位"]);
    assert_eq!(app.count().await, before);
    refused(app.get("Y1").await, Code::NotFound, "INDICATOR_NOT_FOUND");
    assert_eq!(app.versions("X1").await, [1]);
    assert_eq!(app.get("X1").await.unwrap().spec.unwrap().name, "受益人口");

    // validate_only reports the same errors in the response and writes nothing.
    let checked = app
        .import(workbook(&bad), true)
        .await
        .expect("validate only");
    let errors: Vec<(i32, &str, &str)> = checked
        .errors
        .iter()
        .map(|e| (e.row, e.column.as_str(), e.reason.as_str()))
        .collect();
    assert_eq!(
        errors,
        [
            (3, "二级指标", "FRAME_NODE_UNKNOWN"),
            (4, "计量单位", "VALIDATION_FAILED")
        ]
    );
    assert!(checked.errors.iter().all(|e| !e.message.is_empty()));
    assert_eq!((checked.created, checked.updated), (0, 0));
    let good = vec![row("Y1", "新指标"), row("X1", "受益人口改名")];
    let checked = app
        .import(workbook(&good), true)
        .await
        .expect("validate only");
    assert!(checked.errors.is_empty());
    assert_eq!((checked.rows, checked.created, checked.updated), (2, 0, 0));
    assert_eq!(app.count().await, before);
    refused(app.get("Y1").await, Code::NotFound, "INDICATOR_NOT_FOUND");
    assert_eq!(app.versions("X1").await, [1]);
}

async fn import_rejects_bad_files(db: TestDatabase) {
    let app = spawn_app(db).await;
    // Not a workbook.
    let s = refused(
        app.import(b"not a workbook".to_vec(), false).await,
        Code::InvalidArgument,
        "IMPORT_ROWS_INVALID",
    );
    assert!(!fields(&s).is_empty());
    // A required column missing.
    let cols: Vec<_> = COLUMNS
        .iter()
        .copied()
        .filter(|c| c.header != "指标方向")
        .collect();
    let mut r = row("Z1", "缺列");
    r.remove(col("指标方向"));
    let s = refused(
        app.import(pbm_xlsx::write_table("s", &cols, &[r]).unwrap(), false)
            .await,
        Code::InvalidArgument,
        "IMPORT_ROWS_INVALID",
    );
    assert_eq!(fields(&s), ["rows[1].指标方向"]);
    // Header only.
    refused(
        app.import(workbook(&[]), false).await,
        Code::InvalidArgument,
        "IMPORT_EMPTY",
    );
    // Bad cells of several kinds, each reported, and duplicate codes within the file.
    let mut rows = vec![row("Z1", "a"), row("Z1", "b"), row("Z3", "c")];
    rows[2][col("指标类型")] = "其他".into();
    rows[2][col("上年值")] = "很多".into();
    let s = refused(
        app.import(workbook(&rows), false).await,
        Code::InvalidArgument,
        "IMPORT_ROWS_INVALID",
    );
    assert_eq!(
        fields(&s),
        ["rows[3].指标编码", "rows[4].指标类型", "rows[4].上年值"]
    );
    // A year without a frame.
    let mut r = row("Z4", "d");
    r[col("预算年度")] = "2030".into();
    let s = refused(
        app.import(workbook(&[r]), false).await,
        Code::InvalidArgument,
        "IMPORT_ROWS_INVALID",
    );
    assert_eq!(fields(&s), ["rows[2].预算年度"]);
    assert_eq!(app.count().await, 0);
}

/// A 定性 row with a 计量单位 is refused at that cell (a 定性 indicator has no unit).
async fn import_refuses_a_unit_on_qualitative_rows(db: TestDatabase) {
    let app = spawn_app(db).await;
    let qualitative = |code: &str, unit: &str| {
        let mut r = row(code, "群众满意度");
        for (h, v) in [
            ("一级指标", "满意度指标"),
            ("二级指标", "服务对象满意度指标"),
            ("指标方向", "定性"),
            ("计量单位", unit),
            ("参考指标值", "明显提升"),
            ("上年值", ""),
        ] {
            r[col(h)] = v.into();
        }
        r
    };
    let rows = vec![qualitative("Q1", ""), qualitative("Q2", "分")];
    let s = refused(
        app.import(workbook(&rows), false).await,
        Code::InvalidArgument,
        "IMPORT_ROWS_INVALID",
    );
    assert_eq!(
        violation_reasons(&s),
        [("rows[3].计量单位".into(), "UNIT_NOT_ALLOWED".into())]
    );
    assert_eq!(app.count().await, 0);
    let checked = app
        .import(workbook(&rows), true)
        .await
        .expect("validate only");
    let errors: Vec<(i32, &str, &str)> = checked
        .errors
        .iter()
        .map(|e| (e.row, e.column.as_str(), e.reason.as_str()))
        .collect();
    assert_eq!(errors, [(3, "计量单位", "UNIT_NOT_ALLOWED")]);
    assert!(
        checked.errors[0].message.contains("定性指标没有计量单位"),
        "{}",
        checked.errors[0].message
    );
    let rows = vec![qualitative("Q1", ""), qualitative("Q2", "")];
    let done = app.import(workbook(&rows), false).await.expect("import");
    assert_eq!(done.created, 2);
    assert_eq!(app.get("Q2").await.unwrap().spec.unwrap().unit, "");
}

pbm_testkit::backend_tests! {
    excel_export => export_reads_back;
    excel_import_qualitative_unit => import_refuses_a_unit_on_qualitative_rows;
    excel_import => import_creates_updates_and_refuses;
    excel_import_bad_files => import_rejects_bad_files;
}
