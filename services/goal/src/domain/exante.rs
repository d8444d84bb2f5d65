//! Ex-ante performance assessment (事前绩效评估): when it is required, what a report holds,
//! and what its result means for the budget.
//!
//! Rules:
//! * docs/DOMAIN.md "Ex-ante assessment (事前绩效评估)": new major policies and projects at or
//!   above the region's threshold (赣州 500万元, 埇桥 50万元) argue the five points of
//!   中发〔2018〕34号 (立项必要性, 投入经济性, 绩效目标合理性, 实施方案可行性, 筹资合规性), by
//!   methods such as 成本效益分析法, 比较法, 因素分析法. Conclusion: 予以支持 / 调整后支持 /
//!   不予支持. No report → not reviewed; insufficient → returned with a written opinion; 不予支持 →
//!   no budget.
//! * 埇桥 2021 (区财办〔2020〕44号 《埇桥区区级政策和项目事前绩效评估管理暂行办法》):
//!   "对于区级拟新出台通过预算资金安排、金额在50万元及以上的重大政策和项目 …
//!   开展事前绩效评估 … 对未提供事前绩效评估报告的，原则上不予审核预算；对论证不充分、
//!   无法有效支撑评估结论的，出具书面审核意见后予以退回". 赣州 2020:
//!   "新增的重大政策项目（原则上500万元以上）需开展事前绩效评估". 青岛 2020–2022 二(三)
//!   (and 中发〔2018〕34号): "评估结果作为申请预算的必备要件". The local texts are named in
//!   docs/DOMAIN.md "Sources".
//! * 专项债: 《地方政府专项债券项目资金绩效管理办法》(财预〔2021〕61号) 第八条 — before applying
//!   for bond funds the project unit assesses, and the assessment must argue eight points
//!   ([`SpecialBondItem`]), as docs/DOMAIN.md "Special bond projects (专项债)" lists them.
//!
//! Choices where the rules are silent:
//! * **Threshold.** Configuration per region and fiscal year ([`ExAnteRules`]), never a
//!   constant; there is deliberately no default. "达到/以上" includes the threshold itself
//!   (埇桥 "50万元及以上"; Chinese legal drafting counts 以上 inclusively), so the test is
//!   `requested amount ≥ threshold`.
//! * **Scope.** Only new (新增) projects and policies; continuing ones were assessed when new.
//!   A new 专项债 project needs an assessment whatever its amount when
//!   [`ExAnteRules::special_bond_always_required`] is set (the default: 61号 asks it of every
//!   application for bond funds).
//! * **Scores.** Each dimension is scored from 0 to its full mark (default 20 each, total 100;
//!   configurable), at most two decimal places. When a region configures
//!   [`ConclusionBands`], the conclusion must match the total (e.g. ≥ 80 予以支持, ≥ 60
//!   调整后支持, else 不予支持); otherwise the conclusion is the assessor's judgement.
//! * **Written reasons.** 调整后支持 and 不予支持 need a summary saying why; finance's
//!   "insufficient" verdict needs its written opinion (埇桥: "出具书面审核意见后予以退回").
//! * **Eight items.** All eight are required for a 专项债 project, each non-blank and at most
//!   2000 characters (characters, not bytes); item 8 ("其他") may say "无".
//! * **Gate.** 不予支持 blocks funding as soon as it is stated (unless finance found the report
//!   insufficient, which sends it back first). A project that needed no assessment is only
//!   stopped by a 不予支持 report; an unreviewed or insufficient voluntary report does not
//!   stop it. 调整后支持 is fundable: the adjustments are carried into the goal, which is
//!   reviewed separately.

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::common::{FieldViolation, FiscalYear, char_count, has_at_most_places, show};
use crate::domain::project::{Project, SpecialField};

/// The five dimensions of an ex-ante assessment (docs/DOMAIN.md "Ex-ante assessment (事前绩效评估)"
/// (中发〔2018〕34号)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// 立项必要性
    Necessity,
    /// 投入经济性
    InputEconomy,
    /// 绩效目标合理性
    GoalReasonableness,
    /// 实施方案可行性
    PlanFeasibility,
    /// 筹资合规性
    FinancingCompliance,
}

text_enum!(Dimension {
    Necessity => "necessity", "立项必要性";
    InputEconomy => "input_economy", "投入经济性";
    GoalReasonableness => "goal_reasonableness", "绩效目标合理性";
    PlanFeasibility => "plan_feasibility", "实施方案可行性";
    FinancingCompliance => "financing_compliance", "筹资合规性";
});

/// Assessment methods (财预〔2020〕10号 lists the same family for evaluation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// 成本效益分析法
    CostBenefit,
    /// 比较法
    Comparison,
    /// 因素分析法
    FactorAnalysis,
    /// 最低成本法
    MinimumCost,
    /// 公众评判法
    PublicAssessment,
    /// 标杆管理法
    Benchmarking,
    /// 其他方法 (named in [`ExAnteReport::method_note`]).
    Other,
}

text_enum!(Method {
    CostBenefit => "cost_benefit", "成本效益分析法";
    Comparison => "comparison", "比较法";
    FactorAnalysis => "factor_analysis", "因素分析法";
    MinimumCost => "minimum_cost", "最低成本法";
    PublicAssessment => "public_assessment", "公众评判法";
    Benchmarking => "benchmarking", "标杆管理法";
    Other => "other", "其他方法";
});

/// 评估结论.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    /// 予以支持
    Support,
    /// 调整后支持
    SupportAfterAdjustment,
    /// 不予支持
    NotSupported,
}

text_enum!(Conclusion {
    Support => "support", "予以支持";
    SupportAfterAdjustment => "support_after_adjustment", "调整后支持";
    NotSupported => "not_supported", "不予支持";
});

/// The eight points a 专项债 assessment must argue (财预〔2021〕61号 第八条).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpecialBondItem {
    /// （一）项目实施的必要性、公益性、收益性
    NecessityPublicBenefitRevenue,
    /// （二）项目建设投资合规性与项目成熟度
    InvestmentComplianceMaturity,
    /// （三）项目资金来源和到位可行性
    FundingSources,
    /// （四）项目收入、成本、收益预测合理性
    RevenueCostProjection,
    /// （五）债券资金需求合理性
    BondNeed,
    /// （六）项目偿债计划可行性和偿债风险点
    RepaymentPlanRisk,
    /// （七）绩效目标合理性
    GoalReasonableness,
    /// （八）其他需要纳入事前绩效评估的事项
    Other,
}

text_enum!(SpecialBondItem {
    NecessityPublicBenefitRevenue => "necessity_public_benefit_revenue",
        "项目实施的必要性、公益性、收益性";
    InvestmentComplianceMaturity => "investment_compliance_maturity",
        "项目建设投资合规性与项目成熟度";
    FundingSources => "funding_sources", "项目资金来源和到位可行性";
    RevenueCostProjection => "revenue_cost_projection", "项目收入、成本、收益预测合理性";
    BondNeed => "bond_need", "债券资金需求合理性";
    RepaymentPlanRisk => "repayment_plan_risk", "项目偿债计划可行性和偿债风险点";
    GoalReasonableness => "goal_reasonableness", "绩效目标合理性";
    Other => "other", "其他需要纳入事前绩效评估的事项";
});

/// Longest text of one 专项债 item, in characters (docs/DOMAIN.md "Special bond projects (专项债)":
/// 2,000 characters, a project rule).
pub const MAX_ITEM_CHARS: usize = 2000;
/// Longest summary, method note or review opinion, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;

/// Full marks of each dimension; they total 100.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DimensionWeights {
    /// 立项必要性
    pub necessity: Decimal,
    /// 投入经济性
    pub input_economy: Decimal,
    /// 绩效目标合理性
    pub goal_reasonableness: Decimal,
    /// 实施方案可行性
    pub plan_feasibility: Decimal,
    /// 筹资合规性
    pub financing_compliance: Decimal,
}

impl Default for DimensionWeights {
    /// 20 points each.
    fn default() -> Self {
        let twenty = Decimal::from(20);
        Self {
            necessity: twenty,
            input_economy: twenty,
            goal_reasonableness: twenty,
            plan_feasibility: twenty,
            financing_compliance: twenty,
        }
    }
}

impl DimensionWeights {
    /// Full mark of `d`.
    pub fn max(&self, d: Dimension) -> Decimal {
        match d {
            Dimension::Necessity => self.necessity,
            Dimension::InputEconomy => self.input_economy,
            Dimension::GoalReasonableness => self.goal_reasonableness,
            Dimension::PlanFeasibility => self.plan_feasibility,
            Dimension::FinancingCompliance => self.financing_compliance,
        }
    }

    /// Sum of the full marks.
    pub fn total(&self) -> Decimal {
        Dimension::ALL.iter().map(|d| self.max(*d)).sum()
    }
}

/// Score bands that fix the conclusion from the total, for regions that use them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConclusionBands {
    /// Total at or above which the conclusion is 予以支持.
    pub support_min: Decimal,
    /// Total at or above which (and below `support_min`) it is 调整后支持; below, 不予支持.
    pub adjust_min: Decimal,
}

impl ConclusionBands {
    /// The conclusion a total calls for.
    pub fn conclusion(&self, total: Decimal) -> Conclusion {
        if total >= self.support_min {
            Conclusion::Support
        } else if total >= self.adjust_min {
            Conclusion::SupportAfterAdjustment
        } else {
            Conclusion::NotSupported
        }
    }
}

/// Ex-ante rules of one region (财政区划) and fiscal year. Results record [`ExAnteRules::label`]
/// so that a decision can be explained and recomputed later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExAnteRules {
    /// Name of this rule set as recorded on results (e.g. `341302-2022 埇桥区`).
    pub label: String,
    /// The region's 6-digit `MOF_DIV_CODE`.
    pub mof_div_code: String,
    /// The fiscal year the rules apply to.
    pub fiscal_year: FiscalYear,
    /// Requested amount (元) from which a new project or policy needs an assessment.
    pub threshold: Decimal,
    /// A new 专项债 project needs an assessment whatever its amount.
    pub special_bond_always_required: bool,
    /// Full marks of the dimensions.
    pub dimension_max: DimensionWeights,
    /// Bands that fix the conclusion from the total, if the region uses them.
    pub conclusion_bands: Option<ConclusionBands>,
}

impl ExAnteRules {
    /// Rules with a region's threshold and the national practice for the rest (20 points per
    /// dimension, 专项债 always assessed, no conclusion bands).
    pub fn new(
        label: impl Into<String>,
        mof_div_code: impl Into<String>,
        fiscal_year: FiscalYear,
        threshold: Decimal,
    ) -> Self {
        Self {
            label: label.into(),
            mof_div_code: mof_div_code.into(),
            fiscal_year,
            threshold,
            special_bond_always_required: true,
            dimension_max: DimensionWeights::default(),
            conclusion_bands: None,
        }
    }

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
        if !(self.mof_div_code.len() == 6 && self.mof_div_code.bytes().all(|b| b.is_ascii_digit()))
        {
            v.push(FieldViolation::new(
                "mof_div_code",
                "MOF_DIV_CODE_INVALID",
                format!("财政区划代码「{}」应为6位数字", self.mof_div_code),
            ));
        }
        if self.threshold < Decimal::ZERO || !has_at_most_places(self.threshold, 2) {
            v.push(FieldViolation::new(
                "threshold",
                "THRESHOLD_INVALID",
                format!(
                    "事前评估金额标准应为不小于0的金额（元，最多两位小数），实为{}",
                    show(self.threshold)
                ),
            ));
        }
        for d in Dimension::ALL {
            if self.dimension_max.max(*d) <= Decimal::ZERO {
                v.push(FieldViolation::new(
                    format!("dimension_max.{}", d.as_db()),
                    "WEIGHT_INVALID",
                    format!("{}的满分应大于0", d.chinese()),
                ));
            }
        }
        let total = self.dimension_max.total();
        if total != Decimal::ONE_HUNDRED {
            v.push(FieldViolation::new(
                "dimension_max",
                "WEIGHT_TOTAL_INVALID",
                format!("五个评估维度的满分合计应为100，实为{}", show(total)),
            ));
        }
        if let Some(b) = &self.conclusion_bands
            && !(b.support_min <= Decimal::ONE_HUNDRED
                && b.adjust_min < b.support_min
                && b.adjust_min > Decimal::ZERO)
        {
            v.push(FieldViolation::new(
                "conclusion_bands",
                "BANDS_INVALID",
                format!(
                    "结论分数线应满足 100 ≥ 予以支持({}) > 调整后支持({}) > 0",
                    show(b.support_min),
                    show(b.adjust_min)
                ),
            ));
        }
        v
    }
}

/// Why an assessment is, or is not, required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequirementBasis {
    /// A continuing project: not required.
    NotNew,
    /// New, below the threshold: not required.
    BelowThreshold,
    /// New, at or above the threshold: required.
    AtOrAboveThreshold,
    /// A new 专项债 project: required whatever the amount.
    SpecialBond,
}

text_enum!(RequirementBasis {
    NotNew => "not_new", "延续项目，无需事前绩效评估";
    BelowThreshold => "below_threshold", "新增项目，金额未达到事前绩效评估标准";
    AtOrAboveThreshold => "at_or_above_threshold", "新增项目，金额达到事前绩效评估标准";
    SpecialBond => "special_bond", "新增专项债券项目，须开展事前绩效评估";
});

/// Whether a project needs an ex-ante assessment, with the rules that decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExAnteRequirement {
    /// Required or not.
    pub required: bool,
    /// Why.
    pub basis: RequirementBasis,
    /// The threshold applied (元).
    pub threshold: Decimal,
    /// Label of the rules applied.
    pub rules_label: String,
}

impl ExAnteRequirement {
    /// The decision as a sentence, with the threshold in 万元 as reports show it.
    pub fn chinese(&self) -> String {
        format!(
            "{}（标准：{}万元，规则：{}）",
            self.basis.chinese(),
            show(self.threshold / Decimal::from(10_000)),
            self.rules_label
        )
    }
}

/// Decides whether `project` needs an ex-ante assessment under `rules` (the rules of the
/// project's region and fiscal year).
pub fn requirement(project: &Project, rules: &ExAnteRules) -> ExAnteRequirement {
    let basis = if !project.is_new() {
        RequirementBasis::NotNew
    } else if project.requested_amount.yuan() >= rules.threshold {
        RequirementBasis::AtOrAboveThreshold
    } else if rules.special_bond_always_required
        && project.special_field == SpecialField::SpecialBond
    {
        RequirementBasis::SpecialBond
    } else {
        RequirementBasis::BelowThreshold
    };
    ExAnteRequirement {
        required: matches!(
            basis,
            RequirementBasis::AtOrAboveThreshold | RequirementBasis::SpecialBond
        ),
        basis,
        threshold: rules.threshold,
        rules_label: rules.label.clone(),
    }
}

/// Who carried out the assessment (it may be commissioned to an agency: docs/DOMAIN.md "What may be
/// commissioned" (财预〔2021〕6号)).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Assessor {
    /// The budget unit itself.
    BudgetUnit,
    /// The competent department.
    Department,
    /// Finance (财政重点评估, e.g. 赣州 旅发大会).
    Finance,
    /// A third-party agency from the pool.
    Agency {
        /// The agency's 统一社会信用代码.
        credit_code: String,
    },
}

/// One dimension's score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DimensionScore {
    /// The dimension.
    pub dimension: Dimension,
    /// Its score, 0 to the dimension's full mark.
    pub score: Decimal,
}

/// The text of one 专项债 item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialBondItemText {
    /// Which item.
    pub item: SpecialBondItem,
    /// What the assessment says on it.
    pub text: String,
}

/// An ex-ante assessment report (事前绩效评估报告).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExAnteReport {
    /// The project or policy assessed (its 项目编码).
    pub pro_code: crate::domain::project::ProCode,
    /// 预算年度 of the request.
    pub fiscal_year: FiscalYear,
    /// Who assessed.
    pub assessor: Assessor,
    /// Date the report was completed.
    pub completed_on: NaiveDate,
    /// Methods used (at least one).
    pub methods: Vec<Method>,
    /// Name of the method when [`Method::Other`] is used.
    pub method_note: String,
    /// One score per dimension.
    pub scores: Vec<DimensionScore>,
    /// 评估结论.
    pub conclusion: Conclusion,
    /// 结论说明: why (required for 调整后支持 and 不予支持).
    pub summary: String,
    /// The eight items, for 专项债 projects.
    pub special_bond_items: Vec<SpecialBondItemText>,
}

impl ExAnteReport {
    /// Total score: the sum of the dimension scores.
    pub fn total(&self) -> Decimal {
        self.scores.iter().map(|s| s.score).sum()
    }
}

/// The report is for another project.
pub const REPORT_PROJECT_MISMATCH: &str = "REPORT_PROJECT_MISMATCH";
/// The report's fiscal year differs from the project's or the rules'.
pub const FISCAL_YEAR_MISMATCH: &str = "FISCAL_YEAR_MISMATCH";
/// Completed after the fiscal year it is for.
pub const REPORT_DATE_INVALID: &str = "REPORT_DATE_INVALID";
/// A commissioned agency without its credit code.
pub const ASSESSOR_REQUIRED: &str = "ASSESSOR_REQUIRED";
/// No method.
pub const METHOD_REQUIRED: &str = "METHOD_REQUIRED";
/// The same method twice.
pub const METHOD_DUPLICATE: &str = "METHOD_DUPLICATE";
/// 其他方法 without its name.
pub const METHOD_NOTE_REQUIRED: &str = "METHOD_NOTE_REQUIRED";
/// A dimension without a score.
pub const DIMENSION_MISSING: &str = "DIMENSION_MISSING";
/// A dimension scored twice.
pub const DIMENSION_DUPLICATE: &str = "DIMENSION_DUPLICATE";
/// A score below 0 or above the dimension's full mark.
pub const SCORE_OUT_OF_RANGE: &str = "SCORE_OUT_OF_RANGE";
/// A score with more than two decimal places.
pub const SCORE_TOO_PRECISE: &str = "SCORE_TOO_PRECISE";
/// The conclusion contradicts the region's bands.
pub const CONCLUSION_INCONSISTENT: &str = "CONCLUSION_INCONSISTENT";
/// 调整后支持 or 不予支持 without a summary.
pub const CONCLUSION_REASON_REQUIRED: &str = "CONCLUSION_REASON_REQUIRED";
/// A 专项债 item missing or blank.
pub const SPECIAL_BOND_ITEM_MISSING: &str = "SPECIAL_BOND_ITEM_MISSING";
/// A 专项债 item over 2000 characters.
pub const SPECIAL_BOND_ITEM_TOO_LONG: &str = "SPECIAL_BOND_ITEM_TOO_LONG";
/// A 专项债 item given twice.
pub const SPECIAL_BOND_ITEM_DUPLICATE: &str = "SPECIAL_BOND_ITEM_DUPLICATE";
/// Insufficient verdict without a written opinion.
pub const OPINION_REQUIRED: &str = "OPINION_REQUIRED";
/// A text over its limit.
pub const TEXT_TOO_LONG: &str = "TEXT_TOO_LONG";

fn too_long(field: &str, what: &str, text: &str, max: usize) -> Option<FieldViolation> {
    let n = char_count(text);
    (n > max).then(|| {
        FieldViolation::new(
            field,
            TEXT_TOO_LONG,
            format!("{what}不能超过{max}个字（现有{n}个字）"),
        )
    })
}

/// Checks a report before it is filed: every violation, in field order. `rules` are those of
/// the project's region and year.
pub fn check_report(
    report: &ExAnteReport,
    project: &Project,
    rules: &ExAnteRules,
) -> Vec<FieldViolation> {
    let mut v = Vec::new();
    if report.pro_code != project.pro_code {
        v.push(FieldViolation::new(
            "pro_code",
            REPORT_PROJECT_MISMATCH,
            format!(
                "评估报告的项目编码「{}」与项目「{}」不一致",
                report.pro_code, project.pro_code
            ),
        ));
    }
    if report.fiscal_year != project.fiscal_year || report.fiscal_year != rules.fiscal_year {
        v.push(FieldViolation::new(
            "fiscal_year",
            FISCAL_YEAR_MISMATCH,
            format!(
                "评估报告的预算年度（{}）与项目（{}）或评估规则（{}）的年度不一致",
                report.fiscal_year, project.fiscal_year, rules.fiscal_year
            ),
        ));
    }
    if report.completed_on.year() > report.fiscal_year.get() {
        v.push(FieldViolation::new(
            "completed_on",
            REPORT_DATE_INVALID,
            format!(
                "事前绩效评估应在安排预算前完成，完成日期 {} 晚于 {} 预算年度",
                report.completed_on, report.fiscal_year
            ),
        ));
    }
    if let Assessor::Agency { credit_code } = &report.assessor
        && credit_code.trim().is_empty()
    {
        v.push(FieldViolation::new(
            "assessor.credit_code",
            ASSESSOR_REQUIRED,
            "委托第三方机构评估的，须填写机构统一社会信用代码",
        ));
    }

    if report.methods.is_empty() {
        v.push(FieldViolation::new(
            "methods",
            METHOD_REQUIRED,
            "至少选择一种评估方法（如成本效益分析法、比较法、因素分析法）",
        ));
    }
    for (i, m) in report.methods.iter().enumerate() {
        if report.methods[..i].contains(m) {
            v.push(FieldViolation::new(
                format!("methods[{i}]"),
                METHOD_DUPLICATE,
                format!("评估方法「{}」重复", m.chinese()),
            ));
        }
    }
    if report.methods.contains(&Method::Other) && report.method_note.trim().is_empty() {
        v.push(FieldViolation::new(
            "method_note",
            METHOD_NOTE_REQUIRED,
            "选择“其他方法”的，须写明方法名称",
        ));
    }
    v.extend(too_long(
        "method_note",
        "方法说明",
        &report.method_note,
        MAX_TEXT_CHARS,
    ));

    let mut scores_valid = true;
    for (i, s) in report.scores.iter().enumerate() {
        if report.scores[..i]
            .iter()
            .any(|p| p.dimension == s.dimension)
        {
            scores_valid = false;
            v.push(FieldViolation::new(
                format!("scores[{i}].dimension"),
                DIMENSION_DUPLICATE,
                format!("评估维度「{}」重复评分", s.dimension.chinese()),
            ));
        }
        let max = rules.dimension_max.max(s.dimension);
        if s.score < Decimal::ZERO || s.score > max {
            scores_valid = false;
            v.push(FieldViolation::new(
                format!("scores[{i}].score"),
                SCORE_OUT_OF_RANGE,
                format!(
                    "{}得分应在0–{}之间，实为{}",
                    s.dimension.chinese(),
                    show(max),
                    show(s.score)
                ),
            ));
        } else if !has_at_most_places(s.score, 2) {
            scores_valid = false;
            v.push(FieldViolation::new(
                format!("scores[{i}].score"),
                SCORE_TOO_PRECISE,
                format!("{}得分最多保留两位小数", s.dimension.chinese()),
            ));
        }
    }
    for d in Dimension::ALL {
        if !report.scores.iter().any(|s| s.dimension == *d) {
            scores_valid = false;
            v.push(FieldViolation::new(
                "scores",
                DIMENSION_MISSING,
                format!("缺少「{}」维度的评分", d.chinese()),
            ));
        }
    }

    if let Some(bands) = &rules.conclusion_bands
        && scores_valid
    {
        let total = report.total();
        let expected = bands.conclusion(total);
        if expected != report.conclusion {
            v.push(FieldViolation::new(
                "conclusion",
                CONCLUSION_INCONSISTENT,
                format!(
                    "总分{}对应的结论为「{}」，与报告结论「{}」不一致",
                    show(total),
                    expected.chinese(),
                    report.conclusion.chinese()
                ),
            ));
        }
    }
    if report.conclusion != Conclusion::Support && report.summary.trim().is_empty() {
        v.push(FieldViolation::new(
            "summary",
            CONCLUSION_REASON_REQUIRED,
            format!(
                "评估结论为「{}」的，须在结论说明中写明理由",
                report.conclusion.chinese()
            ),
        ));
    }
    v.extend(too_long(
        "summary",
        "结论说明",
        &report.summary,
        MAX_TEXT_CHARS,
    ));

    if project.special_field == SpecialField::SpecialBond {
        for (i, it) in report.special_bond_items.iter().enumerate() {
            if report.special_bond_items[..i]
                .iter()
                .any(|p| p.item == it.item)
            {
                v.push(FieldViolation::new(
                    format!("special_bond_items[{i}].item"),
                    SPECIAL_BOND_ITEM_DUPLICATE,
                    format!("专项债券评估事项「{}」重复", it.item.chinese()),
                ));
            }
            let n = char_count(&it.text);
            if n > MAX_ITEM_CHARS {
                v.push(FieldViolation::new(
                    format!("special_bond_items[{i}].text"),
                    SPECIAL_BOND_ITEM_TOO_LONG,
                    format!(
                        "「{}」不能超过{MAX_ITEM_CHARS}个字（现有{n}个字）",
                        it.item.chinese()
                    ),
                ));
            }
        }
        for (n, item) in SpecialBondItem::ALL.iter().enumerate() {
            let given = report
                .special_bond_items
                .iter()
                .any(|t| t.item == *item && !t.text.trim().is_empty());
            if !given {
                v.push(FieldViolation::new(
                    "special_bond_items",
                    SPECIAL_BOND_ITEM_MISSING,
                    format!("专项债券项目须论证第{}项「{}」", n + 1, item.chinese()),
                ));
            }
        }
    }
    v
}

/// Finance's verdict on a report (事前绩效评估审核).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum ExAnteReview {
    /// The report supports its conclusion; `opinion` is optional.
    Sufficient {
        /// 审核意见.
        opinion: String,
    },
    /// 论证不充分: returned with a written opinion (required).
    Insufficient {
        /// 书面审核意见.
        opinion: String,
    },
}

/// Checks a verdict: an insufficient one needs a written opinion.
pub fn check_review(review: &ExAnteReview) -> Vec<FieldViolation> {
    let (opinion, needs) = match review {
        ExAnteReview::Sufficient { opinion } => (opinion, false),
        ExAnteReview::Insufficient { opinion } => (opinion, true),
    };
    let mut v = Vec::new();
    if needs && opinion.trim().is_empty() {
        v.push(FieldViolation::new(
            "opinion",
            OPINION_REQUIRED,
            "论证不充分、退回评估报告的，须出具书面审核意见",
        ));
    }
    v.extend(too_long("opinion", "审核意见", opinion, MAX_TEXT_CHARS));
    v
}

/// Where finance's review of a report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    /// Not reviewed yet.
    Pending,
    /// Reviewed: sufficient.
    Sufficient,
    /// Reviewed: insufficient, returned with a written opinion.
    Insufficient,
}

text_enum!(ReviewState {
    Pending => "pending", "待审核";
    Sufficient => "sufficient", "审核通过";
    Insufficient => "insufficient", "论证不充分，已退回";
});

impl From<&ExAnteReview> for ReviewState {
    fn from(r: &ExAnteReview) -> Self {
        match r {
            ExAnteReview::Sufficient { .. } => ReviewState::Sufficient,
            ExAnteReview::Insufficient { .. } => ReviewState::Insufficient,
        }
    }
}

/// The latest report of a project, reduced to what the gate needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReportFacts {
    /// The report's conclusion.
    pub conclusion: Conclusion,
    /// Finance's review.
    pub review: ReviewState,
}

/// Pre-loaded ex-ante facts of one project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ExAnteFacts {
    /// Whether the rules require an assessment ([`requirement`]).
    pub required: bool,
    /// The latest report, if any.
    pub report: Option<ReportFacts>,
}

/// What the ex-ante assessment means for the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExAnteGate {
    /// No assessment needed.
    NotRequired,
    /// Needed, none filed: the budget request is not reviewed (不予审核预算).
    Missing,
    /// Filed, finance has not reviewed it yet.
    PendingReview,
    /// Insufficient: returned with a written opinion.
    Returned,
    /// 不予支持: not fundable.
    NotSupported,
    /// 予以支持.
    Supported,
    /// 调整后支持.
    SupportedAfterAdjustment,
}

text_enum!(ExAnteGate {
    NotRequired => "not_required", "无需事前绩效评估";
    Missing => "missing", "未提供事前绩效评估报告，不予审核预算";
    PendingReview => "pending_review", "事前绩效评估报告待财政审核";
    Returned => "returned", "事前绩效评估论证不充分，已出具书面意见退回";
    NotSupported => "not_supported", "事前绩效评估结论为不予支持";
    Supported => "supported", "事前绩效评估予以支持";
    SupportedAfterAdjustment => "supported_after_adjustment", "事前绩效评估调整后支持";
});

impl ExAnteGate {
    /// True when the ex-ante side does not stand in the way of funding.
    pub fn fundable(self) -> bool {
        matches!(
            self,
            ExAnteGate::NotRequired | ExAnteGate::Supported | ExAnteGate::SupportedAfterAdjustment
        )
    }
}

/// The gate for a project's ex-ante facts (see the module doc for the order of rules).
pub fn gate(facts: &ExAnteFacts) -> ExAnteGate {
    let Some(report) = facts.report else {
        return if facts.required {
            ExAnteGate::Missing
        } else {
            ExAnteGate::NotRequired
        };
    };
    if report.conclusion == Conclusion::NotSupported && report.review != ReviewState::Insufficient {
        return ExAnteGate::NotSupported;
    }
    let supported = match report.conclusion {
        Conclusion::SupportAfterAdjustment => ExAnteGate::SupportedAfterAdjustment,
        Conclusion::Support | Conclusion::NotSupported => ExAnteGate::Supported,
    };
    match (report.review, facts.required) {
        (ReviewState::Sufficient, _) => supported,
        (ReviewState::Pending, true) => ExAnteGate::PendingReview,
        (ReviewState::Insufficient, true) => ExAnteGate::Returned,
        (ReviewState::Pending | ReviewState::Insufficient, false) => ExAnteGate::NotRequired,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::project::tests::input;
    use crate::domain::project::{Continuity, FundSource, ProCode};
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn fy(y: i32) -> FiscalYear {
        FiscalYear::new(y).unwrap()
    }

    /// 赣州市 (360700): 500万元 (赣州 2020: "原则上500万元以上"; docs/DOMAIN.md "Ex-ante assessment
    /// (事前绩效评估)").
    fn ganzhou() -> ExAnteRules {
        ExAnteRules::new("360700-2021 赣州市", "360700", fy(2021), dec!(5000000))
    }

    /// 埇桥区 (341302): 50万元 (埇桥 2021, 区财办〔2020〕44号: "金额在50万元及以上"; docs/DOMAIN.md
    /// "Ex-ante assessment (事前绩效评估)").
    fn yongqiao() -> ExAnteRules {
        ExAnteRules::new("341302-2021 埇桥区", "341302", fy(2021), dec!(500000))
    }

    fn project(amount: Decimal, continuity: Continuity, field: SpecialField) -> Project {
        let fund_source = field
            .required_fund_source()
            .unwrap_or(FundSource::GeneralPublic);
        Project::parse(crate::domain::project::ProjectInput {
            fiscal_year: 2021,
            mid_term: None,
            requested_amount: amount,
            continuity,
            special_field: field,
            fund_source,
            ..input()
        })
        .unwrap()
    }

    fn new_project(amount: Decimal) -> Project {
        project(amount, Continuity::New, SpecialField::None)
    }

    fn report(p: &Project) -> ExAnteReport {
        ExAnteReport {
            pro_code: p.pro_code.clone(),
            fiscal_year: p.fiscal_year,
            assessor: Assessor::Agency {
                credit_code: "91360700MA35XXXX0X".into(),
            },
            completed_on: NaiveDate::from_ymd_opt(2020, 10, 15).unwrap(),
            methods: vec![Method::CostBenefit, Method::Comparison],
            method_note: String::new(),
            scores: vec![
                DimensionScore {
                    dimension: Dimension::Necessity,
                    score: dec!(19),
                },
                DimensionScore {
                    dimension: Dimension::InputEconomy,
                    score: dec!(17.5),
                },
                DimensionScore {
                    dimension: Dimension::GoalReasonableness,
                    score: dec!(16),
                },
                DimensionScore {
                    dimension: Dimension::PlanFeasibility,
                    score: dec!(18),
                },
                DimensionScore {
                    dimension: Dimension::FinancingCompliance,
                    score: dec!(19),
                },
            ],
            conclusion: Conclusion::Support,
            summary: String::new(),
            special_bond_items: Vec::new(),
        }
    }

    fn all_items(text: &str) -> Vec<SpecialBondItemText> {
        SpecialBondItem::ALL
            .iter()
            .map(|item| SpecialBondItemText {
                item: *item,
                text: text.into(),
            })
            .collect()
    }

    fn reasons(v: &[FieldViolation]) -> Vec<(&str, &'static str)> {
        v.iter().map(|v| (v.field.as_str(), v.reason)).collect()
    }

    #[test]
    fn the_threshold_is_per_region_and_inclusive() {
        // 埇桥: 50万元 and above.
        assert!(!requirement(&new_project(dec!(499999.99)), &yongqiao()).required);
        let r = requirement(&new_project(dec!(500000)), &yongqiao());
        assert_eq!(
            (r.required, r.basis),
            (true, RequirementBasis::AtOrAboveThreshold)
        );
        assert_eq!(r.rules_label, "341302-2021 埇桥区");
        assert_eq!(
            r.chinese(),
            "新增项目，金额达到事前绩效评估标准（标准：50万元，规则：341302-2021 埇桥区）"
        );
        // The same 60万元 project: required in 埇桥, not in 赣州 (500万元).
        let p = new_project(dec!(600000));
        assert!(requirement(&p, &yongqiao()).required);
        let g = requirement(&p, &ganzhou());
        assert_eq!(
            (g.required, g.basis),
            (false, RequirementBasis::BelowThreshold)
        );
        assert!(requirement(&new_project(dec!(5000000)), &ganzhou()).required);
    }

    #[test]
    fn continuing_projects_are_not_assessed() {
        let p = project(
            dec!(90000000),
            Continuity::Continuing,
            SpecialField::SpecialBond,
        );
        let r = requirement(&p, &ganzhou());
        assert_eq!((r.required, r.basis), (false, RequirementBasis::NotNew));
    }

    #[test]
    fn new_special_bond_projects_are_always_assessed_unless_configured_otherwise() {
        let p = project(dec!(100000), Continuity::New, SpecialField::SpecialBond);
        let r = requirement(&p, &ganzhou());
        assert_eq!((r.required, r.basis), (true, RequirementBasis::SpecialBond));
        let mut rules = ganzhou();
        rules.special_bond_always_required = false;
        assert!(!requirement(&p, &rules).required);
    }

    #[test]
    fn a_complete_report_passes() {
        let p = new_project(dec!(6000000));
        let r = report(&p);
        assert_eq!(r.total(), dec!(89.5));
        assert_eq!(reasons(&check_report(&r, &p, &ganzhou())), vec![]);
    }

    #[test]
    fn all_five_dimensions_are_scored_within_their_marks() {
        let p = new_project(dec!(6000000));
        let mut r = report(&p);
        r.scores[1].score = dec!(20.5);
        r.scores[2].score = dec!(15.125);
        r.scores[3].dimension = Dimension::Necessity;
        r.scores.pop();
        let v = check_report(&r, &p, &ganzhou());
        assert_eq!(
            reasons(&v),
            vec![
                ("scores[1].score", SCORE_OUT_OF_RANGE),
                ("scores[2].score", SCORE_TOO_PRECISE),
                ("scores[3].dimension", DIMENSION_DUPLICATE),
                ("scores", DIMENSION_MISSING),
                ("scores", DIMENSION_MISSING),
            ]
        );
        assert!(v[3].message.contains("实施方案可行性"), "{}", v[3].message);
        assert!(v[4].message.contains("筹资合规性"), "{}", v[4].message);
    }

    #[test]
    fn methods_and_reasons_are_required() {
        let p = new_project(dec!(6000000));
        let mut r = report(&p);
        r.methods.clear();
        r.conclusion = Conclusion::NotSupported;
        assert_eq!(
            reasons(&check_report(&r, &p, &ganzhou())),
            vec![
                ("methods", METHOD_REQUIRED),
                ("summary", CONCLUSION_REASON_REQUIRED)
            ]
        );
        r.methods = vec![Method::Other, Method::Other];
        r.summary = "立项依据不足".into();
        assert_eq!(
            reasons(&check_report(&r, &p, &ganzhou())),
            vec![
                ("methods[1]", METHOD_DUPLICATE),
                ("method_note", METHOD_NOTE_REQUIRED)
            ]
        );
    }

    #[test]
    fn the_report_must_belong_to_the_project_and_precede_the_year() {
        let p = new_project(dec!(6000000));
        let mut r = report(&p);
        r.pro_code = ProCode::parse("OTHER-1").unwrap();
        r.completed_on = NaiveDate::from_ymd_opt(2022, 1, 5).unwrap();
        r.assessor = Assessor::Agency {
            credit_code: " ".into(),
        };
        assert_eq!(
            reasons(&check_report(&r, &p, &ganzhou())),
            vec![
                ("pro_code", REPORT_PROJECT_MISMATCH),
                ("completed_on", REPORT_DATE_INVALID),
                ("assessor.credit_code", ASSESSOR_REQUIRED),
            ]
        );
        let mut rules = ganzhou();
        rules.fiscal_year = fy(2022);
        assert_eq!(
            reasons(&check_report(&report(&p), &p, &rules)),
            vec![("fiscal_year", FISCAL_YEAR_MISMATCH)]
        );
    }

    #[test]
    fn bands_fix_the_conclusion_where_a_region_uses_them() {
        let p = new_project(dec!(6000000));
        let mut rules = ganzhou();
        rules.conclusion_bands = Some(ConclusionBands {
            support_min: dec!(90),
            adjust_min: dec!(60),
        });
        // 89.5 calls for 调整后支持.
        let v = check_report(&report(&p), &p, &rules);
        assert_eq!(reasons(&v), vec![("conclusion", CONCLUSION_INCONSISTENT)]);
        assert!(
            v[0].message.contains("总分89.5对应的结论为「调整后支持」"),
            "{}",
            v[0].message
        );
        let mut r = report(&p);
        r.conclusion = Conclusion::SupportAfterAdjustment;
        r.summary = "建议压减设备购置预算".into();
        assert_eq!(reasons(&check_report(&r, &p, &rules)), vec![]);
        let bands = rules.conclusion_bands.unwrap();
        assert_eq!(bands.conclusion(dec!(59.99)), Conclusion::NotSupported);
        assert_eq!(bands.conclusion(dec!(90)), Conclusion::Support);
    }

    #[test]
    fn special_bond_projects_need_the_eight_items_each_at_most_2000_characters() {
        let p = project(dec!(80000000), Continuity::New, SpecialField::SpecialBond);
        let mut r = report(&p);
        let v = check_report(&r, &p, &ganzhou());
        assert_eq!(v.len(), 8);
        assert!(v.iter().all(|v| v.reason == SPECIAL_BOND_ITEM_MISSING));
        assert!(
            v[5].message
                .contains("第6项「项目偿债计划可行性和偿债风险点」"),
            "{}",
            v[5].message
        );

        // 2000 Chinese characters are 6000 bytes and still within the limit.
        r.special_bond_items = all_items(&"债".repeat(2000));
        assert_eq!(reasons(&check_report(&r, &p, &ganzhou())), vec![]);

        r.special_bond_items[2].text = "债".repeat(2001);
        r.special_bond_items[7].text = " ".into();
        r.special_bond_items.push(SpecialBondItemText {
            item: SpecialBondItem::BondNeed,
            text: "重复".into(),
        });
        assert_eq!(
            reasons(&check_report(&r, &p, &ganzhou())),
            vec![
                ("special_bond_items[2].text", SPECIAL_BOND_ITEM_TOO_LONG),
                ("special_bond_items[8].item", SPECIAL_BOND_ITEM_DUPLICATE),
                ("special_bond_items", SPECIAL_BOND_ITEM_MISSING),
            ]
        );
        // Other projects owe no items.
        let ordinary = new_project(dec!(6000000));
        assert_eq!(
            reasons(&check_report(&report(&ordinary), &ordinary, &ganzhou())),
            vec![]
        );
        assert_eq!(SpecialBondItem::ALL.len(), 8);
    }

    #[test]
    fn an_insufficient_verdict_needs_a_written_opinion() {
        assert_eq!(
            reasons(&check_review(&ExAnteReview::Insufficient {
                opinion: " ".into()
            })),
            vec![("opinion", OPINION_REQUIRED)]
        );
        assert!(
            check_review(&ExAnteReview::Insufficient {
                opinion: "成本测算依据不足".into()
            })
            .is_empty()
        );
        assert!(
            check_review(&ExAnteReview::Sufficient {
                opinion: String::new()
            })
            .is_empty()
        );
        assert_eq!(
            ReviewState::from(&ExAnteReview::Insufficient {
                opinion: "x".into()
            }),
            ReviewState::Insufficient
        );
    }

    #[test]
    fn gate_outcomes() {
        let facts = |required, report: Option<(Conclusion, ReviewState)>| ExAnteFacts {
            required,
            report: report.map(|(conclusion, review)| ReportFacts { conclusion, review }),
        };
        use Conclusion::*;
        use ReviewState::*;
        assert_eq!(gate(&facts(true, None)), ExAnteGate::Missing);
        assert_eq!(gate(&facts(false, None)), ExAnteGate::NotRequired);
        assert_eq!(
            gate(&facts(true, Some((Support, Pending)))),
            ExAnteGate::PendingReview
        );
        assert_eq!(
            gate(&facts(true, Some((Support, Insufficient)))),
            ExAnteGate::Returned
        );
        assert_eq!(
            gate(&facts(true, Some((NotSupported, Insufficient)))),
            ExAnteGate::Returned
        );
        assert_eq!(
            gate(&facts(true, Some((NotSupported, Pending)))),
            ExAnteGate::NotSupported
        );
        assert_eq!(
            gate(&facts(true, Some((NotSupported, Sufficient)))),
            ExAnteGate::NotSupported
        );
        assert_eq!(
            gate(&facts(false, Some((NotSupported, Sufficient)))),
            ExAnteGate::NotSupported
        );
        assert_eq!(
            gate(&facts(true, Some((Support, Sufficient)))),
            ExAnteGate::Supported
        );
        assert_eq!(
            gate(&facts(true, Some((SupportAfterAdjustment, Sufficient)))),
            ExAnteGate::SupportedAfterAdjustment
        );
        assert_eq!(
            gate(&facts(false, Some((Support, Insufficient)))),
            ExAnteGate::NotRequired
        );
        let fundable: Vec<_> = ExAnteGate::ALL.iter().filter(|g| g.fundable()).collect();
        assert_eq!(
            fundable,
            vec![
                &ExAnteGate::NotRequired,
                &ExAnteGate::Supported,
                &ExAnteGate::SupportedAfterAdjustment
            ]
        );
    }

    #[test]
    fn rules_self_check_and_json() {
        assert!(ganzhou().violations().is_empty());
        let mut bad = yongqiao();
        bad.mof_div_code = "3413".into();
        bad.threshold = dec!(-1);
        bad.dimension_max.necessity = dec!(0);
        bad.conclusion_bands = Some(ConclusionBands {
            support_min: dec!(60),
            adjust_min: dec!(80),
        });
        let fields: Vec<_> = bad.violations().into_iter().map(|v| v.field).collect();
        assert_eq!(
            fields,
            vec![
                "mof_div_code",
                "threshold",
                "dimension_max.necessity",
                "dimension_max",
                "conclusion_bands"
            ]
        );
        let json = serde_json::to_value(yongqiao()).unwrap();
        assert_eq!(json["threshold"], "500000");
        assert_eq!(json["dimension_max"]["necessity"], "20");
        assert_eq!(json["conclusion_bands"], serde_json::Value::Null);
        let back: ExAnteRules = serde_json::from_value(json).unwrap();
        assert_eq!(back, yongqiao());
        for d in Dimension::ALL {
            assert_eq!(Dimension::from_chinese(d.chinese()), Some(*d));
        }
        assert_eq!(Dimension::ALL.len(), 5);
        assert_eq!(
            Method::from_chinese("因素分析法"),
            Some(Method::FactorAnalysis)
        );
        assert_eq!(
            Conclusion::from_chinese("调整后支持"),
            Some(Conclusion::SupportAfterAdjustment)
        );
    }

    proptest! {
        #[test]
        fn requirement_is_monotone_in_the_amount(
            a in 1i64..100_000_000_000,
            b in 1i64..100_000_000_000,
            t in 0i64..10_000_000_000
        ) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let rules = ExAnteRules::new("x", "360700", fy(2021), Decimal::new(t, 2));
            let small = requirement(&new_project(Decimal::new(lo, 2)), &rules);
            let large = requirement(&new_project(Decimal::new(hi, 2)), &rules);
            prop_assert!(!small.required || large.required);
            prop_assert_eq!(small.required, Decimal::new(lo, 2) >= rules.threshold);
        }
    }
}
