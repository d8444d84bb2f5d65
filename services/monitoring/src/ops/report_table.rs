//! The national monitoring table (项目支出绩效目标执行监控表) as .xlsx, one row per indicator
//! ([`crate::convert::reports::COLUMNS`], with the 一体化 element names of docs/DOMAIN.md
//! "Interoperability"): ImportReports saves drafts from it, ExportMonitoringTable writes a
//! round's table for the subjects the caller may see. An exported table imports again.
//!
//! The project's choices:
//! * **Import, per row.** Each row is checked on its own: the subject (one the caller may write
//!   — another's answers `SUBJECT_NOT_FOUND`, as for one not in the round — with an approved
//!   goal, its report open to a save: not locked, submitted or closed), the indicator (by
//!   `KPI_SEQ`, else by its name `KPI_LV3`, once per subject), the values as SaveReport checks
//!   them. Every problem is an `ImportRowError`, all at once.
//! * **Import, per subject.** A subject whose rows are all good is saved as a draft: the rows'
//!   values replace those of their indicators, the report's other indicators keep theirs, and
//!   the narrative and expected year-end execution are the first ones given in its rows (else
//!   the report's own). A subject with any bad row is not saved; the others are.
//! * **One transaction for the whole import** (audited once, idempotent by request id), so a
//!   retry neither saves twice nor half. `validate_only` reads in a read transaction and
//!   writes nothing, not even an idempotency record.
//! * **Bounds**: the upload is measured before it is parsed (docs/SECURITY.md "Limits":
//!   `WORKBOOK_TOO_LARGE`, by `pbm_xlsx`), and holds at most [`MAX_ROWS`] rows
//!   (docs/drafts/MONITORING.md §3 "Limits"); the service's message limit is gRPC's 4 MiB.
//! * **Export** lists the subjects with an approved goal (the others have nothing to report),
//!   with their current values, colours and report status; a department may narrow it to itself
//!   (finance to any department).

use std::collections::HashMap;

use chrono::NaiveDate;
use pbm_auth::Caller;
use pbm_db::AnyConnection;
use pbm_proto::monitoring::v1 as proto;
use pbm_server::{ApiError, Effect, MutationContext, run_mutation};
use pbm_types::FieldViolation;

use super::report_reads::{READERS, reader};
use super::reports::{
    Draft, TypedIndicator, check_draft, ensure_open, no_approved_goal, save_draft, state_of,
    step_context, writer,
};
use super::{subject_not_found, subject_ref};
use crate::convert::limits;
use crate::convert::reports::{COLUMNS, at, cause_to, causes_from_text, column_of};
use crate::domain::access::{ListFilter, Viewer, can_write_report, list_filter};
use crate::domain::bands::{Axis, Colour, Direction, Likelihood};
use crate::domain::completeness::Cause;
use crate::domain::report_workflow::{ReportAction, ReportActionKind, ReportStatus, apply};
use crate::state::AppState;
use crate::store::{self, IndicatorRow, ReportIndicatorRow, ReportRow, RoundRow, SubjectRow};

/// Most rows an import holds.
pub const MAX_ROWS: usize = 10_000;

/// The size of an export's chunks.
const CHUNK: usize = 1 << 20;

/// One data row of an imported table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    /// The workbook's row, 1-based (the header is row 1).
    number: u32,
    cells: Vec<String>,
}

fn row_error(
    row: u32,
    column: usize,
    reason: &str,
    message: impl Into<String>,
) -> proto::ImportRowError {
    proto::ImportRowError {
        row: i32::try_from(row).unwrap_or(i32::MAX),
        column: COLUMNS[column].header.to_owned(),
        reason: reason.to_owned(),
        message: message.into(),
    }
}

/// The rows of the workbook; a workbook that cannot be read as the table (not an .xlsx, too
/// large, no `PRO_CODE` column, too many rows) is refused whole. An empty `PRO_CODE` cell or an
/// error value refuses its row only.
fn read_lines(bytes: &[u8]) -> Result<(Vec<Line>, Vec<proto::ImportRowError>), ApiError> {
    let whole = |errors: Vec<pbm_xlsx::CellError>| {
        ApiError::validation(
            errors
                .into_iter()
                .map(|e| {
                    let field = if e.row == 0 {
                        "workbook".to_owned()
                    } else {
                        format!("workbook.rows[{}].{}", e.row, e.column)
                    };
                    FieldViolation::new(field, e.reason, e.message)
                })
                .collect(),
        )
    };
    let (table, cell_errors) = match pbm_xlsx::read_table(bytes, &COLUMNS) {
        Ok(table) => (table, Vec::new()),
        Err(errors)
            if errors
                .iter()
                .all(|e| e.row > 1 && matches!(e.reason, "CELL_REQUIRED" | "CELL_ERROR")) =>
        {
            let optional = COLUMNS.map(|c| pbm_xlsx::Column {
                required: false,
                ..c
            });
            (
                pbm_xlsx::read_table(bytes, &optional).map_err(whole)?,
                errors,
            )
        }
        Err(errors) => return Err(whole(errors)),
    };
    if table.len() > MAX_ROWS {
        return Err(ApiError::invalid_field(
            "IMPORT_TOO_LARGE",
            "workbook",
            format!(
                "一次最多导入 {MAX_ROWS} 行，本表有 {} 行；请分批导入",
                table.len()
            ),
        ));
    }
    let refused: Vec<u32> = cell_errors.iter().map(|e| e.row).collect();
    let errors = cell_errors
        .into_iter()
        .map(|e| proto::ImportRowError {
            row: i32::try_from(e.row).unwrap_or(i32::MAX),
            column: e.column,
            reason: e.reason.to_owned(),
            message: e.message,
        })
        .collect();
    let lines = table
        .into_iter()
        .filter(|r| !refused.contains(&r.number))
        .map(|r| Line {
            number: r.number,
            cells: r.cells,
        })
        .collect();
    Ok((lines, errors))
}

/// A subject's rows, checked and ready to save.
struct Planned {
    existing: Option<ReportRow>,
    subject: SubjectRow,
    transition: crate::domain::report_workflow::Transition,
    draft: Draft,
}

/// Checks every row against the round (see the module doc); the subjects to save and every
/// row's problems.
fn plan(
    conn: &mut AnyConnection,
    v: &Viewer,
    round: &RoundRow,
    lines: Vec<Line>,
    today: NaiveDate,
) -> Result<(Vec<Planned>, Vec<proto::ImportRowError>), ApiError> {
    let mut by_subject: Vec<(String, Vec<Line>)> = Vec::new();
    for line in lines {
        let key = line.cells[at::PRO_CODE].clone();
        match by_subject.iter_mut().find(|(k, _)| *k == key) {
            Some((_, rows)) => rows.push(line),
            None => by_subject.push((key, vec![line])),
        }
    }
    let mut planned = Vec::new();
    let mut errors = Vec::new();
    for (key, rows) in by_subject {
        let refuse_all = |errors: &mut Vec<proto::ImportRowError>, e: &ApiError| {
            for r in &rows {
                errors.push(row_error(
                    r.number,
                    at::PRO_CODE,
                    e.reason,
                    e.message.clone(),
                ));
            }
        };
        match plan_subject(conn, v, round, &key, &rows, today) {
            Ok(Ok(p)) => planned.push(p),
            Ok(Err(row_errors)) => errors.extend(row_errors),
            Err(e) if e.kind == pbm_server::ErrorKind::Internal => return Err(e),
            Err(e) => refuse_all(&mut errors, &e),
        }
    }
    errors.sort_by_key(|e| e.row);
    Ok((planned, errors))
}

/// A subject ready to save, or its rows' own problems.
type SubjectPlan = Result<Planned, Vec<proto::ImportRowError>>;

/// One subject's rows: `Err` refuses every row with that error, `Ok(Err)` lists the rows'
/// own problems.
fn plan_subject(
    conn: &mut AnyConnection,
    v: &Viewer,
    round: &RoundRow,
    key: &str,
    rows: &[Line],
    today: NaiveDate,
) -> Result<SubjectPlan, ApiError> {
    let (_, subject, unit_deadline) = store::report_context(conn, round.id, key)?
        .ok_or_else(|| subject_not_found(round.id, key))?;
    if !can_write_report(v, &subject_ref(&subject, None)) {
        return Err(subject_not_found(round.id, key));
    }
    if subject.goal_state != "approved" {
        return Err(no_approved_goal(key));
    }
    let existing = store::report_of_subject(conn, round.id, key)?;
    let state = existing.as_ref().map(state_of).transpose()?;
    let expected = state.map_or(0, |s| s.revision);
    let transition = apply(
        state.as_ref(),
        &ReportAction::Save,
        v.role,
        expected,
        &step_context(round, &subject, unit_deadline, today),
    )
    .map_err(ApiError::from)?;
    let snapshot = store::indicators_of(conn, round.id, Some(&[key.to_owned()]))?
        .remove(key)
        .unwrap_or_default();
    let mut errors = Vec::new();
    let mut typed: Vec<(u32, TypedIndicator)> = Vec::new();
    for r in rows {
        let (t, row_errors) = typed_row(r, &snapshot);
        typed.extend(t.map(|t| (r.number, t)));
        errors.extend(row_errors);
    }
    // The project's values: the first given in its rows.
    let first = |column: usize| {
        rows.iter()
            .find(|r| !r.cells[column].is_empty())
            .map(|r| (r.number, r.cells[column].clone()))
    };
    let narrative = first(at::NARRATIVE);
    let year_end = first(at::YEAR_END);
    let values: Vec<TypedIndicator> = typed.iter().map(|(_, t)| t.clone()).collect();
    let checked = check_draft(
        &values,
        narrative.as_ref().map_or("", |n| n.1.as_str()),
        year_end.as_ref().map_or("", |n| n.1.as_str()),
        &snapshot,
    );
    let imported = match checked {
        Ok(d) => d,
        Err(violations) => {
            let first_row = rows[0].number;
            // `indicators[i]` of the check is the i-th row that named its indicator.
            for viol in violations {
                let (row, column) = match viol.field.strip_prefix("indicators[") {
                    Some(rest) => {
                        let (i, field) = rest.split_once("].").unwrap_or(("0", ""));
                        let i: usize = i.parse().unwrap_or(0);
                        (typed.get(i).map_or(first_row, |t| t.0), column_of(field))
                    }
                    None => {
                        let column = column_of(&viol.field);
                        let from = if column == at::NARRATIVE {
                            &narrative
                        } else {
                            &year_end
                        };
                        (from.as_ref().map_or(first_row, |f| f.0), column)
                    }
                };
                errors.push(row_error(row, column, viol.reason, viol.message));
            }
            return Ok(Err(errors));
        }
    };
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let mut indicators: Vec<ReportIndicatorRow> = match &existing {
        Some(r) => store::report_indicators(conn, r.id)?,
        None => Vec::new(),
    };
    for new in imported.indicators {
        indicators.retain(|i| i.seq != new.seq);
        indicators.push(new);
    }
    indicators.sort_by_key(|i| i.seq);
    let draft = Draft {
        indicators,
        narrative: match narrative {
            Some(_) => imported.narrative,
            None => existing
                .as_ref()
                .map(|r| r.execution_narrative.clone())
                .unwrap_or_default(),
        },
        expected_year_end: match year_end {
            Some(_) => imported.expected_year_end,
            None => existing
                .as_ref()
                .and_then(|r| r.expected_year_end.map(|m| m.0)),
        },
    };
    Ok(Ok(Planned {
        existing,
        subject,
        transition,
        draft,
    }))
}

/// A row's indicator and values as typed: the indicator by `KPI_SEQ`, else by its name (`None`
/// when neither names one); a likelihood or cause that is not one is listed and left out, so
/// that the row's values are still checked.
fn typed_row(
    r: &Line,
    snapshot: &[IndicatorRow],
) -> (Option<TypedIndicator>, Vec<proto::ImportRowError>) {
    let cell = |c: usize| r.cells[c].as_str();
    let seq = match (cell(at::SEQ), cell(at::NAME)) {
        ("", "") => Err(row_error(
            r.number,
            at::SEQ,
            "INDICATOR_REQUIRED",
            "请填写指标序号或三级指标名称",
        )),
        ("", name) => match snapshot
            .iter()
            .filter(|i| i.name == name)
            .collect::<Vec<_>>()
            .as_slice()
        {
            [one] => Ok(one.seq),
            _ => Err(row_error(
                r.number,
                at::NAME,
                "INDICATOR_NOT_FOUND",
                format!("绩效目标中没有唯一名为「{name}」的指标，请填写指标序号"),
            )),
        },
        (seq, _) => seq.parse::<i32>().map_err(|_| {
            row_error(
                r.number,
                at::SEQ,
                "INDICATOR_NOT_FOUND",
                format!("指标序号「{seq}」应为整数"),
            )
        }),
    };
    let seq = match seq {
        Ok(seq) => seq,
        Err(e) => return (None, vec![e]),
    };
    let mut errors = Vec::new();
    let likelihood = match cell(at::LIKELIHOOD) {
        "" => 0,
        text => match Likelihood::from_chinese(text).or_else(|| Likelihood::from_db(text)) {
            Some(l) => likelihood_wire(l),
            None => {
                errors.push(row_error(
                    r.number,
                    at::LIKELIHOOD,
                    "LIKELIHOOD_INVALID",
                    format!(
                        "完成目标可能性应为「确定能」「有可能」「完全不可能」之一，而不是「{text}」"
                    ),
                ));
                0
            }
        },
    };
    let causes = match causes_from_text(cell(at::CAUSES)) {
        Ok(c) => c.into_iter().map(|c| cause_to(c) as i32).collect(),
        Err(text) => {
            errors.push(row_error(
                r.number,
                at::CAUSES,
                "CAUSE_INVALID",
                format!(
                    "「{text}」不是偏差原因；应为经费保障、制度保障、人员保障、硬件条件保障、其他，以顿号或逗号分隔"
                ),
            ));
            Vec::new()
        }
    };
    let typed = TypedIndicator {
        seq,
        achieved: cell(at::ACHIEVED).to_owned(),
        forecast: cell(at::FORECAST).to_owned(),
        likelihood,
        causes,
        other_text: cell(at::OTHER_TEXT).to_owned(),
        remark: cell(at::REMARK).to_owned(),
    };
    (Some(typed), errors)
}

fn likelihood_wire(l: Likelihood) -> i32 {
    (match l {
        Likelihood::Certain => proto::Likelihood::Certain,
        Likelihood::Possible => proto::Likelihood::Possible,
        Likelihood::Impossible => proto::Likelihood::Impossible,
    }) as i32
}

/// ImportReports (see the module doc).
pub async fn import(
    state: &AppState,
    ctx: MutationContext,
    m: proto::ImportReportsRequest,
) -> Result<proto::ImportReportsResponse, ApiError> {
    // Refuse before parsing a possibly large upload, and audit the refusal.
    let v = match writer(&ctx.caller, &state.region, ReportActionKind::Save) {
        Ok(v) => v,
        Err(e) => {
            pbm_server::audit_refusal(&state.db, &ctx, ("report_import", String::new()), &e).await;
            return Err(e);
        }
    };
    let round_id = m.round_id;
    let workbook = m.workbook;
    let (lines, mut errors) = tokio::task::spawn_blocking(move || read_lines(&workbook))
        .await
        .map_err(ApiError::internal)??;
    let rows = i32::try_from(lines.len() + errors.len()).unwrap_or(i32::MAX);
    if rows == 0 {
        return Err(ApiError::invalid_field(
            "IMPORT_EMPTY",
            "workbook",
            "导入文件中没有数据行",
        ));
    }
    let today = state.today();
    let prepare = move |conn: &mut AnyConnection| {
        let round =
            store::round_row(conn, round_id)?.ok_or_else(|| super::round_not_found(round_id))?;
        ensure_open(&round)?;
        plan(conn, &v, &round, lines, today)
    };
    if m.validate_only {
        let (_, found) = state.db.read(prepare).await?;
        errors.extend(found);
        errors.sort_by_key(|e| e.row);
        return Ok(proto::ImportReportsResponse {
            rows,
            reports_saved: 0,
            errors,
        });
    }
    let st = state.clone();
    run_mutation(
        &state.db,
        ctx,
        ("report_import", round_id.to_string()),
        move |conn, ctx| {
            writer(&ctx.caller, &st.region, ReportActionKind::Save)?;
            let (planned, found) = prepare(conn)?;
            errors.extend(found);
            errors.sort_by_key(|e| e.row);
            let mut saved = Vec::with_capacity(planned.len());
            for p in planned {
                let (row, _) = save_draft(
                    conn,
                    p.existing,
                    &p.subject,
                    &p.transition,
                    p.draft,
                    &ctx.caller.subject,
                )?;
                saved.push(row.subject_key);
            }
            Ok(Effect {
                response: proto::ImportReportsResponse {
                    rows,
                    reports_saved: i32::try_from(saved.len()).unwrap_or(i32::MAX),
                    errors: errors.clone(),
                },
                entity_type: "report_import",
                entity_id: round_id.to_string(),
                detail: format!(
                    "{rows} rows, saved {} reports ({}), {} row errors",
                    saved.len(),
                    saved.join(","),
                    errors.len()
                ),
            })
        },
    )
    .await
}

/// ExportMonitoringTable: the .xlsx in chunks of [`CHUNK`] bytes.
pub async fn export(
    state: &AppState,
    caller: Caller,
    m: proto::ExportMonitoringTableRequest,
) -> Result<Vec<proto::ExportMonitoringTableChunk>, ApiError> {
    // Authorise first, then validate.
    let v = reader(&caller, &state.region, READERS)?;
    limits::check(&m)?;
    let asked = Some(m.department_code.trim().to_owned()).filter(|d| !d.is_empty());
    let (department, agency) = match list_filter(&v) {
        ListFilter::All => (asked, None),
        ListFilter::Department(code) if asked.as_ref().is_none_or(|a| *a == code) => {
            (Some(code), None)
        }
        ListFilter::Unit(code) => (asked, Some(code)),
        // Another department's, or a caller with no subjects here: an empty table.
        ListFilter::Department(_) | ListFilter::Agency(_) | ListFilter::None => {
            (Some(String::new()), Some(String::new()))
        }
    };
    let region = state.region.to_string();
    let round_id = m.round_id;
    let rows = state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let round = store::round_row(conn, round_id)?
                .ok_or_else(|| super::round_not_found(round_id))?;
            let subjects: Vec<SubjectRow> = store::subjects_in_scope(
                conn,
                round_id,
                department.as_deref(),
                agency.as_deref(),
                None,
            )?
            .into_iter()
            .filter(|s| s.goal_state == "approved")
            .collect();
            table_rows(conn, &region, &round, &subjects)
        })
        .await?;
    let bytes = tokio::task::spawn_blocking(move || {
        pbm_xlsx::write_table("绩效运行监控表", &COLUMNS, &rows)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    Ok(bytes
        .chunks(CHUNK)
        .map(|c| proto::ExportMonitoringTableChunk { data: c.to_vec() })
        .collect())
}

/// The table's rows of `subjects`: one per snapshot indicator, with the report's values, the
/// indicator's and the budget's colours and the report's status.
fn table_rows(
    conn: &mut AnyConnection,
    region: &str,
    round: &RoundRow,
    subjects: &[SubjectRow],
) -> Result<Vec<Vec<String>>, ApiError> {
    let mut out = Vec::new();
    for chunk in subjects.chunks(500) {
        let keys: Vec<String> = chunk.iter().map(|s| s.subject_key.clone()).collect();
        let snapshot = store::indicators_of(conn, round.id, Some(&keys))?;
        let reports: HashMap<String, ReportRow> =
            store::reports_of_subjects(conn, round.id, &keys)?
                .into_iter()
                .map(|r| (r.subject_key.clone(), r))
                .collect();
        let ids: Vec<i64> = reports.values().map(|r| r.id).collect();
        let mut values: HashMap<(i64, i32), ReportIndicatorRow> = HashMap::new();
        for i in store::indicators_of_reports(conn, &ids)? {
            values.insert((i.report_id, i.seq), i);
        }
        let axes = [Axis::Indicator.as_db(), Axis::Budget.as_db()];
        let mut colours: HashMap<(String, String, i32), String> = HashMap::new();
        for w in store::warnings_of(conn, round.id, &keys, &axes)? {
            let word = Colour::from_db(&w.colour)
                .map(Colour::word)
                .unwrap_or_default();
            colours.insert((w.subject_key, w.axis, w.seq), word);
        }
        for s in chunk {
            let report = reports.get(&s.subject_key);
            let budget = colours
                .get(&(s.subject_key.clone(), Axis::Budget.as_db().to_owned(), 0))
                .cloned()
                .unwrap_or_default();
            let status = report
                .and_then(|r| ReportStatus::from_db(&r.status))
                .map_or("未填报", ReportStatus::chinese);
            for ind in snapshot.get(&s.subject_key).map_or(&[][..], Vec::as_slice) {
                let value = report.and_then(|r| values.get(&(r.id, ind.seq)));
                let text = |f: fn(&ReportIndicatorRow) -> &str| {
                    value.map(f).unwrap_or_default().to_owned()
                };
                out.push(vec![
                    region.to_owned(),
                    round.fiscal_year.to_string(),
                    s.department_code.clone(),
                    s.agency_code.clone(),
                    s.subject_key.clone(),
                    s.name.clone(),
                    s.year_goal.clone(),
                    ind.level1_name.clone(),
                    ind.level2_name.clone(),
                    ind.seq.to_string(),
                    ind.name.clone(),
                    Direction::from_db(&ind.direction)
                        .map_or("", Direction::chinese)
                        .to_owned(),
                    ind.target_value.clone(),
                    ind.unit.clone(),
                    text(|v| &v.achieved),
                    text(|v| &v.forecast),
                    value
                        .and_then(|v| Likelihood::from_db(&v.likelihood))
                        .map_or("", Likelihood::chinese)
                        .to_owned(),
                    value.map_or_else(String::new, |v| {
                        v.causes
                            .split(',')
                            .filter_map(Cause::from_db)
                            .map(Cause::chinese)
                            .collect::<Vec<_>>()
                            .join("、")
                    }),
                    text(|v| &v.other_text),
                    text(|v| &v.remark),
                    report
                        .map(|r| r.execution_narrative.clone())
                        .unwrap_or_default(),
                    report
                        .and_then(|r| r.expected_year_end)
                        .map(|m| pbm_types::decimal::to_wire(m.0))
                        .unwrap_or_default(),
                    colours
                        .get(&(
                            s.subject_key.clone(),
                            Axis::Indicator.as_db().to_owned(),
                            ind.seq,
                        ))
                        .cloned()
                        .unwrap_or_default(),
                    budget.clone(),
                    status.to_owned(),
                ]);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indicator(seq: i32, name: &str) -> IndicatorRow {
        IndicatorRow {
            round_id: 1,
            subject_key: "P-1".into(),
            seq,
            level1_name: "产出指标".into(),
            level2_name: "数量指标".into(),
            name: name.into(),
            direction: "ge".into(),
            unit: "处".into(),
            target_value: "12".into(),
            target_num: None,
            library_code: String::new(),
            library_version: 0,
        }
    }

    fn line(number: u32, set: &[(usize, &str)]) -> Line {
        let mut cells = vec![String::new(); COLUMNS.len()];
        for (c, v) in set {
            cells[*c] = (*v).to_owned();
        }
        Line { number, cells }
    }

    #[test]
    fn a_row_names_its_indicator_by_seq_or_by_name() {
        let snapshot = [indicator(1, "新建工程数量"), indicator(2, "受益人口")];
        let by_seq = typed_row(&line(2, &[(at::SEQ, "2"), (at::ACHIEVED, "5")]), &snapshot)
            .0
            .unwrap();
        assert_eq!((by_seq.seq, by_seq.achieved.as_str()), (2, "5"));
        let by_name = typed_row(&line(3, &[(at::NAME, "受益人口")]), &snapshot)
            .0
            .unwrap();
        assert_eq!(by_name.seq, 2);
        let (none, unknown) = typed_row(&line(4, &[(at::NAME, "满意度")]), &snapshot);
        assert!(none.is_none());
        assert_eq!(
            (unknown[0].row, unknown[0].reason.as_str()),
            (4, "INDICATOR_NOT_FOUND")
        );
        let (_, none) = typed_row(&line(5, &[]), &snapshot);
        assert_eq!(none[0].reason, "INDICATOR_REQUIRED");
    }

    #[test]
    fn likelihood_and_causes_are_read_from_chinese() {
        let snapshot = [indicator(1, "新建工程数量")];
        let row = line(
            2,
            &[
                (at::SEQ, "1"),
                (at::LIKELIHOOD, "有可能"),
                (at::CAUSES, "经费保障、其他"),
            ],
        );
        let t = typed_row(&row, &snapshot).0.unwrap();
        assert_eq!(t.likelihood, proto::Likelihood::Possible as i32);
        assert_eq!(
            t.causes,
            [proto::Cause::Funding as i32, proto::Cause::Other as i32]
        );
        let bad = line(
            3,
            &[
                (at::SEQ, "1"),
                (at::LIKELIHOOD, "大概"),
                (at::CAUSES, "天气"),
            ],
        );
        let (kept, errors) = typed_row(&bad, &snapshot);
        // The row's values are still checked, without the likelihood and causes.
        assert_eq!(kept.map(|t| (t.likelihood, t.causes.len())), Some((0, 0)));
        let reasons: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.column.as_str(), e.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                ("KPI_POSSIBILITY 完成目标可能性", "LIKELIHOOD_INVALID"),
                ("DEV_CAUSE 偏差原因", "CAUSE_INVALID")
            ]
        );
    }
}
