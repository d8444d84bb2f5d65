//! The one adapter between this service's rows and the scoring engine (`pbm_scoring`): the rule
//! set of a year and version ([`rules_of`], [`current_rules`]) and a sheet's score
//! ([`score_sheet`]) — every use case that scores (opening, saving, refreshing, reviews) comes
//! through here. Rule: docs/EVALUATION.md "Scoring", docs/DOMAIN.md "Evaluation and scoring".

use pbm_db::{AnyConnection, Money};
use pbm_scoring::{Direction, Entry, IndicatorInput, RuleRef, RuleSet, ScoreError, SheetInput};
use pbm_server::{ApiError, FieldViolation};

use crate::convert::scores::{encode, tier_of_word};
use crate::store::{self, SheetIndicatorRow};

/// A rule set as a campaign pins it: its version (0: the national default), label and rules.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rules {
    pub version: i64,
    pub label: String,
    pub set: RuleSet,
}

/// The label of a version: 「2026年度评价规则第1版」, or 「全国默认评分规则」 for version 0.
pub(crate) fn label_of(fiscal_year: i32, version: i64) -> String {
    if version == 0 {
        "全国默认评分规则".to_owned()
    } else {
        format!("{fiscal_year}年度评价规则第{version}版")
    }
}

/// The national default as version 0.
pub(crate) fn national() -> Rules {
    Rules {
        version: 0,
        label: label_of(0, 0),
        set: RuleSet::national(),
    }
}

/// Version `version` of a year's rules (0: the national default); NOT_FOUND `RULES_NOT_FOUND`
/// for a version never stored.
pub(crate) fn rules_of(
    conn: &mut AnyConnection,
    fiscal_year: i32,
    version: i64,
) -> Result<Rules, ApiError> {
    if version == 0 {
        return Ok(national());
    }
    let row = store::rules_version(conn, fiscal_year, version)?.ok_or_else(|| {
        ApiError::not_found(
            "RULES_NOT_FOUND",
            format!("{fiscal_year}年度评价规则第{version}版不存在"),
        )
    })?;
    rules_from_row(&row)
}

/// The newest version of a year's rules, or the national default when none is stored.
pub(crate) fn current_rules(conn: &mut AnyConnection, fiscal_year: i32) -> Result<Rules, ApiError> {
    match store::current_rules(conn, fiscal_year)? {
        Some(row) => rules_from_row(&row),
        None => Ok(national()),
    }
}

pub(crate) fn rules_from_row(row: &store::RulesRow) -> Result<Rules, ApiError> {
    let set: RuleSet = serde_json::from_str(&row.body).map_err(ApiError::internal)?;
    Ok(Rules {
        version: row.version,
        label: row.label.clone(),
        set,
    })
}

/// A sheet's figures as scored: what the sheet's row keeps and the score itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SheetScore {
    pub total: Money,
    /// `excellent`, `good`, `fair`, `poor`.
    pub grade: String,
    /// Percent, two places.
    pub execution_rate: Money,
    /// The score with its explanation as stored (`convert::scores::score_to_proto` reads it).
    pub json: String,
    pub score: pbm_scoring::Score,
}

/// Scores a sheet: builds the engine's input from the rows (direction words `ge`/`le`/`eq`/
/// `qualitative`; the target a decimal for ≥ ≤ =; the achieved value a decimal for ≥ ≤ = and
/// empty while missing; the tier word and score for 定性; `not_applicable`), runs the engine
/// and writes each row's `weight`, `points`, `applicable` and `deviates`.
///
/// Refusals name the entry at fault by its seq: a 定性 score outside its tier INVALID_ARGUMENT
/// `QUALITATIVE_SCORE_OUTSIDE_TIER` on `entries[<seq>].qualitative_score`; an achieved value
/// that is not a number `ACHIEVED_VALUE_INVALID` on `entries[<seq>].achieved_value`; anything
/// else the engine refuses, its own reason (`SCORE_…`) on the field it names.
pub(crate) fn score_sheet(
    rules: &Rules,
    budget: &Money,
    executed: &Money,
    indicators: &mut [SheetIndicatorRow],
) -> Result<SheetScore, ApiError> {
    let mut bad = Vec::new();
    let mut inputs = Vec::with_capacity(indicators.len());
    for row in indicators.iter() {
        let direction = direction_of(&row.direction)?;
        let quantitative = direction != Direction::Qualitative;
        let target = if quantitative {
            pbm_types::decimal::parse(&row.target_value).ok()
        } else {
            None
        };
        let entry = if row.not_applicable {
            Entry::NotApplicable
        } else if quantitative {
            let text = row.achieved_value.trim();
            if text.is_empty() {
                Entry::Missing
            } else {
                match pbm_types::decimal::parse(text) {
                    Ok(a) => Entry::Number(a),
                    Err(_) => {
                        bad.push(FieldViolation::new(
                            format!("entries[{}].achieved_value", row.seq),
                            "ACHIEVED_VALUE_INVALID",
                            format!(
                                "第{}项指标「{}」的实际完成值「{text}」不是有效的数字",
                                row.seq, row.name
                            ),
                        ));
                        Entry::Missing
                    }
                }
            }
        } else {
            match (tier_of_word(&row.tier), row.qualitative_score) {
                (Some(tier), Some(score)) => Entry::Qualitative {
                    tier,
                    score: score.0,
                },
                _ => Entry::Missing,
            }
        };
        inputs.push(IndicatorInput {
            level1: &row.level1_name,
            goal_weight: row.goal_weight.map(|w| w.0),
            direction,
            target,
            entry,
        });
    }
    if !bad.is_empty() {
        return Err(ApiError::validation(bad));
    }
    let sheet = SheetInput {
        budget: budget.0,
        executed: executed.0,
        indicators: &inputs,
    };
    let score = pbm_scoring::score(&rules.set, &sheet)
        .map_err(|e| refused(&e, indicators))?
        .made_by(RuleRef {
            version: rules.version,
            label: rules.label.clone(),
        });
    let explanation = score.explain(&rules.set, &sheet);
    for (row, scored) in indicators.iter_mut().zip(&score.indicators) {
        row.weight = Money(scored.weight);
        row.points = Money(scored.points);
        row.applicable = scored.applicable;
        row.deviates = scored.deviates;
    }
    let seqs = indicators.iter().map(|r| r.seq).collect();
    Ok(SheetScore {
        total: Money(score.total),
        grade: score.grade.code().to_owned(),
        execution_rate: Money(score.execution_rate),
        json: encode(seqs, &score, explanation),
        score,
    })
}

/// A stored direction word as the engine's direction (anything else is a corrupt row).
fn direction_of(word: &str) -> Result<Direction, ApiError> {
    match word {
        "ge" => Ok(Direction::Ge),
        "le" => Ok(Direction::Le),
        "eq" => Ok(Direction::Eq),
        "qualitative" => Ok(Direction::Qualitative),
        other => Err(ApiError::internal(format!(
            "unknown indicator direction {other:?}"
        ))),
    }
}

/// The engine's refusal as the API's: INVALID_ARGUMENT on the entry (by seq) it names.
fn refused(e: &ScoreError, rows: &[SheetIndicatorRow]) -> ApiError {
    let message = e.to_string();
    let seq = |index: usize| rows.get(index).map_or(index as i32 + 1, |r| r.seq);
    match e {
        ScoreError::OutsideTier { index, .. } => ApiError::invalid_field(
            "QUALITATIVE_SCORE_OUTSIDE_TIER",
            format!("entries[{}].qualitative_score", seq(*index)),
            message,
        ),
        ScoreError::EntryMismatch { index, .. } => ApiError::invalid_field(
            e.code(),
            format!("entries[{}].achieved_value", seq(*index)),
            message,
        ),
        ScoreError::OutOfRange {
            index: Some(index),
            field: "entry",
        } => ApiError::invalid_field(
            e.code(),
            format!("entries[{}].achieved_value", seq(*index)),
            message,
        ),
        _ => {
            let field = match e.index() {
                Some(index) => {
                    let field = e.field();
                    let tail = field.rsplit('.').next().unwrap_or_default().to_owned();
                    format!("indicators[{}].{tail}", seq(index))
                }
                None => e.field(),
            };
            ApiError::invalid_field(e.code(), field, message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pbm_types::Decimal;
    use rust_decimal_macros::dec;

    fn row(
        seq: i32,
        level1: &str,
        direction: &str,
        target: &str,
        achieved: &str,
    ) -> SheetIndicatorRow {
        SheetIndicatorRow {
            sheet_id: 1,
            seq,
            level1_name: level1.into(),
            level2_name: String::new(),
            name: format!("指标{seq}"),
            direction: direction.into(),
            unit: String::new(),
            target_value: target.into(),
            goal_weight: None,
            achieved_value: achieved.into(),
            tier: String::new(),
            qualitative_score: None,
            not_applicable: false,
            not_applicable_reason: String::new(),
            deviation_causes: String::new(),
            improvement_measures: String::new(),
            weight: Money(Decimal::ZERO),
            points: Money(Decimal::ZERO),
            applicable: true,
            deviates: false,
        }
    }

    fn sheet() -> Vec<SheetIndicatorRow> {
        vec![
            row(1, "产出指标", "ge", "12", "12"),
            row(2, "成本指标", "le", "50", "50"),
            row(3, "效益指标", "ge", "32000", "16000"),
            row(4, "满意度指标", "ge", "90", ""),
        ]
    }

    #[test]
    fn rows_are_scored_and_written_back() {
        let mut rows = sheet();
        let s = score_sheet(&national(), &Money(dec!(100)), &Money(dec!(88)), &mut rows).unwrap();
        // 8.80 + 25 + 25 + 15 + 0 (missing 满意度).
        assert_eq!(s.total, Money(dec!(73.80)));
        assert_eq!(s.grade, "fair");
        assert_eq!(s.execution_rate, Money(dec!(88.00)));
        assert_eq!(rows[2].weight, Money(dec!(30)));
        assert_eq!(rows[2].points, Money(dec!(15)));
        assert!(rows[2].deviates && !rows[3].deviates);
        let proto = crate::convert::scores::score_to_proto(&s.json);
        assert_eq!(proto.total.unwrap().value, "73.8");
        assert_eq!(proto.missing, [4]);
        assert_eq!(proto.indicators[2].seq, 3);
        assert!(proto.indicators[2].explanation.contains("16000"));
        assert_eq!(proto.rules_label, "全国默认评分规则");
        assert!(proto.needs_execution_reason);
    }

    #[test]
    fn a_qualitative_score_outside_its_tier_is_refused_on_its_entry() {
        let mut rows = sheet();
        rows[3].direction = "qualitative".into();
        rows[3].tier = "partly".into();
        rows[3].qualitative_score = Some(Money(dec!(9.5)));
        let e = score_sheet(&national(), &Money(dec!(1)), &Money(dec!(1)), &mut rows).unwrap_err();
        assert_eq!(e.reason, "QUALITATIVE_SCORE_OUTSIDE_TIER");
        assert_eq!(e.violations[0].field, "entries[4].qualitative_score");
        rows[3].qualitative_score = Some(Money(dec!(7)));
        let s = score_sheet(&national(), &Money(dec!(1)), &Money(dec!(1)), &mut rows).unwrap();
        assert_eq!(rows[3].points, Money(dec!(7)));
        assert_eq!((s.total, s.grade.as_str()), (Money(dec!(82)), "good"));
    }

    #[test]
    fn an_achieved_value_that_is_not_a_number_is_refused() {
        let mut rows = sheet();
        rows[0].achieved_value = "十二处".into();
        let e = score_sheet(&national(), &Money(dec!(1)), &Money(dec!(1)), &mut rows).unwrap_err();
        assert_eq!(e.reason, "ACHIEVED_VALUE_INVALID");
        assert_eq!(e.violations[0].field, "entries[1].achieved_value");
    }

    #[test]
    fn not_applicable_rows_are_left_out() {
        let mut rows = sheet();
        rows[3].not_applicable = true;
        let s = score_sheet(&national(), &Money(dec!(100)), &Money(dec!(100)), &mut rows).unwrap();
        assert!(!rows[3].applicable);
        assert_eq!(s.score.applicable_weight, dec!(90));
    }

    #[test]
    fn labels_name_the_year_and_version() {
        assert_eq!(label_of(2026, 1), "2026年度评价规则第1版");
        assert_eq!(label_of(2026, 0), "全国默认评分规则");
    }
}
