//! The warning bands of 双监控: budget execution, each indicator, the goal, the full-year
//! forecast; colours, the rules record and the self-explaining [`Warning`].
//!
//! Rule: docs/DOMAIN.md "Warning bands" (budget progress `E ÷ B ÷ (M ÷ 12) × 100`: < 60 red,
//! < 80 yellow, else green; a `≥` indicator `a ÷ (t ÷ 12 × M) × 100`: < 60 red, < 80 yellow,
//! < 120 green, ≥ 120 blue; `≤`: a ≤ t green, else red; 定性: the three tiers of "Indicator
//! formulas" map to green, yellow and red; the goal warning is the worst indicator, red worst,
//! then yellow, green and blue), docs/DOMAIN.md "Indicator formulas" (the `=` rule, the 定性
//! tiers), docs/DOMAIN.md "Exact numbers and rounding" (exact decimals, two places half-up) and
//! docs/DOMAIN.md "Configuration per region and year" (every band is *(config)*: a
//! [`MonitoringRules`] per region and fiscal year, national defaults until a region sets its own).
//! The design: docs/drafts/MONITORING.md §2 items 1–7 and "Rules record".
//!
//! Every comparison is exact: it multiplies out and never divides ("progress < r" is decided as
//! `100·12·a < r·t·M` by [`crate::domain::exact`]). Only the displayed progress is a quotient,
//! rounded half-up to two places.
//!
//! The project's choices (**PROPOSAL**s of the draft, where DOMAIN.md is silent):
//! * **Budget base.** B is the 全年(调整后)预算数 `adjusted_budget` when the budget system sent
//!   one, else the 年初预算数 `initial_budget` (DOMAIN says "full-year budget"; the issue names
//!   both). A base of 0 (or none) gives no colour, `NO_BUDGET`. No blue on this axis.
//! * **`≥` with a target ≤ 0** is GREEN: any achievement meets it.
//! * **`=`**: with t = 0, a ≤ 0 is GREEN, else RED; with t > 0 it is banded as `≥`, blue
//!   included (over-running an "=" target is what blue signals); with t < 0 as `≥` with a
//!   target ≤ 0 (GREEN).
//! * **`≤`** is not pro-rated by M: DOMAIN compares the value to date with the year's target.
//! * **Goal warning with gaps.** The worst of the indicators that have a colour, marked
//!   `incomplete` when some have none; none at all gives `NOT_REPORTED`.
//! * **Forecast deviation** (DOMAIN gives no band), per indicator, with f the full-year
//!   forecast and w = `forecast_yellow_within` (default 10): `≥` (and `=` with t > 0) f ≥ t
//!   GREEN, f ≥ t·(100 − w)/100 YELLOW, else RED; `≤` f ≤ t GREEN, f ≤ t·(100 + w)/100 YELLOW,
//!   else RED; `=` with t = 0 as its warning (f ≤ 0 GREEN, else RED); 定性 the forecast tier as
//!   for the warning. 完全不可能 forces RED. 确定能 with a RED forecast is kept and marked
//!   [`INCONSISTENT`], never refused. The project's forecast is the worst of its indicators.
//! * **Deviated** ([`deviated`]): the BUDGET, GOAL or FORECAST axis is YELLOW or RED (FORECAST
//!   counts, so that 完全不可能 with a green value to date is not hidden).
//! * **Rules** ([`MonitoringRules`], its validation and defaults): see
//!   [`crate::domain::rules`].
//! * A number where a tier is expected, or the reverse, gives no colour, `VALUE_KIND_MISMATCH`.

use pbm_types::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::common::{money, month_valid, plain, round2};
use crate::domain::exact::{le, lt};

/// The rules record lives in [`crate::domain::rules`]; re-exported here, beside the bands it
/// configures.
pub use crate::domain::rules::{ForecastMethod, MonitoringRules, rules_label};

/// No execution row at or before the round's month.
pub const NO_EXECUTION: &str = "NO_EXECUTION";
/// No budget base, or a base of 0.
pub const NO_BUDGET: &str = "NO_BUDGET";
/// Nothing reported for the indicator (or for any indicator of the goal).
pub const NOT_REPORTED: &str = "NOT_REPORTED";
/// A numeric indicator whose target is not a number.
pub const TARGET_NOT_NUMERIC: &str = "TARGET_NOT_NUMERIC";
/// A number reported for a 定性 indicator, or a tier for a numeric one.
pub const VALUE_KIND_MISMATCH: &str = "VALUE_KIND_MISMATCH";
/// A month outside 1–12.
pub const MONTH_INVALID: &str = "MONTH_INVALID";
/// The marker of a 确定能 rating with a RED forecast.
pub const INCONSISTENT: &str = "INCONSISTENT";

/// A warning colour. Ordered from best to worst, so that the worst of several is their `max`:
/// `Red > Yellow > Green > Blue` (docs/DOMAIN.md "Warning bands").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Colour {
    /// 蓝: far above the pro-rated target (the target was probably set too low).
    Blue,
    /// 绿: on track.
    Green,
    /// 黄: behind.
    Yellow,
    /// 红: well behind.
    Red,
}

text_enum!(Colour {
    Blue => "blue", "蓝";
    Green => "green", "绿";
    Yellow => "yellow", "黄";
    Red => "red", "红";
});

impl Colour {
    /// YELLOW or RED: a deviation that needs causes and goes on the deviation list.
    pub fn is_deviation(self) -> bool {
        matches!(self, Colour::Yellow | Colour::Red)
    }

    /// The colour as written in an explanation (`红色`).
    pub fn word(self) -> String {
        format!("{}色", self.chinese())
    }

    /// The worst of `colours`; `None` for none.
    pub fn worst(colours: impl IntoIterator<Item = Colour>) -> Option<Colour> {
        colours.into_iter().max()
    }
}

/// Whether a subject is on the deviation list (偏离清单): its budget, goal or forecast axis is
/// yellow or red (see the module doc).
pub fn deviated(budget: Option<Colour>, goal: Option<Colour>, forecast: Option<Colour>) -> bool {
    [budget, goal, forecast]
        .into_iter()
        .flatten()
        .any(Colour::is_deviation)
}

/// The axis a warning is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Axis {
    /// 预算执行 of the project.
    Budget,
    /// One indicator's value to date.
    Indicator,
    /// The goal: the worst indicator.
    Goal,
    /// The full-year forecast of the indicators.
    Forecast,
    /// The early warning on budget execution at the year's end.
    ExecutionForecast,
}

text_enum!(Axis {
    Budget => "budget", "预算执行";
    Indicator => "indicator", "指标完成";
    Goal => "goal", "目标完成";
    Forecast => "forecast", "全年预测";
    ExecutionForecast => "execution_forecast", "执行预测";
});

/// Direction of an indicator (docs/DOMAIN.md "Directions and units"); the same text forms as the
/// indicator and goal services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// ≥ 正向
    Ge,
    /// ≤ 反向
    Le,
    /// = 等于
    Eq,
    /// 定性
    Qualitative,
}

text_enum!(Direction {
    Ge => "ge", "≥";
    Le => "le", "≤";
    Eq => "eq", "=";
    Qualitative => "qualitative", "定性";
});

impl Direction {
    fn label(self) -> &'static str {
        match self {
            Direction::Ge => "正向指标（≥）",
            Direction::Le => "反向指标（≤）",
            Direction::Eq => "等于指标（=）",
            Direction::Qualitative => "定性指标",
        }
    }
}

/// The three tiers of a 定性 indicator (docs/DOMAIN.md "Indicator formulas").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualitativeTier {
    /// 达成
    Achieved,
    /// 部分达成并具有一定效果
    Partial,
    /// 未达成且效果较差
    NotAchieved,
}

text_enum!(QualitativeTier {
    Achieved => "achieved", "达成";
    Partial => "partial", "部分达成并具有一定效果";
    NotAchieved => "not_achieved", "未达成且效果较差";
});

impl QualitativeTier {
    /// Parses the Chinese text a unit types (or the stored word); `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        Self::from_chinese(text).or_else(|| Self::from_db(text.trim()))
    }

    /// 达成 green, 部分达成 yellow, 未达成 red.
    pub fn colour(self) -> Colour {
        match self {
            QualitativeTier::Achieved => Colour::Green,
            QualitativeTier::Partial => Colour::Yellow,
            QualitativeTier::NotAchieved => Colour::Red,
        }
    }
}

/// 完成目标可能性 (财预〔2019〕136号): how likely the unit thinks the goal is to be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Likelihood {
    /// 确定能
    Certain,
    /// 有可能
    Possible,
    /// 完全不可能
    Impossible,
}

text_enum!(Likelihood {
    Certain => "certain", "确定能";
    Possible => "possible", "有可能";
    Impossible => "impossible", "完全不可能";
});

/// A reported value: the value to date or the full-year forecast of an indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Achieved {
    /// A number, for `≥`, `≤` and `=` indicators.
    Number(Decimal),
    /// A tier, for 定性 indicators.
    Tier(QualitativeTier),
    /// Not reported.
    None,
}

impl Achieved {
    fn text(&self) -> String {
        match self {
            Achieved::Number(n) => plain(*n),
            Achieved::Tier(t) => t.chinese().to_owned(),
            Achieved::None => "未填报".to_owned(),
        }
    }
}

/// One named input of a warning (stored as the warning's `inputs` JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Input {
    /// Stable name (`executed`, `adjusted_budget`, `months` …).
    pub name: &'static str,
    /// The value as text (decimals in their canonical wire form).
    pub value: String,
}

/// A computed warning: the colour (or why there is none), the displayed progress, the inputs,
/// and an explanation in Chinese that shows the formula with the numbers. The rules' label and
/// version are not part of it: the use case records them beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// The colour; `None` comes with a [`Warning::reason`].
    pub colour: Option<Colour>,
    /// Why there is no colour (`NO_EXECUTION`, `NO_BUDGET`, `NOT_REPORTED`, …).
    pub reason: Option<&'static str>,
    /// The progress or rate shown, two places half-up, when the axis has one.
    pub progress: Option<Decimal>,
    /// What it was computed from.
    pub inputs: Vec<Input>,
    /// The formula with its numbers and the band, for people.
    pub explanation: String,
    /// A roll-up over indicators of which some have no colour.
    pub incomplete: bool,
    /// A 确定能 rating with a RED forecast ([`INCONSISTENT`]).
    pub inconsistent: bool,
}

impl Warning {
    fn none(reason: &'static str, inputs: Vec<Input>, explanation: impl Into<String>) -> Self {
        Self {
            colour: None,
            reason: Some(reason),
            progress: None,
            inputs,
            explanation: explanation.into(),
            incomplete: false,
            inconsistent: false,
        }
    }

    fn coloured(
        colour: Colour,
        progress: Option<Decimal>,
        inputs: Vec<Input>,
        explanation: String,
    ) -> Self {
        Self {
            colour: Some(colour),
            reason: None,
            progress,
            inputs,
            explanation,
            incomplete: false,
            inconsistent: false,
        }
    }

    /// The colour's stored word, `none` without one.
    pub fn colour_db(&self) -> &'static str {
        self.colour.map_or("none", Colour::as_db)
    }

    /// The inputs as one JSON object (`{"executed": "3000000", …}`).
    pub fn inputs_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.inputs
                .iter()
                .map(|i| {
                    (
                        i.name.to_owned(),
                        serde_json::Value::String(i.value.clone()),
                    )
                })
                .collect(),
        )
    }
}

pub(crate) fn input(name: &'static str, value: Decimal) -> Input {
    Input {
        name,
        value: pbm_types::decimal::to_wire(value),
    }
}

fn text_input(name: &'static str, value: impl Into<String>) -> Input {
    Input {
        name,
        value: value.into(),
    }
}

/// `Π num ÷ Π den`, rounded half-up to two places; `None` if it cannot be represented.
pub(crate) fn ratio(num: &[Decimal], den: &[Decimal]) -> Option<Decimal> {
    let product = |fs: &[Decimal]| {
        fs.iter()
            .try_fold(Decimal::ONE, |acc, f| acc.checked_mul(*f))
    };
    product(num)?.checked_div(product(den)?).map(round2)
}

pub(crate) fn shown(progress: Option<Decimal>) -> String {
    progress.map_or_else(|| "（数值过大，无法显示）".to_owned(), |p| p.to_string())
}

/// Which budget figure a progress is measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaseKind {
    /// 全年(调整后)预算数.
    Adjusted,
    /// 年初预算数.
    Initial,
}

text_enum!(BaseKind {
    Adjusted => "adjusted_budget", "全年预算数";
    Initial => "initial_budget", "年初预算数";
});

/// The budget base B of the progress: the adjusted budget, else the initial one (module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BudgetBase {
    /// B in 元.
    pub amount: Decimal,
    /// Which figure it is.
    pub kind: BaseKind,
}

impl BudgetBase {
    /// The adjusted budget if given, else the initial one.
    pub fn choose(initial: Option<Decimal>, adjusted: Option<Decimal>) -> Option<BudgetBase> {
        match (adjusted, initial) {
            (Some(amount), _) => Some(BudgetBase {
                amount,
                kind: BaseKind::Adjusted,
            }),
            (None, Some(amount)) => Some(BudgetBase {
                amount,
                kind: BaseKind::Initial,
            }),
            (None, None) => None,
        }
    }
}

/// The base of a budget progress, or the NO_BUDGET warning.
pub(crate) fn usable_base(
    initial: Option<Decimal>,
    adjusted: Option<Decimal>,
    inputs: &[Input],
) -> Result<BudgetBase, Warning> {
    match BudgetBase::choose(initial, adjusted) {
        Some(base) if base.amount > Decimal::ZERO => Ok(base),
        Some(base) => Err(Warning::none(
            NO_BUDGET,
            inputs.to_vec(),
            format!(
                "{} {}，无法计算预算执行进度",
                base.kind.chinese(),
                money(base.amount)
            ),
        )),
        None => Err(Warning::none(
            NO_BUDGET,
            inputs.to_vec(),
            "未提供全年预算数，无法计算预算执行进度",
        )),
    }
}

pub(crate) fn month_invalid(months: u8, inputs: Vec<Input>) -> Warning {
    Warning::none(
        MONTH_INVALID,
        inputs,
        format!("监控月份 {months} 无效：应为 1–12"),
    )
}

/// The band reached by a progress measured against `red < yellow [< blue]`, given the exact
/// test "progress < band"; returns the colour and how the band reads (`< 80 黄色`).
fn band(
    below: impl Fn(Decimal) -> bool,
    red: Decimal,
    yellow: Decimal,
    blue: Option<Decimal>,
) -> (Colour, String) {
    if below(red) {
        (Colour::Red, format!("< {} 红色", plain(red)))
    } else if below(yellow) {
        (Colour::Yellow, format!("< {} 黄色", plain(yellow)))
    } else {
        match blue {
            Some(blue) if !below(blue) => (
                Colour::Blue,
                format!("≥ {} 蓝色（目标值可能偏低）", plain(blue)),
            ),
            Some(blue) => (
                Colour::Green,
                format!("≥ {} 且 < {} 绿色", plain(yellow), plain(blue)),
            ),
            None => (Colour::Green, format!("≥ {} 绿色", plain(yellow))),
        }
    }
}

/// Budget execution (docs/drafts/MONITORING.md §2 item 1): `p = E ÷ B ÷ (M ÷ 12) × 100`, with E
/// the cumulative `executed` at the latest month ≤ M and B the [`BudgetBase`].
pub fn budget_warning(
    executed: Option<Decimal>,
    initial_budget: Option<Decimal>,
    adjusted_budget: Option<Decimal>,
    months: u8,
    rules: &MonitoringRules,
) -> Warning {
    let mut inputs = Vec::new();
    inputs.extend(executed.map(|e| input("executed", e)));
    inputs.extend(initial_budget.map(|b| input("initial_budget", b)));
    inputs.extend(adjusted_budget.map(|b| input("adjusted_budget", b)));
    inputs.push(input("months", Decimal::from(months)));
    if !month_valid(months) {
        return month_invalid(months, inputs);
    }
    let Some(e) = executed else {
        return Warning::none(
            NO_EXECUTION,
            inputs,
            format!("尚无截至{months}月的预算执行数，无法计算预算执行进度"),
        );
    };
    let base = match usable_base(initial_budget, adjusted_budget, &inputs) {
        Ok(base) => base,
        Err(w) => return w,
    };
    let (b, m) = (base.amount, Decimal::from(months));
    let c1200 = Decimal::from(1200);
    // p < r  ⇔  E·1200 < r·B·M  (B, M > 0)
    let (colour, reads) = band(
        |r| lt(&[e, c1200], &[r, b, m]),
        rules.budget_red_below,
        rules.budget_yellow_below,
        None,
    );
    let progress = ratio(&[e, c1200], &[b, m]);
    let explanation = format!(
        "预算执行进度 = 执行数 {} ÷ {} {} ÷ ({months} ÷ 12) × 100 = {}；{reads}",
        money(e),
        base.kind.chinese(),
        money(b),
        shown(progress),
    );
    Warning::coloured(colour, progress, inputs, explanation)
}

/// A `≥` progress (also `=` with t > 0): `p = a ÷ (t ÷ 12 × M) × 100`.
fn ge_colour(
    a: Decimal,
    t: Decimal,
    months: u8,
    rules: &MonitoringRules,
) -> (Colour, Option<Decimal>, String) {
    if t <= Decimal::ZERO {
        return (
            Colour::Green,
            None,
            format!("目标值 {} ≤ 0，任何完成值均达到目标：绿色", plain(t)),
        );
    }
    let m = Decimal::from(months);
    let c1200 = Decimal::from(1200);
    // p < r  ⇔  a·1200 < r·t·M  (t, M > 0)
    let (colour, reads) = band(
        |r| lt(&[a, c1200], &[r, t, m]),
        rules.ge_red_below,
        rules.ge_yellow_below,
        Some(rules.ge_blue_from),
    );
    let progress = ratio(&[a, c1200], &[t, m]);
    let text = format!(
        "完成进度 = 实际完成值 {} ÷ (目标值 {} ÷ 12 × {months}) × 100 = {}；{reads}",
        plain(a),
        plain(t),
        shown(progress)
    );
    (colour, progress, text)
}

/// The colour of a value for an `=` indicator with target 0: ≤ 0 green, else red.
fn zero_target(value: Decimal, what: &str) -> (Colour, String) {
    if value <= Decimal::ZERO {
        (
            Colour::Green,
            format!("目标值为 0，{what} {} ≤ 0：绿色", plain(value)),
        )
    } else {
        (
            Colour::Red,
            format!("目标值为 0，{what} {} > 0：红色", plain(value)),
        )
    }
}

/// Why a reported value cannot be banded, if so: not reported, the wrong kind, or a target
/// that is not a number.
fn unusable(
    direction: Direction,
    target_num: Option<Decimal>,
    target_text: &str,
    value: &Achieved,
    what: &str,
    inputs: &[Input],
) -> Option<Warning> {
    let (reason, text) = match (direction, value) {
        (_, Achieved::None) => (NOT_REPORTED, format!("尚未填报{what}")),
        (Direction::Qualitative, Achieved::Number(_)) => (
            VALUE_KIND_MISMATCH,
            format!(
                "定性指标的{what}应为“达成／部分达成并具有一定效果／未达成且效果较差”之一，不能填写数值"
            ),
        ),
        (_, Achieved::Tier(_)) if direction != Direction::Qualitative => (
            VALUE_KIND_MISMATCH,
            format!("定量指标的{what}应填写数值，不能填写完成档次"),
        ),
        _ if direction != Direction::Qualitative && target_num.is_none() => (
            TARGET_NOT_NUMERIC,
            format!("指标值「{target_text}」不是数值，无法计算"),
        ),
        _ => return None,
    };
    Some(Warning::none(
        reason,
        inputs.to_vec(),
        format!("{}：{text}", direction.label()),
    ))
}

/// One indicator's value to date (docs/drafts/MONITORING.md §2 items 2–5).
pub fn indicator_warning(
    direction: Direction,
    target_num: Option<Decimal>,
    target_text: &str,
    achieved: &Achieved,
    months: u8,
    rules: &MonitoringRules,
) -> Warning {
    let inputs = vec![
        text_input("direction", direction.as_db()),
        text_input("target", target_text.trim()),
        text_input("achieved", achieved.text()),
        input("months", Decimal::from(months)),
    ];
    if !month_valid(months) {
        return month_invalid(months, inputs);
    }
    if let Some(w) = unusable(
        direction,
        target_num,
        target_text,
        achieved,
        "实际完成值",
        &inputs,
    ) {
        return w;
    }
    let (colour, progress, text) = match (direction, *achieved, target_num) {
        (Direction::Qualitative, Achieved::Tier(tier), _) => {
            let c = tier.colour();
            (
                c,
                None,
                format!("完成情况「{}」：{}", tier.chinese(), c.word()),
            )
        }
        (Direction::Le, Achieved::Number(a), Some(t)) => {
            if a <= t {
                (
                    Colour::Green,
                    None,
                    format!("实际完成值 {} ≤ 目标值 {}：绿色", plain(a), plain(t)),
                )
            } else {
                (
                    Colour::Red,
                    None,
                    format!(
                        "实际完成值 {} > 目标值 {}（按全年目标值比较）：红色",
                        plain(a),
                        plain(t)
                    ),
                )
            }
        }
        (Direction::Eq, Achieved::Number(a), Some(t)) if t.is_zero() => {
            let (c, text) = zero_target(a, "实际完成值");
            (c, None, text)
        }
        (Direction::Ge | Direction::Eq, Achieved::Number(a), Some(t)) => {
            ge_colour(a, t, months, rules)
        }
        // Every other combination was answered by `unusable`.
        _ => {
            return Warning::none(
                VALUE_KIND_MISMATCH,
                inputs,
                format!("{}：无法计算", direction.label()),
            );
        }
    };
    let explanation = format!("{}：{text}", direction.label());
    Warning::coloured(colour, progress, inputs, explanation)
}

/// The worst over `parts` that have a colour; `incomplete` when some have none; `NOT_REPORTED`
/// when none has one. Inconsistent parts make the roll-up inconsistent.
fn roll_up(title: &str, parts: &[Warning]) -> Warning {
    let count = |c: Colour| parts.iter().filter(|w| w.colour == Some(c)).count();
    let missing = parts.iter().filter(|w| w.colour.is_none()).count();
    let mut inputs: Vec<Input> = Colour::ALL
        .iter()
        .rev()
        .map(|&c| text_input(c.as_db(), count(c).to_string()))
        .collect();
    inputs.push(text_input("none", missing.to_string()));
    let Some(worst) = Colour::worst(parts.iter().filter_map(|w| w.colour)) else {
        return Warning::none(
            NOT_REPORTED,
            inputs,
            format!("{title}：{}项指标均未填报或无法计算", parts.len()),
        );
    };
    let tally: Vec<String> = Colour::ALL
        .iter()
        .rev()
        .filter(|&&c| count(c) > 0)
        .map(|&c| format!("{}{}项", c.word(), count(c)))
        .collect();
    let mut explanation = format!(
        "{title}取各指标中最差的颜色：{} → {}",
        tally.join("、"),
        worst.word()
    );
    if missing > 0 {
        explanation.push_str(&format!("；另有{missing}项指标未填报或无法计算"));
    }
    let mut w = Warning::coloured(worst, None, inputs, explanation);
    w.incomplete = missing > 0;
    w.inconsistent = parts.iter().any(|p| p.inconsistent);
    w
}

/// A project's goal warning: the worst of its indicators (docs/drafts/MONITORING.md §2 item 6).
pub fn goal_warning(indicators: &[Warning]) -> Warning {
    roll_up("目标预警", indicators)
}

/// A project's FORECAST colour: the worst of its indicators' forecasts (§2 item 7).
pub fn project_forecast_warning(indicators: &[Warning]) -> Warning {
    roll_up("全年预测", indicators)
}

/// `t · (100 ± w) ÷ 100` for an explanation.
fn tolerance(t: Decimal, pct: Decimal) -> String {
    t.checked_mul(pct)
        .and_then(|x| x.checked_div(Decimal::ONE_HUNDRED))
        .map_or_else(|| "—".to_owned(), plain)
}

/// The numeric forecast band of §2 item 7; `None` when the direction is 定性.
fn forecast_numeric(
    direction: Direction,
    t: Decimal,
    f: Decimal,
    w: Decimal,
) -> Option<(Colour, Option<Decimal>, String)> {
    let hundred = Decimal::ONE_HUNDRED;
    let (fs, ts) = (plain(f), plain(t));
    Some(match direction {
        Direction::Qualitative => return None,
        Direction::Eq if t.is_zero() => {
            let (c, text) = zero_target(f, "预计全年完成值");
            (c, None, text)
        }
        Direction::Ge | Direction::Eq if t <= Decimal::ZERO => (
            Colour::Green,
            None,
            format!("目标值 {ts} ≤ 0，任何预测值均达到目标：绿色"),
        ),
        Direction::Ge | Direction::Eq => {
            let progress = ratio(&[f, hundred], &[t]);
            let low = hundred - w;
            let colour = if le(&[t], &[f]) {
                Colour::Green
            } else if le(&[t, low], &[f, hundred]) {
                Colour::Yellow
            } else {
                Colour::Red
            };
            let reads = match colour {
                Colour::Green => format!("不低于目标值 {ts}：绿色"),
                Colour::Yellow => format!(
                    "低于目标值 {ts}，但不低于目标值的 {}%（{}）：黄色",
                    plain(low),
                    tolerance(t, low)
                ),
                _ => format!(
                    "低于目标值的 {}%（{}）：红色",
                    plain(low),
                    tolerance(t, low)
                ),
            };
            (
                colour,
                progress,
                format!(
                    "预计全年完成值 {fs} {reads}（预计完成率 {}）",
                    shown(progress)
                ),
            )
        }
        Direction::Le => {
            let high = hundred + w;
            let colour = if f <= t {
                Colour::Green
            } else if le(&[f, hundred], &[t, high]) {
                Colour::Yellow
            } else {
                Colour::Red
            };
            let reads = match colour {
                Colour::Green => format!("不超过目标值 {ts}：绿色"),
                Colour::Yellow => format!(
                    "超过目标值 {ts}，但不超过目标值的 {}%（{}）：黄色",
                    plain(high),
                    tolerance(t, high)
                ),
                _ => format!(
                    "超过目标值的 {}%（{}）：红色",
                    plain(high),
                    tolerance(t, high)
                ),
            };
            (colour, None, format!("预计全年完成值 {fs} {reads}"))
        }
    })
}

/// One indicator's full-year forecast (docs/drafts/MONITORING.md §2 item 7, a PROPOSAL: see the
/// module doc). `target` is the indicator's numeric target (`None` for 定性 or a text target).
pub fn forecast_warning(
    direction: Direction,
    target: Option<Decimal>,
    forecast: &Achieved,
    likelihood: Option<Likelihood>,
    rules: &MonitoringRules,
) -> Warning {
    let mut inputs = vec![
        text_input("direction", direction.as_db()),
        text_input("forecast", forecast.text()),
        text_input("likelihood", likelihood.map_or("", Likelihood::as_db)),
    ];
    if let Some(t) = target {
        inputs.insert(1, input("target", t));
    }
    let target_text = target.map_or_else(|| "（非数值）".to_owned(), plain);
    let base = match unusable(
        direction,
        target,
        &target_text,
        forecast,
        "全年预测值",
        &inputs,
    ) {
        Some(w) => Err(w),
        None => match (*forecast, target) {
            (Achieved::Tier(tier), _) => {
                let c = tier.colour();
                Ok((
                    c,
                    None,
                    format!("预计全年完成情况「{}」：{}", tier.chinese(), c.word()),
                ))
            }
            (Achieved::Number(f), Some(t)) => {
                forecast_numeric(direction, t, f, rules.forecast_yellow_within)
                    .ok_or_else(|| Warning::none(VALUE_KIND_MISMATCH, inputs.clone(), "无法计算"))
            }
            _ => Err(Warning::none(
                VALUE_KIND_MISMATCH,
                inputs.clone(),
                "无法计算",
            )),
        },
    };
    let impossible = likelihood == Some(Likelihood::Impossible);
    let mut w = match base {
        Ok((colour, progress, text)) => {
            let colour = if impossible { Colour::Red } else { colour };
            let mut explanation = format!("{}：{text}", direction.label());
            if impossible {
                explanation.push_str("；完成目标可能性为「完全不可能」：红色");
            }
            Warning::coloured(colour, progress, inputs, explanation)
        }
        Err(_) if impossible => Warning::coloured(
            Colour::Red,
            None,
            inputs,
            format!(
                "{}：完成目标可能性为「完全不可能」：红色",
                direction.label()
            ),
        ),
        Err(none) => none,
    };
    if likelihood == Some(Likelihood::Certain) && w.colour == Some(Colour::Red) {
        w.inconsistent = true;
        w.explanation
            .push_str("；注意：完成目标可能性填报为「确定能」，与预测结果不一致");
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn rules() -> MonitoringRules {
        MonitoringRules::default()
    }

    fn ge(a: Decimal, t: Decimal, months: u8) -> Warning {
        indicator_warning(
            Direction::Ge,
            Some(t),
            &t.to_string(),
            &Achieved::Number(a),
            months,
            &rules(),
        )
    }

    #[test]
    fn colours_order_worst_last_and_have_names() {
        assert!(Colour::Red > Colour::Yellow);
        assert!(Colour::Yellow > Colour::Green);
        assert!(Colour::Green > Colour::Blue);
        assert_eq!(
            Colour::worst([Colour::Blue, Colour::Yellow, Colour::Green]),
            Some(Colour::Yellow)
        );
        assert_eq!(Colour::worst([]), None);
        for &c in Colour::ALL {
            assert_eq!(Colour::from_db(c.as_db()), Some(c));
            assert_eq!(Colour::from_chinese(c.chinese()), Some(c));
        }
        assert_eq!(Colour::Red.word(), "红色");
        assert_eq!(
            [Colour::Blue, Colour::Green, Colour::Yellow, Colour::Red].map(Colour::chinese),
            ["蓝", "绿", "黄", "红"]
        );
        for &t in QualitativeTier::ALL {
            assert_eq!(
                QualitativeTier::parse(&format!(" {} ", t.chinese())),
                Some(t)
            );
            assert_eq!(QualitativeTier::parse(t.as_db()), Some(t));
        }
        assert_eq!(QualitativeTier::parse("基本达成"), None);
        for &a in Axis::ALL {
            assert_eq!(Axis::from_db(a.as_db()), Some(a));
        }
    }

    #[test]
    fn deviated_means_yellow_or_red_on_budget_goal_or_forecast() {
        use Colour::*;
        assert!(!deviated(None, None, None));
        assert!(!deviated(Some(Green), Some(Blue), Some(Green)));
        assert!(deviated(Some(Yellow), None, None));
        assert!(deviated(None, Some(Red), None));
        assert!(deviated(Some(Green), Some(Green), Some(Red)));
    }

    #[test]
    fn budget_progress_as_the_draft_shows_it() {
        let w = budget_warning(
            Some(dec!(3000000)),
            Some(dec!(9000000)),
            Some(dec!(10000000)),
            6,
            &rules(),
        );
        assert_eq!(w.colour, Some(Colour::Yellow));
        assert_eq!(w.progress, Some(dec!(60.00)));
        assert_eq!(w.progress.unwrap().to_string(), "60.00");
        assert_eq!(
            w.explanation,
            "预算执行进度 = 执行数 3,000,000.00 ÷ 全年预算数 10,000,000.00 ÷ (6 ÷ 12) × 100 = \
             60.00；< 80 黄色"
        );
        assert_eq!(w.inputs_json()["adjusted_budget"], "10000000");
        assert_eq!(w.colour_db(), "yellow");
    }

    #[test]
    fn budget_bands_and_gaps() {
        let b = |e, initial, adjusted, m| budget_warning(e, initial, adjusted, m, &rules());
        // 2,999,999.99 of 10,000,000 at June: 59.9999998 shows as 60.00 but is red.
        let w = b(Some(dec!(2999999.99)), None, Some(dec!(10000000)), 6);
        assert_eq!(
            (w.colour, w.progress),
            (Some(Colour::Red), Some(dec!(60.00)))
        );
        assert!(w.explanation.ends_with("< 60 红色"));
        // 4,000,000 at June is exactly 80: green (no blue on this axis, even far above).
        assert_eq!(
            b(Some(dec!(4000000)), None, Some(dec!(10000000)), 6).colour,
            Some(Colour::Green)
        );
        let over = b(Some(dec!(30000000)), None, Some(dec!(10000000)), 6);
        assert_eq!(
            (over.colour, over.progress),
            (Some(Colour::Green), Some(dec!(600.00)))
        );
        // The initial budget when no adjusted one was sent.
        let w = b(Some(dec!(750)), Some(dec!(1000)), None, 12);
        assert_eq!(
            (w.colour, w.progress),
            (Some(Colour::Yellow), Some(dec!(75.00)))
        );
        assert!(w.explanation.contains("年初预算数 1,000.00"));
        // Gaps.
        let w = b(None, None, Some(dec!(1)), 6);
        assert_eq!((w.colour, w.reason), (None, Some(NO_EXECUTION)));
        assert_eq!(w.colour_db(), "none");
        assert_eq!(b(Some(dec!(1)), None, None, 6).reason, Some(NO_BUDGET));
        let zero = b(Some(dec!(1)), Some(dec!(5)), Some(dec!(0)), 6);
        assert_eq!(zero.reason, Some(NO_BUDGET));
        assert!(zero.explanation.contains("全年预算数 0.00"));
        assert_eq!(
            b(Some(dec!(1)), None, Some(dec!(1)), 0).reason,
            Some(MONTH_INVALID)
        );
    }

    #[test]
    fn ge_indicator_bands() {
        // Target 1,200 a year, June: pro-rated 600.
        let cases = [
            (dec!(359.99), Colour::Red),
            (dec!(360), Colour::Yellow),
            (dec!(479.99), Colour::Yellow),
            (dec!(480), Colour::Green),
            (dec!(719.99), Colour::Green),
            (dec!(720), Colour::Blue),
        ];
        for (a, colour) in cases {
            assert_eq!(ge(a, dec!(1200), 6).colour, Some(colour), "{a}");
        }
        let w = ge(dec!(300), dec!(1200), 6);
        assert_eq!(
            w.explanation,
            "正向指标（≥）：完成进度 = 实际完成值 300 ÷ (目标值 1200 ÷ 12 × 6) × 100 = 50.00；< 60 红色"
        );
        assert!(
            ge(dec!(720), dec!(1200), 6)
                .explanation
                .ends_with("≥ 120 蓝色（目标值可能偏低）")
        );
        assert!(
            ge(dec!(500), dec!(1200), 6)
                .explanation
                .ends_with("≥ 80 且 < 120 绿色")
        );
        // A target ≤ 0 is met by anything.
        assert_eq!(ge(dec!(-5), dec!(0), 6).colour, Some(Colour::Green));
        assert_eq!(ge(dec!(-5), dec!(0), 6).progress, None);
    }

    #[test]
    fn le_eq_and_qualitative_indicators() {
        let ind =
            |d, t: Option<Decimal>, a: Achieved| indicator_warning(d, t, "x", &a, 3, &rules());
        let n = Achieved::Number;
        assert_eq!(
            ind(Direction::Le, Some(dec!(5)), n(dec!(5))).colour,
            Some(Colour::Green)
        );
        let over = ind(Direction::Le, Some(dec!(5)), n(dec!(5.01)));
        assert_eq!(over.colour, Some(Colour::Red));
        assert!(over.explanation.contains("按全年目标值比较"));
        assert_eq!(
            ind(Direction::Eq, Some(dec!(0)), n(dec!(0))).colour,
            Some(Colour::Green)
        );
        assert_eq!(
            ind(Direction::Eq, Some(dec!(0)), n(dec!(1))).colour,
            Some(Colour::Red)
        );
        // = with t > 0 as ≥, blue included: 100 a year, March pro-rated 25; 30 is 120 %.
        assert_eq!(
            ind(Direction::Eq, Some(dec!(100)), n(dec!(30))).colour,
            Some(Colour::Blue)
        );
        assert_eq!(
            ind(Direction::Eq, Some(dec!(100)), n(dec!(10))).colour,
            Some(Colour::Red)
        );
        let q = |t| ind(Direction::Qualitative, None, Achieved::Tier(t)).colour;
        assert_eq!(q(QualitativeTier::Achieved), Some(Colour::Green));
        assert_eq!(q(QualitativeTier::Partial), Some(Colour::Yellow));
        assert_eq!(q(QualitativeTier::NotAchieved), Some(Colour::Red));
        // Gaps and mismatches.
        let reason = |w: Warning| (w.colour, w.reason);
        assert_eq!(
            reason(ind(Direction::Ge, Some(dec!(1)), Achieved::None)),
            (None, Some(NOT_REPORTED))
        );
        assert_eq!(
            reason(ind(Direction::Ge, None, n(dec!(1)))),
            (None, Some(TARGET_NOT_NUMERIC))
        );
        assert_eq!(
            reason(ind(Direction::Qualitative, None, n(dec!(1)))),
            (None, Some(VALUE_KIND_MISMATCH))
        );
        assert_eq!(
            reason(ind(
                Direction::Le,
                Some(dec!(1)),
                Achieved::Tier(QualitativeTier::Achieved)
            )),
            (None, Some(VALUE_KIND_MISMATCH))
        );
        let w = indicator_warning(Direction::Ge, None, "≥95%", &n(dec!(1)), 3, &rules());
        assert_eq!(
            w.explanation,
            "正向指标（≥）：指标值「≥95%」不是数值，无法计算"
        );
    }

    #[test]
    fn the_goal_is_the_worst_indicator() {
        let t = dec!(1200);
        let parts = [
            ge(dec!(720), t, 6),
            ge(dec!(400), t, 6),
            ge(dec!(600), t, 6),
        ];
        let g = goal_warning(&parts);
        assert_eq!((g.colour, g.incomplete), (Some(Colour::Yellow), false));
        assert_eq!(
            g.explanation,
            "目标预警取各指标中最差的颜色：黄色1项、绿色1项、蓝色1项 → 黄色"
        );
        assert_eq!(g.inputs_json()["yellow"], "1");
        let with_gap = [
            ge(dec!(720), t, 6),
            indicator_warning(Direction::Ge, Some(t), "1200", &Achieved::None, 6, &rules()),
        ];
        let g = goal_warning(&with_gap);
        assert_eq!((g.colour, g.incomplete), (Some(Colour::Blue), true));
        assert!(g.explanation.ends_with("另有1项指标未填报或无法计算"));
        let g = goal_warning(&with_gap[1..]);
        assert_eq!((g.colour, g.reason), (None, Some(NOT_REPORTED)));
        assert_eq!(goal_warning(&[]).reason, Some(NOT_REPORTED));
    }

    #[test]
    fn forecast_bands() {
        let f = |d, t, v, l| forecast_warning(d, Some(t), &Achieved::Number(v), l, &rules());
        let c = |w: Warning| w.colour;
        let certain = Some(Likelihood::Certain);
        // ≥ 100 with w = 10: 100 green, 90 yellow, 89.99 red.
        assert_eq!(
            c(f(Direction::Ge, dec!(100), dec!(100), certain)),
            Some(Colour::Green)
        );
        let y = f(Direction::Ge, dec!(100), dec!(90), None);
        assert_eq!(
            (y.colour, y.progress),
            (Some(Colour::Yellow), Some(dec!(90.00)))
        );
        assert_eq!(
            y.explanation,
            "正向指标（≥）：预计全年完成值 90 低于目标值 100，但不低于目标值的 90%（90）：黄色（预计完成率 90.00）"
        );
        assert_eq!(
            c(f(Direction::Ge, dec!(100), dec!(89.99), None)),
            Some(Colour::Red)
        );
        // ≤ 100: 110 yellow, 110.01 red.
        assert_eq!(
            c(f(Direction::Le, dec!(100), dec!(100), None)),
            Some(Colour::Green)
        );
        assert_eq!(
            c(f(Direction::Le, dec!(100), dec!(110), None)),
            Some(Colour::Yellow)
        );
        assert_eq!(
            c(f(Direction::Le, dec!(100), dec!(110.01), None)),
            Some(Colour::Red)
        );
        // = 0 and = t > 0.
        assert_eq!(
            c(f(Direction::Eq, dec!(0), dec!(0), None)),
            Some(Colour::Green)
        );
        assert_eq!(
            c(f(Direction::Eq, dec!(0), dec!(0.5), None)),
            Some(Colour::Red)
        );
        assert_eq!(
            c(f(Direction::Eq, dec!(10), dec!(9.5), None)),
            Some(Colour::Yellow)
        );
        // 定性.
        let q = forecast_warning(
            Direction::Qualitative,
            None,
            &Achieved::Tier(QualitativeTier::Partial),
            Some(Likelihood::Possible),
            &rules(),
        );
        assert_eq!(q.colour, Some(Colour::Yellow));
    }

    #[test]
    fn impossible_forces_red_and_certain_red_is_inconsistent() {
        let f = |v: Achieved, l| forecast_warning(Direction::Ge, Some(dec!(100)), &v, l, &rules());
        let w = f(Achieved::Number(dec!(150)), Some(Likelihood::Impossible));
        assert_eq!((w.colour, w.inconsistent), (Some(Colour::Red), false));
        assert!(
            w.explanation
                .ends_with("完成目标可能性为「完全不可能」：红色")
        );
        let w = f(Achieved::None, Some(Likelihood::Impossible));
        assert_eq!(w.colour, Some(Colour::Red));
        let w = f(Achieved::None, Some(Likelihood::Possible));
        assert_eq!((w.colour, w.reason), (None, Some(NOT_REPORTED)));
        let w = f(Achieved::Number(dec!(10)), Some(Likelihood::Certain));
        assert_eq!((w.colour, w.inconsistent), (Some(Colour::Red), true));
        assert!(w.explanation.contains("「确定能」"));
        // The project's forecast is the worst, and keeps the marker.
        let p = project_forecast_warning(&[f(Achieved::Number(dec!(100)), None), w]);
        assert_eq!((p.colour, p.inconsistent), (Some(Colour::Red), true));
    }

    /// The ≥ band decided over integers (i128) for values of at most 4 places: `p < r` ⇔
    /// `1200·A·10^{s_t} < r·T·10^{s_a}·M` with a = A/10^{s_a}, t = T/10^{s_t}.
    fn ge_reference(a: Decimal, t: Decimal, m: u8) -> Colour {
        let (am, asc) = (a.mantissa(), a.scale());
        let (tm, tsc) = (t.mantissa(), t.scale());
        let lhs = 1200 * am * 10i128.pow(tsc);
        let rhs = |r: i128| r * tm * 10i128.pow(asc) * i128::from(m);
        if lhs < rhs(60) {
            Colour::Red
        } else if lhs < rhs(80) {
            Colour::Yellow
        } else if lhs < rhs(120) {
            Colour::Green
        } else {
            Colour::Blue
        }
    }

    fn arb_value() -> impl Strategy<Value = Decimal> {
        (0i64..10_000_000_000, 0u32..=4).prop_map(|(m, s)| Decimal::new(m, s))
    }

    fn arb_positive() -> impl Strategy<Value = Decimal> {
        (1i64..10_000_000_000, 0u32..=4).prop_map(|(m, s)| Decimal::new(m, s))
    }

    fn arb_warning() -> impl Strategy<Value = Warning> {
        (
            arb_value(),
            arb_positive(),
            1u8..=12,
            prop::bool::weighted(0.8),
        )
            .prop_map(|(a, t, m, reported)| {
                let achieved = if reported {
                    Achieved::Number(a)
                } else {
                    Achieved::None
                };
                indicator_warning(Direction::Ge, Some(t), "t", &achieved, m, &rules())
            })
    }

    proptest! {
        #[test]
        fn raising_the_value_never_worsens_a_ge_colour_except_into_blue(
            a in arb_value(), more in arb_value(), t in arb_positive(), m in 1u8..=12
        ) {
            let before = ge(a, t, m).colour.unwrap();
            let after = ge(a + more, t, m).colour.unwrap();
            prop_assert!(after <= before || after == Colour::Blue, "{:?} → {:?}", before, after);
        }

        #[test]
        fn the_goal_colour_is_the_worst_indicator_colour(
            parts in prop::collection::vec(arb_warning(), 0..10)
        ) {
            let g = goal_warning(&parts);
            prop_assert_eq!(g.colour, parts.iter().filter_map(|w| w.colour).max());
            prop_assert_eq!(g.incomplete, g.colour.is_some() && parts.iter().any(|w| w.colour.is_none()));
        }

        #[test]
        fn colours_depend_on_value_and_target_only_through_their_ratio(
            a in arb_value(), t in arb_positive(), k in arb_positive(), m in 1u8..=12
        ) {
            for d in [Direction::Ge, Direction::Le, Direction::Eq] {
                let w = |a: Decimal, t: Decimal| {
                    indicator_warning(d, Some(t), "t", &Achieved::Number(a), m, &rules()).colour
                };
                prop_assert_eq!(w(a, t), w(a * k, t * k));
                let f = |a: Decimal, t: Decimal| {
                    forecast_warning(d, Some(t), &Achieved::Number(a), None, &rules()).colour
                };
                prop_assert_eq!(f(a, t), f(a * k, t * k));
            }
        }

        #[test]
        fn the_exact_band_agrees_with_an_integer_reference(
            a in arb_value(), t in arb_positive(), m in 1u8..=12
        ) {
            prop_assert_eq!(ge(a, t, m).colour, Some(ge_reference(a, t, m)));
        }
    }
}
