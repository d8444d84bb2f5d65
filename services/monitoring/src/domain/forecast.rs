//! The execution forecast (预算执行预测, an early warning): will the budget be spent by the
//! year's end at the pace it is being spent now?
//!
//! DOMAIN.md gives no formula for it (docs/DOMAIN.md "Warning bands" covers the progress to
//! date only). The project's choice (**PROPOSAL**, docs/drafts/MONITORING.md §2 item 8):
//! * **Recent pace** ([`ForecastMethod::RecentPace3`], the default): `k = min(3, M)`,
//!   `r = (E_M − E_{M−k}) ÷ k` with `E_0 = 0`, `F = E_M + r·(12 − M)`.
//! * **Linear** ([`ForecastMethod::Linear`], chosen in the rules): `F = E_M · 12 ÷ M`.
//! * `rate = F ÷ B × 100` with B the budget base of the budget axis (adjusted, else initial:
//!   [`BudgetBase`]); `rate < execution_forecast_below` (default 90, the self-evaluation's
//!   reason threshold of docs/DOMAIN.md "Numbers") is RED, else GREEN. No yellow, no blue.
//! * The history is cumulative `executed` per month. A month without a row carries the previous
//!   month's figure forward; months before the first row count as 0 (`E_0 = 0` carried
//!   forward). Rows after M are ignored.
//! * Exact: the comparison is multiplied out (`100·(k·E_M + (E_M − E_{M−k})·(12 − M)) <
//!   th·B·k`); only the shown r, F and rate are quotients, rounded half-up to two places.
//!
//! The explanation names k, r and F.

use pbm_types::Decimal;

use crate::domain::bands::{
    BudgetBase, Colour, ForecastMethod, Input, MonitoringRules, NO_EXECUTION, Warning, input,
    month_invalid, ratio, shown, usable_base,
};
use crate::domain::common::{money, month_valid, plain, round2};
use crate::domain::exact::lt;

/// The figures are too large to be computed exactly as decimals.
pub const VALUE_OUT_OF_RANGE: &str = "VALUE_OUT_OF_RANGE";

/// Cumulative `executed` at the end of month `m`: the latest row at or before `m`, 0 if none.
/// `None` only when `m` has no row at or before it and `m` is the round's month (the caller
/// decides).
fn cumulative(history: &[(u8, Decimal)], m: u8) -> Option<Decimal> {
    history
        .iter()
        .filter(|(month, _)| (1..=m).contains(month))
        .max_by_key(|(month, _)| *month)
        .map(|(_, e)| *e)
}

/// The projection `F = n ÷ d` (kept as a fraction so that the band is exact) and how it reads.
struct Projection {
    n: Decimal,
    d: Decimal,
    text: String,
    inputs: Vec<Input>,
}

fn project(
    history: &[(u8, Decimal)],
    months: u8,
    e_m: Decimal,
    method: ForecastMethod,
) -> Option<Projection> {
    let m = Decimal::from(months);
    let twelve = Decimal::from(12);
    match method {
        ForecastMethod::RecentPace3 => {
            let k = months.min(3);
            let earlier = months - k;
            let e_prev = cumulative(history, earlier).unwrap_or(Decimal::ZERO);
            let kd = Decimal::from(k);
            let delta = e_m.checked_sub(e_prev)?;
            let n = kd
                .checked_mul(e_m)?
                .checked_add(delta.checked_mul(twelve - m)?)?;
            let r = delta.checked_div(kd)?;
            let f = n.checked_div(kd)?;
            let text = format!(
                "k = min(3, {months}) = {k}；月均执行 r = (E{months} {} − E{earlier} {}) ÷ {k} = {}；\
                 全年预计执行 F = {} + {} × (12 − {months}) = {}",
                money(e_m),
                money(e_prev),
                money(r),
                money(e_m),
                money(r),
                money(f),
            );
            let inputs = vec![
                input("executed_earlier", e_prev),
                input("k", kd),
                input("r", round2(r)),
                input("forecast", round2(f)),
            ];
            Some(Projection {
                n,
                d: kd,
                text,
                inputs,
            })
        }
        ForecastMethod::Linear => {
            let n = e_m.checked_mul(twelve)?;
            let f = n.checked_div(m)?;
            let text = format!(
                "全年预计执行 F = E{months} {} × 12 ÷ {months} = {}",
                money(e_m),
                money(f)
            );
            Some(Projection {
                n,
                d: m,
                text,
                inputs: vec![input("forecast", round2(f))],
            })
        }
    }
}

/// The execution forecast of a project at month `months` of the round, from its monthly
/// cumulative `executed` history (month 1–12 → 元, in any order, with gaps), against the budget
/// base chosen from `initial_budget` and `adjusted_budget`.
pub fn execution_forecast(
    history: &[(u8, Decimal)],
    months: u8,
    initial_budget: Option<Decimal>,
    adjusted_budget: Option<Decimal>,
    rules: &MonitoringRules,
) -> Warning {
    let method = rules.forecast_method;
    let mut inputs = vec![
        Input {
            name: "method",
            value: method.as_db().to_owned(),
        },
        input("months", Decimal::from(months)),
    ];
    inputs.extend(initial_budget.map(|b| input("initial_budget", b)));
    inputs.extend(adjusted_budget.map(|b| input("adjusted_budget", b)));
    if !month_valid(months) {
        return month_invalid(months, inputs);
    }
    let Some(e_m) = cumulative(history, months) else {
        return none(
            NO_EXECUTION,
            inputs,
            format!("尚无截至{months}月的预算执行数，无法预测全年执行"),
        );
    };
    inputs.push(input("executed", e_m));
    let base: BudgetBase = match usable_base(initial_budget, adjusted_budget, &inputs) {
        Ok(base) => base,
        Err(w) => return w,
    };
    let Some(p) = project(history, months, e_m, method) else {
        return none(VALUE_OUT_OF_RANGE, inputs, "执行数过大，无法计算全年预测");
    };
    let (b, th, hundred) = (
        base.amount,
        rules.execution_forecast_below,
        Decimal::ONE_HUNDRED,
    );
    // rate < th  ⇔  100·n ÷ d < th·B  ⇔  100·n < th·B·d  (d > 0)
    let (colour, reads) = if lt(&[p.n, hundred], &[th, b, p.d]) {
        (Colour::Red, format!("< {} 红色", plain(th)))
    } else {
        (Colour::Green, format!("≥ {} 绿色", plain(th)))
    };
    let rate = ratio(&[p.n, hundred], &[b, p.d]);
    inputs.extend(p.inputs);
    let explanation = format!(
        "执行预测（{}）：{}；预计执行率 = F ÷ {} {} × 100 = {}；{reads}",
        method.chinese(),
        p.text,
        base.kind.chinese(),
        money(b),
        shown(rate),
    );
    Warning {
        colour: Some(colour),
        reason: None,
        progress: rate,
        inputs,
        explanation,
        incomplete: false,
        inconsistent: false,
    }
}

fn none(reason: &'static str, inputs: Vec<Input>, explanation: impl Into<String>) -> Warning {
    Warning {
        colour: None,
        reason: Some(reason),
        progress: None,
        inputs,
        explanation: explanation.into(),
        incomplete: false,
        inconsistent: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::bands::NO_BUDGET;
    use rust_decimal_macros::dec;

    fn rules(method: ForecastMethod) -> MonitoringRules {
        MonitoringRules {
            forecast_method: method,
            ..MonitoringRules::default()
        }
    }

    fn history(values: &[(u8, Decimal)]) -> Vec<(u8, Decimal)> {
        values.to_vec()
    }

    #[test]
    fn a_linear_history_projects_exactly_the_budget() {
        // 1/12 of 12,000,000 a month.
        let h: Vec<_> = (1..=12)
            .map(|m| (m, Decimal::from(m) * dec!(1000000)))
            .collect();
        for method in [ForecastMethod::RecentPace3, ForecastMethod::Linear] {
            for month in 1..=12 {
                let w = execution_forecast(&h, month, None, Some(dec!(12000000)), &rules(method));
                assert_eq!(w.colour, Some(Colour::Green), "{method:?} {month}");
                assert_eq!(w.progress, Some(dec!(100.00)), "{method:?} {month}");
            }
        }
        let w = execution_forecast(
            &h,
            6,
            None,
            Some(dec!(12000000)),
            &rules(ForecastMethod::RecentPace3),
        );
        assert_eq!(
            w.explanation,
            "执行预测（近3个月进度法）：k = min(3, 6) = 3；月均执行 r = (E6 6,000,000.00 − E3 \
             3,000,000.00) ÷ 3 = 1,000,000.00；全年预计执行 F = 6,000,000.00 + 1,000,000.00 × \
             (12 − 6) = 12,000,000.00；预计执行率 = F ÷ 全年预算数 12,000,000.00 × 100 = \
             100.00；≥ 90 绿色"
        );
    }

    #[test]
    fn flat_after_month_three_projects_what_was_spent_by_march() {
        let h = history(&[
            (1, dec!(100000)),
            (2, dec!(200000)),
            (3, dec!(300000)),
            (4, dec!(300000)),
            (5, dec!(300000)),
            (6, dec!(300000)),
        ]);
        let w = execution_forecast(
            &h,
            6,
            Some(dec!(1200000)),
            None,
            &rules(ForecastMethod::RecentPace3),
        );
        // r = 0, F = E_3 = 300,000: 25.00 % of the (initial) budget.
        assert_eq!(w.colour, Some(Colour::Red));
        assert_eq!(w.progress, Some(dec!(25.00)));
        assert!(
            w.explanation
                .contains("r = (E6 300,000.00 − E3 300,000.00) ÷ 3 = 0.00")
        );
        assert!(
            w.explanation.contains("F ÷ 年初预算数 1,200,000.00"),
            "{}",
            w.explanation
        );
        // Months 4–6 missing: the March figure is carried forward, same answer.
        let gaps = history(&[(1, dec!(100000)), (2, dec!(200000)), (3, dec!(300000))]);
        let g = execution_forecast(
            &gaps,
            6,
            Some(dec!(1200000)),
            None,
            &rules(ForecastMethod::RecentPace3),
        );
        assert_eq!((g.colour, g.progress), (w.colour, w.progress));
    }

    #[test]
    fn a_december_style_ramp_by_hand() {
        // 20,000 a month to August, then 250,000 by September and 400,000 by October.
        let mut h: Vec<_> = (1..=8)
            .map(|m| (m, Decimal::from(m) * dec!(20000)))
            .collect();
        h.push((9, dec!(250000)));
        h.push((10, dec!(400000)));
        let budget = Some(dec!(1000000));
        // k = 3: r = (400,000 − 140,000) ÷ 3 = 86,666.67; F = 400,000 + r × 2 = 573,333.33;
        // rate = 57.333… → 57.33, below 90: red.
        let w = execution_forecast(&h, 10, None, budget, &rules(ForecastMethod::RecentPace3));
        assert_eq!(w.colour, Some(Colour::Red));
        assert_eq!(w.progress, Some(dec!(57.33)));
        assert!(w.explanation.contains("= 86,666.67"), "{}", w.explanation);
        assert!(w.explanation.contains("= 573,333.33"), "{}", w.explanation);
        // Linear: F = 400,000 × 12 ÷ 10 = 480,000: 48.00.
        let l = execution_forecast(&h, 10, None, budget, &rules(ForecastMethod::Linear));
        assert_eq!(
            (l.colour, l.progress),
            (Some(Colour::Red), Some(dec!(48.00)))
        );
        assert!(
            l.explanation
                .contains("F = E10 400,000.00 × 12 ÷ 10 = 480,000.00")
        );
        // In December the forecast is what was spent: 900,000 of 1,000,000 is exactly 90.
        h.push((12, dec!(900000)));
        let d = execution_forecast(&h, 12, None, budget, &rules(ForecastMethod::RecentPace3));
        assert_eq!(
            (d.colour, d.progress),
            (Some(Colour::Green), Some(dec!(90.00)))
        );
    }

    #[test]
    fn the_threshold_is_exact() {
        // F = 899,999.99 of 1,000,000: 89.999999 % shows as 90.00 but is red.
        let h = history(&[(12, dec!(899999.99))]);
        let w = execution_forecast(
            &h,
            12,
            None,
            Some(dec!(1000000)),
            &rules(ForecastMethod::Linear),
        );
        assert_eq!(
            (w.colour, w.progress),
            (Some(Colour::Red), Some(dec!(90.00)))
        );
    }

    #[test]
    fn early_months_use_what_there_is() {
        // M = 1: k = 1, r = E_1, F = 12·E_1.
        let h = history(&[(1, dec!(50000))]);
        let w = execution_forecast(
            &h,
            1,
            None,
            Some(dec!(1200000)),
            &rules(ForecastMethod::RecentPace3),
        );
        assert_eq!(w.progress, Some(dec!(50.00)));
        assert!(w.explanation.contains("k = min(3, 1) = 1"));
        // Rows after the round's month are ignored.
        let later = history(&[(1, dec!(50000)), (2, dec!(9000000))]);
        let l = execution_forecast(
            &later,
            1,
            None,
            Some(dec!(1200000)),
            &rules(ForecastMethod::RecentPace3),
        );
        assert_eq!(l.progress, Some(dec!(50.00)));
    }

    #[test]
    fn no_figures_no_colour() {
        let r = rules(ForecastMethod::RecentPace3);
        let w = execution_forecast(&[], 6, None, Some(dec!(1)), &r);
        assert_eq!((w.colour, w.reason), (None, Some(NO_EXECUTION)));
        let w = execution_forecast(&[(7, dec!(1))], 6, None, Some(dec!(1)), &r);
        assert_eq!(w.reason, Some(NO_EXECUTION));
        let w = execution_forecast(&[(6, dec!(1))], 6, Some(dec!(5)), Some(dec!(0)), &r);
        assert_eq!(w.reason, Some(NO_BUDGET));
        let w = execution_forecast(&[(6, dec!(1))], 6, None, None, &r);
        assert_eq!(w.reason, Some(NO_BUDGET));
        let w = execution_forecast(&[(6, dec!(1))], 13, None, Some(dec!(1)), &r);
        assert_eq!(w.reason, Some(crate::domain::bands::MONTH_INVALID));
        let w = execution_forecast(&[(6, Decimal::MAX)], 6, None, Some(dec!(1)), &r);
        assert_eq!(w.reason, Some(VALUE_OUT_OF_RANGE));
    }
}
