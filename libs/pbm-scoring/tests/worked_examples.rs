//! Worked examples of whole self-evaluation sheets under the national formulas (docs/DOMAIN.md
//! "Evaluation and scoring": 财预〔2020〕10号's 10/50/30/10 and four grades, 赣州 2020's
//! 预算执行率 vetoes, "Indicator formulas"), with their explanations.

use pbm_scoring::{
    Direction, Entry, Grade, IndicatorInput, RuleRef, RuleSet, SheetInput, Tier, score,
};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn numeric(
    level1: &'static str,
    direction: Direction,
    t: Decimal,
    a: Decimal,
) -> IndicatorInput<'static> {
    IndicatorInput {
        level1,
        goal_weight: None,
        direction,
        target: Some(t),
        entry: Entry::Number(a),
    }
}

fn qualitative(level1: &'static str, tier: Tier, points: Decimal) -> IndicatorInput<'static> {
    IndicatorInput {
        level1,
        goal_weight: None,
        direction: Direction::Qualitative,
        target: None,
        entry: Entry::Qualitative {
            tier,
            score: points,
        },
    }
}

/// A road-maintenance project (养护): 4 产出 (12.5 points each), 2 效益 (15 each), 1 满意度 (10).
fn road_project() -> Vec<IndicatorInput<'static>> {
    vec![
        // 养护里程 ≥ 100 km, achieved 80 → 80 ÷ 100 × 12.5 = 10.
        numeric("产出指标", Direction::Ge, dec!(100), dec!(80)),
        // 验收合格率 ≥ 95 %, achieved 98 → 12.5.
        numeric("产出指标", Direction::Ge, dec!(95), dec!(98)),
        // 完成时间 ≤ 10 months, took 15 → (1 − 5 ÷ 10) × 12.5 = 6.25.
        numeric("产出指标", Direction::Le, dec!(10), dec!(15)),
        // 单公里成本 ≤ 30 万元, 31.5 → (1 − 1.5 ÷ 30) × 12.5 = 11.875 → 11.88.
        numeric("成本指标", Direction::Le, dec!(30), dec!(31.5)),
        // 安全事故 = 0, none → 15.
        numeric("效益指标", Direction::Eq, dec!(0), dec!(0)),
        // 通行条件改善: 部分达成, 10 of 15 (60–80 % = 9–12).
        qualitative("效益指标", Tier::Partly, dec!(10)),
        // 群众满意度 ≥ 90 %, 85.5 → 85.5 ÷ 90 × 10 = 9.5.
        numeric("满意度指标", Direction::Ge, dec!(90), dec!(85.5)),
    ]
}

#[test]
fn road_project_under_national_rules() {
    let indicators = road_project();
    let sheet = SheetInput {
        budget: dec!(2000000),
        executed: dec!(1680000),
        indicators: &indicators,
    };
    let rules = RuleSet::national();
    let score = score(&rules, &sheet).unwrap();
    let points: Vec<Decimal> = score.indicators.iter().map(|i| i.points).collect();
    assert_eq!(
        points,
        [
            dec!(10),
            dec!(12.5),
            dec!(6.25),
            dec!(11.88),
            dec!(15),
            dec!(10),
            dec!(9.5)
        ]
    );
    // 预算执行率 1,680,000 ÷ 2,000,000 = 84 % → 8.40.
    assert_eq!(score.execution_rate, dec!(84));
    assert_eq!(score.execution_points, dec!(8.4));
    // 8.40 + 10 + 12.5 + 6.25 + 11.88 + 15 + 10 + 9.5 = 83.53: 良; 84 % < 85 % caps at 良 —
    // no effect, so no veto recorded.
    assert_eq!(score.total.to_string(), "83.53");
    assert_eq!(
        (score.raw_grade, score.grade, score.veto),
        (Grade::Good, Grade::Good, None)
    );
    assert!(score.needs_reason);
    let deviating: Vec<usize> = (0..7).filter(|i| score.indicators[*i].deviates).collect();
    assert_eq!(deviating, [0, 2, 3, 5, 6]);

    let explained = score
        .clone()
        .made_by(RuleRef {
            version: 1,
            label: "2026年度评价规则第1版".to_owned(),
        })
        .explain(&rules, &sheet);
    assert_eq!(
        explained.indicators[0],
        "第1项（产出指标，正向指标，权重12.50分）：实际值80 < 目标值100，得分 = 80 ÷ 100 × 12.50 = 10.00分；存在偏差，须分析原因并提出改进措施"
    );
    assert_eq!(
        explained.indicators[2],
        "第3项（产出指标，反向指标，权重12.50分）：实际值15超过目标值10、低于其2倍，得分 = (1 − (15 − 10) ÷ ((2 − 1) × 10)) × 12.50 = 6.25分；存在偏差，须分析原因并提出改进措施"
    );
    assert_eq!(
        explained.indicators[4],
        "第5项（效益指标，等于指标，权重15.00分）：目标值为0，实际值0 ≤ 0，得满分15.00分"
    );
    assert_eq!(
        explained.indicators[5],
        "第6项（效益指标，定性指标，权重15.00分）：自评「部分达成并具有一定效果」（权重的60%–80%，即9–12分），得分10.00分；存在偏差，须分析原因并提出改进措施"
    );
    assert_eq!(
        explained.total,
        [
            "评分规则：2026年度评价规则第1版（版本号1）",
            "分值：预算执行率10分，产出指标50分，效益指标30分，满意度指标10分",
            "预算执行率 = 执行数1680000 ÷ 预算数2000000 = 84.00%，得分 = min(10, 84.00% × 10) = 8.40分",
            "总分 = 各项得分合计 83.53分",
            "按总分83.53分评定等级为良（优 ≥ 90、良 ≥ 80、中 ≥ 60，其余为差）",
            "预算执行率84.00% < 85%（否定性指标），不得高于良；等级良未受影响",
            "预算执行率84.00%低于90%，须说明原因",
        ]
    );
    assert_eq!(explained.veto, None);
}

#[test]
fn excellent_work_capped_by_the_execution_veto() {
    // Every indicator met, but only 80 % executed: 8 + 90 = 98 → 优, capped at 良 (赣州 2020).
    let indicators: Vec<_> = road_project()
        .into_iter()
        .map(|mut indicator| {
            indicator.entry = match indicator.direction {
                Direction::Qualitative => Entry::Qualitative {
                    tier: Tier::Achieved,
                    score: dec!(15),
                },
                _ => Entry::Number(indicator.target.unwrap()),
            };
            indicator
        })
        .collect();
    let sheet = SheetInput {
        budget: dec!(500),
        executed: dec!(400),
        indicators: &indicators,
    };
    let rules = RuleSet::national();
    let score = score(&rules, &sheet).unwrap();
    assert_eq!(score.total, dec!(98));
    assert_eq!(
        (score.raw_grade, score.grade),
        (Grade::Excellent, Grade::Good)
    );
    let explained = score.explain(&rules, &sheet);
    assert_eq!(
        explained.veto.as_deref(),
        Some("预算执行率80.00% < 85%（否定性指标），不得高于良，等级由优调整为良")
    );
    assert!(explained.total.contains(&explained.veto.clone().unwrap()));
}

#[test]
fn not_applicable_and_missing_satisfaction_explained() {
    // No 满意度 indicator (产出 55, 效益 35); one 产出 indicator not applicable.
    let indicators = vec![
        numeric("产出指标", Direction::Ge, dec!(10), dec!(10)),
        IndicatorInput {
            entry: Entry::NotApplicable,
            ..numeric("产出指标", Direction::Ge, dec!(10), dec!(10))
        },
        numeric("效益指标", Direction::Ge, dec!(4), dec!(3)),
    ];
    let sheet = SheetInput {
        budget: dec!(100),
        executed: dec!(95),
        indicators: &indicators,
    };
    let rules = RuleSet::national();
    let score = score(&rules, &sheet).unwrap();
    // 9.50 + 27.50 + 3 ÷ 4 × 35 = 26.25 → raw 63.25 over 72.50 → 87.24.
    assert_eq!(score.applicable_weight, dec!(72.5));
    assert_eq!(score.raw_total, dec!(63.25));
    assert_eq!(score.total.to_string(), "87.24");
    assert_eq!(score.grade, Grade::Good);
    assert!(!score.needs_reason);
    let explained = score.explain(&rules, &sheet);
    assert_eq!(
        explained.indicators[1],
        "第2项（产出指标，正向指标，权重27.50分）：不适用，权重27.50分不计入，总分按适用分值折算"
    );
    assert_eq!(
        explained.total[1..],
        [
            "无满意度指标，其10分转入产出指标5分、效益指标5分",
            "预算执行率 = 执行数95 ÷ 预算数100 = 95.00%，得分 = min(10, 95.00% × 10) = 9.50分",
            "不适用指标及无指标部分共27.50分不计入，适用分值72.50分；各项得分合计63.25分，总分 = 63.25 × 100 ÷ 72.50 = 87.24分",
            "按总分87.24分评定等级为良（优 ≥ 90、良 ≥ 80、中 ≥ 60，其余为差）",
        ]
    );
}

#[test]
fn zero_budget_and_empty_part_explained() {
    let indicators = vec![
        numeric("产出指标", Direction::Ge, dec!(10), dec!(10)),
        IndicatorInput {
            entry: Entry::Missing,
            ..numeric("满意度指标", Direction::Ge, dec!(90), dec!(0))
        },
    ];
    let sheet = SheetInput {
        budget: dec!(0),
        executed: dec!(0),
        indicators: &indicators,
    };
    let rules = RuleSet::national();
    let score = score(&rules, &sheet).unwrap();
    // 效益 30 left out: applicable 70; raw 0 + 50 + 0 → 71.43.
    assert_eq!(score.total.to_string(), "71.43");
    assert_eq!(score.missing, [1]);
    let explained = score.explain(&rules, &sheet);
    assert_eq!(
        explained.indicators[1],
        "第2项（满意度指标，正向指标，权重10.00分）：尚未填报，按0分计"
    );
    assert_eq!(
        explained.total[1..4],
        [
            "无效益指标，其30分不计入，总分按其余分值折算",
            "预算数为0，预算执行率按0%计，得0分；预算数为0，不适用否定性指标",
            "第2项尚未填报，按0分计",
        ]
    );
}

#[test]
fn another_province_80_70_60_with_a_stricter_reverse_cut_off() {
    let mut rules = RuleSet::national();
    rules.grades = vec![
        (Grade::Excellent, dec!(80)),
        (Grade::Good, dec!(70)),
        (Grade::Fair, dec!(60)),
    ];
    rules.reverse_zero_at = dec!(1.5);
    let indicators = road_project();
    let sheet = SheetInput {
        budget: dec!(100),
        executed: dec!(100),
        indicators: &indicators,
    };
    let score = score(&rules, &sheet).unwrap();
    // 反向 t = 10, a = 15 = 1.5t → 0; t = 30, a = 31.5 → (1 − 1.5 ÷ 15) × 12.5 = 11.25.
    assert_eq!(score.indicators[2].points, dec!(0));
    assert_eq!(score.indicators[3].points, dec!(11.25));
    // 10 + 10 + 12.5 + 0 + 11.25 + 15 + 10 + 9.5 = 78.25 → 良 under 80/70/60.
    assert_eq!(score.total, dec!(78.25));
    assert_eq!(score.grade, Grade::Good);
    let explained = score.explain(&rules, &sheet);
    assert!(
        explained
            .total
            .iter()
            .any(|l| l.contains("优 ≥ 80、良 ≥ 70、中 ≥ 60"))
    );
    assert_eq!(
        explained.indicators[2],
        "第3项（产出指标，反向指标，权重12.50分）：实际值15达到目标值10的1.5倍及以上，得0分；存在偏差，须分析原因并提出改进措施"
    );
}
