//! [`PoolRules`]: the configuration of the agency and expert pool for one region and fiscal
//! year (docs/DOMAIN.md "Configuration per region and year": all configuration per region,
//! recorded on each result). Every rating and eligibility decision is a function of its facts and
//! of these rules, so the service stores the rules' JSON next to each result and can recompute it
//! later.
//!
//! JSON field names are part of the record format: rename nothing. Decimals serialize as
//! strings (`"40"`), enums in snake_case; no field has a serde default, so a record missing a
//! field fails to load instead of silently taking today's national default.

use std::collections::HashSet;

use chrono::NaiveDate;
use pbm_types::FieldViolation;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::dates;
use super::eligibility::TitleLevel;

/// All rules of the pool. [`PoolRules::default`] is the national default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolRules {
    pub expert_entry: ExpertEntryRules,
    /// Criteria every engagement is rated on; weights sum to 100.
    pub rubric: Vec<Criterion>,
    /// Weight of an engagement by how many months ago it ended, steps in ascending
    /// `max_months`; older than the last step weighs 0.
    pub decay: Vec<DecayStep>,
    pub shrinkage: ShrinkageRules,
    pub penalties: PenaltyRules,
    pub credit: CreditRules,
    pub draw: DrawRules,
}

/// Expert entry (docs/DOMAIN.md "Experts": 中级 + 8 years, or 高级; age cap 70, one province 68).
/// An expert qualifies with a title of at least `min_title_without_years`, or with at least
/// `min_title_for_years_route` and `min_years` years in the field; and is at most `age_cap`
/// years old (周岁) on the task date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpertEntryRules {
    pub min_title_for_years_route: TitleLevel,
    pub min_years: u32,
    pub min_title_without_years: TitleLevel,
    pub age_cap: u32,
}

/// One criterion of the engagement rubric; its score is 0–100 and it counts `weight`
/// percent of the engagement score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criterion {
    pub code: String,
    pub name: String,
    pub weight: Decimal,
}

/// Engagements that ended at most `max_months` months ago (see [`dates::months_ago`]) weigh
/// `weight` (0–1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecayStep {
    pub max_months: u32,
    pub weight: Decimal,
}

/// Empirical-Bayes style shrinkage toward the pool mean: the rating behaves as if it had
/// `pseudo_count` more (full-weight) engagements scored at the pool mean. `prior_mean` is the
/// pool mean to use while the pool has no rated engagement yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShrinkageRules {
    pub pseudo_count: Decimal,
    pub prior_mean: Decimal,
}

/// Points subtracted per violation recorded within the last `window_months` months; a major
/// violation within the last `major_bars_selection_years` years makes the agency or expert
/// not selectable (docs/DOMAIN.md "Independence": a major violation within 3 years → not
/// selectable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PenaltyRules {
    pub minor_points: Decimal,
    pub major_points: Decimal,
    pub window_months: u32,
    pub major_bars_selection_years: u32,
}

/// Credit grade bands (A ≥ `a_min`, B ≥ `b_min`, C ≥ `c_min`, else D) and the action each
/// grade triggers. When a grade's action is a suspension and the last suspension started
/// within `removal_lookback_months` months, the action becomes removal (清退); `None` never
/// escalates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditRules {
    pub a_min: Decimal,
    pub b_min: Decimal,
    pub c_min: Decimal,
    pub actions: GradeActions,
    pub removal_lookback_months: Option<u32>,
}

/// Action configured for each credit grade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradeActions {
    pub a: Action,
    pub b: Action,
    pub c: Action,
    pub d: Action,
}

/// Draw limits: at most `workload_cap` engagements or draw participations per expert per
/// fiscal year; recusal looks back `recusal_years` years.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawRules {
    pub workload_cap: u32,
    pub recusal_years: u32,
}

/// 信用等级. Ordered from worst to best (`D < C < B < A`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CreditGrade {
    D,
    C,
    B,
    A,
}

text_enum!(CreditGrade { A => "A", "A级"; B => "B", "B级"; C => "C", "C级"; D => "D", "D级"; });

/// What a credit grade triggers. Ordered from mildest to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// 无
    None,
    /// 警告
    Warning,
    /// 暂停 for a number of months.
    Suspend { months: u32 },
    /// 清退
    Remove,
}

impl Action {
    pub fn as_db(self) -> &'static str {
        match self {
            Action::None => "none",
            Action::Warning => "warning",
            Action::Suspend { .. } => "suspend",
            Action::Remove => "remove",
        }
    }

    pub fn chinese(self) -> String {
        match self {
            Action::None => "无".into(),
            Action::Warning => "警告".into(),
            Action::Suspend { months } => format!("暂停{months}个月"),
            Action::Remove => "清退".into(),
        }
    }

    fn severity(self) -> u8 {
        match self {
            Action::None => 0,
            Action::Warning => 1,
            Action::Suspend { .. } => 2,
            Action::Remove => 3,
        }
    }
}

/// Severity of a recorded violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Minor,
    Major,
}

text_enum!(Severity { Minor => "minor", "一般违规"; Major => "major", "重大违规"; });

impl Default for PoolRules {
    /// Defaults (docs/DOMAIN.md "Experts", docs/DOMAIN.md "Rating and credit grades",
    /// docs/DOMAIN.md "Random draws"; every value listed in docs/DOMAIN.md "Numbers"). Most are
    /// project defaults, not national numbers.
    fn default() -> Self {
        let d = Decimal::from;
        let criterion = |code: &str, name: &str, weight: i64| Criterion {
            code: code.into(),
            name: name.into(),
            weight: d(weight),
        };
        Self {
            expert_entry: ExpertEntryRules {
                min_title_for_years_route: TitleLevel::Intermediate,
                min_years: 8,
                min_title_without_years: TitleLevel::Senior,
                age_cap: 70,
            },
            rubric: vec![
                criterion("QUALITY", "报告质量", 40),
                criterion("TIMELINESS", "及时性", 20),
                criterion("CONDUCT", "执业规范", 20),
                criterion("SATISFACTION", "委托方满意度", 20),
            ],
            decay: vec![
                DecayStep {
                    max_months: 12,
                    weight: d(1),
                },
                DecayStep {
                    max_months: 24,
                    weight: Decimal::new(5, 1),
                },
                DecayStep {
                    max_months: 36,
                    weight: Decimal::new(25, 2),
                },
            ],
            shrinkage: ShrinkageRules {
                pseudo_count: d(3),
                prior_mean: d(80),
            },
            penalties: PenaltyRules {
                minor_points: d(5),
                major_points: d(20),
                window_months: 36,
                major_bars_selection_years: 3,
            },
            credit: CreditRules {
                a_min: d(90),
                b_min: d(80),
                c_min: d(60),
                actions: GradeActions {
                    a: Action::None,
                    b: Action::None,
                    c: Action::Warning,
                    d: Action::Suspend { months: 6 },
                },
                removal_lookback_months: Some(24),
            },
            draw: DrawRules {
                workload_cap: 12,
                recusal_years: 3,
            },
        }
    }
}

impl PoolRules {
    /// Decay weight of an engagement that ended `age_months` months ago: the weight of the
    /// first step whose `max_months` is not below it, else 0.
    pub fn decay_weight(&self, age_months: u32) -> Decimal {
        self.decay
            .iter()
            .find(|s| age_months <= s.max_months)
            .map_or(Decimal::ZERO, |s| s.weight)
    }

    /// Points subtracted for one violation of `severity`.
    pub fn penalty_points(&self, severity: Severity) -> Decimal {
        match severity {
            Severity::Minor => self.penalties.minor_points,
            Severity::Major => self.penalties.major_points,
        }
    }

    /// True when a major violation on `violation_on` still bars selection on `on`.
    pub fn major_violation_bars(&self, violation_on: NaiveDate, on: NaiveDate) -> bool {
        dates::within_years(violation_on, on, self.penalties.major_bars_selection_years)
    }

    /// Self-check of a configuration before it is saved: field violations (paths in the rules'
    /// JSON, Chinese messages, no codes of their own); empty means usable. Every function of
    /// this crate assumes usable rules.
    pub fn violations(&self) -> Vec<FieldViolation> {
        let mut v: Vec<FieldViolation> = Vec::new();
        let mut push =
            |field: &str, message: String| v.push(FieldViolation::generic(field, message));
        let hundred = Decimal::ONE_HUNDRED;
        let score_range = |x: Decimal| Decimal::ZERO <= x && x <= hundred;

        let entry = &self.expert_entry;
        if entry.min_title_without_years < entry.min_title_for_years_route {
            push(
                "expert_entry.min_title_without_years",
                format!(
                    "免年限要求的职称（{}）不能低于需年限要求的职称（{}）",
                    entry.min_title_without_years.chinese(),
                    entry.min_title_for_years_route.chinese()
                ),
            );
        }
        if entry.min_years > 60 {
            push(
                "expert_entry.min_years",
                format!("从业年限要求 {} 年不合理（应在0–60之间）", entry.min_years),
            );
        }
        if !(18..=100).contains(&entry.age_cap) {
            push(
                "expert_entry.age_cap",
                format!("年龄上限 {} 岁不合理（应在18–100之间）", entry.age_cap),
            );
        }

        if self.rubric.is_empty() {
            push("rubric", "评分细则至少需要一个评分项".into());
        }
        let mut codes = HashSet::new();
        for (i, c) in self.rubric.iter().enumerate() {
            let ok = !c.code.is_empty()
                && c.code.len() <= 32
                && c.code
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            if !ok {
                push(
                    &format!("rubric[{i}].code"),
                    format!(
                        "评分项编码「{}」无效：应为1–32位大写字母、数字或下划线",
                        c.code
                    ),
                );
            } else if !codes.insert(c.code.as_str()) {
                push(
                    &format!("rubric[{i}].code"),
                    format!("评分项编码「{}」重复", c.code),
                );
            }
            if c.name.trim().is_empty() {
                push(&format!("rubric[{i}].name"), "评分项名称不能为空".into());
            }
            if c.weight <= Decimal::ZERO || c.weight > hundred {
                push(
                    &format!("rubric[{i}].weight"),
                    format!("评分项「{}」的权重 {} 应大于0且不超过100", c.code, c.weight),
                );
            }
        }
        let total: Decimal = self.rubric.iter().map(|c| c.weight).sum();
        if !self.rubric.is_empty() && total != hundred {
            push(
                "rubric",
                format!("评分项权重合计应为100，实为{}", total.normalize()),
            );
        }

        if self.decay.is_empty() {
            push("decay", "时间衰减至少需要一档".into());
        }
        for (i, s) in self.decay.iter().enumerate() {
            if s.weight < Decimal::ZERO || s.weight > Decimal::ONE {
                push(
                    &format!("decay[{i}].weight"),
                    format!("衰减权重 {} 应在0–1之间", s.weight),
                );
            }
            if i == 0 && s.weight <= Decimal::ZERO {
                push("decay[0].weight", "最近一档的衰减权重必须大于0".into());
            }
            if let Some(prev) = i.checked_sub(1).map(|p| &self.decay[p]) {
                if s.max_months <= prev.max_months {
                    push(
                        &format!("decay[{i}].max_months"),
                        "各档月数应严格递增".into(),
                    );
                }
                if s.weight > prev.weight {
                    push(
                        &format!("decay[{i}].weight"),
                        "越久远的业务权重不能更高".into(),
                    );
                }
            }
        }

        if self.shrinkage.pseudo_count < Decimal::ZERO {
            push(
                "shrinkage.pseudo_count",
                "收缩强度（虚拟业务数）不能为负".into(),
            );
        }
        if !score_range(self.shrinkage.prior_mean) {
            push("shrinkage.prior_mean", "先验均值应在0–100之间".into());
        }

        let p = &self.penalties;
        if !score_range(p.minor_points) {
            push("penalties.minor_points", "一般违规扣分应在0–100之间".into());
        }
        if !score_range(p.major_points) {
            push("penalties.major_points", "重大违规扣分应在0–100之间".into());
        }
        if p.window_months == 0 {
            push(
                "penalties.window_months",
                "违规扣分的计算期间至少为1个月".into(),
            );
        }
        if p.major_bars_selection_years == 0 {
            push(
                "penalties.major_bars_selection_years",
                "重大违规限制入选的年限至少为1年".into(),
            );
        }

        let c = &self.credit;
        if !(c.a_min <= hundred
            && c.a_min > c.b_min
            && c.b_min > c.c_min
            && c.c_min > Decimal::ZERO)
        {
            push(
                "credit",
                format!(
                    "信用等级分数线应满足 100 ≥ A > B > C > 0，实为 A {} / B {} / C {}",
                    c.a_min, c.b_min, c.c_min
                ),
            );
        }
        let actions = [
            ("a", c.actions.a),
            ("b", c.actions.b),
            ("c", c.actions.c),
            ("d", c.actions.d),
        ];
        for (i, (grade, action)) in actions.iter().enumerate() {
            if matches!(action, Action::Suspend { months: 0 }) {
                push(
                    &format!("credit.actions.{grade}"),
                    "暂停期限至少为1个月".into(),
                );
            }
            if i > 0 && action.severity() < actions[i - 1].1.severity() {
                push(
                    &format!("credit.actions.{grade}"),
                    "较低信用等级的处理措施不能轻于较高等级".into(),
                );
            }
        }
        if c.removal_lookback_months == Some(0) {
            push(
                "credit.removal_lookback_months",
                "清退的回溯期间至少为1个月".into(),
            );
        }

        if self.draw.workload_cap == 0 {
            push("draw.workload_cap", "每年参与次数上限至少为1".into());
        }
        if self.draw.recusal_years == 0 {
            push("draw.recusal_years", "回避年限至少为1年".into());
        }
        v
    }
}

impl CreditRules {
    /// Grade of a final score: A ≥ `a_min`, B ≥ `b_min`, C ≥ `c_min`, else D.
    pub fn grade(&self, score: Decimal) -> CreditGrade {
        if score >= self.a_min {
            CreditGrade::A
        } else if score >= self.b_min {
            CreditGrade::B
        } else if score >= self.c_min {
            CreditGrade::C
        } else {
            CreditGrade::D
        }
    }

    /// Action for `grade` on `as_of`: the configured one, except that a suspension becomes
    /// removal when the last suspension started within `removal_lookback_months` months
    /// (docs/DOMAIN.md "Rating and credit grades": the grade warns, suspends or removes by
    /// itself).
    pub fn action(
        &self,
        grade: CreditGrade,
        last_suspended_on: Option<NaiveDate>,
        as_of: NaiveDate,
    ) -> Action {
        let configured = match grade {
            CreditGrade::A => self.actions.a,
            CreditGrade::B => self.actions.b,
            CreditGrade::C => self.actions.c,
            CreditGrade::D => self.actions.d,
        };
        let repeat = match (self.removal_lookback_months, last_suspended_on) {
            (Some(months), Some(on)) => dates::within_months(on, as_of, months),
            _ => false,
        };
        match configured {
            Action::Suspend { .. } if repeat => Action::Remove,
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn fields(rules: &PoolRules) -> Vec<String> {
        rules.violations().into_iter().map(|v| v.field).collect()
    }

    #[test]
    fn national_defaults_are_usable() {
        let rules = PoolRules::default();
        assert!(rules.violations().is_empty(), "{:?}", rules.violations());
        assert_eq!(
            rules.rubric.iter().map(|c| c.weight).sum::<Decimal>(),
            dec!(100)
        );
        assert_eq!(rules.expert_entry.age_cap, 70);
        assert_eq!(rules.draw.workload_cap, 12);
    }

    #[test]
    fn a_province_with_age_cap_68_is_usable() {
        let mut rules = PoolRules::default();
        rules.expert_entry.age_cap = 68;
        assert!(rules.violations().is_empty());
    }

    #[test]
    fn decay_steps_by_age() {
        let rules = PoolRules::default();
        assert_eq!(rules.decay_weight(0), dec!(1));
        assert_eq!(rules.decay_weight(12), dec!(1));
        assert_eq!(rules.decay_weight(13), dec!(0.5));
        assert_eq!(rules.decay_weight(24), dec!(0.5));
        assert_eq!(rules.decay_weight(36), dec!(0.25));
        assert_eq!(rules.decay_weight(37), dec!(0));
    }

    #[test]
    fn grades_and_actions() {
        let c = PoolRules::default().credit;
        let t = d(2026, 6, 30);
        assert_eq!(c.grade(dec!(90)), CreditGrade::A);
        assert_eq!(c.grade(dec!(89.99)), CreditGrade::B);
        assert_eq!(c.grade(dec!(80)), CreditGrade::B);
        assert_eq!(c.grade(dec!(60)), CreditGrade::C);
        assert_eq!(c.grade(dec!(59.99)), CreditGrade::D);
        assert_eq!(c.action(CreditGrade::A, None, t), Action::None);
        assert_eq!(
            c.action(CreditGrade::B, Some(d(2026, 1, 1)), t),
            Action::None
        );
        assert_eq!(
            c.action(CreditGrade::C, Some(d(2026, 1, 1)), t),
            Action::Warning
        );
        assert_eq!(
            c.action(CreditGrade::D, None, t),
            Action::Suspend { months: 6 }
        );
        // Suspended within the last 24 months → removal; 24 months and a day ago → suspend.
        assert_eq!(
            c.action(CreditGrade::D, Some(d(2024, 6, 30)), t),
            Action::Remove
        );
        assert_eq!(
            c.action(CreditGrade::D, Some(d(2024, 6, 29)), t),
            Action::Suspend { months: 6 }
        );
        let never = CreditRules {
            removal_lookback_months: None,
            ..c
        };
        assert_eq!(
            never.action(CreditGrade::D, Some(d(2026, 6, 1)), t),
            Action::Suspend { months: 6 }
        );
    }

    #[test]
    fn grades_order_from_worst_to_best() {
        assert!(CreditGrade::D < CreditGrade::C && CreditGrade::B < CreditGrade::A);
        assert_eq!(CreditGrade::from_db("B"), Some(CreditGrade::B));
        assert_eq!(Action::Suspend { months: 6 }.chinese(), "暂停6个月");
    }

    #[test]
    fn self_check_finds_each_kind_of_mistake() {
        let mut r = PoolRules::default();
        r.rubric[0].weight = dec!(30);
        assert_eq!(fields(&r), vec!["rubric"]);

        let mut r = PoolRules::default();
        r.rubric[0].weight = dec!(0);
        r.rubric[1].weight = dec!(60);
        r.rubric[2].code = "TIMELINESS".into();
        assert_eq!(fields(&r), vec!["rubric[0].weight", "rubric[2].code"]);

        let mut r = PoolRules::default();
        r.decay[1].max_months = 12;
        r.decay[2].weight = dec!(0.75);
        assert_eq!(fields(&r), vec!["decay[1].max_months", "decay[2].weight"]);

        let mut r = PoolRules::default();
        r.credit.b_min = dec!(95);
        r.credit.actions.d = Action::Warning;
        r.credit.actions.c = Action::Suspend { months: 0 };
        assert_eq!(
            fields(&r),
            vec!["credit", "credit.actions.c", "credit.actions.d"]
        );

        let mut r = PoolRules::default();
        r.expert_entry.min_title_without_years = TitleLevel::Junior;
        r.expert_entry.age_cap = 7;
        r.shrinkage.pseudo_count = dec!(-1);
        r.shrinkage.prior_mean = dec!(101);
        r.penalties.major_points = dec!(-5);
        r.draw.workload_cap = 0;
        r.draw.recusal_years = 0;
        assert_eq!(
            fields(&r),
            vec![
                "expert_entry.min_title_without_years",
                "expert_entry.age_cap",
                "shrinkage.pseudo_count",
                "shrinkage.prior_mean",
                "penalties.major_points",
                "draw.workload_cap",
                "draw.recusal_years",
            ]
        );
    }

    #[test]
    fn json_field_names_are_stable() {
        let rules = PoolRules::default();
        let json = serde_json::to_value(&rules).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "expert_entry": {
                    "min_title_for_years_route": "intermediate",
                    "min_years": 8,
                    "min_title_without_years": "senior",
                    "age_cap": 70
                },
                "rubric": [
                    {"code": "QUALITY", "name": "报告质量", "weight": "40"},
                    {"code": "TIMELINESS", "name": "及时性", "weight": "20"},
                    {"code": "CONDUCT", "name": "执业规范", "weight": "20"},
                    {"code": "SATISFACTION", "name": "委托方满意度", "weight": "20"}
                ],
                "decay": [
                    {"max_months": 12, "weight": "1"},
                    {"max_months": 24, "weight": "0.5"},
                    {"max_months": 36, "weight": "0.25"}
                ],
                "shrinkage": {"pseudo_count": "3", "prior_mean": "80"},
                "penalties": {
                    "minor_points": "5",
                    "major_points": "20",
                    "window_months": 36,
                    "major_bars_selection_years": 3
                },
                "credit": {
                    "a_min": "90",
                    "b_min": "80",
                    "c_min": "60",
                    "actions": {
                        "a": {"kind": "none"},
                        "b": {"kind": "none"},
                        "c": {"kind": "warning"},
                        "d": {"kind": "suspend", "months": 6}
                    },
                    "removal_lookback_months": 24
                },
                "draw": {"workload_cap": 12, "recusal_years": 3}
            })
        );
        let back: PoolRules = serde_json::from_value(json).unwrap();
        assert_eq!(back, rules);
    }

    #[test]
    fn a_record_missing_a_field_does_not_load() {
        let mut json = serde_json::to_value(PoolRules::default()).unwrap();
        json.as_object_mut().unwrap().remove("draw");
        assert!(serde_json::from_value::<PoolRules>(json).is_err());
    }
}
