//! Excel (.xlsx) rows ⇄ domain, with Chinese column headers — finance bureaus live in Excel
//! (docs/DOMAIN.md "Interoperability"). The import and export use cases are in `ops::excel`.

use pbm_types::FiscalYear;
use pbm_xlsx::{Column, Row, col};

use crate::domain::frame::Frame;
use crate::domain::indicator::{self, Direction, Indicator, Kind, Spec, Status, ValueStandard};

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
pub fn to_row(i: &Indicator, frame: Option<&Frame>) -> Vec<String> {
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

/// A parsed, not yet frame-checked import row.
pub struct ParsedRow {
    pub number: u32,
    pub code: String,
    pub level1_name: String,
    pub level2_name: String,
    pub spec: Spec,
    pub status: Status,
}

/// Bad cells: (row number, column header, message, reason).
pub type CellErrors = Vec<(u32, &'static str, String, &'static str)>;

/// Reads one row into a spec, noting every bad cell.
pub fn parse_row(row: &Row, errors: &mut CellErrors) -> Option<ParsedRow> {
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
pub fn header_of(field: &str) -> &'static str {
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
/// Column headers come back from pbm-xlsx as owned strings; map them to our static ones.
pub fn header_static(header: &str) -> &'static str {
    COLUMNS
        .iter()
        .map(|c| c.header)
        .find(|h| *h == header)
        .unwrap_or("")
}
