//! `pbm.monitoring.v1.ExecutionService` on the wire: the text maxima of its requests, rows from
//! the wire and from a workbook as the text the rules check ([`RowText`]), the workbook's
//! columns, stored months and the forecast warning back to the wire, and a project of the
//! execution summary.

use pbm_proto::monitoring::v1 as proto;
use pbm_server::wire::{decimal, stamp};
use pbm_xlsx::{Column, col};

use super::limits::{Bounded, CODE, Monitoring, NAME, Texts, each_nested};
use crate::domain::Warning;
use crate::domain::bands::{Axis, Colour};
use crate::domain::execution::{Figures, RowText, budget_and_rate};
use crate::store::{ExecutionMonthRow, ProjectSummary};

impl Bounded<Monitoring> for proto::ExecutionRow {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "pro_code", "项目编码", &self.pro_code, CODE);
        t.number(
            at,
            "initial_budget",
            "年初预算数",
            self.initial_budget.as_ref(),
        );
        t.number(
            at,
            "adjusted_budget",
            "全年预算数",
            self.adjusted_budget.as_ref(),
        );
        t.number(at, "allocated", "拨付数", self.allocated.as_ref());
        t.number(at, "executed", "累计执行数", self.executed.as_ref());
        t.text(at, "agency_code", "单位编码", &self.agency_code, CODE);
        t.text(
            at,
            "department_code",
            "主管部门编码",
            &self.department_code,
            CODE,
        );
        t.text(at, "name", "项目名称", &self.name, NAME);
    }
}

impl Bounded<Monitoring> for proto::PushExecutionRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        each_nested(t, at, "rows", &self.rows);
    }
}

impl Bounded<Monitoring> for proto::StreamExecutionSummaryRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.each(at, "pro_codes", "项目编码", &self.pro_codes, CODE);
    }
}

impl Bounded<Monitoring> for proto::GetExecutionHistoryRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "pro_code", "项目编码", &self.pro_code, CODE);
    }
}

/// A row of a push as the text the rules check.
pub fn row_text(r: &proto::ExecutionRow) -> RowText {
    let text = |d: &Option<pbm_proto::common::v1::Decimal>| {
        d.as_ref().map(|d| d.value.clone()).unwrap_or_default()
    };
    RowText {
        pro_code: r.pro_code.clone(),
        month: r.month.to_string(),
        initial_budget: text(&r.initial_budget),
        adjusted_budget: text(&r.adjusted_budget),
        allocated: text(&r.allocated),
        executed: text(&r.executed),
        agency_code: r.agency_code.clone(),
        department_code: r.department_code.clone(),
        name: r.name.clone(),
    }
}

/// The workbook's columns: the 预算管理一体化 element name first where there is one
/// (docs/DOMAIN.md "Interoperability"; `DEPT_CODE` is PBM's, as in the goal export), then the
/// Chinese; the figures have Chinese headers only. Any order, extra columns ignored.
pub const COLUMNS: [Column; 10] = [
    col("PRO_CODE 项目编码", true, 18.0),
    col("月份", true, 6.0),
    col("年初预算数", true, 16.0),
    col("全年预算数（调整后）", false, 16.0),
    col("拨付数", false, 16.0),
    col("累计执行数", true, 16.0),
    col("AGENCY_CODE 单位代码", false, 14.0),
    col("DEPT_CODE 主管部门", false, 14.0),
    col("项目名称", false, 30.0),
    col("FISCAL_YEAR 预算年度", false, 10.0),
];

/// Index of the FISCAL_YEAR column in [`COLUMNS`].
pub const YEAR_COLUMN: usize = 9;

/// A workbook row as the text the rules check (cells in the order of [`COLUMNS`]).
pub fn workbook_row(cells: &[String]) -> RowText {
    let cell = |i: usize| cells.get(i).cloned().unwrap_or_default();
    RowText {
        pro_code: cell(0),
        month: cell(1),
        initial_budget: cell(2),
        adjusted_budget: cell(3),
        allocated: cell(4),
        executed: cell(5),
        agency_code: cell(6),
        department_code: cell(7),
        name: cell(8),
    }
}

/// The workbook header of a row's field (`month` → 「月份」); a field already named by its
/// header is kept.
pub fn header_of(field: &str) -> String {
    let i = match field {
        "pro_code" => 0,
        "month" => 1,
        "initial_budget" => 2,
        "adjusted_budget" => 3,
        "allocated" => 4,
        "executed" => 5,
        "agency_code" => 6,
        "department_code" => 7,
        "name" => 8,
        _ => return field.to_owned(),
    };
    COLUMNS[i].header.to_owned()
}

/// A stored month on the wire.
pub fn month_to(r: &ExecutionMonthRow) -> proto::ExecutionMonth {
    proto::ExecutionMonth {
        month: r.month,
        initial_budget: decimal(r.initial_budget.0),
        adjusted_budget: r.adjusted_budget.and_then(|m| decimal(m.0)),
        allocated: r.allocated.and_then(|m| decimal(m.0)),
        executed: decimal(r.executed.0),
        version: r.version,
        changed: Some(stamp(&r.changed_by, r.changed_at)),
    }
}

/// A project of the execution summary on the wire: its latest month's figures with the budget
/// base and the rate ([`budget_and_rate`]), zeros without figures; `None` only when the rate
/// cannot be represented (no stored figures reach that).
pub fn summary_to(p: &ProjectSummary) -> Option<proto::ExecutionSummary> {
    let zero = || decimal(pbm_types::Decimal::ZERO);
    let mut s = proto::ExecutionSummary {
        pro_code: p.pro_code.clone(),
        initial_budget: zero(),
        executed: zero(),
        budget: zero(),
        execution_rate: zero(),
        ..Default::default()
    };
    if let Some(m) = &p.latest {
        let (budget, rate) = budget_and_rate(&Figures {
            initial_budget: m.initial_budget.0,
            adjusted_budget: m.adjusted_budget.map(|a| a.0),
            allocated: m.allocated.map(|a| a.0),
            executed: m.executed.0,
        })?;
        s.month = m.month;
        s.initial_budget = decimal(m.initial_budget.0);
        s.adjusted_budget = m.adjusted_budget.and_then(|a| decimal(a.0));
        s.executed = decimal(m.executed.0);
        s.budget = decimal(budget);
        s.execution_rate = decimal(rate);
    }
    if let Some(r) = &p.round {
        s.round_id = r.round_id;
        s.red_warnings = r.red_warnings;
        s.yellow_warnings = r.yellow_warnings;
        s.deviated = r.deviated;
    }
    Some(s)
}

fn colour_to(c: Option<Colour>) -> proto::Colour {
    match c {
        None => proto::Colour::Unspecified,
        Some(Colour::Blue) => proto::Colour::Blue,
        Some(Colour::Green) => proto::Colour::Green,
        Some(Colour::Yellow) => proto::Colour::Yellow,
        Some(Colour::Red) => proto::Colour::Red,
    }
}

fn axis_to(a: Axis) -> proto::Axis {
    match a {
        Axis::Budget => proto::Axis::Budget,
        Axis::Indicator => proto::Axis::Indicator,
        Axis::Goal => proto::Axis::Goal,
        Axis::Forecast => proto::Axis::Forecast,
        Axis::ExecutionForecast => proto::Axis::ExecutionForecast,
    }
}

/// A computed warning on the wire, its explanation naming the rules used (`label`).
pub fn warning_to(
    subject_key: &str,
    axis: Axis,
    w: &Warning,
    rules_version: i64,
    label: &str,
    computed_at: chrono::NaiveDateTime,
) -> proto::Warning {
    let mut reason = w.reason.unwrap_or_default().to_owned();
    if reason.is_empty() && w.inconsistent {
        reason = crate::domain::bands::INCONSISTENT.to_owned();
    }
    proto::Warning {
        subject_key: subject_key.to_owned(),
        axis: axis_to(axis) as i32,
        seq: 0,
        colour: colour_to(w.colour) as i32,
        reason,
        progress: w.progress.and_then(decimal),
        explanation: format!("{}（{label}）", w.explanation),
        inputs: w
            .inputs
            .iter()
            .map(|i| (i.name.to_owned(), i.value.clone()))
            .collect(),
        rules_version,
        incomplete: w.incomplete,
        computed_at: stamp("", computed_at).at,
    }
}
