//! The national 项目支出绩效自评表 as .xlsx ([`crate::domain::table`]): ExportSelfEvaluations
//! writes the caller's sheets of a campaign, ImportSelfEvaluations saves entries from the same
//! workbook. An exported workbook imports again (docs/EVALUATION.md "Import and export").
//!
//! The project's choices:
//! * **Export**: every sheet of the campaign the caller may see (or the ids asked, at most
//!   [`MAX_IDS`], those outside the caller's scope silently left out as a list leaves them), at
//!   most [`MAX_EXPORT_SHEETS`] sheets (`EXPORT_TOO_LARGE`: ask for fewer ids); tab 自评表 one row
//!   per sheet, tab 指标 one row per indicator.
//! * **Import, per sheet**: the rows of one 项目编码 (tab 自评表's texts, tab 指标's entries by
//!   序号) are saved as one SaveSelfEvaluation of that sheet would save them — the same step,
//!   checks, engine and write ([`super::sheets::plan_save`]) at the sheet's current revision;
//!   a sheet without a row in tab 自评表 keeps its texts. A sheet with any bad row is not saved;
//!   the others are. Each data row of both tabs gets a result (`field`: the tab, and the column
//!   at fault: `指标.实际完成值`; `row`: the tab's data row, from 1).
//! * **One transaction for the whole import** (audited once, idempotent by request id);
//!   `validate_only` plans every sheet in a read and writes nothing, not even an idempotency
//!   record.
//! * **Bounds**: the upload is measured before it is parsed (docs/SECURITY.md "Limits":
//!   `WORKBOOK_TOO_LARGE`, by `pbm_xlsx`) and holds at most [`MAX_ROWS`] rows per tab.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use pbm_auth::Caller;
use pbm_db::AnyConnection;
use pbm_proto::evaluation::v1 as ev;
use pbm_server::{ApiError, Effect, ErrorKind, MutationContext, run_mutation};
use pbm_types::FieldViolation;
use pbm_types::decimal::to_wire;
use pbm_xlsx::{Column, Sheet};

use super::authorise;
use super::sheet_reads::campaign_not_found;
use super::sheets::{Edit, FILLERS, PlannedSave, READERS, plan_save, readable, write_save};
use crate::convert::scores::{score_to_proto, tier_of_word};
use crate::domain::access::{Viewer, list_filter};
use crate::domain::table::{
    INDICATOR_COLUMNS, INDICATOR_TAB, SHEET_COLUMNS, SHEET_TAB, direction_label, entry_from_cells,
    grade_label, indicator_at, sheet_at,
};
use crate::state::AppState;
use crate::store::{self, CampaignFacts, SheetFilter, SheetRow};

/// Most ids an export names.
pub const MAX_IDS: usize = 1_000;
/// Most sheets one export holds.
pub const MAX_EXPORT_SHEETS: i64 = 5_000;
/// Most data rows per tab of an import.
pub const MAX_ROWS: usize = 10_000;

fn money(m: pbm_db::Money) -> String {
    to_wire(m.0)
}

/// A tab's rows, each a row of cells.
type TabRows = Vec<Vec<String>>;

/// The two tabs' rows of `sheets`.
fn table_rows(
    conn: &mut AnyConnection,
    sheets: &[SheetRow],
) -> Result<(TabRows, TabRows), ApiError> {
    let ids: Vec<i64> = sheets.iter().map(|s| s.id).collect();
    let mut indicators = store::indicators_of_sheets(conn, &ids)?;
    let mut forms = Vec::with_capacity(sheets.len());
    let mut lines = Vec::new();
    for s in sheets {
        let score = score_to_proto(&s.score);
        forms.push(vec![
            s.subject_key.clone(),
            s.name.clone(),
            s.department_code.clone(),
            s.agency_code.clone(),
            money(s.budget),
            money(s.executed),
            money(s.execution_rate),
            score.execution_points.map(|d| d.value).unwrap_or_default(),
            s.execution_reason.clone(),
            s.summary.clone(),
            money(s.total),
            grade_label(&s.grade).to_owned(),
        ]);
        for i in indicators.remove(&s.id).unwrap_or_default() {
            lines.push(vec![
                s.subject_key.clone(),
                i.seq.to_string(),
                i.level1_name,
                i.level2_name,
                i.name,
                direction_label(&i.direction).to_owned(),
                i.unit,
                i.target_value,
                i.achieved_value,
                tier_of_word(&i.tier).map_or("", |t| t.label()).to_owned(),
                i.qualitative_score.map(money).unwrap_or_default(),
                if i.not_applicable { "是" } else { "否" }.to_owned(),
                i.not_applicable_reason,
                i.deviation_causes,
                i.improvement_measures,
                money(i.weight),
                money(i.points),
            ]);
        }
    }
    Ok((forms, lines))
}

/// ExportSelfEvaluations (see the module doc).
pub async fn export(
    state: &AppState,
    caller: Caller,
    m: ev::ExportSelfEvaluationsRequest,
) -> Result<ev::ExportSelfEvaluationsResponse, ApiError> {
    let v = authorise(&caller, state, READERS, false)?;
    if m.self_evaluation_ids.len() > MAX_IDS {
        return Err(ApiError::invalid_field(
            "TOO_MANY_IDS",
            "self_evaluation_ids",
            format!("一次最多导出 {MAX_IDS} 张自评表"),
        ));
    }
    let mut f = SheetFilter::new(list_filter(&v));
    if !m.self_evaluation_ids.is_empty() {
        f.ids = Some(m.self_evaluation_ids.clone());
    }
    let campaign_id = m.campaign_id;
    let (forms, lines) = state
        .db
        .read(move |conn| {
            let campaign = store::campaign_facts(conn, campaign_id)?
                .ok_or_else(|| campaign_not_found(campaign_id))?;
            let sheets = store::sheets_all(conn, campaign.id, &f, MAX_EXPORT_SHEETS + 1)?;
            if sheets.len() as i64 > MAX_EXPORT_SHEETS {
                return Err(ApiError::failed_precondition(
                    "EXPORT_TOO_LARGE",
                    format!("一次最多导出 {MAX_EXPORT_SHEETS} 张自评表，请按编号分批导出"),
                ));
            }
            table_rows(conn, &sheets)
        })
        .await?;
    let rows = i32::try_from(forms.len()).unwrap_or(i32::MAX);
    let workbook = tokio::task::spawn_blocking(move || {
        pbm_xlsx::write_tables(&[
            Sheet {
                name: SHEET_TAB,
                columns: &SHEET_COLUMNS,
                rows: &forms,
            },
            Sheet {
                name: INDICATOR_TAB,
                columns: &INDICATOR_COLUMNS,
                rows: &lines,
            },
        ])
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    Ok(ev::ExportSelfEvaluationsResponse { workbook, rows })
}

/// One data row of a tab: its number among the tab's data rows (from 1) and its cells.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    row: i32,
    cells: Vec<String>,
}

/// The data rows of tab `tab` (none when the workbook has no such tab); a workbook that cannot
/// be read is refused whole.
fn read_tab(bytes: &[u8], tab: &str, columns: &[Column]) -> Result<Vec<Line>, ApiError> {
    let optional: Vec<Column> = columns
        .iter()
        .map(|c| Column {
            required: false,
            ..*c
        })
        .collect();
    let table = match pbm_xlsx::read_named_table(bytes, tab, &optional) {
        Ok(table) => table,
        Err(e) if e.iter().all(|e| e.reason == "SHEET_MISSING") => return Ok(Vec::new()),
        Err(errors) => {
            return Err(ApiError::validation(
                errors
                    .into_iter()
                    .map(|e| {
                        let field = match (e.row, e.column.as_str()) {
                            (0, _) => "workbook".to_owned(),
                            (row, column) => format!("workbook.{tab}.rows[{row}].{column}"),
                        };
                        FieldViolation::new(field, e.reason, e.message)
                    })
                    .collect(),
            ));
        }
    };
    if table.len() > MAX_ROWS {
        return Err(ApiError::invalid_field(
            "IMPORT_TOO_LARGE",
            "workbook",
            format!(
                "「{tab}」一次最多导入 {MAX_ROWS} 行，本表有 {} 行；请分批导入",
                table.len()
            ),
        ));
    }
    Ok(table
        .into_iter()
        .map(|r| Line {
            row: i32::try_from(r.number).unwrap_or(i32::MAX) - 1,
            cells: r.cells,
        })
        .collect())
}

/// One sheet's rows of both tabs.
#[derive(Debug, Default)]
struct Rows {
    form: Vec<Line>,
    lines: Vec<Line>,
}

fn result(tab: &str, line: &Line, key: &str) -> ev::ImportRowResult {
    ev::ImportRowResult {
        row: line.row,
        subject_key: key.to_owned(),
        ok: true,
        reason: String::new(),
        message: String::new(),
        field: tab.to_owned(),
    }
}

fn refuse(r: &mut ev::ImportRowResult, column: &str, reason: &str, message: &str) {
    if r.ok {
        r.ok = false;
        r.reason = reason.to_owned();
        r.message = message.to_owned();
        r.field = format!("{}.{column}", r.field);
    } else {
        r.message = format!("{}；{message}", r.message);
    }
}

/// The column of tab 指标 a save's field names (`entries[3].deviation_causes` → 偏差原因).
fn entry_column(field: &str) -> &'static str {
    let name = field.rsplit('.').next().unwrap_or_default();
    let at = match name {
        "achieved_value" => indicator_at::ACHIEVED,
        "tier" => indicator_at::TIER,
        "qualitative_score" => indicator_at::QUALITATIVE_SCORE,
        "not_applicable_reason" => indicator_at::NOT_APPLICABLE_REASON,
        "deviation_causes" => indicator_at::DEVIATION_CAUSES,
        "improvement_measures" => indicator_at::IMPROVEMENT_MEASURES,
        _ => indicator_at::SEQ,
    };
    INDICATOR_COLUMNS[at].header
}

/// Plans the save of one sheet's rows, marking the rows' results; the planned save when every
/// row is good. Only an internal failure is an error.
#[allow(clippy::too_many_arguments)]
fn plan_sheet(
    conn: &mut AnyConnection,
    v: &Viewer,
    campaign: &CampaignFacts,
    sheet: Option<(SheetRow, Option<NaiveDate>)>,
    key: &str,
    rows: &Rows,
    results: &mut [ev::ImportRowResult],
    forms: usize,
    today: NaiveDate,
) -> Result<Option<PlannedSave>, ApiError> {
    // results: the sheet's tab 自评表 rows first (`forms` of them), then its tab 指标 rows.
    let code_column = SHEET_COLUMNS[sheet_at::CODE].header;
    let refuse_all = |results: &mut [ev::ImportRowResult], reason: &str, message: &str| {
        for r in results.iter_mut() {
            refuse(r, code_column, reason, message);
        }
    };
    let (row, unit) = match sheet {
        Some((row, unit)) if readable(conn, v, &row)? => (row, unit),
        _ => {
            let message = format!("本次自评中没有您可填报的「{key}」自评表");
            refuse_all(results, "SHEET_NOT_FOUND", &message);
            return Ok(None);
        }
    };
    if rows.form.len() > 1 {
        refuse_all(
            &mut results[1..forms],
            "DUPLICATE_ROW",
            "同一项目在「自评表」中只能有一行",
        );
        return Ok(None);
    }
    let (form_results, line_results) = results.split_at_mut(forms);
    let mut entries = Vec::with_capacity(rows.lines.len());
    let mut bad = false;
    for (line, r) in rows.lines.iter().zip(line_results.iter_mut()) {
        match entry_from_cells(&line.cells) {
            Ok(e) => entries.push((line.row, e)),
            Err(problems) => {
                bad = true;
                for p in problems {
                    refuse(r, INDICATOR_COLUMNS[p.column].header, p.reason, &p.message);
                }
            }
        }
    }
    if bad {
        return Ok(None);
    }
    let text = |column: usize, kept: &str| {
        rows.form
            .first()
            .map_or(kept.to_owned(), |f| f.cells[column].trim().to_owned())
    };
    let edit = Edit {
        entries: entries.iter().map(|(_, e)| e.clone()).collect(),
        execution_reason: text(sheet_at::EXECUTION_REASON, &row.execution_reason),
        summary: text(sheet_at::SUMMARY, &row.summary),
    };
    let revision = row.revision;
    match plan_save(conn, v, row, campaign, unit, &edit, revision, today) {
        Ok(p) => Ok(Some(p)),
        Err(e) if e.kind == ErrorKind::Internal => Err(e),
        Err(e) if e.violations.is_empty() => {
            refuse_all(form_results, e.reason, &e.message);
            refuse_all(line_results, e.reason, &e.message);
            Ok(None)
        }
        Err(e) => {
            for viol in &e.violations {
                let seq = viol
                    .field
                    .strip_prefix("entries[")
                    .and_then(|rest| rest.split_once(']'))
                    .and_then(|(seq, _)| seq.parse::<i32>().ok());
                match seq {
                    Some(seq) => {
                        let at = entries.iter().position(|(_, e)| e.seq == seq).unwrap_or(0);
                        if let Some(r) = line_results.get_mut(at) {
                            refuse(r, entry_column(&viol.field), viol.reason, &viol.message);
                        }
                    }
                    None => {
                        let column = if viol.field == "summary" {
                            sheet_at::SUMMARY
                        } else {
                            sheet_at::EXECUTION_REASON
                        };
                        for r in form_results
                            .iter_mut()
                            .chain(line_results.iter_mut().take(1))
                        {
                            refuse(r, SHEET_COLUMNS[column].header, viol.reason, &viol.message);
                        }
                    }
                }
            }
            Ok(None)
        }
    }
}

/// Every sheet's rows checked and planned (see the module doc): the results, in the order of
/// the tabs and rows, and the saves to write.
fn plan(
    conn: &mut AnyConnection,
    v: &Viewer,
    campaign_id: i64,
    forms: &[Line],
    lines: &[Line],
    today: NaiveDate,
) -> Result<(Vec<ev::ImportRowResult>, Vec<PlannedSave>), ApiError> {
    let campaign =
        store::campaign_facts(conn, campaign_id)?.ok_or_else(|| campaign_not_found(campaign_id))?;
    let mut by_key: BTreeMap<String, Rows> = BTreeMap::new();
    let mut out = Vec::new();
    let code = |l: &Line| l.cells[0].trim().to_owned();
    for (tab, list, form) in [(SHEET_TAB, forms, true), (INDICATOR_TAB, lines, false)] {
        for l in list {
            let key = code(l);
            if key.is_empty() {
                let mut r = result(tab, l, "");
                refuse(&mut r, "项目编码", "CELL_REQUIRED", "「项目编码」不能为空");
                out.push(r);
                continue;
            }
            let rows = by_key.entry(key).or_default();
            if form {
                rows.form.push(l.clone())
            } else {
                rows.lines.push(l.clone())
            }
        }
    }
    let keys: Vec<String> = by_key.keys().cloned().collect();
    let units = store::unit_deadlines(conn, campaign.id)?;
    let mut sheets: BTreeMap<String, SheetRow> = store::sheets_by_keys(conn, campaign.id, &keys)?
        .into_iter()
        .map(|s| (s.subject_key.clone(), s))
        .collect();
    let mut planned = Vec::new();
    for (key, rows) in &by_key {
        let mut results: Vec<ev::ImportRowResult> = rows
            .form
            .iter()
            .map(|l| result(SHEET_TAB, l, key))
            .chain(rows.lines.iter().map(|l| result(INDICATOR_TAB, l, key)))
            .collect();
        let sheet = sheets.remove(key).map(|s| {
            let unit = units.get(&s.agency_code).copied();
            (s, unit)
        });
        if let Some(p) = plan_sheet(
            conn,
            v,
            &campaign,
            sheet,
            key,
            rows,
            &mut results,
            rows.form.len(),
            today,
        )? {
            planned.push(p);
        }
        out.extend(results);
    }
    out.sort_by(|a, b| {
        (a.field.starts_with(INDICATOR_TAB), a.row)
            .cmp(&(b.field.starts_with(INDICATOR_TAB), b.row))
    });
    Ok((out, planned))
}

/// ImportSelfEvaluations (see the module doc).
pub async fn import(
    state: &AppState,
    ctx: MutationContext,
    m: ev::ImportSelfEvaluationsRequest,
) -> Result<ev::ImportSelfEvaluationsResponse, ApiError> {
    // Refuse before parsing a possibly large upload, and audit the refusal.
    let v = match authorise(&ctx.caller, state, FILLERS, true) {
        Ok(v) => v,
        Err(e) => {
            pbm_server::audit_refusal(&state.db, &ctx, ("sheet_import", String::new()), &e).await;
            return Err(e);
        }
    };
    let workbook = m.workbook;
    let (forms, lines) = tokio::task::spawn_blocking(move || {
        Ok::<_, ApiError>((
            read_tab(&workbook, SHEET_TAB, &SHEET_COLUMNS)?,
            read_tab(&workbook, INDICATOR_TAB, &INDICATOR_COLUMNS)?,
        ))
    })
    .await
    .map_err(ApiError::internal)??;
    if forms.is_empty() && lines.is_empty() {
        return Err(ApiError::invalid_field(
            "IMPORT_EMPTY",
            "workbook",
            format!("导入文件中没有「{SHEET_TAB}」或「{INDICATOR_TAB}」的数据行"),
        ));
    }
    let today = state.today();
    let campaign_id = m.campaign_id;
    let respond =
        |results: Vec<ev::ImportRowResult>, saved: usize| ev::ImportSelfEvaluationsResponse {
            rejected: i32::try_from(results.iter().filter(|r| !r.ok).count()).unwrap_or(i32::MAX),
            sheets_saved: i32::try_from(saved).unwrap_or(i32::MAX),
            results,
        };
    if m.validate_only {
        let (results, _) = state
            .db
            .read(move |conn| plan(conn, &v, campaign_id, &forms, &lines, today))
            .await?;
        return Ok(respond(results, 0));
    }
    let st = state.clone();
    run_mutation(
        &state.db,
        ctx,
        ("sheet_import", campaign_id.to_string()),
        move |conn, ctx| {
            let v = authorise(&ctx.caller, &st, FILLERS, true)?;
            let (results, planned) = plan(conn, &v, campaign_id, &forms, &lines, today)?;
            let mut saved = Vec::with_capacity(planned.len());
            for p in planned {
                let (row, _) = write_save(conn, p, &ctx.caller.subject)?;
                saved.push(row.subject_key);
            }
            let response = respond(results, saved.len());
            let detail = format!(
                "campaign {campaign_id}: saved {} sheets ({}), {} rows rejected",
                saved.len(),
                saved.join(","),
                response.rejected
            );
            Ok(Effect {
                response,
                entity_type: "sheet_import",
                entity_id: campaign_id.to_string(),
                detail,
            })
        },
    )
    .await
}
