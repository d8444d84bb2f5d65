//! `pbm.monitoring.v1.RoundService` on the wire: rules, rounds, units and snapshotted indicators
//! as messages; the goal service's snapshot items as round subjects; and the text maxima of its
//! requests (docs/drafts/MONITORING.md §3 "Limits").

use chrono::{NaiveDate, NaiveDateTime};
use pbm_db::Money;
use pbm_proto::goal::v1 as pb;
use pbm_proto::indicator::v1 as ind;
use pbm_proto::monitoring::v1 as mon;
use pbm_server::wire::{decimal, stamp};
use pbm_types::Decimal;

use super::deviations::colour_to;
use super::limits::{Bounded, CODE, LONG, Monitoring, NAME, SHORT, Texts};
use crate::domain::deadline::DeadlineStatus;
use crate::domain::rules::{ForecastMethod, MonitoringRules};
use crate::domain::stats::{ColourTally, StatsKey, StatsRow};
use crate::store::{IndicatorRow, RoundRow, RulesRow, SubjectRow};

/// A round's scope as stored (`rounds.scope`, JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Scope {
    pub department_codes: Vec<String>,
    pub pro_codes: Vec<String>,
}

impl Scope {
    /// Whether a subject of `department` (PRO_CODE `pro_code`) is in scope.
    pub fn keeps(&self, department: &str, pro_code: &str) -> bool {
        (self.department_codes.is_empty() || self.department_codes.iter().any(|d| d == department))
            && (self.pro_codes.is_empty() || self.pro_codes.iter().any(|p| p == pro_code))
    }
}

/// The rules of a version as the message (version 0: the defaults, never changed).
pub fn rules_to(
    fiscal_year: i32,
    version: i64,
    label: &str,
    r: &MonitoringRules,
    row: Option<&RulesRow>,
) -> mon::MonitoringRules {
    mon::MonitoringRules {
        fiscal_year,
        budget_red_below: decimal(r.budget_red_below),
        budget_yellow_below: decimal(r.budget_yellow_below),
        indicator_red_below: decimal(r.ge_red_below),
        indicator_yellow_below: decimal(r.ge_yellow_below),
        indicator_blue_from: decimal(r.ge_blue_from),
        forecast_yellow_within: decimal(r.forecast_yellow_within),
        execution_forecast_below: decimal(r.execution_forecast_below),
        forecast_method: r.forecast_method.as_db().to_owned(),
        version,
        label: label.to_owned(),
        changed: row.map(|row| stamp(&row.changed_by, row.changed_at)),
    }
}

/// The bands of a SetMonitoringRules request: a band left out keeps its default; a band that is
/// not a decimal, or an unknown forecast method, is a violation of its field.
pub fn rules_from(
    m: &mon::MonitoringRules,
) -> Result<MonitoringRules, Vec<pbm_types::FieldViolation>> {
    let mut rules = MonitoringRules::default();
    let mut v = Vec::new();
    let mut band =
        |field: &str, value: &Option<pbm_proto::common::v1::Decimal>, into: &mut Decimal| {
            let Some(text) = value
                .as_ref()
                .map(|d| d.value.trim())
                .filter(|t| !t.is_empty())
            else {
                return;
            };
            match pbm_types::decimal::parse(text) {
                Ok(d) => *into = d,
                Err(e) => v.push(pbm_types::FieldViolation::new(
                    format!("rules.{field}"),
                    e.reason,
                    e.message,
                )),
            }
        };
    band(
        "budget_red_below",
        &m.budget_red_below,
        &mut rules.budget_red_below,
    );
    band(
        "budget_yellow_below",
        &m.budget_yellow_below,
        &mut rules.budget_yellow_below,
    );
    band(
        "indicator_red_below",
        &m.indicator_red_below,
        &mut rules.ge_red_below,
    );
    band(
        "indicator_yellow_below",
        &m.indicator_yellow_below,
        &mut rules.ge_yellow_below,
    );
    band(
        "indicator_blue_from",
        &m.indicator_blue_from,
        &mut rules.ge_blue_from,
    );
    band(
        "forecast_yellow_within",
        &m.forecast_yellow_within,
        &mut rules.forecast_yellow_within,
    );
    band(
        "execution_forecast_below",
        &m.execution_forecast_below,
        &mut rules.execution_forecast_below,
    );
    let method = m.forecast_method.trim();
    if !method.is_empty() {
        match ForecastMethod::from_db(method) {
            Some(f) => rules.forecast_method = f,
            None => v.push(pbm_types::FieldViolation::new(
                "rules.forecast_method",
                "FORECAST_METHOD_INVALID",
                format!("执行预测方法「{method}」无效：应为 recent_pace_3 或 linear"),
            )),
        }
    }
    if let Err(bands) = rules.validate() {
        v.extend(bands.into_iter().map(|b| {
            let field = match b.field.as_str() {
                "ge_red_below" => "indicator_red_below".to_owned(),
                "ge_yellow_below" => "indicator_yellow_below".to_owned(),
                "ge_blue_from" => "indicator_blue_from".to_owned(),
                other => other.to_owned(),
            };
            pbm_types::FieldViolation::new(format!("rules.{field}"), b.reason, b.message)
        }));
    }
    if v.is_empty() { Ok(rules) } else { Err(v) }
}

pub fn status_to(word: &str) -> mon::RoundStatus {
    match word {
        "opening" => mon::RoundStatus::Opening,
        "open" => mon::RoundStatus::Open,
        "closed" => mon::RoundStatus::Closed,
        _ => mon::RoundStatus::Unspecified,
    }
}

pub fn status_word(s: i32) -> Option<&'static str> {
    match mon::RoundStatus::try_from(s).ok()? {
        mon::RoundStatus::Opening => Some("opening"),
        mon::RoundStatus::Open => Some("open"),
        mon::RoundStatus::Closed => Some("closed"),
        mon::RoundStatus::Unspecified => None,
    }
}

pub fn goal_state_word(s: i32) -> Option<&'static str> {
    match mon::GoalState::try_from(s).ok()? {
        mon::GoalState::Approved => Some("approved"),
        mon::GoalState::NoGoal => Some("no_goal"),
        mon::GoalState::NotApproved => Some("not_approved"),
        mon::GoalState::Unspecified => None,
    }
}

/// A stored date as the wire's `YYYY-MM-DD`.
pub fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A round as the message, with its snapshot's counts (subjects, with an approved goal,
/// deviated).
pub fn round_to(r: &RoundRow, counts: (i64, i64, i64)) -> mon::Round {
    let scope: Scope = serde_json::from_str(&r.scope).unwrap_or_default();
    mon::Round {
        id: r.id,
        fiscal_year: r.fiscal_year,
        name: r.name.clone(),
        months_to: r.months_to,
        starts_on: date(r.starts_on),
        deadline: date(r.deadline),
        lead_days: r.lead_days,
        scope: Some(mon::RoundScope {
            department_codes: scope.department_codes,
            pro_codes: scope.pro_codes,
        }),
        status: status_to(&r.status) as i32,
        rules_version: r.rules_version,
        rules_label: r.rules_label.clone(),
        revision: r.revision,
        subjects: counts.0,
        with_approved_goal: counts.1,
        without_goal: counts.0 - counts.1,
        deviated: counts.2,
        opened: Some(stamp(&r.opened_by, r.opened_at)),
        changed: Some(stamp(&r.changed_by, r.changed_at)),
    }
}

fn direction_word(d: i32) -> &'static str {
    match ind::Direction::try_from(d).unwrap_or_default() {
        ind::Direction::Ge => "ge",
        ind::Direction::Le => "le",
        ind::Direction::Eq => "eq",
        ind::Direction::Qualitative | ind::Direction::Unspecified => "qualitative",
    }
}

fn direction_to(word: &str) -> ind::Direction {
    match word {
        "ge" => ind::Direction::Ge,
        "le" => ind::Direction::Le,
        "eq" => ind::Direction::Eq,
        "qualitative" => ind::Direction::Qualitative,
        _ => ind::Direction::Unspecified,
    }
}

pub fn indicator_to(i: &IndicatorRow) -> mon::RoundIndicator {
    mon::RoundIndicator {
        seq: i.seq,
        level1_name: i.level1_name.clone(),
        level2_name: i.level2_name.clone(),
        name: i.name.clone(),
        direction: direction_to(&i.direction) as i32,
        unit: i.unit.clone(),
        target_value: i.target_value.clone(),
        library_code: i.library_code.clone(),
        library_version: i.library_version,
    }
}

/// The stored word of a wire enum value (`FUND_SOURCE_GENERAL_PUBLIC` → `general_public`);
/// empty for unspecified.
fn enum_word(name: &str, prefix: &str) -> String {
    match name.strip_prefix(prefix) {
        Some("UNSPECIFIED") | None => String::new(),
        Some(rest) => rest.to_ascii_lowercase(),
    }
}

fn fund_source_word(v: i32) -> String {
    let name = pb::FundSource::try_from(v)
        .unwrap_or_default()
        .as_str_name();
    enum_word(name, "FUND_SOURCE_")
}

fn special_field_word(v: i32) -> String {
    let name = pb::SpecialField::try_from(v)
        .unwrap_or_default()
        .as_str_name();
    enum_word(name, "SPECIAL_FIELD_")
}

/// A stored fund-source word as the wire's enum.
pub fn fund_source_to(word: &str) -> pb::FundSource {
    pb::FundSource::from_str_name(&format!("FUND_SOURCE_{}", word.to_ascii_uppercase()))
        .unwrap_or_default()
}

/// A stored special-field word as the wire's enum.
pub fn special_field_to(word: &str) -> pb::SpecialField {
    pb::SpecialField::from_str_name(&format!("SPECIAL_FIELD_{}", word.to_ascii_uppercase()))
        .unwrap_or_default()
}

/// A subject and its indicators as snapshotted from one StreamApprovedGoals item (`None` for
/// an item that names no subject). Colours start as `none`; the recomputation fills them.
pub fn snapshot_item(
    round_id: i64,
    item: &pb::ApprovedGoalItem,
    now: NaiveDateTime,
) -> Option<(SubjectRow, Vec<IndicatorRow>)> {
    let declaration = item.declaration.as_ref();
    let mut s = SubjectRow {
        round_id,
        subject_key: String::new(),
        pro_code: String::new(),
        department_code: String::new(),
        agency_code: String::new(),
        name: String::new(),
        fund_source: String::new(),
        special_field: String::new(),
        amount: Money(Decimal::ZERO),
        goal_state: if item.approved_version > 0 {
            "approved"
        } else if item.goal_id > 0 {
            "not_approved"
        } else {
            "no_goal"
        }
        .to_owned(),
        goal_id: item.goal_id,
        goal_version: item.approved_version,
        year_goal: declaration.map(|d| d.year_goal.clone()).unwrap_or_default(),
        origin: "goal".to_owned(),
        is_key: false,
        budget_colour: "none".to_owned(),
        goal_colour: "none".to_owned(),
        forecast_colour: "none".to_owned(),
        execution_forecast_colour: "none".to_owned(),
        deviated: false,
        report_status: "none".to_owned(),
        snapshot_at: now,
    };
    let amount = |d: &Option<pbm_proto::common::v1::Decimal>| {
        d.as_ref()
            .and_then(|d| pbm_types::decimal::parse(&d.value).ok())
            .unwrap_or(Decimal::ZERO)
    };
    match item.subject.as_ref()? {
        pb::approved_goal_item::Subject::Project(p) => {
            let spec = p.spec.as_ref()?;
            s.subject_key = spec.pro_code.clone();
            s.pro_code = spec.pro_code.clone();
            s.department_code = spec.department_code.clone();
            s.agency_code = spec.agency_code.clone();
            s.name = spec.name.clone();
            s.fund_source = fund_source_word(spec.fund_source);
            s.special_field = special_field_word(spec.special_field);
            s.amount = Money(amount(&spec.requested_amount));
        }
        pb::approved_goal_item::Subject::DepartmentCode(dept) => {
            // A 部门整体 goal: the department reports it itself.
            s.subject_key = format!("D:{dept}");
            s.department_code = dept.clone();
            s.agency_code = dept.clone();
            s.name = format!("{dept} 部门整体支出");
            s.amount = Money(declaration.map_or(Decimal::ZERO, |d| amount(&d.department_budget)));
        }
    }
    if s.subject_key.is_empty() {
        return None;
    }
    let indicators = if item.approved_version > 0 {
        declaration
            .map(|d| d.indicators.as_slice())
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let direction = direction_word(g.direction);
                IndicatorRow {
                    round_id,
                    subject_key: s.subject_key.clone(),
                    seq: i32::try_from(i + 1).unwrap_or(i32::MAX),
                    level1_name: g.level1_name.clone(),
                    level2_name: g.level2_name.clone(),
                    name: g.name.clone(),
                    direction: direction.to_owned(),
                    unit: g.unit.clone(),
                    target_value: g.target_value.clone(),
                    target_num: (direction != "qualitative")
                        .then(|| pbm_types::decimal::parse(g.target_value.trim()).ok())
                        .flatten()
                        .map(Money),
                    library_code: g.library_code.clone(),
                    library_version: g.library_version,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    Some((s, indicators))
}

/// A domain deadline status as the wire's, and whether the submission was late.
pub fn deadline_to(s: DeadlineStatus) -> (mon::DeadlineStatus, bool) {
    match s {
        DeadlineStatus::Normal => (mon::DeadlineStatus::Normal, false),
        DeadlineStatus::DueSoon => (mon::DeadlineStatus::DueSoon, false),
        DeadlineStatus::Overdue => (mon::DeadlineStatus::Overdue, false),
        DeadlineStatus::Submitted { late } => (mon::DeadlineStatus::Submitted, late),
    }
}

/// A round subject as the message, with its report's deadline status (computed by
/// `ops::round_reads::Deadlines`).
pub fn subject_to(s: &SubjectRow, deadline: DeadlineStatus) -> mon::RoundSubject {
    let goal_state = match s.goal_state.as_str() {
        "approved" => mon::GoalState::Approved,
        "no_goal" => mon::GoalState::NoGoal,
        "not_approved" => mon::GoalState::NotApproved,
        _ => mon::GoalState::Unspecified,
    };
    let report_status = match s.report_status.as_str() {
        "draft" => mon::ReportStatus::Draft,
        "submitted" => mon::ReportStatus::Submitted,
        "checked" => mon::ReportStatus::Checked,
        "accepted" => mon::ReportStatus::Accepted,
        "returned" => mon::ReportStatus::Returned,
        _ => mon::ReportStatus::Unspecified,
    };
    let colour = |word: &str| colour_to(word) as i32;
    let (deadline_status, late) = deadline_to(deadline);
    mon::RoundSubject {
        round_id: s.round_id,
        subject_key: s.subject_key.clone(),
        pro_code: s.pro_code.clone(),
        department_code: s.department_code.clone(),
        agency_code: s.agency_code.clone(),
        name: s.name.clone(),
        fund_source: fund_source_to(&s.fund_source) as i32,
        special_field: special_field_to(&s.special_field) as i32,
        amount: decimal(s.amount.0),
        goal_state: goal_state as i32,
        goal_id: s.goal_id,
        goal_version: i64::from(s.goal_version),
        year_goal: s.year_goal.clone(),
        key: s.is_key,
        budget_colour: colour(&s.budget_colour),
        goal_colour: colour(&s.goal_colour),
        forecast_colour: colour(&s.forecast_colour),
        execution_forecast_colour: colour(&s.execution_forecast_colour),
        deviated: s.deviated,
        report_status: report_status as i32,
        deadline_status: deadline_status as i32,
        late,
        origin: s.origin.clone(),
    }
}

/// One row of a round's statistics as the message: its group (the one dimension its key
/// names; none on the totals row), counts, and amounts in 元.
pub fn statistics_row_to(key: &StatsKey, r: &StatsRow) -> mon::RoundStatisticsRow {
    let n = |count: u64| i64::try_from(count).unwrap_or(i64::MAX);
    let colours = |c: &ColourTally| mon::ColourCounts {
        none: n(c.none.count),
        blue: n(c.blue.count),
        green: n(c.green.count),
        yellow: n(c.yellow.count),
        red: n(c.red.count),
    };
    mon::RoundStatisticsRow {
        department_code: key.department_code.clone().unwrap_or_default(),
        fund_source: key
            .fund_source
            .as_deref()
            .map_or(0, |w| fund_source_to(w) as i32),
        special_field: key
            .special_field
            .as_deref()
            .map_or(0, |w| special_field_to(w) as i32),
        subjects: n(r.subjects.count),
        matched: n(r.matched.count),
        without_goal: n(r.without_goal.count),
        reported: n(r.reported.count),
        overdue: n(r.overdue.count),
        budget: Some(colours(&r.budget)),
        goal: Some(colours(&r.goal)),
        forecast: Some(colours(&r.forecast)),
        deviated: n(r.deviated.count),
        actions_opened: n(r.actions_opened),
        actions_verified: n(r.actions_verified),
        amount: decimal(r.subjects.amount),
        deviated_amount: decimal(r.deviated.amount),
        executed: decimal(r.executed),
    }
}

// -- text maxima ---------------------------------------------------------------------------------

impl Bounded<Monitoring> for mon::MonitoringRules {
    fn bound(&self, t: &mut Texts, at: &str) {
        for (field, d) in [
            ("budget_red_below", &self.budget_red_below),
            ("budget_yellow_below", &self.budget_yellow_below),
            ("indicator_red_below", &self.indicator_red_below),
            ("indicator_yellow_below", &self.indicator_yellow_below),
            ("indicator_blue_from", &self.indicator_blue_from),
            ("forecast_yellow_within", &self.forecast_yellow_within),
            ("execution_forecast_below", &self.execution_forecast_below),
        ] {
            t.number(at, field, "预警线", d.as_ref());
        }
        t.text(
            at,
            "forecast_method",
            "执行预测方法",
            &self.forecast_method,
            CODE,
        );
        t.text(at, "label", "规则名称", &self.label, SHORT);
    }
}

impl Bounded<Monitoring> for mon::SetMonitoringRulesRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        super::limits::nested(t, at, "rules", &self.rules);
    }
}

impl Bounded<Monitoring> for mon::OpenRoundRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "name", "轮次名称", &self.name, NAME);
        t.text(at, "starts_on", "开始日期", &self.starts_on, CODE);
        t.text(at, "deadline", "截止日期", &self.deadline, CODE);
        if let Some(scope) = &self.scope {
            let at = format!("{at}scope.");
            t.each(
                &at,
                "department_codes",
                "部门编码",
                &scope.department_codes,
                CODE,
            );
            t.each(&at, "pro_codes", "项目编码", &scope.pro_codes, CODE);
        }
    }
}

impl Bounded<Monitoring> for mon::ReopenUnitRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "agency_code", "单位编码", &self.agency_code, CODE);
        t.text(at, "new_deadline", "新截止日期", &self.new_deadline, CODE);
        t.text(at, "reason", "重新开放原因", &self.reason, LONG);
    }
}

impl Bounded<Monitoring> for mon::ListRoundSubjectsRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(
            at,
            "department_code",
            "部门编码",
            &self.department_code,
            CODE,
        );
        t.text(at, "agency_code", "单位编码", &self.agency_code, CODE);
    }
}

impl Bounded<Monitoring> for mon::GetRoundSubjectRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "subject_key", "监控对象", &self.subject_key, CODE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_words_round_trip() {
        let w = fund_source_word(pb::FundSource::GovernmentFund as i32);
        assert_eq!(w, "government_fund");
        assert_eq!(fund_source_to(&w), pb::FundSource::GovernmentFund);
        let w = special_field_word(pb::SpecialField::Ppp as i32);
        assert_eq!(w, "ppp");
        assert_eq!(special_field_to(&w), pb::SpecialField::Ppp);
        assert_eq!(fund_source_word(0), "");
    }

    #[test]
    fn rules_from_the_wire_keep_defaults_and_name_bad_fields() {
        let mut m = mon::MonitoringRules::default();
        assert_eq!(rules_from(&m).unwrap(), MonitoringRules::default());
        m.indicator_red_below = decimal(Decimal::from(90));
        m.forecast_method = "guess".into();
        let v = rules_from(&m).unwrap_err();
        let fields: Vec<&str> = v.iter().map(|v| v.field.as_str()).collect();
        assert!(fields.contains(&"rules.forecast_method"), "{fields:?}");
        assert!(
            fields.contains(&"rules.indicator_yellow_below"),
            "{fields:?}"
        );
    }

    #[test]
    fn scope_keeps_by_department_and_code() {
        let s = Scope {
            department_codes: vec!["D1".into()],
            pro_codes: vec![],
        };
        assert!(s.keeps("D1", "P9") && !s.keeps("D2", "P9"));
        assert!(Scope::default().keeps("D2", "P9"));
    }
}
