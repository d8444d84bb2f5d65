//! Excel (.xlsx) import and export of the library (the row format is `convert::excel`).
//!
//! An import validates every row first; any invalid cell rejects the whole import with a
//! per-row, per-column error list, and nothing is written. Valid imports create new indicators
//! and new versions of changed ones, in one transaction.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use pbm_auth::Caller;
use pbm_proto::indicator::v1 as proto;
use pbm_server::{ApiError, Effect, FieldViolation, MutationContext, run_mutation};
use pbm_xlsx::Row;

use super::indicator_write_error;
use crate::convert::{
    self,
    excel::{COLUMNS, CellErrors, header_of, header_static, parse_row, to_row},
};
use crate::domain::access;
use crate::domain::indicator::{Indicator, Spec, Status};
use crate::state::AppState;
use crate::store::{self, Filter};

/// Largest workbook accepted.
const MAX_ROWS: usize = 200_000;

/// Exports the current library (filtered) as .xlsx bytes and the number of rows.
pub async fn export(
    state: &AppState,
    caller: Caller,
    m: proto::ExportIndicatorsRequest,
) -> Result<(Vec<u8>, usize), ApiError> {
    let filter = convert::filter_from_proto(m.filter)?;
    access::can_read(&caller, &state.region)?;
    let all = state
        .db
        .read(move |conn| store::all_current(conn, &filter))
        .await?;
    let frames: HashMap<i32, Arc<store::StoredFrame>> = state
        .cached_frames()
        .into_iter()
        .map(|f| (f.frame.fiscal_year.get(), f))
        .collect();
    let count = all.len();
    let bytes = tokio::task::spawn_blocking(move || {
        let rows: Vec<Vec<String>> = all
            .iter()
            .map(|i| to_row(i, frames.get(&i.spec.fiscal_year.get()).map(|f| &f.frame)))
            .collect();
        pbm_xlsx::write_table("绩效指标库", &COLUMNS, &rows)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    Ok((bytes, count))
}

/// Validates every row; returns the rows as indicators-to-be or every cell error.
fn validate(
    table: Vec<Row>,
    frames: &HashMap<i32, Arc<store::StoredFrame>>,
) -> Result<Vec<(u32, String, Spec, Status)>, CellErrors> {
    let mut errors = CellErrors::new();
    let mut out = Vec::with_capacity(table.len());
    let mut seen: HashMap<String, u32> = HashMap::new();
    for row in &table {
        let Some(mut p) = parse_row(row, &mut errors) else {
            continue;
        };
        if let Some(first) = seen.insert(p.code.clone(), p.number) {
            errors.push((
                p.number,
                "指标编码",
                format!("指标编码「{}」与第 {first} 行重复", p.code),
                "CODE_DUPLICATE",
            ));
            continue;
        }
        let year = p.spec.fiscal_year.get();
        let Some(frame) = frames.get(&year) else {
            errors.push((
                p.number,
                "预算年度",
                format!("{year} 年度尚未建立指标框架"),
                "FRAME_NOT_FOUND",
            ));
            continue;
        };
        match frame.frame.level2_by_names(&p.level1_name, &p.level2_name) {
            Some(node) => p.spec.frame_node_code = node.code.clone(),
            None => {
                errors.push((
                    p.number,
                    "二级指标",
                    format!(
                        "{year} 年度指标框架中没有「{}—{}」",
                        p.level1_name, p.level2_name
                    ),
                    "FRAME_NODE_UNKNOWN",
                ));
                continue;
            }
        }
        let violations = p.spec.violations(&frame.frame, "");
        if violations.is_empty() {
            out.push((p.number, p.code, p.spec, p.status));
        } else {
            for v in violations {
                errors.push((p.number, header_of(&v.field), v.message, v.reason));
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn to_proto_errors(errors: &CellErrors) -> Vec<proto::ImportRowError> {
    errors
        .iter()
        .map(|(row, column, message, reason)| proto::ImportRowError {
            row: *row as i32,
            column: (*column).to_owned(),
            message: message.clone(),
            reason: (*reason).to_owned(),
        })
        .collect()
}

fn import_rejected(errors: &CellErrors) -> ApiError {
    let mut e = ApiError::invalid(
        "IMPORT_ROWS_INVALID",
        format!(
            "导入文件有 {} 处错误，未导入任何数据；请按错误清单修改后重新导入",
            errors.len()
        ),
    );
    e.violations = errors
        .iter()
        .map(|(row, column, message, reason)| {
            FieldViolation::new(format!("rows[{row}].{column}"), reason, message.clone())
        })
        .collect();
    e
}

/// Imports a workbook (see module docs).
pub async fn import(
    state: &AppState,
    ctx: MutationContext,
    m: proto::ImportIndicatorsRequest,
) -> Result<proto::ImportIndicatorsResponse, ApiError> {
    let proto::ImportIndicatorsRequest {
        workbook,
        validate_only,
        ..
    } = m;
    // Refuse before parsing a possibly large upload, and audit the refusal.
    if let Err(denied) = access::can_write(&ctx.caller, &state.region) {
        let e = ApiError::from(denied);
        pbm_server::audit_refusal(&state.db, &ctx, ("indicator_import", String::new()), &e).await;
        return Err(e);
    }
    state.reload_frames().await?;
    let frames: HashMap<i32, Arc<store::StoredFrame>> = state
        .cached_frames()
        .into_iter()
        .map(|f| (f.frame.fiscal_year.get(), f))
        .collect();
    let checked = tokio::task::spawn_blocking(move || -> Result<_, CellErrors> {
        let table = pbm_xlsx::read_table(&workbook, &COLUMNS[..24]).map_err(|errs| {
            errs.into_iter()
                .map(|e| (e.row, header_static(&e.column), e.message, e.reason))
                .collect::<CellErrors>()
        })?;
        if table.len() > MAX_ROWS {
            return Err(vec![(
                0,
                "",
                format!("一次最多导入 {MAX_ROWS} 行"),
                "IMPORT_TOO_LARGE",
            )]);
        }
        validate(table, &frames)
    })
    .await
    .map_err(ApiError::internal)?;
    if validate_only {
        return Ok(match checked {
            Ok(rows) => proto::ImportIndicatorsResponse {
                rows: rows.len() as i32,
                ..Default::default()
            },
            Err(errors) => proto::ImportIndicatorsResponse {
                errors: to_proto_errors(&errors),
                ..Default::default()
            },
        });
    }
    let region = state.region.clone();
    let response = run_mutation(
        &state.db,
        ctx,
        ("indicator_import", String::new()),
        move |conn, ctx| {
            access::can_write(&ctx.caller, &region)?;
            let rows = checked.map_err(|errors| import_rejected(&errors))?;
            if rows.is_empty() {
                return Err(ApiError::invalid("IMPORT_EMPTY", "导入文件中没有数据行"));
            }
            let codes: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
            let existing: HashMap<String, Indicator> = store::current_many(conn, &codes)?
                .into_iter()
                .map(|i| (i.code.clone(), i))
                .collect();
            let at = pbm_db::now();
            let actor = ctx.caller.subject.clone();
            let mut created = Vec::new();
            let (mut updated, mut unchanged) = (0, 0);
            let mut changed_codes = HashSet::new();
            // One `pbm.indicator.changed` per version written, as every other library write.
            let mut events = Vec::new();
            for (number, code, spec, status) in rows {
                match existing.get(&code) {
                    None => created.push(Indicator {
                        code,
                        version: 1,
                        status,
                        spec,
                        change_note: "Excel 导入新建".into(),
                        changed_by: actor.clone(),
                        changed_at: at,
                        origin: None,
                    }),
                    Some(cur) if cur.spec == spec && cur.status == status => unchanged += 1,
                    Some(Indicator {
                        origin: Some(o), ..
                    }) => {
                        // docs/INDICATOR.md "Following an upstream library": the upstream's.
                        return Err(super::upstream_owned(&code, o)
                            .with_violation(format!("rows[{number}].指标编码"), "upstream owned"));
                    }
                    Some(cur) => {
                        let next = Indicator {
                            code: code.clone(),
                            version: cur.version + 1,
                            status,
                            spec,
                            change_note: format!("Excel 导入修改（第 {number} 行）"),
                            changed_by: actor.clone(),
                            changed_at: at,
                            origin: None,
                        };
                        if let Err(actual) = store::insert_next_version(conn, &next, cur.version)? {
                            return Err(ApiError::stale_version(
                                &format!("指标「{code}」"),
                                cur.version,
                                actual,
                            ));
                        }
                        events.push(super::outbox_event(&next));
                        changed_codes.insert(code);
                        updated += 1;
                    }
                }
            }
            store::insert_new_batch(conn, &created)
                .map_err(|e| indicator_write_error("(导入)", e))?;
            events.extend(created.iter().map(super::outbox_event));
            pbm_db::platform::insert_outbox_batch(conn, &events)?;
            let total = created.len() + updated + unchanged;
            Ok(Effect {
                response: proto::ImportIndicatorsResponse {
                    rows: total as i32,
                    created: created.len() as i32,
                    updated: updated as i32,
                    unchanged: unchanged as i32,
                    errors: Vec::new(),
                },
                entity_type: "indicator_import",
                entity_id: String::new(),
                detail: format!(
                    "{} created, {updated} updated, {unchanged} unchanged",
                    created.len()
                ),
            })
        },
    )
    .await?;
    // Bring the search index up to date with everything the import wrote.
    let all = state
        .db
        .read(|conn| store::all_current(conn, &Filter::default()))
        .await?;
    state.index_written(all);
    state.library_written();
    Ok(response)
}
