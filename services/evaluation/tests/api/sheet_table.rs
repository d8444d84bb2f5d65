//! The national 自评表 as .xlsx over real gRPC, on both backends: the export of the caller's
//! sheets (tab 自评表 and tab 指标), an export imported again unchanged and changed, per-row
//! results, validate_only, and another unit's rows refused.

use pbm_evaluation::domain::table::{INDICATOR_COLUMNS, INDICATOR_TAB, SHEET_COLUMNS, SHEET_TAB};
use pbm_proto::evaluation::v1 as ev;

use crate::common::*;
use crate::sheets::{complete_entries, listed, save};

async fn export(app: &App, who: &Who, campaign: i64) -> ev::ExportSelfEvaluationsResponse {
    app.selfs
        .clone()
        .export_self_evaluations(app.req(
            who,
            ev::ExportSelfEvaluationsRequest {
                campaign_id: campaign,
                self_evaluation_ids: vec![],
            },
        ))
        .await
        .unwrap()
        .into_inner()
}

async fn import(
    app: &App,
    who: &Who,
    campaign: i64,
    workbook: Vec<u8>,
    validate_only: bool,
) -> ev::ImportSelfEvaluationsResponse {
    app.selfs
        .clone()
        .import_self_evaluations(app.req(
            who,
            ev::ImportSelfEvaluationsRequest {
                request_id: app.rid(),
                campaign_id: campaign,
                workbook,
                validate_only,
            },
        ))
        .await
        .unwrap()
        .into_inner()
}

fn tab(workbook: &[u8], name: &str, columns: &[pbm_xlsx::Column]) -> Vec<Vec<String>> {
    pbm_xlsx::read_named_table(workbook, name, columns)
        .unwrap()
        .into_iter()
        .map(|r| r.cells)
        .collect()
}

fn workbook(forms: &[Vec<String>], lines: &[Vec<String>]) -> Vec<u8> {
    pbm_xlsx::write_tables(&[
        pbm_xlsx::Sheet {
            name: SHEET_TAB,
            columns: &SHEET_COLUMNS,
            rows: forms,
        },
        pbm_xlsx::Sheet {
            name: INDICATOR_TAB,
            columns: &INDICATOR_COLUMNS,
            rows: lines,
        },
    ])
    .unwrap()
}

async fn get(app: &App, id: i64) -> ev::SelfEvaluation {
    app.selfs
        .clone()
        .get_self_evaluation(app.req(
            &unit(),
            ev::GetSelfEvaluationRequest {
                self_evaluation_id: id,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .self_evaluation
        .unwrap()
}

async fn export_and_import_again(db: pbm_testkit::TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    app.approved("P001", "1000000").await;
    app.approved_for(&unit2(), "P002", DEPT2, UNIT2, "500000")
        .await;
    app.execution("P001", "1000000", "950000").await;
    let campaign = app.open_campaign().await.unwrap();
    let sheet = listed(&app, &unit(), campaign.id, "P001").await;
    let saved = save(
        &app,
        &unit(),
        &sheet,
        complete_entries(),
        "总体完成年度目标",
    )
    .await
    .unwrap();

    // The unit's export: its one sheet, its four indicators.
    let out = export(&app, &unit(), campaign.id).await;
    assert_eq!(out.rows, 1);
    let forms = tab(&out.workbook, SHEET_TAB, &SHEET_COLUMNS);
    let lines = tab(&out.workbook, INDICATOR_TAB, &INDICATOR_COLUMNS);
    assert_eq!(forms.len(), 1);
    assert_eq!(forms[0][0], "P001");
    assert_eq!(forms[0][6], "95");
    assert_eq!(forms[0][9], "总体完成年度目标");
    assert_eq!(
        forms[0][10],
        saved.score.as_ref().unwrap().total.clone().unwrap().value
    );
    assert_eq!(lines.len(), 4);
    assert_eq!((lines[2][1].as_str(), lines[2][8].as_str()), ("3", "16000"));
    assert_eq!(lines[2][13], "汛期施工延误");
    assert_eq!(lines[2][11], "否");
    // Finance's export holds both units' sheets.
    assert_eq!(export(&app, &finance(), campaign.id).await.rows, 2);

    // Imported unchanged: saved again, the same entries and score.
    let again = import(&app, &unit(), campaign.id, out.workbook.clone(), false).await;
    assert_eq!(
        (again.sheets_saved, again.rejected),
        (1, 0),
        "{:?}",
        again.results
    );
    assert_eq!(again.results.len(), 5);
    assert!(
        again
            .results
            .iter()
            .all(|r| r.ok && r.subject_key == "P001")
    );
    let after = get(&app, sheet.id).await;
    assert_eq!(after.revision, saved.revision + 1);
    assert_eq!(after.score, saved.score);
    let entries = |s: &ev::SelfEvaluation| -> Vec<ev::IndicatorEntry> {
        s.indicators
            .iter()
            .map(|i| i.entry.clone().unwrap())
            .collect()
    };
    assert_eq!(entries(&after), entries(&saved));

    // Changed: 受益人口 now achieved; the analysis may stay.
    let mut changed = lines.clone();
    changed[2][8] = "32000".into();
    let mut summary = forms.clone();
    summary[0][9] = "全面完成".into();
    let out2 = import(
        &app,
        &unit(),
        campaign.id,
        workbook(&summary, &changed),
        false,
    )
    .await;
    assert_eq!(out2.sheets_saved, 1, "{:?}", out2.results);
    let after = get(&app, sheet.id).await;
    assert_eq!(
        after.indicators[2].entry.as_ref().unwrap().achieved_value,
        "32000"
    );
    assert_eq!(after.summary, "全面完成");
    assert!(!after.indicators[2].score.as_ref().unwrap().deviates);

    // Bad rows: every problem on its row, nothing saved; validate_only writes nothing either.
    let mut bad = lines.clone();
    bad[0][9] = "达成".into(); // a tier on a ≥ indicator
    bad[1][11] = "也许".into();
    bad.push({
        let mut r = lines[0].clone();
        r[0] = "P999".into();
        r
    });
    let checked = import(&app, &unit(), campaign.id, workbook(&forms, &bad), true).await;
    let refused: Vec<(i32, &str, &str, &str)> = checked
        .results
        .iter()
        .filter(|r| !r.ok)
        .map(|r| {
            (
                r.row,
                r.subject_key.as_str(),
                r.field.as_str(),
                r.reason.as_str(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        [
            (2, "P001", "指标.不适用", "NOT_APPLICABLE_INVALID"),
            (5, "P999", "指标.项目编码", "SHEET_NOT_FOUND"),
        ]
    );
    assert_eq!((checked.sheets_saved, checked.rejected), (0, 2));
    let fixed_na = {
        let mut b = bad.clone();
        b[1][11] = "否".into();
        b.pop();
        b
    };
    let tier = import(
        &app,
        &unit(),
        campaign.id,
        workbook(&forms, &fixed_na),
        false,
    )
    .await;
    let refused: Vec<(i32, &str, &str)> = tier
        .results
        .iter()
        .filter(|r| !r.ok)
        .map(|r| (r.row, r.field.as_str(), r.reason.as_str()))
        .collect();
    assert_eq!(refused, [(1, "指标.定性档次", "TIER_NOT_ALLOWED")]);
    assert_eq!(tier.sheets_saved, 0);
    assert_eq!(get(&app, sheet.id).await.revision, after.revision);

    // Another unit's rows: no such sheet for it.
    let theirs = import(&app, &unit2(), campaign.id, out.workbook, false).await;
    assert_eq!(theirs.sheets_saved, 0);
    assert!(
        theirs
            .results
            .iter()
            .all(|r| !r.ok && r.reason == "SHEET_NOT_FOUND")
    );
    assert_eq!(get(&app, sheet.id).await.revision, after.revision);
}

async fn who_may_import_and_export(db: pbm_testkit::TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    app.approved("P001", "1000000").await;
    let campaign = app.open_campaign().await.unwrap();
    let out = export(&app, &unit(), campaign.id).await;
    for who in [finance(), auditor()] {
        let e = app
            .selfs
            .clone()
            .import_self_evaluations(app.req(
                &who,
                ev::ImportSelfEvaluationsRequest {
                    request_id: app.rid(),
                    campaign_id: campaign.id,
                    workbook: out.workbook.clone(),
                    validate_only: true,
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied);
    }
    for who in [province(), Who::new(pbm_auth::Role::Public, REGION)] {
        let e = app
            .selfs
            .clone()
            .export_self_evaluations(app.req(
                &who,
                ev::ExportSelfEvaluationsRequest {
                    campaign_id: campaign.id,
                    self_evaluation_ids: vec![],
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied);
    }
    // An agency with nothing commissioned exports an empty table.
    assert_eq!(
        export(&app, &agency("91140500MA0000000X"), campaign.id)
            .await
            .rows,
        0
    );
    let e = app
        .selfs
        .clone()
        .import_self_evaluations(app.req(
            &unit(),
            ev::ImportSelfEvaluationsRequest {
                request_id: app.rid(),
                campaign_id: campaign.id,
                workbook: b"not a workbook".to_vec(),
                validate_only: false,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&e), "WORKBOOK_INVALID");
}

pbm_testkit::backend_tests! {
    round_trip => export_and_import_again;
    roles => who_may_import_and_export;
}
