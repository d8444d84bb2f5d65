//! The national 项目支出绩效自评表 as a workbook of two tabs, and a unit's entry as both the
//! wire and the table give it.
//!
//! Rule: docs/DOMAIN.md "Self-evaluation, spot checks, key evaluations" (.xlsx import and export
//! of the national 自评表, 财预〔2020〕10号 附件 项目支出绩效自评表) and docs/EVALUATION.md
//! "Import and export". The project's layout:
//! * Tab [`SHEET_TAB`] (自评表): one row per sheet — the project, its department and unit, 全年
//!   预算数, 执行数, 执行率 and its points, the reason for low execution, the 自评结论, the total
//!   and the grade ([`SHEET_COLUMNS`]).
//! * Tab [`INDICATOR_TAB`] (指标): one row per indicator — the goal's snapshot (levels, direction,
//!   unit, 年度指标值), the unit's entry (实际完成值; 定性: 档次 and 得分; 不适用 and its reason;
//!   偏差原因 and 改进措施) and the engine's weight and points ([`INDICATOR_COLUMNS`]).
//! * Every cell is text (`pbm_xlsx`): amounts and scores keep their two places. An import reads
//!   only what the unit may enter — the texts of tab 自评表 and the entry columns of tab 指标;
//!   the snapshot, execution figures and scores are the service's and ignored.

use pbm_scoring::{Direction, Grade, Tier};
use pbm_types::Decimal;
use pbm_xlsx::{Column, col};

/// The tab of the sheets.
pub const SHEET_TAB: &str = "自评表";
/// The tab of the indicators.
pub const INDICATOR_TAB: &str = "指标";

/// Tab 自评表, one row per sheet.
pub const SHEET_COLUMNS: [Column; 12] = [
    col("项目编码", true, 18.0),
    col("项目名称", false, 30.0),
    col("主管部门", false, 12.0),
    col("单位", false, 12.0),
    col("全年预算数", false, 14.0),
    col("执行数", false, 14.0),
    col("执行率", false, 10.0),
    col("执行率得分", false, 10.0),
    col("未达90%原因", false, 30.0),
    col("自评结论", false, 40.0),
    col("总分", false, 8.0),
    col("等级", false, 6.0),
];

/// Positions in [`SHEET_COLUMNS`].
pub mod sheet_at {
    pub const CODE: usize = 0;
    pub const EXECUTION_REASON: usize = 8;
    pub const SUMMARY: usize = 9;
}

/// Tab 指标, one row per indicator.
pub const INDICATOR_COLUMNS: [Column; 17] = [
    col("项目编码", true, 18.0),
    col("序号", true, 6.0),
    col("一级指标", false, 12.0),
    col("二级指标", false, 14.0),
    col("三级指标", false, 24.0),
    col("方向", false, 6.0),
    col("单位", false, 8.0),
    col("年度指标值", false, 12.0),
    col("实际完成值", false, 14.0),
    col("定性档次", false, 14.0),
    col("定性得分", false, 8.0),
    col("不适用", false, 6.0),
    col("不适用理由", false, 20.0),
    col("偏差原因", false, 30.0),
    col("改进措施", false, 30.0),
    col("权重", false, 8.0),
    col("得分", false, 8.0),
];

/// Positions in [`INDICATOR_COLUMNS`].
pub mod indicator_at {
    pub const CODE: usize = 0;
    pub const SEQ: usize = 1;
    pub const ACHIEVED: usize = 8;
    pub const TIER: usize = 9;
    pub const QUALITATIVE_SCORE: usize = 10;
    pub const NOT_APPLICABLE: usize = 11;
    pub const NOT_APPLICABLE_REASON: usize = 12;
    pub const DEVIATION_CAUSES: usize = 13;
    pub const IMPROVEMENT_MEASURES: usize = 14;
}

/// What the unit enters for one indicator, as SaveSelfEvaluation's `IndicatorEntry` and a row
/// of tab 指标 both give it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EntryInput {
    pub seq: i32,
    pub achieved_value: String,
    pub tier: Option<Tier>,
    pub qualitative_score: Option<Decimal>,
    pub not_applicable: bool,
    pub not_applicable_reason: String,
    pub deviation_causes: String,
    pub improvement_measures: String,
}

/// A stored direction word (`ge`, `le`, `eq`, `qualitative`) as the form names it (正向, …).
pub fn direction_label(word: &str) -> &'static str {
    match word {
        "ge" => Direction::Ge.label(),
        "le" => Direction::Le.label(),
        "eq" => Direction::Eq.label(),
        "qualitative" => Direction::Qualitative.label(),
        _ => "",
    }
}

/// A tier as a person types it: its name on the form (达成, …) or its stored word.
pub fn tier_from_text(text: &str) -> Option<Tier> {
    let text = text.trim();
    [Tier::Achieved, Tier::Partly, Tier::NotAchieved]
        .into_iter()
        .find(|t| t.label() == text)
        .or_else(|| crate::convert::scores::tier_of_word(text))
}

/// A stored grade word as its label (优/良/中/差; empty when none).
pub fn grade_label(word: &str) -> &'static str {
    [Grade::Excellent, Grade::Good, Grade::Fair, Grade::Poor]
        .into_iter()
        .find(|g| g.code() == word)
        .map_or("", Grade::label)
}

/// 是 / 否 (and what Excel's booleans read back as); `None` for anything else.
pub fn yes_no(text: &str) -> Option<bool> {
    match text.trim() {
        "是" | "Y" | "y" | "TRUE" | "true" | "1" => Some(true),
        "否" | "" | "N" | "n" | "FALSE" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// A cell problem of tab 指标: the column (its position) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellProblem {
    pub column: usize,
    pub reason: &'static str,
    pub message: String,
}

/// The entry a row of tab 指标 gives (its cells in [`INDICATOR_COLUMNS`] order), or every
/// problem of its cells. Whether the values fit the indicator is SaveSelfEvaluation's check.
pub fn entry_from_cells(cells: &[String]) -> Result<EntryInput, Vec<CellProblem>> {
    use indicator_at as at;
    let mut problems = Vec::new();
    let cell = |c: usize| cells.get(c).map_or("", |s| s.trim());
    let mut problem = |column, reason, message: String| {
        problems.push(CellProblem {
            column,
            reason,
            message,
        });
    };
    let seq = cell(at::SEQ).parse::<i32>().unwrap_or_else(|_| {
        problem(
            at::SEQ,
            "INDICATOR_NOT_FOUND",
            format!("序号「{}」应为整数", cell(at::SEQ)),
        );
        0
    });
    let tier = match cell(at::TIER) {
        "" => None,
        text => tier_from_text(text).or_else(|| {
            problem(
                at::TIER,
                "TIER_INVALID",
                format!(
                    "定性档次应为「达成」「部分达成并具有一定效果」「未达成且效果较差」之一，而不是「{text}」"
                ),
            );
            None
        }),
    };
    let qualitative_score = match cell(at::QUALITATIVE_SCORE) {
        "" => None,
        text => pbm_types::decimal::parse(text).ok().or_else(|| {
            problem(
                at::QUALITATIVE_SCORE,
                "QUALITATIVE_SCORE_INVALID",
                format!("定性得分「{text}」应为数字"),
            );
            None
        }),
    };
    let not_applicable = yes_no(cell(at::NOT_APPLICABLE)).unwrap_or_else(|| {
        problem(
            at::NOT_APPLICABLE,
            "NOT_APPLICABLE_INVALID",
            format!(
                "不适用应填「是」或「否」，而不是「{}」",
                cell(at::NOT_APPLICABLE)
            ),
        );
        false
    });
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(EntryInput {
        seq,
        achieved_value: cell(at::ACHIEVED).to_owned(),
        tier,
        qualitative_score,
        not_applicable,
        not_applicable_reason: cell(at::NOT_APPLICABLE_REASON).to_owned(),
        deviation_causes: cell(at::DEVIATION_CAUSES).to_owned(),
        improvement_measures: cell(at::IMPROVEMENT_MEASURES).to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(set: &[(usize, &str)]) -> Vec<String> {
        let mut cells = vec![String::new(); INDICATOR_COLUMNS.len()];
        for (c, v) in set {
            cells[*c] = (*v).to_owned();
        }
        cells
    }

    #[test]
    fn a_row_reads_as_an_entry() {
        use indicator_at as at;
        let e = entry_from_cells(&row(&[
            (at::CODE, "P-1"),
            (at::SEQ, "3"),
            (at::TIER, "部分达成并具有一定效果"),
            (at::QUALITATIVE_SCORE, "7.5"),
            (at::NOT_APPLICABLE, "否"),
            (at::DEVIATION_CAUSES, "原因"),
        ]))
        .unwrap();
        assert_eq!(e.seq, 3);
        assert_eq!(e.tier, Some(Tier::Partly));
        assert_eq!(e.qualitative_score, Some(Decimal::new(75, 1)));
        assert!(!e.not_applicable);
        assert_eq!(e.deviation_causes, "原因");
        let bad = entry_from_cells(&row(&[
            (at::SEQ, "三"),
            (at::TIER, "很好"),
            (at::QUALITATIVE_SCORE, "八分"),
            (at::NOT_APPLICABLE, "也许"),
        ]))
        .unwrap_err();
        let reasons: Vec<&str> = bad.iter().map(|p| p.reason).collect();
        assert_eq!(
            reasons,
            [
                "INDICATOR_NOT_FOUND",
                "TIER_INVALID",
                "QUALITATIVE_SCORE_INVALID",
                "NOT_APPLICABLE_INVALID"
            ]
        );
    }

    #[test]
    fn words_both_ways() {
        for t in [Tier::Achieved, Tier::Partly, Tier::NotAchieved] {
            assert_eq!(tier_from_text(t.label()), Some(t));
        }
        assert_eq!(tier_from_text("partly"), Some(Tier::Partly));
        assert_eq!(direction_label("le"), "反向");
        assert_eq!(grade_label("good"), "良");
        assert_eq!(grade_label(""), "");
        assert_eq!(yes_no("是"), Some(true));
        assert_eq!(yes_no(""), Some(false));
        assert_eq!(yes_no("也许"), None);
    }
}
