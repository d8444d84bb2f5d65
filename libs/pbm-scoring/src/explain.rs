//! The Chinese explanation of a [`Score`]: per indicator (formula, inputs, points) and for the
//! total (weights, 满意度's fallback, parts left out, 预算执行率, re-normalisation, grade, veto and
//! why). Rendered on demand from the score, the rules and the sheet it was computed from, so
//! scoring itself formats nothing (docs/DOMAIN.md "Evaluation and scoring").

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::formula::{Entry, Formula, tier_points};
use crate::rules::{Direction, Part, RuleSet};
use crate::sheet::{IndicatorInput, Score, SheetInput};

/// A score explained.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// One text per indicator, in the sheet's order.
    pub indicators: Vec<String>,
    /// The total, line by line.
    pub total: Vec<String>,
    /// Why the grade was capped, when a veto lowered it.
    pub veto: Option<String>,
}

impl Score {
    /// Explains this score; `rules` and `sheet` must be those it was computed from.
    pub fn explain(&self, rules: &RuleSet, sheet: &SheetInput<'_>) -> Explanation {
        let indicators = self
            .indicators
            .iter()
            .zip(sheet.indicators)
            .enumerate()
            .map(|(index, (scored, input))| {
                let body =
                    indicator_text(rules, input, scored.formula, scored.weight, scored.points);
                let deviation = if scored.deviates {
                    "；存在偏差，须分析原因并提出改进措施"
                } else {
                    ""
                };
                format!(
                    "第{}项（{}，{}指标，权重{:.2}分）：{body}{deviation}",
                    index + 1,
                    input.level1,
                    input.direction.label(),
                    scored.weight
                )
            })
            .collect();
        let mut total = Vec::new();
        if let Some(made_by) = &self.rules {
            total.push(format!(
                "评分规则：{}（版本号{}）",
                made_by.label, made_by.version
            ));
        }
        let points = rules.points;
        total.push(format!(
            "分值：预算执行率{}分，产出指标{}分，效益指标{}分，满意度指标{}分",
            show(points.budget_execution),
            show(points.output),
            show(points.benefit),
            show(points.satisfaction)
        ));
        let has = |part: Part| self.indicators.iter().any(|i| i.part == part);
        if !has(Part::Satisfaction) {
            total.push(format!(
                "无满意度指标，其{}分转入产出指标{}分、效益指标{}分",
                show(points.satisfaction),
                show(rules.satisfaction_fallback.0),
                show(rules.satisfaction_fallback.1)
            ));
        }
        for part in [Part::Output, Part::Benefit] {
            if !has(part) {
                total.push(format!(
                    "无{}，其{}分不计入，总分按其余分值折算",
                    part.label(),
                    show(self.part_weights.get(part))
                ));
            }
        }
        if sheet.budget.is_zero() {
            total
                .push("预算数为0，预算执行率按0%计，得0分；预算数为0，不适用否定性指标".to_owned());
        } else {
            total.push(format!(
                "预算执行率 = 执行数{} ÷ 预算数{} = {:.2}%，得分 = min({}, {:.2}% × {}) = {:.2}分",
                show(sheet.executed),
                show(sheet.budget),
                self.execution_rate,
                show(points.budget_execution),
                self.execution_rate,
                show(points.budget_execution),
                self.execution_points
            ));
        }
        if !self.missing.is_empty() {
            let numbers: Vec<String> = self.missing.iter().map(|i| (i + 1).to_string()).collect();
            total.push(format!("第{}项尚未填报，按0分计", numbers.join("、")));
        }
        if self.applicable_weight == Decimal::ONE_HUNDRED {
            total.push(format!("总分 = 各项得分合计 {:.2}分", self.total));
        } else {
            total.push(format!(
                "不适用指标及无指标部分共{:.2}分不计入，适用分值{:.2}分；各项得分合计{:.2}分，总分 = {:.2} × 100 ÷ {:.2} = {:.2}分",
                Decimal::ONE_HUNDRED - self.applicable_weight,
                self.applicable_weight,
                self.raw_total,
                self.raw_total,
                self.applicable_weight,
                self.total
            ));
        }
        let bands: Vec<String> = rules
            .grades
            .iter()
            .map(|(grade, bound)| format!("{} ≥ {}", grade.label(), show(*bound)))
            .collect();
        total.push(format!(
            "按总分{:.2}分评定等级为{}（{}，其余为差）",
            self.total,
            self.raw_grade.label(),
            bands.join("、")
        ));
        let veto = self.veto.map(|veto| {
            format!(
                "预算执行率{:.2}% < {}%（否定性指标），不得高于{}，等级由{}调整为{}",
                veto.rate,
                show(veto.below_rate_percent),
                veto.best_grade.label(),
                self.raw_grade.label(),
                self.grade.label()
            )
        });
        if let Some(text) = &veto {
            total.push(text.clone());
        } else if !sheet.budget.is_zero()
            && let Some(triggered) = rules
                .vetoes
                .iter()
                .filter(|v| self.execution_rate < v.below_rate_percent)
                .min_by_key(|v| v.best_grade)
        {
            total.push(format!(
                "预算执行率{:.2}% < {}%（否定性指标），不得高于{}；等级{}未受影响",
                self.execution_rate,
                show(triggered.below_rate_percent),
                triggered.best_grade.label(),
                self.grade.label()
            ));
        }
        if self.needs_reason {
            total.push(format!(
                "预算执行率{:.2}%低于{}%，须说明原因",
                self.execution_rate,
                show(rules.reason_below_rate)
            ));
        }
        Explanation {
            indicators,
            total,
            veto,
        }
    }
}

/// A number as entered (no trailing zeros).
fn show(value: Decimal) -> String {
    value.normalize().to_string()
}

fn indicator_text(
    rules: &RuleSet,
    input: &IndicatorInput<'_>,
    formula: Formula,
    w: Decimal,
    points: Decimal,
) -> String {
    let a = match input.entry {
        Entry::Number(a) => show(a),
        _ => String::new(),
    };
    let t = input.target.map(show).unwrap_or_default();
    let full = format!("得满分{w:.2}分");
    let nil = "得0分";
    let as_ge = if input.direction == Direction::Eq {
        "目标值大于0，按正向计分："
    } else {
        ""
    };
    let k = show(rules.reverse_zero_at);
    match formula {
        Formula::Missing => "尚未填报，按0分计".to_owned(),
        Formula::NotApplicable => {
            format!("不适用，权重{w:.2}分不计入，总分按适用分值折算")
        }
        Formula::GeMet => format!("{as_ge}实际值{a} ≥ 目标值{t}，{full}"),
        Formula::GeRatio => {
            format!("{as_ge}实际值{a} < 目标值{t}，得分 = {a} ÷ {t} × {w:.2} = {points:.2}分")
        }
        Formula::GeNotPositive => format!("{as_ge}实际值{a}不大于0，{nil}"),
        Formula::GeTargetNotPositive { met: true } => {
            format!("目标值{t}不大于0，实际值{a} ≥ 目标值，{full}")
        }
        Formula::GeTargetNotPositive { met: false } => {
            format!("目标值{t}不大于0，实际值{a} < 目标值，{nil}")
        }
        Formula::LeMet => format!("实际值{a} ≤ 目标值{t}，{full}"),
        Formula::LeRatio => format!(
            "实际值{a}超过目标值{t}、低于其{k}倍，得分 = (1 − ({a} − {t}) ÷ (({k} − 1) × {t})) × {w:.2} = {points:.2}分"
        ),
        Formula::LeBeyond => format!("实际值{a}达到目标值{t}的{k}倍及以上，{nil}"),
        Formula::LeTargetNotPositive { met: true } => {
            format!("目标值{t}不大于0，实际值{a} ≤ 目标值，{full}")
        }
        Formula::LeTargetNotPositive { met: false } => {
            format!("目标值{t}不大于0，实际值{a} > 目标值，{nil}")
        }
        Formula::EqZero { met: true } => format!("目标值为0，实际值{a} ≤ 0，{full}"),
        Formula::EqZero { met: false } => format!("目标值为0，实际值{a} > 0，{nil}"),
        Formula::EqNegative { met: true } => format!("实际值{a}等于目标值{t}，{full}"),
        Formula::EqNegative { met: false } => format!("实际值{a}不等于目标值{t}，{nil}"),
        Formula::Qualitative { tier } => {
            let (lo, hi) = rules.tier_range(tier);
            let (lo_points, hi_points) = tier_points(rules, tier, w);
            format!(
                "自评「{}」（权重的{}%–{}%，即{}–{}分），得分{points:.2}分",
                tier.label(),
                show(lo),
                show(hi),
                show(lo_points),
                show(hi_points)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sheet::score;
    use rust_decimal_macros::dec;

    fn explain_one(direction: Direction, t: Decimal, a: Decimal) -> String {
        let indicators = [IndicatorInput {
            level1: "产出指标",
            goal_weight: None,
            direction,
            target: Some(t),
            entry: Entry::Number(a),
        }];
        let sheet = SheetInput {
            budget: dec!(1),
            executed: dec!(1),
            indicators: &indicators,
        };
        let rules = RuleSet::national();
        let mut explained = score(&rules, &sheet).unwrap().explain(&rules, &sheet);
        explained.indicators.remove(0)
    }

    #[test]
    fn every_branch_says_its_inputs_and_points() {
        let head = "第1项（产出指标，";
        for (direction, t, a, text) in [
            (
                Direction::Ge,
                dec!(100),
                dec!(120.0),
                "正向指标，权重55.00分）：实际值120 ≥ 目标值100，得满分55.00分；存在偏差，须分析原因并提出改进措施",
            ),
            (
                Direction::Ge,
                dec!(100),
                dec!(-1),
                "正向指标，权重55.00分）：实际值-1不大于0，得0分；存在偏差，须分析原因并提出改进措施",
            ),
            (
                Direction::Ge,
                dec!(-5),
                dec!(-5),
                "正向指标，权重55.00分）：目标值-5不大于0，实际值-5 ≥ 目标值，得满分55.00分",
            ),
            (
                Direction::Ge,
                dec!(0),
                dec!(-1),
                "正向指标，权重55.00分）：目标值0不大于0，实际值-1 < 目标值，得0分；存在偏差，须分析原因并提出改进措施",
            ),
            (
                Direction::Le,
                dec!(10),
                dec!(9.50),
                "反向指标，权重55.00分）：实际值9.5 ≤ 目标值10，得满分55.00分",
            ),
            (
                Direction::Le,
                dec!(0),
                dec!(0),
                "反向指标，权重55.00分）：目标值0不大于0，实际值0 ≤ 目标值，得满分55.00分",
            ),
            (
                Direction::Le,
                dec!(0),
                dec!(2),
                "反向指标，权重55.00分）：目标值0不大于0，实际值2 > 目标值，得0分；存在偏差，须分析原因并提出改进措施",
            ),
            (
                Direction::Eq,
                dec!(0),
                dec!(1),
                "等于指标，权重55.00分）：目标值为0，实际值1 > 0，得0分；存在偏差，须分析原因并提出改进措施",
            ),
            (
                Direction::Eq,
                dec!(50),
                dec!(25),
                "等于指标，权重55.00分）：目标值大于0，按正向计分：实际值25 < 目标值50，得分 = 25 ÷ 50 × 55.00 = 27.50分；存在偏差，须分析原因并提出改进措施",
            ),
            (
                Direction::Eq,
                dec!(-1),
                dec!(-1),
                "等于指标，权重55.00分）：实际值-1等于目标值-1，得满分55.00分",
            ),
            (
                Direction::Eq,
                dec!(-1),
                dec!(1),
                "等于指标，权重55.00分）：实际值1不等于目标值-1，得0分；存在偏差，须分析原因并提出改进措施",
            ),
        ] {
            assert_eq!(explain_one(direction, t, a), format!("{head}{text}"));
        }
    }

    #[test]
    fn the_total_without_rules_reference_starts_with_the_split() {
        let indicators = [IndicatorInput {
            level1: "满意度指标",
            goal_weight: None,
            direction: Direction::Ge,
            target: Some(dec!(90)),
            entry: Entry::Number(dec!(90)),
        }];
        let sheet = SheetInput {
            budget: dec!(200),
            executed: dec!(140),
            indicators: &indicators,
        };
        let rules = RuleSet::national();
        let scored = score(&rules, &sheet).unwrap();
        // 7 + 10 = 17 over 20 (产出 50 and 效益 30 left out) → 85; 70 % < 75 % caps 良 at 中.
        assert_eq!(
            (scored.total, scored.raw_grade, scored.grade),
            (dec!(85), crate::Grade::Good, crate::Grade::Fair)
        );
        let explained = scored.explain(&rules, &sheet);
        assert_eq!(
            explained.total,
            [
                "分值：预算执行率10分，产出指标50分，效益指标30分，满意度指标10分",
                "无产出指标，其50分不计入，总分按其余分值折算",
                "无效益指标，其30分不计入，总分按其余分值折算",
                "预算执行率 = 执行数140 ÷ 预算数200 = 70.00%，得分 = min(10, 70.00% × 10) = 7.00分",
                "不适用指标及无指标部分共80.00分不计入，适用分值20.00分；各项得分合计17.00分，总分 = 17.00 × 100 ÷ 20.00 = 85.00分",
                "按总分85.00分评定等级为良（优 ≥ 90、良 ≥ 80、中 ≥ 60，其余为差）",
                "预算执行率70.00% < 75%（否定性指标），不得高于中，等级由良调整为中",
                "预算执行率70.00%低于90%，须说明原因",
            ]
        );
    }
}
