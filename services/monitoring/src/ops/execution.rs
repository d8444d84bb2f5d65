//! ExecutionService: the budget system's execution figures per project and month (pushed, or
//! imported from a workbook) and a project's monthly history with its early warning.
//!
//! Rule: docs/drafts/MONITORING.md §1 "Execution figures", §2 item 8, §3 "Limits" and §5
//! "Execution import"; the row rules are [`crate::domain::execution`].
//!
//! A push and an import share one path after their rows are read ([`apply`]): each row is
//! checked on its own, then — in one transaction with the audit line and the idempotency record
//! — one read of the stored months of the codes named, the decision of every row, the new and
//! changed months written in multi-row statements, and the warnings of the year's OPEN rounds
//! recomputed for the projects whose figures changed (`ops::recompute::for_pro_codes`).
//!
//! Who: finance of this very region writes (the budget system calls as a finance system
//! account, docs/drafts/MONITORING.md §3); the history is read by finance (of the region or an
//! enclosing one) and auditors, a unit for its own projects and a department for its units' —
//! the owner being the unit and department on the stored rows, else on the year's round
//! subjects (NOT_FOUND outside the caller's scope).

use std::collections::BTreeSet;

use pbm_auth::{Caller, Role as AuthRole};
use pbm_db::Money;
use pbm_proto::monitoring::v1 as proto;
use pbm_server::{ApiError, Effect, FieldViolation, MutationContext, run_mutation};
use pbm_types::{DivisionCode, FiscalYear};

use crate::convert::execution::{
    COLUMNS, YEAR_COLUMN, header_of, month_to, row_text, warning_to, workbook_row,
};
use crate::convert::limits;
use crate::domain::access::{
    self, SubjectRef, Viewer, can_read, ensure_finance, role_denied, viewer,
};
use crate::domain::bands::Axis;
use crate::domain::execution::{
    MAX_ROWS, MonthRow, Outcome, Stored, StoredMonth, changes, decide, parse_row,
};
use crate::domain::{MonitoringRules, execution_forecast};
use crate::ops::recompute;
use crate::state::AppState;
use crate::store::{self, ExecutionMonthRow};

// -- who -----------------------------------------------------------------------------------------

/// Push and import: finance of this very region only (a city's finance reads a county's
/// figures, never writes them: docs/DOMAIN.md "Regions and roles").
fn ensure_writer(caller: &Caller, region: &DivisionCode) -> Result<(), ApiError> {
    if caller.authenticated && caller.role != AuthRole::FinanceAdmin {
        return Err(role_denied(
            "预算执行数只能由本级财政部门（或以财政系统账号调用的预算系统）报送",
        )
        .into());
    }
    ensure_finance(&viewer(caller, region)?)?;
    Ok(())
}

/// GetExecutionHistory: the roles that read a project's figures (units and departments of an
/// enclosing region pass here and then see nothing: [`access::viewer`]).
fn history_reader(caller: &Caller, region: &DivisionCode) -> Result<Viewer, ApiError> {
    let role_ok = matches!(
        caller.role,
        AuthRole::FinanceAdmin | AuthRole::Auditor | AuthRole::Department | AuthRole::BudgetUnit
    );
    if caller.authenticated && !role_ok {
        return Err(role_denied("预算执行明细只对财政部门、审计、主管部门和预算单位开放").into());
    }
    Ok(viewer(caller, region)?)
}

// -- push and import -----------------------------------------------------------------------------

/// What a push or an import answers (the two responses have the same fields).
struct Summary {
    results: Vec<proto::RowResult>,
    created: i32,
    updated: i32,
    unchanged: i32,
    rejected: i32,
    subjects_recomputed: i64,
}

/// A row to apply: its index in the answer (0-based in a push, the workbook's data row on an
/// import) and the row checked on its own, or why it was refused before.
type Checked = (i32, Result<MonthRow, FieldViolation>);

fn fiscal_year(year: i32) -> Result<i32, ApiError> {
    FiscalYear::new(year)
        .map(FiscalYear::get)
        .map_err(|e| ApiError::invalid_field(e.reason, "fiscal_year", e.message))
}

fn too_many(rows: usize) -> ApiError {
    ApiError::invalid_field(
        "TOO_MANY_ROWS",
        "rows",
        format!("一次最多报送 {MAX_ROWS} 行预算执行数，本次有 {rows} 行；请分批报送"),
    )
}

fn no_rows() -> ApiError {
    ApiError::invalid_field("ROWS_REQUIRED", "rows", "没有预算执行数据行")
}

/// PushExecution.
pub async fn push(
    state: &AppState,
    ctx: MutationContext,
    m: proto::PushExecutionRequest,
) -> Result<proto::PushExecutionResponse, ApiError> {
    ensure_writer(&ctx.caller, &state.region)?;
    limits::check(&m)?;
    let year = fiscal_year(m.fiscal_year)?;
    if m.rows.len() > MAX_ROWS {
        return Err(too_many(m.rows.len()));
    }
    if m.rows.is_empty() {
        return Err(no_rows());
    }
    let rows: Vec<Checked> = (0..)
        .zip(&m.rows)
        .map(|(i, r)| (i, parse_row(&row_text(r))))
        .collect();
    let field = |i, f: &str| format!("rows[{i}].{f}");
    apply(state, ctx, year, Ok(rows), field, |s| {
        proto::PushExecutionResponse {
            results: s.results,
            created: s.created,
            updated: s.updated,
            unchanged: s.unchanged,
            rejected: s.rejected,
            subjects_recomputed: s.subjects_recomputed,
        }
    })
    .await
}

/// ImportExecution: the workbook's rows (see [`COLUMNS`]) through the same path as a push.
/// The caller is refused before the upload is parsed (and the refusal audited).
pub async fn import(
    state: &AppState,
    ctx: MutationContext,
    m: proto::ImportExecutionRequest,
) -> Result<proto::ImportExecutionResponse, ApiError> {
    if let Err(e) = ensure_writer(&ctx.caller, &state.region) {
        pbm_server::audit_refusal(&state.db, &ctx, ("execution_import", String::new()), &e).await;
        return Err(e);
    }
    let year = fiscal_year(m.fiscal_year)?;
    let workbook = m.workbook;
    let rows = tokio::task::spawn_blocking(move || workbook_rows(&workbook, year))
        .await
        .map_err(ApiError::internal)?;
    let field = |_, f: &str| header_of(f);
    apply(state, ctx, year, rows, field, |s| {
        proto::ImportExecutionResponse {
            results: s.results,
            created: s.created,
            updated: s.updated,
            unchanged: s.unchanged,
            rejected: s.rejected,
            subjects_recomputed: s.subjects_recomputed,
        }
    })
    .await
}

/// The rows of a workbook, each checked on its own; a workbook that cannot be read as a table
/// of [`COLUMNS`] (not an .xlsx, too large, a required column missing) is refused whole.
/// Index = the workbook's data row, 1-based (Excel's row number − 1: the header is row 1).
fn workbook_rows(bytes: &[u8], year: i32) -> Result<Vec<Checked>, ApiError> {
    let (table, cell_errors) = match pbm_xlsx::read_table(bytes, &COLUMNS) {
        Ok(table) => (table, Vec::new()),
        // Empty or erroneous cells refuse their row only: read again with every column
        // optional (the header is known to be complete) and refuse those rows one by one.
        Err(errors)
            if errors
                .iter()
                .all(|e| e.row > 1 && matches!(e.reason, "CELL_REQUIRED" | "CELL_ERROR")) =>
        {
            let optional = COLUMNS.map(|c| pbm_xlsx::Column {
                required: false,
                ..c
            });
            let table = pbm_xlsx::read_table(bytes, &optional).map_err(workbook_rejected)?;
            (table, errors)
        }
        Err(errors) => return Err(workbook_rejected(errors)),
    };
    if table.len() > MAX_ROWS {
        return Err(too_many(table.len()));
    }
    if table.is_empty() {
        return Err(no_rows());
    }
    let rows = table
        .iter()
        .map(|row| {
            let index = i32::try_from(row.number).unwrap_or(i32::MAX) - 1;
            let typed = &row.cells[YEAR_COLUMN];
            let checked = if let Some(e) = cell_errors
                .iter()
                .find(|e| e.row == row.number && e.reason == "CELL_ERROR")
            {
                Err(FieldViolation::new(
                    e.column.clone(),
                    e.reason,
                    e.message.clone(),
                ))
            } else if !typed.is_empty() && typed.trim() != year.to_string() {
                Err(FieldViolation::new(
                    COLUMNS[YEAR_COLUMN].header,
                    "FISCAL_YEAR_MISMATCH",
                    format!("预算年度「{typed}」与本次导入的 {year} 年度不符"),
                ))
            } else {
                parse_row(&workbook_row(&row.cells))
            };
            (index, checked)
        })
        .collect();
    Ok(rows)
}

fn workbook_rejected(errors: Vec<pbm_xlsx::CellError>) -> ApiError {
    let first = errors
        .first()
        .map(|e| e.reason)
        .unwrap_or("WORKBOOK_INVALID");
    let mut e = ApiError::invalid(
        first,
        format!("导入文件无法读取（{}处问题），未导入任何数据", errors.len()),
    );
    e.violations = errors
        .into_iter()
        .map(|c| {
            let at = if c.column.is_empty() {
                format!("第{}行", c.row)
            } else {
                format!("第{}行「{}」", c.row, c.column)
            };
            FieldViolation::new(at, c.reason, c.message)
        })
        .collect();
    e
}

/// The path a push and an import share once their rows are checked (module doc). `field`
/// names a row's field in the answer (`rows[3].month`, or the workbook's header).
async fn apply<R>(
    state: &AppState,
    ctx: MutationContext,
    year: i32,
    rows: Result<Vec<Checked>, ApiError>,
    field: fn(i32, &str) -> String,
    respond: fn(Summary) -> R,
) -> Result<R, ApiError>
where
    R: prost::Message + Default + Send + 'static,
{
    let region = state.region.clone();
    run_mutation(
        &state.db,
        ctx,
        ("execution_months", year.to_string()),
        move |conn, ctx| {
            ensure_writer(&ctx.caller, &region)?;
            let rows = rows?;
            let codes: Vec<String> = rows
                .iter()
                .filter_map(|(_, r)| r.as_ref().ok().map(|r| r.pro_code.clone()))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let stored = stored_months(store::months_of(conn, year, &codes)?);
            let (indices, checked): (Vec<i32>, Vec<_>) = rows.into_iter().unzip();
            let outcomes = decide(checked, &stored);
            let now = pbm_db::now();
            let written = Written::of(year, &ctx.request_id, &ctx.caller.subject, now, &outcomes);
            store::upsert_months(conn, &written.rows)?;
            let changed: Vec<String> = written
                .rows
                .iter()
                .map(|r| r.pro_code.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let recomputed = if changed.is_empty() {
                0
            } else {
                recompute::for_pro_codes(conn, year, &changed, now)?
            };
            let summary = summarise(&indices, &outcomes, field, recomputed);
            let detail = serde_json::json!({
                "fiscal_year": year,
                "rows": outcomes.len(),
                "created": summary.created,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "rejected": summary.rejected,
                "subjects_recomputed": summary.subjects_recomputed,
                "changes": written.changes,
            });
            Ok(Effect {
                response: respond(summary),
                entity_type: "execution_months",
                entity_id: year.to_string(),
                detail: detail.to_string(),
            })
        },
    )
    .await
}

/// The months as the rules read them, by code and month.
fn stored_months(rows: Vec<ExecutionMonthRow>) -> Stored {
    let mut stored = Stored::new();
    for r in rows {
        let month = u8::try_from(r.month).unwrap_or(0);
        stored.entry(r.pro_code.clone()).or_default().insert(
            month,
            StoredMonth {
                figures: crate::domain::execution::Figures {
                    initial_budget: r.initial_budget.0,
                    adjusted_budget: r.adjusted_budget.map(|m| m.0),
                    allocated: r.allocated.map(|m| m.0),
                    executed: r.executed.0,
                },
                agency_code: r.agency_code,
                department_code: r.department_code,
                name: r.name,
                version: r.version,
            },
        );
    }
    stored
}

/// The rows a push writes and what the audit line says of the replaced ones.
struct Written {
    rows: Vec<ExecutionMonthRow>,
    changes: Vec<serde_json::Value>,
}

impl Written {
    fn of(
        year: i32,
        request_id: &str,
        by: &str,
        at: chrono::NaiveDateTime,
        outcomes: &[Outcome],
    ) -> Written {
        let mut w = Written {
            rows: Vec::new(),
            changes: Vec::new(),
        };
        let row = |r: &MonthRow, version: i64| ExecutionMonthRow {
            fiscal_year: year,
            pro_code: r.pro_code.clone(),
            month: i32::from(r.month),
            initial_budget: Money(r.figures.initial_budget),
            adjusted_budget: r.figures.adjusted_budget.map(Money),
            allocated: r.figures.allocated.map(Money),
            executed: Money(r.figures.executed),
            agency_code: r.agency_code.clone(),
            department_code: r.department_code.clone(),
            name: r.name.clone(),
            version,
            request_id: request_id.to_owned(),
            changed_by: by.to_owned(),
            changed_at: at,
        };
        for o in outcomes {
            match o {
                Outcome::Created(r) => w.rows.push(row(r, 1)),
                Outcome::Updated { row: r, before } => {
                    w.rows.push(row(r, before.version + 1));
                    w.changes.push(serde_json::json!({
                        "pro_code": r.pro_code,
                        "month": r.month,
                        "version": before.version + 1,
                        "before_after": changes(before, r),
                    }));
                }
                Outcome::Unchanged | Outcome::Rejected(_) => {}
            }
        }
        w
    }
}

fn summarise(
    indices: &[i32],
    outcomes: &[Outcome],
    field: fn(i32, &str) -> String,
    recomputed: usize,
) -> Summary {
    let mut s = Summary {
        results: Vec::with_capacity(outcomes.len()),
        created: 0,
        updated: 0,
        unchanged: 0,
        rejected: 0,
        subjects_recomputed: i64::try_from(recomputed).unwrap_or(i64::MAX),
    };
    for (&index, o) in indices.iter().zip(outcomes) {
        let mut result = proto::RowResult {
            index,
            ..Default::default()
        };
        let outcome = match o {
            Outcome::Created(_) => {
                s.created += 1;
                proto::RowOutcome::Created
            }
            Outcome::Updated { .. } => {
                s.updated += 1;
                proto::RowOutcome::Updated
            }
            Outcome::Unchanged => {
                s.unchanged += 1;
                proto::RowOutcome::Unchanged
            }
            Outcome::Rejected(v) => {
                s.rejected += 1;
                result.reason = v.reason.to_owned();
                result.message = v.message.clone();
                result.field = field(index, &v.field);
                proto::RowOutcome::Rejected
            }
        };
        result.outcome = outcome as i32;
        s.results.push(result);
    }
    s
}

// -- history -------------------------------------------------------------------------------------

fn not_found(year: i32, code: &str) -> ApiError {
    ApiError::not_found(
        "EXECUTION_NOT_FOUND",
        format!("{year}年度项目「{code}」没有预算执行数"),
    )
}

/// GetExecutionHistory: the project's months in order and the early warning at its latest
/// month (docs/drafts/MONITORING.md §2 item 8), under the year's rules in force (the newest
/// stored version, else the national defaults, version 0).
pub async fn history(
    state: &AppState,
    caller: Caller,
    m: proto::GetExecutionHistoryRequest,
) -> Result<proto::GetExecutionHistoryResponse, ApiError> {
    let v = history_reader(&caller, &state.region)?;
    limits::check(&m)?;
    let year = fiscal_year(m.fiscal_year)?;
    let code = m.pro_code.trim().to_owned();
    if code.is_empty() {
        return Err(ApiError::invalid_field(
            "PRO_CODE_INVALID",
            "pro_code",
            "请提供项目编码",
        ));
    }
    let (rows, rules) = state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let rows = store::history(conn, year, &code)?;
            // The owners: the unit and department on the rows, and on the year's round subjects.
            let mut owners: Vec<(String, String)> = rows
                .iter()
                .map(|r| (r.agency_code.clone(), r.department_code.clone()))
                .collect();
            if !matches!(v.role, access::Role::Finance | access::Role::Auditor) {
                owners.extend(store::subject_owners(conn, year, &code)?);
            }
            let sees = owners.iter().any(|(agency, department)| {
                can_read(
                    &v,
                    &SubjectRef {
                        agency_code: agency,
                        department_code: department,
                        commissioned_agency: None,
                    },
                )
            });
            if !sees || rows.is_empty() {
                return Err(not_found(year, &code));
            }
            Ok((rows, rules_in_force(conn, year)?))
        })
        .await?;
    let (rules, version, label) = rules;
    let latest = rows.last().expect("rows checked non-empty");
    let months: Vec<(u8, pbm_types::Decimal)> = rows
        .iter()
        .map(|r| (u8::try_from(r.month).unwrap_or(0), r.executed.0))
        .collect();
    let w = execution_forecast(
        &months,
        u8::try_from(latest.month).unwrap_or(0),
        Some(latest.initial_budget.0),
        latest.adjusted_budget.map(|m| m.0),
        &rules,
    );
    let forecast = warning_to(
        &latest.pro_code,
        Axis::ExecutionForecast,
        &w,
        version,
        &label,
        pbm_db::now(),
    );
    Ok(proto::GetExecutionHistoryResponse {
        months: rows.iter().map(month_to).collect(),
        forecast: Some(forecast),
    })
}

/// The year's rules in force: the newest stored version, else the defaults (version 0); with
/// the version and its label.
fn rules_in_force(
    conn: &mut pbm_db::AnyConnection,
    year: i32,
) -> Result<(MonitoringRules, i64, String), ApiError> {
    match store::current_rules(conn, year)? {
        Some(row) => {
            let rules = serde_json::from_str(&row.bands).map_err(ApiError::internal)?;
            Ok((rules, row.version, recompute::label_of(year, row.version)))
        }
        None => Ok((MonitoringRules::default(), 0, recompute::label_of(year, 0))),
    }
}
