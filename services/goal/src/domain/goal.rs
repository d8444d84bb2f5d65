//! A goal declaration (绩效目标申报): year goal, optional mid-term goal and indicators, plus the
//! library facts the quality checks need and the diff that audits an amendment.
//!
//! Rule: docs/DOMAIN.md "Declarations" (a year goal, optionally a mid-term goal, and indicators
//! picked from the library, pinned to a version, or written for this declaration only, each with
//! its levels, direction, target value, unit and an optional weight for later evaluation);
//! docs/DOMAIN.md "Frames" (three levels, the first two a fixed frame), docs/DOMAIN.md
//! "Directions and units" (≥/≤/=/定性; unit), docs/DOMAIN.md "Fixed indicators (固化)" and
//! docs/DOMAIN.md "Library versions" (enabled period; goals keep the version they were declared
//! against). Export names: `KPI_TARGET` (year goal), `KPI_LV1/2/3`, `KPI_VAL`.
//!
//! Choices where the rules are silent:
//! * **Levels are kinds, not free text.** The indicator service keeps the frame as data
//!   (both the national frame and the newer one with 成本指标 as a first level); the goal rules
//!   must know which node is 产出, 效益, 满意度 or 成本, so a declared indicator carries
//!   [`Level1`]/[`Level2`] kinds. The gRPC layer maps frame nodes to kinds by their national
//!   names; a node that maps to none is refused there.
//! * **Quantitative follows from the direction** (≥, ≤, = are quantitative; 定性 is not), as in
//!   the indicator service, so the two can never disagree.
//! * **Target values are kept as typed** (`KPI_VAL` is text in the 一体化 elements, and a
//!   qualitative target is text); [`DeclaredIndicator::numeric_target`] parses them.
//! * **固化.** A declared indicator repeats the library's 固化 flag so that exports show it; the
//!   quality checks hold it to the pinned library version (see [`crate::domain::quality`]).

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::common::{FiscalYear, NumberProblem, parse_declared_number, show};
use crate::domain::project::DeclarationTarget;

/// 一级指标 kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level1 {
    /// 产出指标
    Output,
    /// 效益指标
    Benefit,
    /// 满意度指标
    Satisfaction,
    /// 成本指标 as a first level (the newer national guide).
    Cost,
}

text_enum!(Level1 {
    Output => "output", "产出指标";
    Benefit => "benefit", "效益指标";
    Satisfaction => "satisfaction", "满意度指标";
    Cost => "cost", "成本指标";
});

/// 二级指标 kind (docs/DOMAIN.md "Frames": 财预〔2015〕88号, and 财预〔2021〕101号 for the cost
/// children).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level2 {
    /// 数量指标 (产出)
    Quantity,
    /// 质量指标 (产出)
    Quality,
    /// 时效指标 (产出)
    Timeliness,
    /// 成本指标 under 产出 (national frame).
    OutputCost,
    /// 经济效益指标
    Economic,
    /// 社会效益指标
    Social,
    /// 生态效益指标
    Ecological,
    /// 可持续影响指标
    Sustainability,
    /// 服务对象满意度指标
    ServiceRecipientSatisfaction,
    /// 经济成本指标 (成本 as first level)
    EconomicCost,
    /// 社会成本指标 (成本 as first level)
    SocialCost,
    /// 生态环境成本指标 (成本 as first level)
    EcologicalCost,
}

text_enum!(Level2 {
    Quantity => "quantity", "数量指标";
    Quality => "quality", "质量指标";
    Timeliness => "timeliness", "时效指标";
    OutputCost => "output_cost", "成本指标";
    Economic => "economic", "经济效益指标";
    Social => "social", "社会效益指标";
    Ecological => "ecological", "生态效益指标";
    Sustainability => "sustainability", "可持续影响指标";
    ServiceRecipientSatisfaction => "service_recipient_satisfaction", "服务对象满意度指标";
    EconomicCost => "economic_cost", "经济成本指标";
    SocialCost => "social_cost", "社会成本指标";
    EcologicalCost => "ecological_cost", "生态环境成本指标";
});

impl Level2 {
    /// The first level this second level belongs to.
    pub fn level1(self) -> Level1 {
        match self {
            Level2::Quantity | Level2::Quality | Level2::Timeliness | Level2::OutputCost => {
                Level1::Output
            }
            Level2::Economic | Level2::Social | Level2::Ecological | Level2::Sustainability => {
                Level1::Benefit
            }
            Level2::ServiceRecipientSatisfaction => Level1::Satisfaction,
            Level2::EconomicCost | Level2::SocialCost | Level2::EcologicalCost => Level1::Cost,
        }
    }

    /// True for the cost indicators that measure money spent by the budget: 产出-成本指标 and
    /// 经济成本指标. 社会成本 and 生态环境成本 are borne by society, not by the budget.
    pub fn is_budget_cost(self) -> bool {
        matches!(self, Level2::OutputCost | Level2::EconomicCost)
    }
}

/// Direction of an indicator (docs/DOMAIN.md "Directions and units": `≥` 正向, `≤` 反向, `=` 等于,
/// 定性). Same text forms as the indicator service.
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
    /// ≥, ≤ and = are measured against a number in a unit; 定性 is not.
    pub fn is_quantitative(self) -> bool {
        !matches!(self, Direction::Qualitative)
    }
}

/// Where a declared indicator comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IndicatorSource {
    /// Picked from the library, pinned to the version used ("goals keep the version they were
    /// declared against").
    Library {
        /// Indicator code in the library.
        code: String,
        /// The library version the declaration was made against.
        version: i64,
    },
    /// A specific indicator written by the unit for this declaration (not in the library).
    Specific,
}

impl fmt::Display for IndicatorSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IndicatorSource::Library { code, version } => write!(f, "指标库 {code} 第{version}版"),
            IndicatorSource::Specific => f.write_str("自定义指标"),
        }
    }
}

/// One indicator of a declaration (绩效指标).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredIndicator {
    /// Library pick or specific.
    pub source: IndicatorSource,
    /// 一级指标 (`KPI_LV1`).
    pub level1: Level1,
    /// 二级指标 (`KPI_LV2`).
    pub level2: Level2,
    /// 三级指标名称 (`KPI_LV3`).
    pub name: String,
    /// 指标方向.
    pub direction: Direction,
    /// 指标值 (`KPI_VAL`) as typed: a number for quantitative indicators, text for 定性.
    pub target_value: String,
    /// 计量单位.
    pub unit: String,
    /// Weight for later evaluation (分值/权重), if the declaration sets weights.
    pub weight: Option<Decimal>,
    /// 固化: the library fixed this indicator; a unit may not edit or remove it.
    pub fixed: bool,
}

impl DeclaredIndicator {
    /// ≥, ≤ and = indicators are quantitative.
    pub fn is_quantitative(&self) -> bool {
        self.direction.is_quantitative()
    }

    /// The target as a number (see [`parse_declared_number`]).
    pub fn numeric_target(&self) -> Result<Decimal, NumberProblem> {
        parse_declared_number(&self.target_value)
    }

    /// The library code, for library picks.
    pub fn library_code(&self) -> Option<&str> {
        match &self.source {
            IndicatorSource::Library { code, .. } => Some(code),
            IndicatorSource::Specific => None,
        }
    }
}

/// A goal declaration (绩效目标申报表) for one subject and fiscal year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoalDeclaration {
    /// The project or department the goal is for.
    pub target: DeclarationTarget,
    /// 预算年度.
    pub fiscal_year: FiscalYear,
    /// 年度绩效目标 (`KPI_TARGET`).
    pub year_goal: String,
    /// 中期绩效目标, for multi-year spending; blank text counts as absent.
    pub mid_term_goal: Option<String>,
    /// Whether the spending serves people directly (has 服务对象): then a 满意度 indicator is
    /// required. Stated by the declarant and checked by the reviewer.
    pub serves_people: bool,
    /// 绩效指标, in the order shown on the goal table.
    pub indicators: Vec<DeclaredIndicator>,
}

/// Library status of an indicator version (the indicator service's 启用/停用).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LibraryStatus {
    /// 启用
    Enabled,
    /// 停用
    Disabled,
}

text_enum!(LibraryStatus { Enabled => "enabled", "启用"; Disabled => "disabled", "停用"; });

/// One library indicator version, as the indicator service returns it: the facts the quality
/// checks need (enabled in the fiscal year; the definition a 固化 indicator must keep).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryIndicator {
    /// Indicator code.
    pub code: String,
    /// Version.
    pub version: i64,
    /// 一级指标 kind of its frame node.
    pub level1: Level1,
    /// 二级指标 kind of its frame node.
    pub level2: Level2,
    /// 三级指标名称.
    pub name: String,
    /// 指标方向.
    pub direction: Direction,
    /// 计量单位.
    pub unit: String,
    /// The library's target (参考指标值); empty when the unit sets the value.
    pub reference_target: String,
    /// 固化.
    pub fixed: bool,
    /// 启用 or 停用.
    pub status: LibraryStatus,
    /// First fiscal year of the enabled period (open when absent).
    pub enabled_from_year: Option<i32>,
    /// Last fiscal year of the enabled period (open when absent).
    pub enabled_to_year: Option<i32>,
}

impl LibraryIndicator {
    /// True when the version is 启用 and its enabled period covers `year`.
    pub fn usable_in(&self, year: FiscalYear) -> bool {
        let year = year.get();
        self.status == LibraryStatus::Enabled
            && self.enabled_from_year.is_none_or(|from| from <= year)
            && self.enabled_to_year.is_none_or(|to| year <= to)
    }

    /// The enabled period as people read it (`2025–不限`).
    pub fn period_text(&self) -> String {
        let end = |y: Option<i32>| y.map_or_else(|| "不限".to_owned(), |y| y.to_string());
        format!(
            "{}–{}",
            end(self.enabled_from_year),
            end(self.enabled_to_year)
        )
    }
}

/// Library facts for one declaration, loaded by the use case from the indicator service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryFacts {
    /// Every library version the declaration pins (missing ones are reported).
    pub pinned: Vec<LibraryIndicator>,
    /// The 固化 indicators that apply to this declaration ([`super::fixed::required_fixed`]:
    /// by the indicator's owner department and its field and level tags): each must be present.
    pub required_fixed: Vec<LibraryIndicator>,
}

impl LibraryFacts {
    /// The pinned version `code`@`version`, if loaded.
    pub fn find(&self, code: &str, version: i64) -> Option<&LibraryIndicator> {
        self.pinned
            .iter()
            .find(|l| l.code == code && l.version == version)
    }
}

/// One changed field of a declaration: the audit record of an amendment (docs/DOMAIN.md
/// "Review and approval": 良 is amended by finance, every amendment kept with its diff).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FieldChange {
    /// Path of the field (`indicators[2].target_value`; `indicators[5]` for an added or
    /// removed indicator).
    pub field: String,
    /// Text before the change (empty for an added indicator).
    pub before: String,
    /// Text after the change (empty for a removed indicator).
    pub after: String,
}

fn text_of_weight(w: Option<Decimal>) -> String {
    w.map(show).unwrap_or_default()
}

fn indicator_summary(i: &DeclaredIndicator) -> String {
    format!(
        "{}/{}/{} {} {}{}（{}）",
        i.level1.chinese(),
        i.level2.chinese(),
        i.name,
        i.direction.chinese(),
        i.target_value,
        i.unit,
        i.source
    )
}

/// Every field that differs between `before` and `after`, in table order: the header fields,
/// then each indicator by position, then added or removed indicators. Empty when nothing
/// changed.
pub fn diff_declarations(before: &GoalDeclaration, after: &GoalDeclaration) -> Vec<FieldChange> {
    let mut changes = Vec::new();
    let mut push = |field: String, b: String, a: String| {
        if b != a {
            changes.push(FieldChange {
                field,
                before: b,
                after: a,
            });
        }
    };
    let target = |t: &DeclarationTarget| match t {
        DeclarationTarget::Project { pro_code } => format!("项目 {pro_code}"),
        DeclarationTarget::DepartmentOverall { department_code } => {
            format!("部门整体 {department_code}")
        }
    };
    push(
        "target".into(),
        target(&before.target),
        target(&after.target),
    );
    push(
        "fiscal_year".into(),
        before.fiscal_year.to_string(),
        after.fiscal_year.to_string(),
    );
    push(
        "year_goal".into(),
        before.year_goal.clone(),
        after.year_goal.clone(),
    );
    push(
        "mid_term_goal".into(),
        before.mid_term_goal.clone().unwrap_or_default(),
        after.mid_term_goal.clone().unwrap_or_default(),
    );
    let yes_no = |b: bool| if b { "是" } else { "否" }.to_owned();
    push(
        "serves_people".into(),
        yes_no(before.serves_people),
        yes_no(after.serves_people),
    );
    for (i, (b, a)) in before.indicators.iter().zip(&after.indicators).enumerate() {
        let f = |name: &str| format!("indicators[{i}].{name}");
        push(f("source"), b.source.to_string(), a.source.to_string());
        push(
            f("level1"),
            b.level1.chinese().into(),
            a.level1.chinese().into(),
        );
        push(
            f("level2"),
            b.level2.chinese().into(),
            a.level2.chinese().into(),
        );
        push(f("name"), b.name.clone(), a.name.clone());
        push(
            f("direction"),
            b.direction.chinese().into(),
            a.direction.chinese().into(),
        );
        push(
            f("target_value"),
            b.target_value.clone(),
            a.target_value.clone(),
        );
        push(f("unit"), b.unit.clone(), a.unit.clone());
        push(
            f("weight"),
            text_of_weight(b.weight),
            text_of_weight(a.weight),
        );
        push(f("fixed"), yes_no(b.fixed), yes_no(a.fixed));
    }
    let common = before.indicators.len().min(after.indicators.len());
    for (i, b) in before.indicators.iter().enumerate().skip(common) {
        push(
            format!("indicators[{i}]"),
            indicator_summary(b),
            String::new(),
        );
    }
    for (i, a) in after.indicators.iter().enumerate().skip(common) {
        push(
            format!("indicators[{i}]"),
            String::new(),
            indicator_summary(a),
        );
    }
    changes
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::project::ProCode;
    use rust_decimal_macros::dec;

    pub(crate) fn fy(year: i32) -> FiscalYear {
        FiscalYear::new(year).unwrap()
    }

    /// A library-picked indicator.
    pub(crate) fn lib(
        code: &str,
        level2: Level2,
        name: &str,
        direction: Direction,
        target: &str,
        unit: &str,
    ) -> DeclaredIndicator {
        DeclaredIndicator {
            source: IndicatorSource::Library {
                code: code.into(),
                version: 1,
            },
            level1: level2.level1(),
            level2,
            name: name.into(),
            direction,
            target_value: target.into(),
            unit: unit.into(),
            weight: None,
            fixed: false,
        }
    }

    /// A specific indicator.
    pub(crate) fn own(
        level2: Level2,
        name: &str,
        direction: Direction,
        target: &str,
        unit: &str,
    ) -> DeclaredIndicator {
        DeclaredIndicator {
            source: IndicatorSource::Specific,
            ..lib("", level2, name, direction, target, unit)
        }
    }

    /// The library version behind a library pick.
    pub(crate) fn library_entry(i: &DeclaredIndicator) -> LibraryIndicator {
        let IndicatorSource::Library { code, version } = &i.source else {
            panic!("not a library pick");
        };
        LibraryIndicator {
            code: code.clone(),
            version: *version,
            level1: i.level1,
            level2: i.level2,
            name: i.name.clone(),
            direction: i.direction,
            unit: i.unit.clone(),
            reference_target: String::new(),
            fixed: i.fixed,
            status: LibraryStatus::Enabled,
            enabled_from_year: Some(2018),
            enabled_to_year: None,
        }
    }

    /// 农村饮水安全工程 (晋城 2019 key evaluation): a declaration that passes every check.
    pub(crate) fn declaration() -> GoalDeclaration {
        GoalDeclaration {
            target: DeclarationTarget::Project {
                pro_code: ProCode::parse("140500-2019-0001").unwrap(),
            },
            fiscal_year: fy(2019),
            year_goal: "新建农村集中供水工程12处，解决1.2万农村人口饮水安全问题".into(),
            mid_term_goal: None,
            serves_people: true,
            indicators: vec![
                lib(
                    "CZ-001",
                    Level2::Quantity,
                    "新建集中供水工程数量",
                    Direction::Ge,
                    "12",
                    "处",
                ),
                own(Level2::Quality, "水质达标率", Direction::Ge, "95", "%"),
                lib(
                    "CZ-002",
                    Level2::OutputCost,
                    "工程建设总成本",
                    Direction::Le,
                    "600",
                    "万元",
                ),
                own(Level2::Social, "受益农村人口", Direction::Ge, "12000", "人"),
                lib(
                    "CZ-003",
                    Level2::ServiceRecipientSatisfaction,
                    "受益群众满意度",
                    Direction::Ge,
                    "90",
                    "%",
                ),
            ],
        }
    }

    pub(crate) fn library_for(d: &GoalDeclaration) -> LibraryFacts {
        LibraryFacts {
            pinned: d
                .indicators
                .iter()
                .filter(|i| i.library_code().is_some())
                .map(library_entry)
                .collect(),
            required_fixed: Vec::new(),
        }
    }

    #[test]
    fn second_levels_belong_to_their_first_level() {
        assert_eq!(Level2::OutputCost.level1(), Level1::Output);
        assert_eq!(Level2::Sustainability.level1(), Level1::Benefit);
        assert_eq!(
            Level2::ServiceRecipientSatisfaction.level1(),
            Level1::Satisfaction
        );
        assert_eq!(Level2::EcologicalCost.level1(), Level1::Cost);
        let budget: Vec<Level2> = Level2::ALL
            .iter()
            .copied()
            .filter(|l| l.is_budget_cost())
            .collect();
        assert_eq!(budget, vec![Level2::OutputCost, Level2::EconomicCost]);
        for l in Level2::ALL {
            assert_eq!(Level2::from_db(l.as_db()), Some(*l));
            assert_eq!(Level2::from_chinese(l.chinese()), Some(*l));
        }
        for l in Level1::ALL {
            assert_eq!(Level1::from_chinese(l.chinese()), Some(*l));
        }
    }

    #[test]
    fn direction_text_matches_the_indicator_service() {
        assert_eq!(Direction::Ge.as_db(), "ge");
        assert_eq!(
            Direction::from_chinese("定性"),
            Some(Direction::Qualitative)
        );
        assert!(Direction::Eq.is_quantitative());
        assert!(!Direction::Qualitative.is_quantitative());
    }

    #[test]
    fn library_period_and_status_decide_usability() {
        let d = declaration();
        let mut l = library_entry(&d.indicators[0]);
        assert!(l.usable_in(fy(2019)));
        assert!(!l.usable_in(fy(2017)));
        l.enabled_to_year = Some(2018);
        assert!(!l.usable_in(fy(2019)));
        assert_eq!(l.period_text(), "2018–2018");
        l.enabled_to_year = None;
        l.status = LibraryStatus::Disabled;
        assert!(!l.usable_in(fy(2019)));
        assert_eq!(
            LibraryIndicator {
                enabled_from_year: None,
                ..l
            }
            .period_text(),
            "不限–不限"
        );
    }

    #[test]
    fn numeric_targets_are_parsed_from_the_typed_text() {
        let d = declaration();
        assert_eq!(d.indicators[2].numeric_target(), Ok(dec!(600)));
        assert!(d.indicators[0].is_quantitative());
        assert_eq!(d.indicators[0].library_code(), Some("CZ-001"));
        assert_eq!(d.indicators[1].library_code(), None);
    }

    #[test]
    fn diff_lists_each_changed_field() {
        let before = declaration();
        assert!(diff_declarations(&before, &before).is_empty());
        let mut after = before.clone();
        after.indicators[1].target_value = "98".into();
        after.indicators[1].weight = Some(dec!(10));
        after.year_goal.push('。');
        after.indicators.pop();
        let changes = diff_declarations(&before, &after);
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "year_goal",
                "indicators[1].target_value",
                "indicators[1].weight",
                "indicators[4]"
            ]
        );
        assert_eq!(
            (changes[1].before.as_str(), changes[1].after.as_str()),
            ("95", "98")
        );
        assert_eq!(
            (changes[2].before.as_str(), changes[2].after.as_str()),
            ("", "10")
        );
        assert!(
            changes[3].before.contains("受益群众满意度"),
            "{}",
            changes[3].before
        );
        assert!(changes[3].after.is_empty());
        let added = diff_declarations(&after, &before);
        assert_eq!(added.last().unwrap().field, "indicators[4]");
        assert!(added.last().unwrap().before.is_empty());
    }

    #[test]
    fn declaration_json_round_trips() {
        let d = declaration();
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["target"]["kind"], "project");
        assert_eq!(json["indicators"][0]["source"]["kind"], "library");
        assert_eq!(json["indicators"][0]["direction"], "ge");
        let back: GoalDeclaration = serde_json::from_value(json).unwrap();
        assert_eq!(back, d);
    }
}
