//! What a unit report needs before it is submitted: every gap is one field violation, and all
//! of them are answered at once as `INVALID_ARGUMENT REPORT_INCOMPLETE`.
//!
//! Rule: docs/DOMAIN.md "Deviation causes and completeness": every indicator that is yellow or
//! red, or rated 有可能 or 完全不可能, needs a full-year forecast and at least one deviation
//! cause; the causes are 经费保障, 制度保障, 人员保障, 硬件条件保障 and 其他, which needs text
//! (财预〔2019〕136号). The design: docs/drafts/MONITORING.md §2 item 9.
//!
//! The project's choices:
//! * Every indicator needs its value to date (`ACHIEVED_REQUIRED`) and its likelihood
//!   (`LIKELIHOOD_REQUIRED`) (**PROPOSAL**): a report without them tells finance nothing.
//! * The indicator's colour is its value-to-date warning
//!   ([`crate::domain::bands::indicator_warning`]); BLUE needs nothing more than GREEN.
//! * 其他 needs its text wherever it is chosen (DOMAIN: "其他, which needs text"), not only
//!   where a cause is required.
//! * A YELLOW or RED budget axis needs the execution narrative
//!   (`EXECUTION_NARRATIVE_REQUIRED`) (**PROPOSAL**): slow spending is explained as slow
//!   achievement is (青岛 2020–2022 二(五): analyse slow execution).
//! * Field paths are 0-based (`indicators[2].causes`); messages number indicators from 1.

use serde::{Deserialize, Serialize};

use crate::domain::bands::{Colour, Likelihood};
use crate::domain::common::FieldViolation;

/// The reason of the whole refusal (`google.rpc.ErrorInfo.reason`).
pub const REPORT_INCOMPLETE: &str = "REPORT_INCOMPLETE";
/// No value to date.
pub const ACHIEVED_REQUIRED: &str = "ACHIEVED_REQUIRED";
/// No likelihood.
pub const LIKELIHOOD_REQUIRED: &str = "LIKELIHOOD_REQUIRED";
/// No full-year forecast where one is needed.
pub const FORECAST_REQUIRED: &str = "FORECAST_REQUIRED";
/// No deviation cause where one is needed.
pub const CAUSE_REQUIRED: &str = "CAUSE_REQUIRED";
/// 其他 without its text.
pub const CAUSE_OTHER_TEXT_REQUIRED: &str = "CAUSE_OTHER_TEXT_REQUIRED";
/// A yellow or red budget axis without the execution narrative.
pub const EXECUTION_NARRATIVE_REQUIRED: &str = "EXECUTION_NARRATIVE_REQUIRED";

/// A deviation cause (偏离原因, 财预〔2019〕136号).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// 经费保障
    Funding,
    /// 制度保障
    System,
    /// 人员保障
    Staff,
    /// 硬件条件保障
    Hardware,
    /// 其他 (with text)
    Other,
}

text_enum!(Cause {
    Funding => "funding", "经费保障";
    System => "system", "制度保障";
    Staff => "staff", "人员保障";
    Hardware => "hardware", "硬件条件保障";
    Other => "other", "其他";
});

/// What the completeness check needs to know of one reported indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IndicatorReportFacts<'a> {
    /// The indicator's name, for the message.
    pub name: &'a str,
    /// Its value-to-date colour (`None`: not reported or not computable).
    pub colour: Option<Colour>,
    /// A value to date was reported.
    pub achieved: bool,
    /// A full-year forecast was reported.
    pub forecast: bool,
    /// 完成目标可能性, if reported.
    pub likelihood: Option<Likelihood>,
    /// The causes chosen.
    pub causes: &'a [Cause],
    /// The text of 其他.
    pub other_text: &'a str,
}

/// Whether an indicator must be explained (forecast and cause): yellow or red, or rated
/// 有可能 or 完全不可能.
pub fn needs_explanation(colour: Option<Colour>, likelihood: Option<Likelihood>) -> bool {
    colour.is_some_and(Colour::is_deviation)
        || matches!(
            likelihood,
            Some(Likelihood::Possible | Likelihood::Impossible)
        )
}

/// Every gap of a report (empty: complete). `budget_colour` is the subject's budget axis,
/// `narrative` the project's execution narrative.
pub fn check_report(
    indicators: &[IndicatorReportFacts<'_>],
    budget_colour: Option<Colour>,
    narrative: &str,
) -> Vec<FieldViolation> {
    let mut v = Vec::new();
    for (i, ind) in indicators.iter().enumerate() {
        let at = |field: &str| format!("indicators[{i}].{field}");
        let who = format!("第{}条指标「{}」", i + 1, ind.name);
        if !ind.achieved {
            v.push(FieldViolation::new(
                at("achieved"),
                ACHIEVED_REQUIRED,
                format!("{who}：请填写截至目前的实际完成值"),
            ));
        }
        if ind.likelihood.is_none() {
            v.push(FieldViolation::new(
                at("likelihood"),
                LIKELIHOOD_REQUIRED,
                format!("{who}：请选择完成目标可能性（确定能／有可能／完全不可能）"),
            ));
        }
        if needs_explanation(ind.colour, ind.likelihood) {
            let why = match (ind.colour, ind.likelihood) {
                (Some(c), _) if c.is_deviation() => format!("出现{}预警", c.word()),
                (_, Some(l)) => format!("完成目标可能性为「{}」", l.chinese()),
                _ => String::new(),
            };
            if !ind.forecast {
                v.push(FieldViolation::new(
                    at("forecast"),
                    FORECAST_REQUIRED,
                    format!("{who}{why}，请填写全年预计完成值"),
                ));
            }
            if ind.causes.is_empty() {
                v.push(FieldViolation::new(
                    at("causes"),
                    CAUSE_REQUIRED,
                    format!(
                        "{who}{why}，请至少选择一项偏离原因（经费保障、制度保障、人员保障、\
                         硬件条件保障、其他）"
                    ),
                ));
            }
        }
        if ind.causes.contains(&Cause::Other) && ind.other_text.trim().is_empty() {
            v.push(FieldViolation::new(
                at("other_text"),
                CAUSE_OTHER_TEXT_REQUIRED,
                format!("{who}：偏离原因选择了「其他」，请说明具体原因"),
            ));
        }
    }
    if let Some(c) = budget_colour.filter(|c| c.is_deviation())
        && narrative.trim().is_empty()
    {
        v.push(FieldViolation::new(
            "execution_narrative",
            EXECUTION_NARRATIVE_REQUIRED,
            format!(
                "预算执行进度出现{}预警，请填写预算执行情况说明（执行缓慢的原因及下一步措施）",
                c.word()
            ),
        ));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn facts<'a>(
        colour: Option<Colour>,
        likelihood: Option<Likelihood>,
        causes: &'a [Cause],
    ) -> IndicatorReportFacts<'a> {
        IndicatorReportFacts {
            name: "门诊人次",
            colour,
            achieved: true,
            forecast: true,
            likelihood,
            causes,
            other_text: "",
        }
    }

    fn codes(v: &[FieldViolation]) -> Vec<(&str, &'static str)> {
        v.iter().map(|v| (v.field.as_str(), v.reason)).collect()
    }

    #[test]
    fn green_and_certain_needs_nothing_more() {
        let ok = facts(Some(Colour::Green), Some(Likelihood::Certain), &[]);
        let blue = facts(Some(Colour::Blue), Some(Likelihood::Certain), &[]);
        assert!(check_report(&[ok, blue], Some(Colour::Green), "").is_empty());
        assert!(check_report(&[], None, "").is_empty());
    }

    #[test]
    fn every_gap_at_once() {
        let empty = IndicatorReportFacts {
            achieved: false,
            forecast: false,
            ..facts(None, None, &[])
        };
        let yellow = IndicatorReportFacts {
            forecast: false,
            ..facts(Some(Colour::Yellow), Some(Likelihood::Certain), &[])
        };
        let possible = facts(
            Some(Colour::Green),
            Some(Likelihood::Possible),
            &[Cause::Other],
        );
        let v = check_report(&[empty, yellow, possible], Some(Colour::Red), " ");
        assert_eq!(
            codes(&v),
            [
                ("indicators[0].achieved", ACHIEVED_REQUIRED),
                ("indicators[0].likelihood", LIKELIHOOD_REQUIRED),
                ("indicators[1].forecast", FORECAST_REQUIRED),
                ("indicators[1].causes", CAUSE_REQUIRED),
                ("indicators[2].other_text", CAUSE_OTHER_TEXT_REQUIRED),
                ("execution_narrative", EXECUTION_NARRATIVE_REQUIRED),
            ]
        );
        assert_eq!(
            v[0].message,
            "第1条指标「门诊人次」：请填写截至目前的实际完成值"
        );
        assert_eq!(
            v[2].message,
            "第2条指标「门诊人次」出现黄色预警，请填写全年预计完成值"
        );
        assert!(v[5].message.starts_with("预算执行进度出现红色预警"));
        // 其他 with its text, and a narrative, close the gaps.
        let explained = IndicatorReportFacts {
            other_text: "施工季节性停工",
            ..possible
        };
        assert!(check_report(&[explained], Some(Colour::Yellow), "三季度集中支付").is_empty());
    }

    #[test]
    fn impossible_needs_a_cause_even_when_green() {
        let v = check_report(
            &[facts(
                Some(Colour::Green),
                Some(Likelihood::Impossible),
                &[],
            )],
            None,
            "",
        );
        assert_eq!(codes(&v), [("indicators[0].causes", CAUSE_REQUIRED)]);
        assert!(v[0].message.contains("「完全不可能」"));
        for &c in Cause::ALL {
            assert_eq!(Cause::from_chinese(c.chinese()), Some(c));
        }
    }

    proptest! {
        /// Whatever is missing, a report whose every field is filled in is complete, and each
        /// violation names an indicator that exists or the narrative.
        #[test]
        fn filled_reports_are_complete(
            colours in prop::collection::vec(prop::option::of(prop::sample::select(Colour::ALL.to_vec())), 0..8),
            likelihood in prop::sample::select(Likelihood::ALL.to_vec()),
            budget in prop::option::of(prop::sample::select(Colour::ALL.to_vec())),
            drop in prop::collection::vec(any::<bool>(), 8),
        ) {
            let causes = [Cause::Funding, Cause::Other];
            let full: Vec<_> = colours.iter().map(|&c| IndicatorReportFacts {
                other_text: "说明",
                ..facts(c, Some(likelihood), &causes)
            }).collect();
            prop_assert!(check_report(&full, budget, "说明").is_empty());
            let partial: Vec<_> = full.iter().zip(&drop).map(|(f, &d)| IndicatorReportFacts {
                forecast: !d,
                causes: if d { &[] } else { &causes },
                ..*f
            }).collect();
            for v in check_report(&partial, budget, "") {
                let ok = v.field == "execution_narrative"
                    || (0..partial.len()).any(|i| v.field.starts_with(&format!("indicators[{i}].")));
                prop_assert!(ok, "{}", v.field);
            }
        }
    }
}
