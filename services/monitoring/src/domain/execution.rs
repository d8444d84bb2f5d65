//! Execution figures (预算执行) as the budget system sends them: one row per project and month
//! with 年初预算数, 全年(调整后)预算数, 拨付 and the cumulative amount executed to the month's end.
//! Each row of a push or an import is checked on its own, and what it does to the stored month
//! is decided here: created, updated (with the figures before), unchanged, or rejected.
//!
//! Rule: docs/drafts/MONITORING.md §1 "Execution figures" (keyed by fiscal year, PRO_CODE and
//! month; the same figures again change nothing; different figures replace the row and bump its
//! version, audited before and after) and §3 "Limits" (at most 10,000 rows; month 1–12; amounts
//! ≥ 0 with at most two places; executed above the budget is **not** refused — over-spending is
//! data; a cumulative `executed` smaller than an earlier month's is `EXECUTED_DECREASED`);
//! docs/DOMAIN.md "Exact numbers and rounding" (money is exact, 元 with two places).
//!
//! The project's choices where the draft is silent:
//! * **Codes** follow the goal service's rule for `PRO_CODE` (and `AGENCY_CODE`, department
//!   codes): 1–40 letters, digits or `- _ .`, surrounding spaces ignored.
//! * **The cumulative series stays non-decreasing both ways.** A row may be neither smaller
//!   than an earlier month as it will stand (this push's accepted figure, else the stored one)
//!   nor larger than a later month that keeps its stored figure. Rows that break this are
//!   refused until none does (a row below an earlier one is the one refused when both are
//!   pushed), so the answer does not depend on the order of the rows in the request.
//! * **The same month twice in one push**: the first occurrence counts, the others are
//!   rejected (`ROW_DUPLICATE`).
//! * **Descriptive columns** (unit, department, name) left empty keep what is stored; a row
//!   whose figures and descriptive columns equal the stored ones is unchanged.
//! * **Amounts** are at most 18 digits before the point (the columns are `NUMERIC(20, 2)`);
//!   `initial_budget` and `executed` are required, `adjusted_budget` and `allocated` optional.

use std::collections::{BTreeMap, HashMap};

use pbm_types::Decimal;

use crate::domain::bands::{BudgetBase, ratio};
use crate::domain::common::{FieldViolation, money};

/// Most rows one push or import may carry.
pub const MAX_ROWS: usize = 10_000;

pub const PRO_CODE_INVALID: &str = "PRO_CODE_INVALID";
pub const AGENCY_CODE_INVALID: &str = "AGENCY_CODE_INVALID";
pub const DEPARTMENT_CODE_INVALID: &str = "DEPARTMENT_CODE_INVALID";
pub const NAME_INVALID: &str = "NAME_INVALID";
pub const MONTH_INVALID: &str = "MONTH_INVALID";
pub const AMOUNT_INVALID: &str = "AMOUNT_INVALID";
pub const EXECUTED_DECREASED: &str = "EXECUTED_DECREASED";
pub const ROW_DUPLICATE: &str = "ROW_DUPLICATE";

/// Longest code (the goal service's `MAX_CODE_LEN`).
pub const MAX_CODE_LEN: usize = 40;
/// Longest project name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// A row as typed, every value as text (from the wire or from a workbook's cells); an empty
/// text is a value not given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowText {
    pub pro_code: String,
    pub month: String,
    pub initial_budget: String,
    pub adjusted_budget: String,
    pub allocated: String,
    pub executed: String,
    pub agency_code: String,
    pub department_code: String,
    pub name: String,
}

/// The figures of one project and month, in 元.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figures {
    /// 年初预算数.
    pub initial_budget: Decimal,
    /// 全年(调整后)预算数, if sent.
    pub adjusted_budget: Option<Decimal>,
    /// 拨付, if sent.
    pub allocated: Option<Decimal>,
    /// Executed to the month's end, cumulative.
    pub executed: Decimal,
}

/// A checked row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthRow {
    pub pro_code: String,
    pub month: u8,
    pub figures: Figures,
    pub agency_code: String,
    pub department_code: String,
    pub name: String,
}

/// A month as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMonth {
    pub figures: Figures,
    pub agency_code: String,
    pub department_code: String,
    pub name: String,
    pub version: i64,
}

/// What a row does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new month.
    Created(MonthRow),
    /// Different figures for a stored month: the row to store (version `before.version + 1`).
    Updated { row: MonthRow, before: StoredMonth },
    /// The stored month already says this.
    Unchanged,
    /// Refused; the violation's field is the row's (`month`, `executed` …).
    Rejected(FieldViolation),
}

fn code(
    text: &str,
    field: &str,
    reason: &'static str,
    what: &str,
) -> Result<String, FieldViolation> {
    let c = text.trim();
    let ok = !c.is_empty()
        && c.len() <= MAX_CODE_LEN
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(c.to_owned())
    } else {
        Err(FieldViolation::new(
            field,
            reason,
            format!("{what}「{c}」无效：应为1–{MAX_CODE_LEN}位字母、数字或 - _ ."),
        ))
    }
}

fn optional_code(
    text: &str,
    field: &str,
    reason: &'static str,
    what: &str,
) -> Result<String, FieldViolation> {
    if text.trim().is_empty() {
        Ok(String::new())
    } else {
        code(text, field, reason, what)
    }
}

fn month(text: &str) -> Result<u8, FieldViolation> {
    let t = text.trim();
    match t.parse::<u8>() {
        Ok(m) if (1..=12).contains(&m) => Ok(m),
        _ => Err(FieldViolation::new(
            "month",
            MONTH_INVALID,
            format!("月份「{t}」无效：应为 1–12"),
        )),
    }
}

/// An amount: a plain decimal ≥ 0 with at most two places and at most 18 digits before the
/// point; `None` for an empty text.
fn amount(text: &str, field: &str, what: &str) -> Result<Option<Decimal>, FieldViolation> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let bad = |why: &str| FieldViolation::new(field, AMOUNT_INVALID, format!("{what}「{t}」{why}"));
    let v = pbm_types::decimal::parse(t).map_err(|_| bad("不是有效的金额"))?;
    if v.is_sign_negative() && !v.is_zero() {
        return Err(bad("不能为负数"));
    }
    if v.normalize().scale() > 2 {
        return Err(bad("最多保留2位小数（元，精确到分）"));
    }
    if v >= Decimal::from(1_000_000_000_000_000_000u64) {
        return Err(bad("超出范围（最多18位整数）"));
    }
    Ok(Some(v.abs()))
}

fn required(v: Option<Decimal>, field: &str, what: &str) -> Result<Decimal, FieldViolation> {
    v.ok_or_else(|| FieldViolation::new(field, AMOUNT_INVALID, format!("{what}不能为空")))
}

/// Checks one row on its own: the first problem found, in column order.
pub fn parse_row(t: &RowText) -> Result<MonthRow, FieldViolation> {
    let pro_code = code(&t.pro_code, "pro_code", PRO_CODE_INVALID, "项目编码")?;
    let month = month(&t.month)?;
    let initial_budget = required(
        amount(&t.initial_budget, "initial_budget", "年初预算数")?,
        "initial_budget",
        "年初预算数",
    )?;
    let adjusted_budget = amount(&t.adjusted_budget, "adjusted_budget", "全年预算数")?;
    let allocated = amount(&t.allocated, "allocated", "拨付数")?;
    let executed = required(
        amount(&t.executed, "executed", "累计执行数")?,
        "executed",
        "累计执行数",
    )?;
    let agency_code = optional_code(
        &t.agency_code,
        "agency_code",
        AGENCY_CODE_INVALID,
        "单位编码",
    )?;
    let department_code = optional_code(
        &t.department_code,
        "department_code",
        DEPARTMENT_CODE_INVALID,
        "主管部门编码",
    )?;
    let name = t.name.trim();
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(FieldViolation::new(
            "name",
            NAME_INVALID,
            format!("项目名称最多{MAX_NAME_CHARS}个字"),
        ));
    }
    Ok(MonthRow {
        pro_code,
        month,
        figures: Figures {
            initial_budget,
            adjusted_budget,
            allocated,
            executed,
        },
        agency_code,
        department_code,
        name: name.to_owned(),
    })
}

/// The stored months of the projects a push names: PRO_CODE → month → month.
pub type Stored = HashMap<String, BTreeMap<u8, StoredMonth>>;

/// Decides every row (checked by [`parse_row`], in request order) against the stored months;
/// one outcome per row, in the same order (see the module doc for the cumulative rule).
pub fn decide(rows: Vec<Result<MonthRow, FieldViolation>>, stored: &Stored) -> Vec<Outcome> {
    let mut out: Vec<Option<Outcome>> = vec![None; rows.len()];
    // Each project's rows (index, row), the first of each month only.
    let mut projects: BTreeMap<String, BTreeMap<u8, (usize, MonthRow)>> = BTreeMap::new();
    for (i, row) in rows.into_iter().enumerate() {
        match row {
            Err(v) => out[i] = Some(Outcome::Rejected(v)),
            Ok(r) => {
                let months = projects.entry(r.pro_code.clone()).or_default();
                match months.entry(r.month) {
                    std::collections::btree_map::Entry::Occupied(_) => {
                        out[i] = Some(Outcome::Rejected(FieldViolation::new(
                            "month",
                            ROW_DUPLICATE,
                            format!(
                                "项目「{}」{}月的执行数在本次数据中重复出现，以第一次为准",
                                r.pro_code, r.month
                            ),
                        )));
                    }
                    std::collections::btree_map::Entry::Vacant(slot) => {
                        slot.insert((i, r));
                    }
                }
            }
        }
    }
    let empty = BTreeMap::new();
    for (pro_code, mut accepted) in projects {
        let before = stored.get(&pro_code).unwrap_or(&empty);
        // Drop the rows that break the series until none does: a row below an earlier month
        // (as it will stand), or above a later month that keeps its stored figure. Each round
        // only drops rows, so this ends; at the end the series is non-decreasing wherever it
        // was changed.
        loop {
            let standing: BTreeMap<u8, Decimal> = before
                .iter()
                .map(|(m, s)| (*m, s.figures.executed))
                .chain(accepted.iter().map(|(m, (_, r))| (*m, r.figures.executed)))
                .collect();
            let mut broken = Vec::new();
            for (&m, (_, row)) in &accepted {
                let e = row.figures.executed;
                let earlier = standing
                    .range(..m)
                    .filter(|(_, v)| **v > e)
                    .max_by_key(|(_, v)| **v);
                let later = standing
                    .range(m + 1..)
                    .filter(|(k, v)| !accepted.contains_key(*k) && **v < e)
                    .min_by_key(|(_, v)| **v);
                if let Some((k, v)) = earlier {
                    broken.push((
                        m,
                        format!(
                            "累计执行数 {} 小于{k}月的累计执行数 {}：累计执行数不能减少",
                            money(e),
                            money(*v)
                        ),
                    ));
                } else if let Some((k, v)) = later {
                    broken.push((
                        m,
                        format!(
                            "累计执行数 {} 大于{k}月的累计执行数 {}：累计执行数不能减少，请一并更正后续月份",
                            money(e),
                            money(*v)
                        ),
                    ));
                }
            }
            if broken.is_empty() {
                break;
            }
            for (m, message) in broken {
                if let Some((i, _)) = accepted.remove(&m) {
                    out[i] = Some(Outcome::Rejected(FieldViolation::new(
                        "executed",
                        EXECUTED_DECREASED,
                        message,
                    )));
                }
            }
        }
        for (m, (i, row)) in accepted {
            out[i] = Some(against(row, before.get(&m)));
        }
    }
    out.into_iter()
        .map(|o| o.expect("every row decided"))
        .collect()
}

/// A checked row against the stored month, if any.
fn against(mut row: MonthRow, stored: Option<&StoredMonth>) -> Outcome {
    let Some(s) = stored else {
        return Outcome::Created(row);
    };
    for (new, old) in [
        (&mut row.agency_code, &s.agency_code),
        (&mut row.department_code, &s.department_code),
        (&mut row.name, &s.name),
    ] {
        if new.is_empty() {
            new.clone_from(old);
        }
    }
    if row.figures == s.figures
        && row.agency_code == s.agency_code
        && row.department_code == s.department_code
        && row.name == s.name
    {
        Outcome::Unchanged
    } else {
        Outcome::Updated {
            row,
            before: s.clone(),
        }
    }
}

/// What changed between a stored month and its replacement, for the audit line: each changed
/// column's `[before, after]` (absent figures as empty text).
pub fn changes(
    before: &StoredMonth,
    after: &MonthRow,
) -> serde_json::Map<String, serde_json::Value> {
    let text = |v: Option<Decimal>| v.map(pbm_types::decimal::to_wire).unwrap_or_default();
    let (b, a) = (&before.figures, &after.figures);
    let pairs = [
        (
            "initial_budget",
            text(Some(b.initial_budget)),
            text(Some(a.initial_budget)),
        ),
        (
            "adjusted_budget",
            text(b.adjusted_budget),
            text(a.adjusted_budget),
        ),
        ("allocated", text(b.allocated), text(a.allocated)),
        ("executed", text(Some(b.executed)), text(Some(a.executed))),
        (
            "agency_code",
            before.agency_code.clone(),
            after.agency_code.clone(),
        ),
        (
            "department_code",
            before.department_code.clone(),
            after.department_code.clone(),
        ),
        ("name", before.name.clone(), after.name.clone()),
    ];
    pairs
        .into_iter()
        .filter(|(_, old, new)| old != new)
        .map(|(k, old, new)| (k.to_owned(), serde_json::json!([old, new])))
        .collect()
}

/// A project's budget base and execution rate as the execution summary reports them
/// (StreamExecutionSummary): the base is the adjusted budget, else the initial one (docs/DOMAIN.md
/// "Where the sources are silent"), and the rate `executed ÷ base × 100`, two places half-up
/// (docs/DOMAIN.md "Exact numbers and rounding"); 0 when the base is 0. `None` only when the rate
/// cannot be represented, which no stored figures reach (at most 18 digits before the point).
pub fn budget_and_rate(figures: &Figures) -> Option<(Decimal, Decimal)> {
    let base = BudgetBase::choose(Some(figures.initial_budget), figures.adjusted_budget)?.amount;
    if base.is_zero() {
        return Some((base, Decimal::ZERO));
    }
    let rate = ratio(&[figures.executed, Decimal::ONE_HUNDRED], &[base])?;
    Some((base, rate))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn text(code: &str, month: &str, budget: &str, executed: &str) -> RowText {
        RowText {
            pro_code: code.into(),
            month: month.into(),
            initial_budget: budget.into(),
            executed: executed.into(),
            ..Default::default()
        }
    }

    fn stored(executed: Decimal) -> StoredMonth {
        StoredMonth {
            figures: Figures {
                initial_budget: dec!(1000),
                adjusted_budget: None,
                allocated: None,
                executed,
            },
            agency_code: "U1".into(),
            department_code: "D1".into(),
            name: "项目".into(),
            version: 1,
        }
    }

    fn reason(o: &Outcome) -> &str {
        match o {
            Outcome::Rejected(v) => v.reason,
            Outcome::Created(_) => "created",
            Outcome::Updated { .. } => "updated",
            Outcome::Unchanged => "unchanged",
        }
    }

    #[test]
    fn each_row_is_checked_on_its_own() {
        let ok = parse_row(&text(" P-1 ", "6", "1000.50", "200")).unwrap();
        assert_eq!(ok.pro_code, "P-1");
        assert_eq!(ok.month, 6);
        assert_eq!(ok.figures.initial_budget, dec!(1000.50));
        for (t, field, reason) in [
            (text("", "6", "1", "1"), "pro_code", PRO_CODE_INVALID),
            (
                text(&"P".repeat(41), "6", "1", "1"),
                "pro_code",
                PRO_CODE_INVALID,
            ),
            (text("P 1", "6", "1", "1"), "pro_code", PRO_CODE_INVALID),
            (text("P", "13", "1", "1"), "month", MONTH_INVALID),
            (text("P", "0", "1", "1"), "month", MONTH_INVALID),
            (text("P", "六", "1", "1"), "month", MONTH_INVALID),
            (text("P", "6", "-1", "1"), "initial_budget", AMOUNT_INVALID),
            (text("P", "6", "", "1"), "initial_budget", AMOUNT_INVALID),
            (text("P", "6", "1", "1.234"), "executed", AMOUNT_INVALID),
            (text("P", "6", "1", "1e3"), "executed", AMOUNT_INVALID),
            (text("P", "6", "1", "1,000"), "executed", AMOUNT_INVALID),
            (text("P", "6", "1", ""), "executed", AMOUNT_INVALID),
            (
                text("P", "6", "1", "1000000000000000000"),
                "executed",
                AMOUNT_INVALID,
            ),
        ] {
            let v = parse_row(&t).unwrap_err();
            assert_eq!((v.field.as_str(), v.reason), (field, reason), "{t:?}");
        }
        // Trailing zeros are not places; over-spending is data.
        assert!(parse_row(&text("P", "6", "100", "1.230")).is_ok());
        assert!(parse_row(&text("P", "6", "100", "999")).is_ok());
    }

    #[test]
    fn outcomes_against_the_stored_months() {
        let mut s = Stored::new();
        s.entry("A".into())
            .or_default()
            .insert(3, stored(dec!(300)));
        s.entry("A".into())
            .or_default()
            .insert(6, stored(dec!(600)));
        s.entry("C".into())
            .or_default()
            .insert(6, stored(dec!(600)));
        let rows = vec![
            parse_row(&text("A", "3", "1000", "300")),  // same figures
            parse_row(&text("A", "4", "1000", "250")),  // below March
            parse_row(&text("C", "5", "1000", "700")),  // above June as stored
            parse_row(&text("A", "2", "1000", "100")),  // new, fine
            parse_row(&text("A", "2", "1000", "150")),  // the same month again
            parse_row(&text("B", "1", "1000", "10")),   // another project
            parse_row(&text("A", "6", "1000", "650")),  // replaces June
            parse_row(&text("A", "13", "1000", "650")), // bad month
        ];
        let o = decide(rows, &s);
        let reasons: Vec<&str> = o.iter().map(reason).collect();
        assert_eq!(
            reasons,
            [
                "unchanged",
                EXECUTED_DECREASED,
                EXECUTED_DECREASED,
                "created",
                ROW_DUPLICATE,
                "created",
                "updated",
                MONTH_INVALID,
            ]
        );
        let Outcome::Rejected(v) = &o[2] else {
            panic!()
        };
        assert!(
            v.message.contains("大于6月的累计执行数 600.00"),
            "{}",
            v.message
        );
        let Outcome::Updated { row, before } = &o[6] else {
            panic!("{:?}", o[6])
        };
        assert_eq!(before.version, 1);
        // Descriptive columns left empty keep the stored ones.
        assert_eq!(row.agency_code, "U1");
        let diff = changes(before, row);
        assert_eq!(diff.len(), 1);
        assert_eq!(diff["executed"], serde_json::json!(["600", "650"]));
    }

    #[test]
    fn a_push_that_contradicts_itself_keeps_the_stored_series() {
        // May and June pushed together with May above June: June is below May as pushed, then
        // May is above June as stored; both are refused and the stored months stand.
        let mut s = Stored::new();
        s.entry("A".into())
            .or_default()
            .insert(6, stored(dec!(600)));
        let rows = vec![
            parse_row(&text("A", "5", "1000", "700")),
            parse_row(&text("A", "6", "1000", "650")),
        ];
        let o = decide(rows, &s);
        assert!(o.iter().all(|o| reason(o) == EXECUTED_DECREASED), "{o:?}");
    }

    #[test]
    fn the_order_of_rows_does_not_matter() {
        // A correction of March and June together, June first in the request.
        let mut s = Stored::new();
        s.entry("A".into())
            .or_default()
            .insert(3, stored(dec!(300)));
        s.entry("A".into())
            .or_default()
            .insert(6, stored(dec!(600)));
        let rows = vec![
            parse_row(&text("A", "6", "1000", "900")),
            parse_row(&text("A", "3", "1000", "800")),
        ];
        let o = decide(rows, &s);
        assert!(matches!(o[0], Outcome::Updated { .. }), "{o:?}");
        assert!(matches!(o[1], Outcome::Updated { .. }), "{o:?}");
    }

    #[test]
    fn the_summary_rate_is_against_the_adjusted_budget_else_the_initial() {
        let figures = |initial, adjusted, executed| Figures {
            initial_budget: initial,
            adjusted_budget: adjusted,
            allocated: None,
            executed,
        };
        // 250,000 of an adjusted 1,200,000: 20.8333… → 20.83.
        assert_eq!(
            budget_and_rate(&figures(dec!(1000000), Some(dec!(1200000)), dec!(250000))),
            Some((dec!(1200000), dec!(20.83)))
        );
        // Half-up: 2 of 3 = 66.666… → 66.67; 1 of 8 = 12.5 exactly.
        assert_eq!(
            budget_and_rate(&figures(dec!(3), None, dec!(2))),
            Some((dec!(3), dec!(66.67)))
        );
        assert_eq!(
            budget_and_rate(&figures(dec!(8), None, dec!(1))).map(|r| r.1),
            Some(dec!(12.50))
        );
        // Over-spent is shown as it is; a zero base (even an adjusted 0) gives 0.
        assert_eq!(
            budget_and_rate(&figures(dec!(100), None, dec!(150.50))).map(|r| r.1),
            Some(dec!(150.50))
        );
        assert_eq!(
            budget_and_rate(&figures(dec!(100), Some(dec!(0)), dec!(5))),
            Some((dec!(0), dec!(0)))
        );
        // The largest stored amounts are still represented.
        let max = dec!(999999999999999999.99);
        assert!(budget_and_rate(&figures(dec!(0.01), None, max)).is_some());
    }
}
