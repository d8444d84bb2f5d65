//! `pbm.evaluation.v1.CampaignService` on the wire: the text maxima of its requests, the goal
//! service's snapshot items as sheets, the monitoring service's figures, and the statistics
//! rows. Rules, scores and campaigns as messages: [`super::scores`].

use chrono::NaiveDateTime;
use pbm_db::Money;
use pbm_proto::evaluation::v1 as ev;
use pbm_proto::goal::v1 as pb;
use pbm_proto::indicator::v1 as ind;
use pbm_proto::monitoring::v1 as mon;
use pbm_server::wire::decimal;
use pbm_types::Decimal;

use super::limits::{Bounded, CODE, Evaluation, LONG, NAME, SHORT, Texts, each_nested, nested};
use crate::domain::stats::{GroupKey, Tally};
use crate::store::{NewSheet, SheetIndicatorRow};

impl Bounded<Evaluation> for ev::Level1Part {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "level1_name", "一级指标名称", &self.level1_name, NAME);
    }
}

impl Bounded<Evaluation> for ev::TierRange {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.number(at, "low_percent", "档次下限", self.low_percent.as_ref());
        t.number(at, "high_percent", "档次上限", self.high_percent.as_ref());
    }
}

impl Bounded<Evaluation> for ev::GradeBand {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.number(at, "lower", "等级下限", self.lower.as_ref());
    }
}

impl Bounded<Evaluation> for ev::Veto {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.number(
            at,
            "below_rate_percent",
            "否定性指标执行率",
            self.below_rate_percent.as_ref(),
        );
    }
}

impl Bounded<Evaluation> for ev::PartPoints {
    fn bound(&self, t: &mut Texts, at: &str) {
        for (field, d) in [
            ("budget_execution", &self.budget_execution),
            ("output", &self.output),
            ("benefit", &self.benefit),
            ("satisfaction", &self.satisfaction),
        ] {
            t.number(at, field, "分值", d.as_ref());
        }
    }
}

impl Bounded<Evaluation> for ev::EvaluationRules {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "mof_div_code", "区划代码", &self.mof_div_code, CODE);
        t.text(at, "label", "规则名称", &self.label, SHORT);
        nested(t, at, "points", &self.points);
        for (field, d) in [
            ("satisfaction_to_output", &self.satisfaction_to_output),
            ("satisfaction_to_benefit", &self.satisfaction_to_benefit),
            ("reverse_zero_at", &self.reverse_zero_at),
            ("reason_below_rate", &self.reason_below_rate),
            (
                "deviation_achieved_percent",
                &self.deviation_achieved_percent,
            ),
        ] {
            t.number(at, field, "评分参数", d.as_ref());
        }
        each_nested(t, at, "level1_parts", &self.level1_parts);
        each_nested(t, at, "tiers", &self.tiers);
        each_nested(t, at, "grades", &self.grades);
        each_nested(t, at, "vetoes", &self.vetoes);
    }
}

impl Bounded<Evaluation> for ev::SetEvaluationRulesRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        nested(t, at, "rules", &self.rules);
    }
}

impl Bounded<Evaluation> for ev::OpenCampaignRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "name", "自评名称", &self.name, NAME);
        t.text(at, "deadline", "截止日期", &self.deadline, CODE);
    }
}

impl Bounded<Evaluation> for ev::ReopenUnitRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "agency_code", "单位编码", &self.agency_code, CODE);
        t.text(at, "new_deadline", "新截止日期", &self.new_deadline, CODE);
        t.text(at, "reason", "重新开放原因", &self.reason, LONG);
    }
}

/// A decimal of another service's message (unset or unreadable: 0).
pub(crate) fn amount(d: &Option<pbm_proto::common::v1::Decimal>) -> Decimal {
    d.as_ref()
        .and_then(|d| pbm_types::decimal::parse(&d.value).ok())
        .unwrap_or(Decimal::ZERO)
}

fn direction_word(d: i32) -> &'static str {
    match ind::Direction::try_from(d).unwrap_or_default() {
        ind::Direction::Ge => "ge",
        ind::Direction::Le => "le",
        ind::Direction::Eq => "eq",
        ind::Direction::Qualitative | ind::Direction::Unspecified => "qualitative",
    }
}

fn enum_word(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix)
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// A stored fund-source word (`general_public`) as the wire's enum.
pub(crate) fn fund_source_to(word: &str) -> pb::FundSource {
    pb::FundSource::from_str_name(&format!("FUND_SOURCE_{}", word.to_ascii_uppercase()))
        .unwrap_or_default()
}

/// The subject key of a 部门整体 sheet.
pub(crate) fn department_key(department_code: &str) -> String {
    format!("DEPT:{department_code}")
}

/// A sheet (not yet scored, no id) and its indicators (sheet id 0) from one StreamApprovedGoals
/// item with an approved version; `None` for an item without one or naming no subject. The
/// figures start at the project's requested amount, nothing executed (a 部门整体 sheet: 0).
pub(crate) fn snapshot_item(
    campaign_id: i64,
    item: &pb::ApprovedGoalItem,
    by: &str,
    now: NaiveDateTime,
) -> Option<(NewSheet, Vec<SheetIndicatorRow>)> {
    let declaration = item.declaration.as_ref()?;
    if item.approved_version <= 0 {
        return None;
    }
    let zero = Money(Decimal::ZERO);
    let mut s = NewSheet {
        campaign_id,
        subject_key: String::new(),
        pro_code: String::new(),
        department_code: String::new(),
        agency_code: String::new(),
        name: String::new(),
        fund_source: String::new(),
        special_field: String::new(),
        goal_id: item.goal_id,
        goal_version: item.approved_version,
        year_goal: declaration.year_goal.clone(),
        budget: zero,
        executed: zero,
        execution_month: 0,
        red_warnings: 0,
        yellow_warnings: 0,
        deviated: false,
        execution_reason: String::new(),
        summary: String::new(),
        status: "not_started".to_owned(),
        revision: 1,
        total: zero,
        grade: String::new(),
        execution_rate: zero,
        score: String::new(),
        return_reason: String::new(),
        late: false,
        changed_by: by.to_owned(),
        changed_at: now,
    };
    match item.subject.as_ref()? {
        pb::approved_goal_item::Subject::Project(p) => {
            let spec = p.spec.as_ref()?;
            s.subject_key = spec.pro_code.clone();
            s.pro_code = spec.pro_code.clone();
            s.department_code = spec.department_code.clone();
            s.agency_code = spec.agency_code.clone();
            s.name = spec.name.clone();
            s.fund_source = enum_word(
                pb::FundSource::try_from(spec.fund_source)
                    .unwrap_or_default()
                    .as_str_name(),
                "FUND_SOURCE_",
            );
            s.special_field = enum_word(
                pb::SpecialField::try_from(spec.special_field)
                    .unwrap_or_default()
                    .as_str_name(),
                "SPECIAL_FIELD_",
            );
            s.budget = Money(amount(&spec.requested_amount));
        }
        pb::approved_goal_item::Subject::DepartmentCode(dept) => {
            // A 部门整体 goal: the department fills its sheet itself.
            s.subject_key = department_key(dept);
            s.department_code = dept.clone();
            s.agency_code = dept.clone();
            s.name = format!("{dept} 部门整体支出");
        }
    }
    if s.subject_key.is_empty() {
        return None;
    }
    let indicators = declaration
        .indicators
        .iter()
        .enumerate()
        .map(|(i, g)| SheetIndicatorRow {
            sheet_id: 0,
            seq: i32::try_from(i + 1).unwrap_or(i32::MAX),
            level1_name: g.level1_name.clone(),
            level2_name: g.level2_name.clone(),
            name: g.name.clone(),
            direction: direction_word(g.direction).to_owned(),
            unit: g.unit.clone(),
            target_value: g.target_value.clone(),
            goal_weight: g
                .weight
                .as_ref()
                .filter(|w| !w.value.trim().is_empty())
                .and_then(|w| pbm_types::decimal::parse(&w.value).ok())
                .map(Money),
            achieved_value: String::new(),
            tier: String::new(),
            qualitative_score: None,
            not_applicable: false,
            not_applicable_reason: String::new(),
            deviation_causes: String::new(),
            improvement_measures: String::new(),
            weight: zero,
            points: zero,
            applicable: true,
            deviates: false,
        })
        .collect();
    Some((s, indicators))
}

/// A project's figures from the monitoring service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Figures {
    pub budget: Decimal,
    pub executed: Decimal,
    pub month: i32,
    pub red_warnings: i32,
    pub yellow_warnings: i32,
    pub deviated: bool,
}

/// The figures of one ExecutionSummary: budget = the summary's base (adjusted, else initial)
/// when the project has figures (month > 0), else `requested` (the project's requested amount)
/// with nothing executed; the warnings of the latest round either way.
pub(crate) fn figures_of(s: &mon::ExecutionSummary, requested: Decimal) -> Figures {
    let has_figures = s.month > 0;
    Figures {
        budget: if has_figures {
            amount(&s.budget)
        } else {
            requested
        },
        executed: if has_figures {
            amount(&s.executed)
        } else {
            Decimal::ZERO
        },
        month: s.month.max(0),
        red_warnings: s.red_warnings,
        yellow_warnings: s.yellow_warnings,
        deviated: s.deviated,
    }
}

/// One statistics row (a group's key, or the totals with an empty key).
pub(crate) fn statistics_row_to(key: &GroupKey, t: &Tally) -> ev::SelfEvaluationStatisticsRow {
    ev::SelfEvaluationStatisticsRow {
        department_code: key.department_code.clone().unwrap_or_default(),
        fund_source: key
            .fund_source
            .as_deref()
            .map_or(pb::FundSource::Unspecified, fund_source_to) as i32,
        grade: key
            .grade
            .as_deref()
            .map_or(ev::Grade::Unspecified, super::scores::grade_word_to) as i32,
        covered: t.covered,
        submitted: t.submitted,
        overdue: t.overdue,
        grades: Some(ev::GradeCounts {
            excellent: t.excellent,
            good: t.good,
            fair: t.fair,
            poor: t.poor,
        }),
        budget: decimal(t.budget),
        executed: decimal(t.executed),
        submitted_budget: decimal(t.submitted_budget),
    }
}
