//! The one place warnings are computed and written (docs/drafts/MONITORING.md §1 "Warning", §2):
//! inside the caller's transaction, for some or all subjects of an OPEN round, from the round's
//! month and pinned rules, the snapshotted indicators, the year's execution months and the
//! reports' values. It replaces the subjects' rows in `monitoring_warnings` and refreshes their
//! denormalised colours and `deviated` flag in `round_subjects`. A CLOSED round is never
//! recomputed: its warnings are frozen.
//!
//! Called by OpenRound and SetRoundRules (every subject), by the execution service's pushes
//! ([`for_pro_codes`]) and by report saves and steps ([`subjects`] with the report's key).
//!
//! Per subject:
//! * `budget` (seq 0): the cumulative `executed` of the latest month ≤ M against the adjusted
//!   budget of that month, else its initial budget (`domain::budget_warning`);
//! * `execution_forecast` (seq 0): the year-end projection from the months ≤ M;
//! * with an approved goal only, per snapshotted indicator (seq = the indicator's seq, from 1):
//!   `indicator` from the reported value to date and `forecast` from the full-year forecast and
//!   likelihood; then `goal` and `forecast` (seq 0) as the worst of them. A subject without an
//!   approved goal has no goal or forecast colour (`none`).
//!
//! Every row's explanation ends with the label of the rules version it used (「（2026年度监控
//! 规则第1版）」), and the row records that version.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use pbm_db::{AnyConnection, Money};
use pbm_server::ApiError;
use pbm_types::Decimal;

use crate::domain::rules::{MonitoringRules, rules_label};
use crate::domain::{
    Achieved, Axis, Direction, Likelihood, QualitativeTier, Warning, budget_warning, deviated,
    execution_forecast, forecast_warning, goal_warning, indicator_warning,
    project_forecast_warning,
};
use crate::store::{
    self, Colours, ExecutionMonth, IndicatorRow, ReportedValue, SubjectRow, WarningRow,
};

/// The reason recorded on a coloured warning whose 确定能 rating contradicts a red forecast.
const INCONSISTENT: &str = "INCONSISTENT";

/// Recomputes the warnings of `keys` (every subject when `None`) of round `round_id`, inside
/// the caller's transaction. Returns how many subjects were recomputed: 0 for a round that is
/// not OPEN (or does not exist) and for keys it does not hold.
pub fn subjects(
    conn: &mut AnyConnection,
    round_id: i64,
    keys: Option<&[String]>,
    now: NaiveDateTime,
) -> Result<usize, ApiError> {
    let Some(round) = store::round_row(conn, round_id)? else {
        return Ok(0);
    };
    if round.status != "open" {
        return Ok(0);
    }
    let rules = pinned_rules(conn, round.fiscal_year, round.rules_version)?;
    let subjects = store::subjects_of(conn, round_id, keys)?;
    if subjects.is_empty() {
        return Ok(0);
    }
    let asked = keys.is_some();
    let keys: Vec<String> = subjects.iter().map(|s| s.subject_key.clone()).collect();
    // Every subject: the reads scan the round and the year instead of listing keys.
    let scoped = asked.then_some(keys.as_slice());
    let indicators = store::indicators_of(conn, round_id, scoped)?;
    let codes: Vec<String> = subjects
        .iter()
        .filter(|s| !s.pro_code.is_empty())
        .map(|s| s.pro_code.clone())
        .collect();
    let execution = store::execution_until(
        conn,
        round.fiscal_year,
        round.months_to,
        scoped.map(|_| codes.as_slice()),
    )?;
    let reported = store::reported_values(conn, round_id, scoped)?;
    let pinned = Pinned {
        rules: &rules,
        version: round.rules_version,
        label: round.rules_label.clone(),
        months: u8::try_from(round.months_to).unwrap_or(0),
        round_id,
        now,
    };
    let mut rows = Vec::new();
    let mut changed = Vec::new();
    for s in &subjects {
        let (warnings, colours) = compute(
            &pinned,
            s,
            indicators
                .get(&s.subject_key)
                .map_or(&[][..], Vec::as_slice),
            execution.get(&s.pro_code).map_or(&[][..], Vec::as_slice),
            reported.get(&s.subject_key).map_or(&[][..], Vec::as_slice),
        );
        rows.extend(warnings);
        if colours != s.colours() {
            changed.push((s.subject_key.clone(), colours));
        }
    }
    store::set_colours(conn, round_id, &changed)?;
    store::replace_warnings(conn, round_id, &keys, &rows)?;
    Ok(subjects.len())
}

/// Recomputes, in every OPEN round of `fiscal_year`, the subjects whose PRO_CODE is one of
/// `pro_codes` (after their execution figures changed). Returns how many subjects were
/// recomputed over all rounds.
pub fn for_pro_codes(
    conn: &mut AnyConnection,
    fiscal_year: i32,
    pro_codes: &[String],
    now: NaiveDateTime,
) -> Result<usize, ApiError> {
    let mut total = 0;
    for round_id in store::open_rounds(conn, fiscal_year)? {
        let keys = store::keys_of_pro_codes(conn, round_id, pro_codes)?;
        if !keys.is_empty() {
            total += subjects(conn, round_id, Some(&keys), now)?;
        }
    }
    Ok(total)
}

/// The rules of `version` of a year (version 0, or a version not found: the defaults).
pub fn pinned_rules(
    conn: &mut AnyConnection,
    fiscal_year: i32,
    version: i64,
) -> Result<MonitoringRules, ApiError> {
    if version == 0 {
        return Ok(MonitoringRules::default());
    }
    match store::rules_version(conn, fiscal_year, version)? {
        Some(row) => serde_json::from_str(&row.bands).map_err(ApiError::internal),
        None => Err(ApiError::internal(format!(
            "rules version {version} of {fiscal_year} not found"
        ))),
    }
}

/// The label of rules `version` of a year.
pub fn label_of(fiscal_year: i32, version: i64) -> String {
    rules_label(fiscal_year, u32::try_from(version).unwrap_or(u32::MAX))
}

/// What every warning of one recomputation shares.
pub(crate) struct Pinned<'a> {
    pub rules: &'a MonitoringRules,
    pub version: i64,
    pub label: String,
    pub months: u8,
    pub round_id: i64,
    pub now: NaiveDateTime,
}

impl Pinned<'_> {
    fn row(&self, key: &str, axis: Axis, seq: i32, w: &Warning) -> WarningRow {
        let reason = match (w.reason, w.inconsistent) {
            (Some(r), _) => r,
            (None, true) => INCONSISTENT,
            (None, false) => "",
        };
        WarningRow {
            round_id: self.round_id,
            subject_key: key.to_owned(),
            axis: axis.as_db().to_owned(),
            seq,
            colour: w.colour_db().to_owned(),
            reason: reason.to_owned(),
            progress: w.progress.map(Money),
            inputs: w.inputs_json().to_string(),
            explanation: format!("{}（{}）", w.explanation, self.label),
            incomplete: w.incomplete,
            rules_version: self.version,
            computed_at: self.now,
        }
    }
}

/// A reported text as a value of an indicator of `direction`: a tier for 定性, a number
/// otherwise (the other kind is kept, so the rules can say it does not fit); blank or
/// unreadable text is not reported.
fn value(direction: Direction, text: &str) -> Achieved {
    let text = text.trim();
    if text.is_empty() {
        return Achieved::None;
    }
    let number = || pbm_types::decimal::parse(text).ok().map(Achieved::Number);
    let tier = || QualitativeTier::parse(text).map(Achieved::Tier);
    let found = if direction == Direction::Qualitative {
        tier().or_else(number)
    } else {
        number().or_else(tier)
    };
    found.unwrap_or(Achieved::None)
}

fn likelihood(text: &str) -> Option<Likelihood> {
    let text = text.trim();
    Likelihood::from_db(text).or_else(|| Likelihood::from_chinese(text))
}

/// The warnings and colours of one subject (pure: the unit tests call it directly).
pub(crate) fn compute(
    p: &Pinned<'_>,
    s: &SubjectRow,
    indicators: &[IndicatorRow],
    months: &[ExecutionMonth],
    reported: &[ReportedValue],
) -> (Vec<WarningRow>, Colours) {
    let key = s.subject_key.as_str();
    let latest = months
        .iter()
        .filter(|m| i64::from(m.month) <= i64::from(p.months))
        .max_by_key(|m| m.month);
    let (executed, initial, adjusted) = match latest {
        Some(m) => (
            Some(m.executed.0),
            Some(m.initial_budget.0),
            m.adjusted_budget.map(|a| a.0),
        ),
        None => (None, None, None),
    };
    let history: Vec<(u8, Decimal)> = months
        .iter()
        .filter_map(|m| {
            u8::try_from(m.month)
                .ok()
                .map(|month| (month, m.executed.0))
        })
        .collect();
    let budget = budget_warning(executed, initial, adjusted, p.months, p.rules);
    let early = execution_forecast(&history, p.months, initial, adjusted, p.rules);
    let mut rows = vec![
        p.row(key, Axis::Budget, 0, &budget),
        p.row(key, Axis::ExecutionForecast, 0, &early),
    ];
    let (mut goal_colour, mut forecast_colour) = (None, None);
    if s.goal_state == "approved" {
        let by_seq: HashMap<i32, &ReportedValue> = reported.iter().map(|r| (r.seq, r)).collect();
        let mut to_date = Vec::with_capacity(indicators.len());
        let mut year_end = Vec::with_capacity(indicators.len());
        for ind in indicators {
            let direction = Direction::from_db(&ind.direction).unwrap_or(Direction::Qualitative);
            let target = ind.target_num.map(|t| t.0);
            let r = by_seq.get(&ind.seq);
            let achieved = r.map_or(Achieved::None, |r| value(direction, &r.achieved));
            let forecast = r.map_or(Achieved::None, |r| value(direction, &r.forecast));
            let likely = r.and_then(|r| likelihood(&r.likelihood));
            let w = indicator_warning(
                direction,
                target,
                &ind.target_value,
                &achieved,
                p.months,
                p.rules,
            );
            let f = forecast_warning(direction, target, &forecast, likely, p.rules);
            rows.push(p.row(key, Axis::Indicator, ind.seq, &w));
            rows.push(p.row(key, Axis::Forecast, ind.seq, &f));
            to_date.push(w);
            year_end.push(f);
        }
        let goal = goal_warning(&to_date);
        let forecast = project_forecast_warning(&year_end);
        rows.push(p.row(key, Axis::Goal, 0, &goal));
        rows.push(p.row(key, Axis::Forecast, 0, &forecast));
        goal_colour = goal.colour;
        forecast_colour = forecast.colour;
    }
    let word = |c: Option<crate::domain::Colour>| c.map_or("none", |c| c.as_db()).to_owned();
    let colours = Colours {
        budget: budget.colour_db().to_owned(),
        goal: word(goal_colour),
        forecast: word(forecast_colour),
        execution_forecast: early.colour_db().to_owned(),
        deviated: deviated(budget.colour, goal_colour, forecast_colour),
    };
    (rows, colours)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn subject(state: &str) -> SubjectRow {
        SubjectRow {
            round_id: 1,
            subject_key: "P1".into(),
            pro_code: "P1".into(),
            department_code: "D".into(),
            agency_code: "U".into(),
            name: "项目".into(),
            fund_source: "general_public".into(),
            special_field: "none".into(),
            amount: Money(dec!(1000)),
            goal_state: state.into(),
            goal_id: 1,
            goal_version: 1,
            year_goal: String::new(),
            origin: "goal".into(),
            is_key: false,
            budget_colour: "none".into(),
            goal_colour: "none".into(),
            forecast_colour: "none".into(),
            execution_forecast_colour: "none".into(),
            deviated: false,
            report_status: "none".into(),
            snapshot_at: NaiveDateTime::default(),
        }
    }

    fn indicator(seq: i32, direction: &str, target: &str) -> IndicatorRow {
        IndicatorRow {
            round_id: 1,
            subject_key: "P1".into(),
            seq,
            level1_name: "产出指标".into(),
            level2_name: "数量指标".into(),
            name: format!("指标{seq}"),
            direction: direction.into(),
            unit: "处".into(),
            target_value: target.into(),
            target_num: pbm_types::decimal::parse(target).ok().map(Money),
            library_code: String::new(),
            library_version: 0,
        }
    }

    fn month(m: i32, executed: Decimal) -> ExecutionMonth {
        ExecutionMonth {
            pro_code: "P1".into(),
            month: m,
            initial_budget: Money(dec!(10000000)),
            adjusted_budget: None,
            executed: Money(executed),
            agency_code: "U".into(),
            department_code: "D".into(),
            name: "项目".into(),
        }
    }

    fn reported(seq: i32, achieved: &str, forecast: &str, likelihood: &str) -> ReportedValue {
        ReportedValue {
            subject_key: "P1".into(),
            seq,
            achieved: achieved.into(),
            forecast: forecast.into(),
            likelihood: likelihood.into(),
        }
    }

    fn pinned(rules: &MonitoringRules) -> Pinned<'_> {
        Pinned {
            rules,
            version: 1,
            label: label_of(2026, 1),
            months: 6,
            round_id: 1,
            now: NaiveDateTime::default(),
        }
    }

    #[test]
    fn budget_progress_of_the_latest_month_at_or_before_the_round() {
        let rules = MonitoringRules::default();
        // 3,000,000 of 10,000,000 by June: 60 % → yellow; July's figure is after the round.
        let months = [
            month(5, dec!(2000000)),
            month(6, dec!(3000000)),
            month(7, dec!(9000000)),
        ];
        let (rows, colours) = compute(&pinned(&rules), &subject("no_goal"), &[], &months, &[]);
        assert_eq!(colours.budget, "yellow");
        assert!(colours.deviated);
        assert_eq!(colours.goal, "none");
        let budget = rows.iter().find(|r| r.axis == "budget").unwrap();
        assert_eq!(budget.progress, Some(Money(dec!(60.00))));
        assert_eq!(budget.rules_version, 1);
        assert!(
            budget.explanation.ends_with("（2026年度监控规则第1版）"),
            "{}",
            budget.explanation
        );
        // Without an approved goal: budget and execution forecast only.
        assert_eq!(rows.len(), 2);
    }

    #[test]
    fn no_execution_gives_no_colour_and_no_deviation() {
        let rules = MonitoringRules::default();
        let (rows, colours) = compute(&pinned(&rules), &subject("approved"), &[], &[], &[]);
        assert_eq!(colours.budget, "none");
        assert!(!colours.deviated);
        let budget = rows.iter().find(|r| r.axis == "budget").unwrap();
        assert_eq!(budget.reason, "NO_EXECUTION");
    }

    #[test]
    fn indicators_roll_up_to_the_goal_and_the_forecast() {
        let rules = MonitoringRules::default();
        let indicators = [
            indicator(1, "ge", "12"),
            indicator(2, "le", "50"),
            indicator(3, "qualitative", "明显改善"),
        ];
        // 6 of 12 by June: 100 % green; 40 ≤ 50 green; 部分达成 yellow → goal yellow.
        let values = [
            reported(1, "6", "12", "certain"),
            reported(2, "40", "45", "确定能"),
            reported(3, "部分达成并具有一定效果", "达成", "possible"),
        ];
        let months = [month(6, dec!(5000000))];
        let (rows, colours) = compute(
            &pinned(&rules),
            &subject("approved"),
            &indicators,
            &months,
            &values,
        );
        assert_eq!(colours.goal, "yellow");
        assert_eq!(colours.forecast, "green");
        assert_eq!(colours.budget, "green");
        assert!(colours.deviated);
        // budget, execution forecast, 3 × (indicator, forecast), goal, forecast.
        assert_eq!(rows.len(), 10);
        let first = rows
            .iter()
            .find(|r| r.axis == "indicator" && r.seq == 1)
            .unwrap();
        assert_eq!(first.colour, "green");
        assert_eq!(first.progress, Some(Money(dec!(100.00))));
        let project_forecast = rows
            .iter()
            .find(|r| r.axis == "forecast" && r.seq == 0)
            .unwrap();
        assert_eq!(project_forecast.colour, "green");
    }

    #[test]
    fn unreported_indicators_leave_the_goal_without_colour() {
        let rules = MonitoringRules::default();
        let indicators = [indicator(1, "ge", "12")];
        let (rows, colours) = compute(&pinned(&rules), &subject("approved"), &indicators, &[], &[]);
        assert_eq!(colours.goal, "none");
        let goal = rows.iter().find(|r| r.axis == "goal").unwrap();
        assert_eq!(goal.reason, "NOT_REPORTED");
    }

    #[test]
    fn impossible_forces_red_and_certain_with_red_is_marked() {
        let rules = MonitoringRules::default();
        let indicators = [indicator(1, "ge", "12")];
        let values = [reported(1, "6", "5", "certain")];
        let (rows, colours) = compute(
            &pinned(&rules),
            &subject("approved"),
            &indicators,
            &[],
            &values,
        );
        assert_eq!(colours.forecast, "red");
        assert!(colours.deviated);
        let f = rows
            .iter()
            .find(|r| r.axis == "forecast" && r.seq == 1)
            .unwrap();
        assert_eq!(f.reason, INCONSISTENT);
    }

    #[test]
    fn reported_texts_are_read_by_the_indicators_direction() {
        assert_eq!(value(Direction::Ge, " 12.5 "), Achieved::Number(dec!(12.5)));
        assert_eq!(
            value(Direction::Qualitative, "达成"),
            Achieved::Tier(QualitativeTier::Achieved)
        );
        assert_eq!(value(Direction::Ge, ""), Achieved::None);
        assert_eq!(value(Direction::Ge, "很多"), Achieved::None);
        assert_eq!(likelihood("完全不可能"), Some(Likelihood::Impossible));
        assert_eq!(likelihood("possible"), Some(Likelihood::Possible));
    }
}
