//! Submission quality checks of a goal declaration (绩效目标审核 "质量关"). Every check runs;
//! [`check_declaration`] returns **all** violations, each with a field path, a stable reason
//! code and a Chinese message. An empty result means the declaration may be submitted (二上).
//!
//! Rule: docs/DOMAIN.md "Quality checks": at least one 产出 and one 效益 indicator; 满意度 where
//! the project serves people; quantitative targets numeric with a unit (qualitative ones
//! without); no duplicate third-level names; 固化 indicators present and unchanged; every
//! indicator enabled in the fiscal year; cost indicators consistent with the requested amount.
//! docs/DOMAIN.md "Fixed indicators (固化)" (a unit may not change or remove one) and
//! docs/DOMAIN.md "Library versions" (enabled period; version pinning).
//!
//! Choices where the rules are silent (a finance bureau's reading):
//! * **Cost consistency.** A *budget cost* indicator (产出-成本指标 or 经济成本指标, see
//!   [`crate::domain::goal::Level2::is_budget_cost`]) whose unit is a total amount of money —
//!   exactly `元`, `万元` or `亿元` — must have a target that, converted to 元 (×1, ×10 000,
//!   ×100 000 000), is greater than 0 and does not exceed the requested amount, whatever its
//!   direction (a cost cap above the request says nothing; a floor above it cannot be met).
//!   Unit costs (`元/人`, `万元/公里`) and 社会/生态环境成本 are not comparable with the request
//!   and are not checked. The sum of several cost indicators is *not* checked: goal tables
//!   routinely list a total and its parts (总成本 and 其中…), so a sum would double count.
//! * **Weights.** Either no indicator has a weight (weights are set at evaluation from the default
//!   split 产出 50 / 效益 30 / 满意度 10) or every indicator has one; each is > 0, at most 100 with
//!   at most two decimal places, and together they total [`QualityRules::weight_total`] (default
//!   100: docs/DOMAIN.md "Quality checks", docs/DOMAIN.md "Self-evaluation weights"
//!   (财预〔2020〕10号); a region that keeps the 10 points of 预算执行率 outside the indicators
//!   configures 90).
//! * **Duplicate names** are compared after trimming, removing inner whitespace and folding
//!   ASCII case and full-width letters/digits, so `受益人口 ` and `受益 人口` collide. The
//!   second and later occurrences are reported, naming the first.
//! * **Library picks** must keep the first and second level of their library version (the frame is
//!   fixed, docs/DOMAIN.md "Frames"); otherwise a 效益 indicator could be passed off as 产出. Their
//!   name, direction and unit are the library version's (a different name or unit sent is refused,
//!   [`check_library_pick`]); the target may be adapted unless the indicator is 固化.
//! * **固化 unchanged** means: level 1 and 2, name, direction and unit equal the pinned
//!   library version (names compared trimmed); the target equals the library's reference
//!   target when the library sets one (numerically when both are numbers); and the 固化 flag
//!   is the library's. A specific (non-library) indicator cannot be 固化: only finance fixes
//!   indicators, in the library.
//! * **Order.** Header fields first, then each indicator in table order, then whole-table
//!   rules (missing kinds, missing 固化 indicators, weight total). The order is stable, so
//!   clients and tests can rely on it.
//! * **Text limits** (characters, not bytes): year and mid-term goal 2000 (as the indicator
//!   service's long texts); indicator name 100; target value and unit 200.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::common::{FieldViolation, char_count, has_at_most_places, show};
use crate::domain::goal::{
    DeclaredIndicator, GoalDeclaration, IndicatorSource, Level1, LibraryFacts, LibraryIndicator,
};
use crate::domain::project::SubjectFacts;

/// No 产出 indicator.
pub const MISSING_OUTPUT_INDICATOR: &str = "MISSING_OUTPUT_INDICATOR";
/// No 效益 indicator.
pub const MISSING_BENEFIT_INDICATOR: &str = "MISSING_BENEFIT_INDICATOR";
/// Serves people but has no 满意度 indicator.
pub const MISSING_SATISFACTION_INDICATOR: &str = "MISSING_SATISFACTION_INDICATOR";
/// A quantitative target that is not a plain number.
pub const TARGET_NOT_NUMERIC: &str = "TARGET_NOT_NUMERIC";
/// A blank target (qualitative indicators need a text target).
pub const TARGET_REQUIRED: &str = "TARGET_REQUIRED";
/// A quantitative indicator without a unit.
pub const UNIT_REQUIRED: &str = "UNIT_REQUIRED";
/// A qualitative (定性) indicator with a unit: a qualitative target is a text, not a measure.
pub const UNIT_NOT_ALLOWED: &str = "UNIT_NOT_ALLOWED";
/// A blank third-level name.
pub const INDICATOR_NAME_REQUIRED: &str = "INDICATOR_NAME_REQUIRED";
/// A third-level name used twice.
pub const DUPLICATE_INDICATOR_NAME: &str = "DUPLICATE_INDICATOR_NAME";
/// A 固化 indicator of the library is missing.
pub const FIXED_INDICATOR_MISSING: &str = "FIXED_INDICATOR_MISSING";
/// A 固化 indicator was edited.
pub const FIXED_INDICATOR_CHANGED: &str = "FIXED_INDICATOR_CHANGED";
/// The name or unit of a library pick differs from its library version (the library's apply).
pub const LIBRARY_VALUE_CHANGED: &str = "LIBRARY_VALUE_CHANGED";
/// The declared 固化 flag differs from the library (or a specific indicator claims it).
pub const FIXED_FLAG_MISMATCH: &str = "FIXED_FLAG_MISMATCH";
/// The pinned library version is unknown.
pub const INDICATOR_NOT_IN_LIBRARY: &str = "INDICATOR_NOT_IN_LIBRARY";
/// The pinned library version is disabled or outside its enabled period.
pub const INDICATOR_NOT_ENABLED: &str = "INDICATOR_NOT_ENABLED";
/// Second level not under the first level, or levels differ from the library.
pub const LEVEL_MISMATCH: &str = "LEVEL_MISMATCH";
/// A budget-cost target above the requested amount.
pub const COST_EXCEEDS_REQUESTED_AMOUNT: &str = "COST_EXCEEDS_REQUESTED_AMOUNT";
/// A budget-cost target of 0 or less.
pub const COST_NOT_POSITIVE: &str = "COST_NOT_POSITIVE";
/// A weight ≤ 0, above 100 or with more than two decimal places.
pub const WEIGHT_INVALID: &str = "WEIGHT_INVALID";
/// Some indicators have a weight and this one has none.
pub const WEIGHT_MISSING: &str = "WEIGHT_MISSING";
/// Weights do not total the configured total.
pub const WEIGHT_TOTAL_INVALID: &str = "WEIGHT_TOTAL_INVALID";
/// A blank year goal.
pub const YEAR_GOAL_REQUIRED: &str = "YEAR_GOAL_REQUIRED";
/// A text over its limit.
pub const TEXT_TOO_LONG: &str = "TEXT_TOO_LONG";
/// The declaration's fiscal year differs from its subject's.
pub const FISCAL_YEAR_MISMATCH: &str = "FISCAL_YEAR_MISMATCH";
/// The declaration is for another subject.
pub const TARGET_MISMATCH: &str = "TARGET_MISMATCH";

/// Longest year or mid-term goal, in characters.
pub const MAX_GOAL_CHARS: usize = 2000;
/// Longest third-level name, in characters.
pub const MAX_INDICATOR_NAME_CHARS: usize = 100;
/// Longest target value or unit, in characters.
pub const MAX_SHORT_TEXT_CHARS: usize = 200;

/// Region- and year-specific settings of the quality checks, recorded by `label` on each
/// check result (docs/DOMAIN.md "Configuration per region and year": region-varying rules live in
/// a per-(region, year) rule set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualityRules {
    /// Name of this rule set as recorded on results (e.g. `360700-2026`).
    pub label: String,
    /// What the weights must total when a declaration sets them (default 100).
    pub weight_total: Decimal,
}

impl Default for QualityRules {
    /// National default: weights total 100.
    fn default() -> Self {
        Self {
            label: "national-default".into(),
            weight_total: Decimal::ONE_HUNDRED,
        }
    }
}

impl QualityRules {
    /// Self-check before saving a rule set; empty means usable.
    pub fn violations(&self) -> Vec<FieldViolation> {
        let mut v = Vec::new();
        if self.label.trim().is_empty() {
            v.push(FieldViolation::new(
                "label",
                "LABEL_REQUIRED",
                "规则名称不能为空",
            ));
        }
        if self.weight_total <= Decimal::ZERO || self.weight_total > Decimal::ONE_HUNDRED {
            v.push(FieldViolation::new(
                "weight_total",
                WEIGHT_INVALID,
                format!(
                    "权重合计应大于0且不超过100，实为{}",
                    show(self.weight_total)
                ),
            ));
        }
        v
    }
}

/// A unit of a total amount of money, for the cost check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoneyUnit {
    /// 元
    Yuan,
    /// 万元
    WanYuan,
    /// 亿元
    YiYuan,
}

impl MoneyUnit {
    /// Recognises exactly `元`, `万元`, `亿元` (trimmed); unit costs like `元/人` are not totals.
    pub fn parse(unit: &str) -> Option<MoneyUnit> {
        match unit.trim() {
            "元" => Some(MoneyUnit::Yuan),
            "万元" => Some(MoneyUnit::WanYuan),
            "亿元" => Some(MoneyUnit::YiYuan),
            _ => None,
        }
    }

    /// Converts an amount in this unit to 元, exactly.
    pub fn to_yuan(self, amount: Decimal) -> Decimal {
        match self {
            MoneyUnit::Yuan => amount,
            MoneyUnit::WanYuan => amount * Decimal::from(10_000),
            MoneyUnit::YiYuan => amount * Decimal::from(100_000_000),
        }
    }
}

/// The key under which two third-level names count as the same name.
pub fn name_key(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            // Full-width ASCII (！ to ～) to half-width.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            other => other,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

fn targets_equal(a: &str, b: &str) -> bool {
    match (
        crate::domain::common::parse_declared_number(a),
        crate::domain::common::parse_declared_number(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => a.trim() == b.trim(),
    }
}

struct Checker<'a> {
    subject: &'a SubjectFacts,
    library: &'a LibraryFacts,
    out: Vec<FieldViolation>,
}

impl Checker<'_> {
    fn push(&mut self, field: impl Into<String>, reason: &'static str, message: String) {
        self.out.push(FieldViolation::new(field, reason, message));
    }

    /// `text` within `max` characters; the field and the words for it are only worked out for a
    /// violation (every indicator of every submission passes through here).
    fn text_limit(
        &mut self,
        field: impl FnOnce() -> String,
        what: impl FnOnce() -> String,
        text: &str,
        max: usize,
    ) {
        let n = char_count(text);
        if n > max {
            let what = what();
            self.push(
                field(),
                TEXT_TOO_LONG,
                format!("{what}不能超过{max}个字（现有{n}个字）"),
            );
        }
    }

    fn header(&mut self, d: &GoalDeclaration) {
        if d.target != self.subject.target {
            self.push(
                "target",
                TARGET_MISMATCH,
                "绩效目标申报对象与所申报的项目（部门）不一致".into(),
            );
        }
        if d.fiscal_year != self.subject.fiscal_year {
            self.push(
                "fiscal_year",
                FISCAL_YEAR_MISMATCH,
                format!(
                    "绩效目标的预算年度（{}）与项目的预算年度（{}）不一致",
                    d.fiscal_year, self.subject.fiscal_year
                ),
            );
        }
        if d.year_goal.trim().is_empty() {
            self.push(
                "year_goal",
                YEAR_GOAL_REQUIRED,
                "年度绩效目标不能为空".into(),
            );
        }
        self.text_limit(
            || "year_goal".into(),
            || "年度绩效目标".into(),
            &d.year_goal,
            MAX_GOAL_CHARS,
        );
        if let Some(mid) = &d.mid_term_goal {
            self.text_limit(
                || "mid_term_goal".into(),
                || "中期绩效目标".into(),
                mid,
                MAX_GOAL_CHARS,
            );
        }
    }

    fn indicator(&mut self, i: usize, ind: &DeclaredIndicator, seen: &[String]) {
        let n = i + 1;
        let f = |name: &str| format!("indicators[{i}].{name}");
        let label = if ind.name.trim().is_empty() {
            format!("第{n}条指标")
        } else {
            format!("第{n}条指标「{}」", ind.name.trim())
        };

        // Name present, within limits, not a duplicate.
        if ind.name.trim().is_empty() {
            self.push(
                f("name"),
                INDICATOR_NAME_REQUIRED,
                format!("{label}的三级指标名称不能为空"),
            );
        } else {
            self.text_limit(
                || f("name"),
                || format!("{label}的名称"),
                &ind.name,
                MAX_INDICATOR_NAME_CHARS,
            );
            let key = name_key(&ind.name);
            if let Some(first) = seen.iter().position(|k| *k == key) {
                self.push(
                    f("name"),
                    DUPLICATE_INDICATOR_NAME,
                    format!("{label}与第{}条指标的三级指标名称重复", first + 1),
                );
            }
        }

        // The frame: level 2 under level 1.
        if ind.level2.level1() != ind.level1 {
            self.push(
                f("level2"),
                LEVEL_MISMATCH,
                format!(
                    "{label}的二级指标「{}」不属于一级指标「{}」",
                    ind.level2.chinese(),
                    ind.level1.chinese()
                ),
            );
        }

        // Target and unit.
        self.text_limit(
            || f("target_value"),
            || format!("{label}的指标值"),
            &ind.target_value,
            MAX_SHORT_TEXT_CHARS,
        );
        self.text_limit(
            || f("unit"),
            || format!("{label}的计量单位"),
            &ind.unit,
            MAX_SHORT_TEXT_CHARS,
        );
        let numeric = if ind.is_quantitative() {
            if ind.unit.trim().is_empty() {
                self.push(
                    f("unit"),
                    UNIT_REQUIRED,
                    format!(
                        "{label}是定量指标（{}），必须填写计量单位",
                        ind.direction.chinese()
                    ),
                );
            }
            match ind.numeric_target() {
                Ok(value) => Some(value),
                Err(problem) => {
                    self.push(
                        f("target_value"),
                        TARGET_NOT_NUMERIC,
                        format!(
                            "{label}是定量指标，指标值必须是数字：「{}」{}",
                            ind.target_value.trim(),
                            problem.chinese()
                        ),
                    );
                    None
                }
            }
        } else {
            if ind.target_value.trim().is_empty() {
                self.push(
                    f("target_value"),
                    TARGET_REQUIRED,
                    format!("{label}是定性指标，须填写预期达到的目标（如“达成”或具体描述）"),
                );
            }
            if !ind.unit.trim().is_empty() {
                self.push(
                    f("unit"),
                    UNIT_NOT_ALLOWED,
                    format!(
                        "{label}是定性指标，不应填写计量单位（实为「{}」）",
                        ind.unit.trim()
                    ),
                );
            }
            None
        };

        // Weight.
        if let Some(w) = ind.weight
            && (w <= Decimal::ZERO || w > Decimal::ONE_HUNDRED || !has_at_most_places(w, 2))
        {
            self.push(
                f("weight"),
                WEIGHT_INVALID,
                format!(
                    "{label}的权重应大于0、不超过100，最多两位小数，实为{}",
                    show(w)
                ),
            );
        }

        // Cost indicators against the requested amount.
        if ind.level2.is_budget_cost()
            && let (Some(value), Some(unit)) = (numeric, MoneyUnit::parse(&ind.unit))
        {
            let yuan = unit.to_yuan(value);
            let requested = self.subject.requested_amount;
            if yuan <= Decimal::ZERO {
                self.push(
                    f("target_value"),
                    COST_NOT_POSITIVE,
                    format!("{label}是成本指标，指标值应大于0"),
                );
            } else if yuan > requested.yuan() {
                self.push(
                    f("target_value"),
                    COST_EXCEEDS_REQUESTED_AMOUNT,
                    format!(
                        "{label}的成本 {}{}（{} 元）超过申请金额 {} 元（{} 万元）",
                        show(value),
                        ind.unit.trim(),
                        show(yuan),
                        show(requested.yuan()),
                        show(requested.wan_yuan())
                    ),
                );
            }
        }

        // Library facts: known, enabled, same frame node, 固化 kept.
        match &ind.source {
            IndicatorSource::Specific => {
                if ind.fixed {
                    self.push(
                        f("fixed"),
                        FIXED_FLAG_MISMATCH,
                        format!(
                            "{label}是自定义指标，不能标记为固化\
                             （固化指标由财政部门在指标库中设定）"
                        ),
                    );
                }
            }
            IndicatorSource::Library { code, version } => {
                let Some(lib) = self.library.find(code, *version) else {
                    self.push(
                        f("source"),
                        INDICATOR_NOT_IN_LIBRARY,
                        format!("{label}引用的指标库指标 {code}（第{version}版）不存在"),
                    );
                    return;
                };
                self.library_pick(i, &label, ind, lib);
            }
        }
    }

    fn library_pick(
        &mut self,
        i: usize,
        label: &str,
        ind: &DeclaredIndicator,
        lib: &LibraryIndicator,
    ) {
        let f = |name: &str| format!("indicators[{i}].{name}");
        let year = self.subject.fiscal_year;
        if !lib.usable_in(year) {
            let why = match lib.status {
                crate::domain::goal::LibraryStatus::Disabled => "已停用".to_owned(),
                crate::domain::goal::LibraryStatus::Enabled => {
                    format!("启用期间为 {}，不含 {year} 年度", lib.period_text())
                }
            };
            self.push(
                f("source"),
                INDICATOR_NOT_ENABLED,
                format!(
                    "{label}引用的指标库指标 {}（第{}版）{why}",
                    lib.code, lib.version
                ),
            );
        }
        if (ind.level1, ind.level2) != (lib.level1, lib.level2) {
            self.push(
                f("level2"),
                LEVEL_MISMATCH,
                format!(
                    "{label}在指标库中属于「{}—{}」，不能改为「{}—{}」",
                    lib.level1.chinese(),
                    lib.level2.chinese(),
                    ind.level1.chinese(),
                    ind.level2.chinese()
                ),
            );
        }
        if ind.fixed != lib.fixed {
            let message = if lib.fixed {
                format!("{label}在指标库中为固化指标，不能取消固化")
            } else {
                format!("{label}在指标库中不是固化指标，不能标记为固化")
            };
            self.push(f("fixed"), FIXED_FLAG_MISMATCH, message);
        }
        if !lib.fixed {
            return;
        }
        let changed = |field: &str, what: &str, lib_value: &str| {
            FieldViolation::new(
                f(field),
                FIXED_INDICATOR_CHANGED,
                format!("{label}是固化指标，{what}不能修改（指标库为「{lib_value}」）"),
            )
        };
        let mut found = Vec::new();
        if ind.name.trim() != lib.name.trim() {
            found.push(changed("name", "名称", lib.name.trim()));
        }
        if ind.direction != lib.direction {
            found.push(changed("direction", "指标方向", lib.direction.chinese()));
        }
        if ind.unit.trim() != lib.unit.trim() {
            found.push(changed("unit", "计量单位", lib.unit.trim()));
        }
        if !lib.reference_target.trim().is_empty()
            && !targets_equal(&ind.target_value, &lib.reference_target)
        {
            found.push(changed(
                "target_value",
                "指标值",
                lib.reference_target.trim(),
            ));
        }
        self.out.extend(found);
    }

    fn whole_table(&mut self, d: &GoalDeclaration, rules: &QualityRules) {
        let has = |level: Level1| d.indicators.iter().any(|i| i.level1 == level);
        if !has(Level1::Output) {
            self.push(
                "indicators",
                MISSING_OUTPUT_INDICATOR,
                "至少需要一个产出指标（数量、质量、时效或成本指标）".into(),
            );
        }
        if !has(Level1::Benefit) {
            self.push(
                "indicators",
                MISSING_BENEFIT_INDICATOR,
                "至少需要一个效益指标（经济、社会、生态效益或可持续影响指标）".into(),
            );
        }
        if d.serves_people && !has(Level1::Satisfaction) {
            self.push(
                "indicators",
                MISSING_SATISFACTION_INDICATOR,
                "该支出直接服务群众（有服务对象），须设置服务对象满意度指标".into(),
            );
        }
        for required in &self.library.required_fixed {
            let present = d
                .indicators
                .iter()
                .any(|i| i.library_code() == Some(required.code.as_str()));
            if !present {
                self.out.push(FieldViolation::new(
                    "indicators",
                    FIXED_INDICATOR_MISSING,
                    format!(
                        "固化指标「{}」（{}）必须保留，不能删除",
                        required.name.trim(),
                        required.code
                    ),
                ));
            }
        }
        let weighted = d.indicators.iter().filter(|i| i.weight.is_some()).count();
        if weighted > 0 && weighted < d.indicators.len() {
            for (i, ind) in d.indicators.iter().enumerate() {
                if ind.weight.is_none() {
                    self.push(
                        format!("indicators[{i}].weight"),
                        WEIGHT_MISSING,
                        format!(
                            "已为部分指标设置权重，第{}条指标也须设置权重（或全部不设）",
                            i + 1
                        ),
                    );
                }
            }
        } else if weighted > 0 {
            let total: Decimal = d.indicators.iter().filter_map(|i| i.weight).sum();
            if total != rules.weight_total {
                self.push(
                    "indicators",
                    WEIGHT_TOTAL_INVALID,
                    format!(
                        "各指标权重合计应为{}，实为{}",
                        show(rules.weight_total),
                        show(total)
                    ),
                );
            }
        }
    }
}

/// The name and unit a declaration sends for its `k`-th indicator, a pick of `lib`, checked against
/// the library version before the library's values fill it in: a library pick's name, direction,
/// unit and 固化 come from the pinned library version (docs/GOAL.md "Served now:
/// pbm.goal.v1.GoalService", Declarations), so a different name or unit is refused here rather than
/// overwritten — `FIXED_INDICATOR_CHANGED` for a 固化 indicator, `LIBRARY_VALUE_CHANGED` otherwise
/// (a specific indicator takes its own name and unit). Blank means "the library's"; names and units
/// are compared trimmed.
pub fn check_library_pick(
    k: usize,
    declared_name: &str,
    declared_unit: &str,
    lib: &LibraryIndicator,
) -> Vec<FieldViolation> {
    let label = format!("第{}条指标「{}」", k + 1, lib.name.trim());
    let mut out = Vec::new();
    for (field, what, declared, library) in [
        ("name", "名称", declared_name, lib.name.as_str()),
        ("unit", "计量单位", declared_unit, lib.unit.as_str()),
    ] {
        let (declared, library) = (declared.trim(), library.trim());
        if declared.is_empty() || declared == library {
            continue;
        }
        let field = format!("indicators[{k}].{field}");
        out.push(if lib.fixed {
            FieldViolation::new(
                field,
                FIXED_INDICATOR_CHANGED,
                format!("{label}是固化指标，{what}不能修改（指标库为「{library}」，填写为「{declared}」）"),
            )
        } else {
            FieldViolation::new(
                field,
                LIBRARY_VALUE_CHANGED,
                format!(
                    "{label}的{what}取自指标库（「{library}」），不能改为「{declared}」；需要不同的{what}时请使用自定义指标"
                ),
            )
        });
    }
    out
}

/// Checks a declaration for submission against its subject, the library facts and the
/// region's rules. Returns every violation (empty: may be submitted). Pure and deterministic.
pub fn check_declaration(
    declaration: &GoalDeclaration,
    subject: &SubjectFacts,
    library: &LibraryFacts,
    rules: &QualityRules,
) -> Vec<FieldViolation> {
    let mut checker = Checker {
        subject,
        library,
        out: Vec::new(),
    };
    checker.header(declaration);
    let mut seen: Vec<String> = Vec::with_capacity(declaration.indicators.len());
    for (i, ind) in declaration.indicators.iter().enumerate() {
        checker.indicator(i, ind, &seen);
        seen.push(name_key(&ind.name));
    }
    checker.whole_table(declaration, rules);
    checker.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::common::FiscalYear;
    use crate::domain::goal::tests::{declaration, fy, library_entry, library_for, own};
    use crate::domain::goal::{Direction, Level2, LibraryStatus};
    use crate::domain::project::{DepartmentBudget, DepartmentCode, RequestedAmount};
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn subject(d: &GoalDeclaration, yuan: Decimal) -> SubjectFacts {
        SubjectFacts {
            target: d.target.clone(),
            fiscal_year: d.fiscal_year,
            requested_amount: RequestedAmount::new(yuan).unwrap(),
        }
    }

    fn check_with(d: &GoalDeclaration, library: &LibraryFacts) -> Vec<FieldViolation> {
        check_declaration(
            d,
            &subject(d, dec!(6000000)),
            library,
            &QualityRules::default(),
        )
    }

    fn check(d: &GoalDeclaration) -> Vec<FieldViolation> {
        check_with(d, &library_for(d))
    }

    fn reasons(v: &[FieldViolation]) -> Vec<(&str, &'static str)> {
        v.iter().map(|v| (v.field.as_str(), v.reason)).collect()
    }

    #[test]
    fn a_good_declaration_passes() {
        let d = declaration();
        assert_eq!(reasons(&check(&d)), vec![]);
    }

    #[test]
    fn rejects_goal_without_output_or_benefit_indicator() {
        let mut d = declaration();
        d.indicators.retain(|i| i.level1 == Level1::Satisfaction);
        let v = check(&d);
        assert_eq!(
            reasons(&v),
            vec![
                ("indicators", MISSING_OUTPUT_INDICATOR),
                ("indicators", MISSING_BENEFIT_INDICATOR)
            ]
        );
        assert!(v[0].message.contains("产出指标"));
    }

    #[test]
    fn satisfaction_is_required_only_where_people_are_served() {
        let mut d = declaration();
        d.indicators.retain(|i| i.level1 != Level1::Satisfaction);
        assert_eq!(
            reasons(&check(&d)),
            vec![("indicators", MISSING_SATISFACTION_INDICATOR)]
        );
        d.serves_people = false;
        assert_eq!(reasons(&check(&d)), vec![]);
    }

    #[test]
    fn quantitative_targets_need_a_number_and_a_unit() {
        let mut d = declaration();
        d.indicators[1].target_value = "95%".into();
        d.indicators[1].unit = String::new();
        d.indicators[3].target_value = "大幅提高".into();
        let v = check(&d);
        assert_eq!(
            reasons(&v),
            vec![
                ("indicators[1].unit", UNIT_REQUIRED),
                ("indicators[1].target_value", TARGET_NOT_NUMERIC),
                ("indicators[3].target_value", TARGET_NOT_NUMERIC),
            ]
        );
        assert!(
            v[1].message.contains("“%”请填入计量单位"),
            "{}",
            v[1].message
        );
        assert!(
            v[1].message.starts_with("第2条指标「水质达标率」"),
            "{}",
            v[1].message
        );
    }

    #[test]
    fn qualitative_targets_need_text_but_no_unit() {
        let mut d = declaration();
        d.indicators.push(own(
            Level2::Sustainability,
            "长效管护机制",
            Direction::Qualitative,
            "建立",
            "",
        ));
        assert_eq!(reasons(&check(&d)), vec![]);
        d.indicators[5].target_value = " ".into();
        assert_eq!(
            reasons(&check(&d)),
            vec![("indicators[5].target_value", TARGET_REQUIRED)]
        );
    }

    #[test]
    fn a_library_pick_keeps_the_library_name_and_unit() {
        let d = declaration();
        let k = d
            .indicators
            .iter()
            .position(|i| i.library_code().is_some())
            .expect("a library pick");
        let mut lib = library_entry(&d.indicators[k]);
        lib.name = "受益人口数".into();
        lib.unit = "人".into();
        // Blank or the library's own values (trimmed) are no edit.
        assert_eq!(reasons(&check_library_pick(k, "", "", &lib)), vec![]);
        assert_eq!(
            reasons(&check_library_pick(k, " 受益人口数 ", "人 ", &lib)),
            vec![]
        );
        let name = format!("indicators[{k}].name");
        let unit = format!("indicators[{k}].unit");
        let v = check_library_pick(k, "受益群众数", "万人", &lib);
        assert_eq!(
            reasons(&v),
            vec![
                (name.as_str(), LIBRARY_VALUE_CHANGED),
                (unit.as_str(), LIBRARY_VALUE_CHANGED)
            ]
        );
        assert!(v[1].message.contains("万人"), "{}", v[1].message);
        lib.fixed = true;
        let v = check_library_pick(k, "", "万人", &lib);
        assert_eq!(reasons(&v), vec![(unit.as_str(), FIXED_INDICATOR_CHANGED)]);
        assert!(v[0].message.contains("固化"), "{}", v[0].message);
    }

    #[test]
    fn qualitative_indicators_carry_no_unit() {
        let mut d = declaration();
        d.indicators.push(own(
            Level2::Sustainability,
            "长效管护机制",
            Direction::Qualitative,
            "建立",
            "项",
        ));
        let v = check(&d);
        assert_eq!(reasons(&v), vec![("indicators[5].unit", UNIT_NOT_ALLOWED)]);
        assert!(v[0].message.contains("定性指标"), "{}", v[0].message);
        d.indicators[5].unit = "  ".into();
        assert_eq!(reasons(&check(&d)), vec![]);
    }

    #[test]
    fn duplicate_third_level_names_are_rejected() {
        let mut d = declaration();
        d.indicators.push(own(
            Level2::Social,
            " 受益 农村人口 ",
            Direction::Ge,
            "1",
            "人",
        ));
        d.indicators
            .push(own(Level2::Quality, "水质达标率", Direction::Ge, "90", "%"));
        let v = check(&d);
        assert_eq!(
            reasons(&v),
            vec![
                ("indicators[5].name", DUPLICATE_INDICATOR_NAME),
                ("indicators[6].name", DUPLICATE_INDICATOR_NAME)
            ]
        );
        assert!(v[0].message.contains("与第4条指标"), "{}", v[0].message);
        assert_eq!(name_key("ＡＢＣ 人口"), name_key("abc人口"));
    }

    #[test]
    fn fixed_indicators_must_be_present_and_unchanged() {
        let mut d = declaration();
        d.indicators[4].fixed = true;
        let mut library = library_for(&d);
        library.pinned[2].reference_target = "90.0".into();
        library.required_fixed = vec![library.pinned[2].clone()];
        // Kept as in the library (target 90 equals 90.0): passes.
        assert_eq!(reasons(&check_with(&d, &library)), vec![]);

        // Edited in every way a unit might try.
        let mut edited = d.clone();
        let ind = &mut edited.indicators[4];
        ind.name = "群众满意度".into();
        ind.direction = Direction::Eq;
        ind.unit = "分".into();
        ind.target_value = "85".into();
        ind.fixed = false;
        let v = check_with(&edited, &library);
        assert_eq!(
            reasons(&v),
            vec![
                ("indicators[4].fixed", FIXED_FLAG_MISMATCH),
                ("indicators[4].name", FIXED_INDICATOR_CHANGED),
                ("indicators[4].direction", FIXED_INDICATOR_CHANGED),
                ("indicators[4].unit", FIXED_INDICATOR_CHANGED),
                ("indicators[4].target_value", FIXED_INDICATOR_CHANGED),
            ]
        );
        assert!(
            v[1].message.contains("指标库为「受益群众满意度」"),
            "{}",
            v[1].message
        );

        // Removed.
        let mut removed = d.clone();
        removed.indicators.pop();
        let v = check_with(&removed, &library);
        assert_eq!(
            reasons(&v),
            vec![
                ("indicators", MISSING_SATISFACTION_INDICATOR),
                ("indicators", FIXED_INDICATOR_MISSING)
            ]
        );
        assert!(v[1].message.contains("CZ-003"), "{}", v[1].message);
    }

    #[test]
    fn fixed_target_is_free_when_the_library_sets_none() {
        let mut d = declaration();
        d.indicators[4].fixed = true;
        let library = library_for(&d);
        d.indicators[4].target_value = "95".into();
        assert_eq!(reasons(&check_with(&d, &library)), vec![]);
    }

    #[test]
    fn only_the_library_fixes_indicators() {
        let mut d = declaration();
        d.indicators[1].fixed = true;
        let library = library_for(&d);
        d.indicators[0].fixed = true;
        assert_eq!(
            reasons(&check_with(&d, &library)),
            vec![
                ("indicators[0].fixed", FIXED_FLAG_MISMATCH),
                ("indicators[1].fixed", FIXED_FLAG_MISMATCH)
            ]
        );
    }

    #[test]
    fn every_indicator_must_be_enabled_in_the_fiscal_year() {
        let d = declaration();
        let mut library = library_for(&d);
        library.pinned[0].status = LibraryStatus::Disabled;
        library.pinned[1].enabled_to_year = Some(2018);
        library.pinned.remove(2);
        let v = check_with(&d, &library);
        assert_eq!(
            reasons(&v),
            vec![
                ("indicators[0].source", INDICATOR_NOT_ENABLED),
                ("indicators[2].source", INDICATOR_NOT_ENABLED),
                ("indicators[4].source", INDICATOR_NOT_IN_LIBRARY),
            ]
        );
        assert!(v[0].message.contains("已停用"), "{}", v[0].message);
        assert!(
            v[1].message.contains("2018–2018，不含 2019 年度"),
            "{}",
            v[1].message
        );
    }

    #[test]
    fn levels_follow_the_frame_and_the_library() {
        let mut d = declaration();
        let library = library_for(&d);
        d.indicators[1].level1 = Level1::Benefit;
        d.indicators[0].level1 = Level1::Benefit;
        d.indicators[0].level2 = Level2::Social;
        assert_eq!(
            reasons(&check_with(&d, &library)),
            vec![
                ("indicators[0].level2", LEVEL_MISMATCH),
                ("indicators[1].level2", LEVEL_MISMATCH)
            ]
        );
    }

    #[test]
    fn cost_indicators_stay_within_the_requested_amount() {
        // Requested 6,000,000 元 = 600 万元.
        let mut d = declaration();
        d.indicators[2].target_value = "600.01".into();
        let v = check(&d);
        assert_eq!(
            reasons(&v),
            vec![("indicators[2].target_value", COST_EXCEEDS_REQUESTED_AMOUNT)]
        );
        assert!(v[0].message.contains("6000100 元"), "{}", v[0].message);
        assert!(
            v[0].message.contains("申请金额 6000000 元（600 万元）"),
            "{}",
            v[0].message
        );

        // Exactly the request, in 元: fine.
        d.indicators[2].target_value = "6000000".into();
        d.indicators[2].unit = "元".into();
        let library = LibraryFacts {
            pinned: d
                .indicators
                .iter()
                .filter(|i| i.library_code().is_some())
                .map(library_entry)
                .collect(),
            required_fixed: vec![],
        };
        assert_eq!(reasons(&check_with(&d, &library)), vec![]);

        // 0.07 亿元 = 7,000,000 元, and a ≥ floor is held to the same limit.
        d.indicators.push(own(
            Level2::OutputCost,
            "设备购置成本",
            Direction::Ge,
            "0.07",
            "亿元",
        ));
        // Unit costs and social costs are not compared.
        d.indicators.push(own(
            Level2::OutputCost,
            "每人供水成本",
            Direction::Le,
            "9000",
            "元/人",
        ));
        d.indicators.push(own(
            Level2::SocialCost,
            "征地拆迁社会成本",
            Direction::Le,
            "99999",
            "万元",
        ));
        d.indicators.push(own(
            Level2::EconomicCost,
            "运维成本",
            Direction::Le,
            "0",
            "万元",
        ));
        assert_eq!(
            reasons(&check_with(&d, &library)),
            vec![
                ("indicators[5].target_value", COST_EXCEEDS_REQUESTED_AMOUNT),
                ("indicators[8].target_value", COST_NOT_POSITIVE),
            ]
        );
    }

    #[test]
    fn weights_are_all_or_none_and_total_100() {
        let mut d = declaration();
        let weights = [dec!(20), dec!(20), dec!(20), dec!(30), dec!(10)];
        for (ind, w) in d.indicators.iter_mut().zip(weights) {
            ind.weight = Some(w);
        }
        assert_eq!(reasons(&check(&d)), vec![]);

        d.indicators[4].weight = Some(dec!(9.5));
        assert_eq!(
            reasons(&check(&d)),
            vec![("indicators", WEIGHT_TOTAL_INVALID)]
        );

        d.indicators[4].weight = None;
        d.indicators[3].weight = Some(dec!(0));
        d.indicators[2].weight = Some(dec!(20.005));
        assert_eq!(
            reasons(&check(&d)),
            vec![
                ("indicators[2].weight", WEIGHT_INVALID),
                ("indicators[3].weight", WEIGHT_INVALID),
                ("indicators[4].weight", WEIGHT_MISSING),
            ]
        );

        // A region that keeps 预算执行率's 10 points outside the indicators.
        let ninety = QualityRules {
            label: "341302-2022".into(),
            weight_total: dec!(90),
        };
        let mut d = declaration();
        for (ind, w) in
            d.indicators
                .iter_mut()
                .zip([dec!(20), dec!(20), dec!(10), dec!(30), dec!(10)])
        {
            ind.weight = Some(w);
        }
        let s = subject(&d, dec!(6000000));
        assert_eq!(
            reasons(&check_declaration(&d, &s, &library_for(&d), &ninety)),
            vec![]
        );
    }

    #[test]
    fn header_fields_are_checked() {
        let mut d = declaration();
        let s = subject(&d, dec!(6000000));
        d.fiscal_year = fy(2020);
        d.year_goal = " ".into();
        d.mid_term_goal = Some("很".repeat(2001));
        d.indicators[0].name = "".into();
        let v = check_declaration(
            &d,
            &s,
            &library_for(&declaration()),
            &QualityRules::default(),
        );
        assert_eq!(
            reasons(&v),
            vec![
                ("fiscal_year", FISCAL_YEAR_MISMATCH),
                ("year_goal", YEAR_GOAL_REQUIRED),
                ("mid_term_goal", TEXT_TOO_LONG),
                ("indicators[0].name", INDICATOR_NAME_REQUIRED),
                // The enabled period (2018–) was checked against the subject's year 2019,
                // so only the name is reported for the first indicator.
            ]
        );
        // 2000 Chinese characters (6000 bytes) are within the limit.
        let mut d = declaration();
        d.year_goal = "很".repeat(2000);
        assert_eq!(reasons(&check(&d)), vec![]);
    }

    /// An indicator's name, value and unit are held to their lengths, each reported on its own
    /// field with the indicator's place in words.
    #[test]
    fn indicator_texts_are_held_to_their_lengths() {
        let mut d = declaration();
        // Within every limit (100 characters for a name, 200 for a value or unit): no violation.
        d.indicators[1].name = "名".repeat(MAX_INDICATOR_NAME_CHARS);
        assert_eq!(reasons(&check(&d)), vec![]);
        let mut d = declaration();
        d.indicators[1].name = "名".repeat(MAX_INDICATOR_NAME_CHARS + 1);
        d.indicators[2].target_value = "9".repeat(MAX_SHORT_TEXT_CHARS + 1);
        d.indicators[2].unit = "个".repeat(MAX_SHORT_TEXT_CHARS + 1);
        let v = check(&d);
        let long: Vec<(&str, &str)> = reasons(&v)
            .into_iter()
            .filter(|(_, r)| *r == TEXT_TOO_LONG)
            .collect();
        assert_eq!(
            long,
            vec![
                ("indicators[1].name", TEXT_TOO_LONG),
                ("indicators[2].target_value", TEXT_TOO_LONG),
                ("indicators[2].unit", TEXT_TOO_LONG),
            ]
        );
        let name = v.iter().find(|x| x.field == "indicators[1].name").unwrap();
        assert!(name.message.starts_with("第2条指标「"), "{}", name.message);
        assert!(
            name.message
                .ends_with("」的名称不能超过100个字（现有101个字）"),
            "{}",
            name.message
        );
        let unit = v.iter().find(|x| x.field == "indicators[2].unit").unwrap();
        assert!(
            unit.message.contains("的计量单位不能超过200个字"),
            "{}",
            unit.message
        );
    }

    #[test]
    fn a_department_overall_declaration_is_checked_against_its_budget() {
        let dept = DepartmentBudget {
            department_code: DepartmentCode::parse("101").unwrap(),
            name: "市水利局".into(),
            fiscal_year: fy(2019),
            requested_amount: RequestedAmount::new(dec!(50000000)).unwrap(),
        };
        let mut d = declaration();
        d.target = dept.target();
        d.indicators[2].target_value = "4800".into();
        let s = SubjectFacts::from(&dept);
        assert_eq!(
            reasons(&check_declaration(
                &d,
                &s,
                &library_for(&d),
                &QualityRules::default()
            )),
            vec![]
        );
        let project_subject = subject(&declaration(), dec!(6000000));
        assert_eq!(
            reasons(&check_declaration(
                &d,
                &project_subject,
                &library_for(&d),
                &QualityRules::default()
            )),
            vec![
                ("target", TARGET_MISMATCH),
                ("indicators[2].target_value", COST_EXCEEDS_REQUESTED_AMOUNT)
            ]
        );
    }

    #[test]
    fn all_violations_are_returned_not_just_the_first() {
        let mut d = declaration();
        d.year_goal.clear();
        d.indicators = vec![
            own(Level2::Quantity, "x", Direction::Ge, "很多", ""),
            own(Level2::Quantity, "x", Direction::Ge, "1", "个"),
        ];
        let v = check(&d);
        assert_eq!(
            reasons(&v),
            vec![
                ("year_goal", YEAR_GOAL_REQUIRED),
                ("indicators[0].unit", UNIT_REQUIRED),
                ("indicators[0].target_value", TARGET_NOT_NUMERIC),
                ("indicators[1].name", DUPLICATE_INDICATOR_NAME),
                ("indicators", MISSING_BENEFIT_INDICATOR),
                ("indicators", MISSING_SATISFACTION_INDICATOR),
            ]
        );
    }

    #[test]
    fn rules_self_check() {
        assert!(QualityRules::default().violations().is_empty());
        let bad = QualityRules {
            label: " ".into(),
            weight_total: dec!(0),
        };
        let v = bad.violations();
        assert_eq!(
            v.iter().map(|v| v.field.as_str()).collect::<Vec<_>>(),
            vec!["label", "weight_total"]
        );
        let json = serde_json::to_value(QualityRules::default()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"label": "national-default", "weight_total": "100"})
        );
    }

    #[test]
    fn money_units_convert_exactly() {
        assert_eq!(
            MoneyUnit::parse(" 万元 ").unwrap().to_yuan(dec!(1.23456)),
            dec!(12345.6)
        );
        assert_eq!(
            MoneyUnit::parse("亿元").unwrap().to_yuan(dec!(0.5)),
            dec!(50000000)
        );
        assert_eq!(MoneyUnit::parse("元/人"), None);
        let _ = FiscalYear::new(2026);
    }

    fn arb_indicator() -> impl Strategy<Value = DeclaredIndicator> {
        let level2 = prop::sample::select(Level2::ALL.to_vec());
        let direction = prop::sample::select(vec![
            Direction::Ge,
            Direction::Le,
            Direction::Eq,
            Direction::Qualitative,
        ]);
        let name = prop::sample::select(vec!["甲", "乙", "丙", "丁", "", "甲 "]);
        let target = prop::sample::select(vec!["1", "100", "0", "达成", "", "95%", "700"]);
        let unit = prop::sample::select(vec!["", "个", "%", "万元", "元"]);
        let weight = prop::option::of(prop::sample::select(vec![
            dec!(10),
            dec!(25),
            dec!(0),
            dec!(50),
        ]));
        (level2, direction, name, target, unit, weight).prop_map(
            |(l2, dir, name, target, unit, weight)| DeclaredIndicator {
                weight,
                ..own(l2, name, dir, target, unit)
            },
        )
    }

    proptest! {
        #[test]
        fn checks_are_deterministic_and_every_path_points_into_the_declaration(
            indicators in prop::collection::vec(arb_indicator(), 0..8),
            serves in any::<bool>()
        ) {
            let mut d = declaration();
            d.indicators = indicators;
            d.serves_people = serves;
            let s = subject(&d, dec!(6000000));
            let lib = LibraryFacts::default();
            let a = check_declaration(&d, &s, &lib, &QualityRules::default());
            prop_assert_eq!(&a, &check_declaration(&d, &s, &lib, &QualityRules::default()));
            for v in &a {
                prop_assert!(!v.message.is_empty());
                if let Some(rest) = v.field.strip_prefix("indicators[") {
                    let i: usize = rest[..rest.find(']').unwrap()].parse().unwrap();
                    prop_assert!(i < d.indicators.len());
                }
            }
            let has = |l: Level1| d.indicators.iter().any(|i| i.level1 == l);
            let reported = |reason: &str| a.iter().any(|v| v.reason == reason);
            prop_assert_eq!(reported(MISSING_OUTPUT_INDICATOR), !has(Level1::Output));
            prop_assert_eq!(reported(MISSING_BENEFIT_INDICATOR), !has(Level1::Benefit));
        }
    }
}
