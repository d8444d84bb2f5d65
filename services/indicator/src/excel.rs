//! Excel (.xlsx) import and export of the library with Chinese column headers — finance bureaus
//! live in Excel (DOMAIN.md, "Interoperability").
//!
//! An import validates every row first; any invalid cell rejects the whole import with a
//! per-row, per-column error list, and nothing is written. Valid imports create new indicators
//! and new versions of changed ones, in one transaction.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use pbm_auth::Caller;
use pbm_proto::indicator::v1 as proto;
use pbm_server::{ApiError, Effect, FieldViolation, MutationContext, run_mutation};
use pbm_types::FiscalYear;
use pbm_xlsx::{Column, Row};

use crate::domain::access;
use crate::domain::frame::Frame;
use crate::domain::indicator::{self, Direction, Indicator, Kind, Spec, Status, ValueStandard};
use crate::state::AppState;
use crate::store::{self, Filter};

const fn col(header: &'static str, required: bool, width: f64) -> Column {
    Column {
        header,
        required,
        width,
    }
}

/// The columns, in export order. Import matches them by header, in any order.
pub const COLUMNS: [Column; 25] = [
    col("指标编码", true, 14.0),
    col("预算年度", true, 9.0),
    col("一级指标", true, 12.0),
    col("二级指标", true, 16.0),
    col("三级指标名称", true, 28.0),
    col("指标类型", true, 9.0),
    col("所属部门", false, 10.0),
    col("行业标签", false, 14.0),
    col("领域标签", false, 14.0),
    col("层次标签", false, 14.0),
    col("指标方向", true, 9.0),
    col("计量单位", false, 9.0),
    col("指标解释", false, 36.0),
    col("计算公式", false, 24.0),
    col("评分规则", false, 24.0),
    col("指标值设定依据", false, 14.0),
    col("设定依据说明", false, 20.0),
    col("参考指标值", false, 12.0),
    col("上年值", false, 10.0),
    col("前年值", false, 10.0),
    col("是否固化", false, 9.0),
    col("启用起始年度", false, 12.0),
    col("启用截止年度", false, 12.0),
    col("状态", false, 8.0),
    col("版本", false, 6.0),
];

/// Largest workbook accepted.
const MAX_ROWS: usize = 200_000;

fn tags_to_cell(tags: &[String]) -> String {
    tags.join("、")
}

fn cell_to_tags(cell: &str) -> Vec<String> {
    let parts: Vec<String> = cell
        .split([',', '，', '、', ';', '；'])
        .map(str::to_owned)
        .collect();
    indicator::normalize_tags(&parts)
}

fn year_cell(y: Option<i32>) -> String {
    y.map(|y| y.to_string()).unwrap_or_default()
}

fn decimal_cell(d: Option<pbm_types::Decimal>) -> String {
    d.map(pbm_types::decimal::to_wire).unwrap_or_default()
}

/// One row of the export.
fn to_row(i: &Indicator, frame: Option<&Frame>) -> Vec<String> {
    let s = &i.spec;
    let level2 = frame.and_then(|f| f.node(&s.frame_node_code));
    let level1 = level2.and_then(|n| frame.and_then(|f| f.node(&n.parent_code)));
    vec![
        i.code.clone(),
        s.fiscal_year.to_string(),
        level1.map(|n| n.name.clone()).unwrap_or_default(),
        level2.map(|n| n.name.clone()).unwrap_or_default(),
        s.name.clone(),
        s.kind.chinese().into(),
        s.owner_department.clone(),
        tags_to_cell(&s.industry_tags),
        tags_to_cell(&s.field_tags),
        tags_to_cell(&s.level_tags),
        s.direction.chinese().into(),
        s.unit.clone(),
        s.explanation.clone(),
        s.formula.clone(),
        s.scoring_rule.clone(),
        s.value_standard
            .map(ValueStandard::chinese)
            .unwrap_or_default()
            .into(),
        s.value_standard_note.clone(),
        s.reference_target.clone(),
        decimal_cell(s.last_year_value),
        decimal_cell(s.year_before_value),
        if s.fixed { "是" } else { "否" }.into(),
        year_cell(s.enabled_from_year),
        year_cell(s.enabled_to_year),
        i.status.chinese().into(),
        i.version.to_string(),
    ]
}

/// Exports the current library (filtered) as .xlsx bytes and the number of rows.
pub async fn export(
    state: &AppState,
    caller: &Caller,
    filter: Filter,
) -> Result<(Vec<u8>, usize), ApiError> {
    access::can_read(caller, &state.region)?;
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

/// A parsed, not yet frame-checked import row.
struct ParsedRow {
    number: u32,
    code: String,
    level1_name: String,
    level2_name: String,
    spec: Spec,
    status: Status,
}

type CellErrors = Vec<(u32, &'static str, String, &'static str)>;

/// Reads one row into a spec, noting every bad cell.
fn parse_row(row: &Row, errors: &mut CellErrors) -> Option<ParsedRow> {
    let cell = |i: usize| row.cells[i].as_str();
    let before = errors.len();
    let mut err = |col: usize, reason: &'static str, message: String| {
        errors.push((row.number, COLUMNS[col].header, message, reason))
    };
    let code = cell(0).to_owned();
    if let Some(m) = indicator::code_violation(&code) {
        err(0, "CODE_INVALID", m);
    }
    let fiscal_year = match cell(1).parse::<i32>().ok().map(FiscalYear::new) {
        Some(Ok(y)) => Some(y),
        _ => {
            err(
                1,
                "FISCAL_YEAR_INVALID",
                format!("预算年度「{}」无效", cell(1)),
            );
            None
        }
    };
    let kind = Kind::from_chinese(cell(5));
    if kind.is_none() {
        err(
            5,
            "KIND_INVALID",
            format!("指标类型应为「共性」或「个性」，不是「{}」", cell(5)),
        );
    }
    let direction = Direction::from_chinese(cell(10)).or(match cell(10) {
        ">=" | "≧" | "正向" => Some(Direction::Ge),
        "<=" | "≦" | "反向" => Some(Direction::Le),
        "等于" => Some(Direction::Eq),
        _ => None,
    });
    if direction.is_none() {
        err(
            10,
            "DIRECTION_INVALID",
            format!("指标方向应为 ≥、≤、= 或 定性，不是「{}」", cell(10)),
        );
    }
    let value_standard = match cell(15) {
        "" => None,
        s => {
            let v = ValueStandard::from_chinese(s);
            if v.is_none() {
                err(
                    15,
                    "VALUE_STANDARD_INVALID",
                    format!("指标值设定依据应为 计划标准、行业标准、历史标准 或 其他，不是「{s}」"),
                );
            }
            v
        }
    };
    let mut number = |col: usize| -> Option<pbm_types::Decimal> {
        match cell(col) {
            "" => None,
            s => pbm_types::decimal::parse(s)
                .map_err(|e| err(col, "DECIMAL_INVALID", e.message))
                .ok(),
        }
    };
    let last_year_value = number(18);
    let year_before_value = number(19);
    let fixed = match cell(20) {
        "" | "否" | "N" | "n" | "0" => false,
        "是" | "Y" | "y" | "1" => true,
        s => {
            err(
                20,
                "FIXED_INVALID",
                format!("是否固化应为「是」或「否」，不是「{s}」"),
            );
            false
        }
    };
    let mut year = |col: usize| -> Option<i32> {
        match cell(col) {
            "" => None,
            s => match s.parse::<i32>() {
                Ok(y) => Some(y),
                Err(_) => {
                    err(col, "YEAR_INVALID", format!("年度「{s}」无效"));
                    None
                }
            },
        }
    };
    let enabled_from_year = year(21);
    let enabled_to_year = year(22);
    let status = match cell(23) {
        "" => Status::Enabled,
        s => Status::from_chinese(s).unwrap_or_else(|| {
            err(
                23,
                "STATUS_INVALID",
                format!("状态应为「启用」或「停用」，不是「{s}」"),
            );
            Status::Enabled
        }),
    };
    if errors.len() > before {
        return None;
    }
    let (Some(fiscal_year), Some(kind), Some(direction)) = (fiscal_year, kind, direction) else {
        return None;
    };
    Some(ParsedRow {
        number: row.number,
        code,
        level1_name: cell(2).to_owned(),
        level2_name: cell(3).to_owned(),
        status,
        spec: Spec {
            fiscal_year,
            frame_node_code: String::new(),
            name: cell(4).to_owned(),
            kind,
            industry_tags: cell_to_tags(cell(7)),
            field_tags: cell_to_tags(cell(8)),
            level_tags: cell_to_tags(cell(9)),
            direction,
            unit: cell(11).to_owned(),
            explanation: cell(12).to_owned(),
            formula: cell(13).to_owned(),
            scoring_rule: cell(14).to_owned(),
            value_standard,
            value_standard_note: cell(16).to_owned(),
            reference_target: cell(17).to_owned(),
            last_year_value,
            year_before_value,
            fixed,
            enabled_from_year,
            enabled_to_year,
            owner_department: cell(6).to_owned(),
        },
    })
}

/// Maps a spec field path to its column header.
fn header_of(field: &str) -> &'static str {
    let name = field.split('[').next().unwrap_or(field);
    match name {
        "name" => "三级指标名称",
        "frame_node_code" => "二级指标",
        "kind" => "指标类型",
        "owner_department" => "所属部门",
        "industry_tags" => "行业标签",
        "field_tags" => "领域标签",
        "level_tags" => "层次标签",
        "direction" => "指标方向",
        "unit" => "计量单位",
        "explanation" => "指标解释",
        "formula" => "计算公式",
        "scoring_rule" => "评分规则",
        "value_standard_note" => "设定依据说明",
        "reference_target" => "参考指标值",
        "last_year_value" => "上年值",
        "year_before_value" => "前年值",
        "enabled_from_year" => "启用起始年度",
        "enabled_to_year" => "启用截止年度",
        _ => "",
    }
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
    workbook: Vec<u8>,
    validate_only: bool,
) -> Result<proto::ImportIndicatorsResponse, ApiError> {
    // Refuse before parsing a possibly large upload, and audit the refusal.
    if let Err(e) = access::can_write(&ctx.caller, &state.region) {
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
                    }),
                    Some(cur) if cur.spec == spec && cur.status == status => unchanged += 1,
                    Some(cur) => {
                        let next = Indicator {
                            code: code.clone(),
                            version: cur.version + 1,
                            status,
                            spec,
                            change_note: format!("Excel 导入修改（第 {number} 行）"),
                            changed_by: actor.clone(),
                            changed_at: at,
                        };
                        if let Err(actual) = store::insert_next_version(conn, &next, cur.version)? {
                            return Err(ApiError::stale_version(
                                &format!("指标「{code}」"),
                                cur.version,
                                actual,
                            ));
                        }
                        changed_codes.insert(code);
                        updated += 1;
                    }
                }
            }
            store::insert_new_batch(conn, &created)
                .map_err(|e| store::indicator_write_error("(导入)", e))?;
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
    Ok(response)
}

/// Column headers come back from pbm-xlsx as owned strings; map them to our static ones.
fn header_static(header: &str) -> &'static str {
    COLUMNS
        .iter()
        .map(|c| c.header)
        .find(|h| *h == header)
        .unwrap_or("")
}
