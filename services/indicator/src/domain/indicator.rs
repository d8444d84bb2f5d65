//! Third-level indicators (三级指标) and their rules (docs/DOMAIN.md "Third-level indicators").

use chrono::NaiveDateTime;
use pbm_types::{Decimal, FieldViolation, FiscalYear};

use super::frame::Frame;

/// 共性 (common, set by finance) or 个性 (specific, finance with a department).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Common,
    Specific,
}

/// Direction of an indicator (正向 ≥, 反向 ≤, 等于 =, 定性).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Ge,
    Le,
    Eq,
    Qualitative,
}

impl Direction {
    /// ≥, ≤ and = indicators are quantitative: they need a unit and numeric values.
    pub fn is_quantitative(self) -> bool {
        !matches!(self, Direction::Qualitative)
    }
}

/// 指标值设定依据.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueStandard {
    Plan,
    Industry,
    History,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Enabled,
    Disabled,
}

text_enum!(Kind { Common => "common", "共性"; Specific => "specific", "个性"; });
text_enum!(Direction { Ge => "ge", "≥"; Le => "le", "≤"; Eq => "eq", "="; Qualitative => "qualitative", "定性"; });
text_enum!(ValueStandard { Plan => "plan", "计划标准"; Industry => "industry", "行业标准"; History => "history", "历史标准"; Other => "other", "其他"; });
text_enum!(Status { Enabled => "enabled", "启用"; Disabled => "disabled", "停用"; });

/// Every attribute a writer sets on a third-level indicator.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Spec {
    pub fiscal_year: FiscalYear,
    pub frame_node_code: String,
    pub name: String,
    pub kind: Kind,
    pub industry_tags: Vec<String>,
    pub field_tags: Vec<String>,
    pub level_tags: Vec<String>,
    pub direction: Direction,
    pub unit: String,
    pub explanation: String,
    pub formula: String,
    pub scoring_rule: String,
    pub value_standard: Option<ValueStandard>,
    pub value_standard_note: String,
    pub reference_target: String,
    pub last_year_value: Option<Decimal>,
    pub year_before_value: Option<Decimal>,
    pub fixed: bool,
    pub enabled_from_year: Option<i32>,
    pub enabled_to_year: Option<i32>,
    pub owner_department: String,
}

/// One stored version of an indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    pub code: String,
    pub version: i64,
    pub status: Status,
    pub spec: Spec,
    pub change_note: String,
    pub changed_by: String,
    pub changed_at: NaiveDateTime,
    /// `Some` when an upstream library owns the indicator (docs/INDICATOR.md "Following an
    /// upstream library"); `None` for this deployment's own.
    pub origin: Option<Origin>,
}

/// The library that owns an upstream indicator, and the version number it gave this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub region: String,
    pub version: i64,
}

const MAX_NAME: usize = 100;
const MAX_TEXT: usize = 2000;
const MAX_TAG: usize = 32;

/// Reason of a unit of measure on a 定性 indicator.
pub const UNIT_NOT_ALLOWED: &str = "UNIT_NOT_ALLOWED";

/// Checks an indicator code: 1–32 characters of `A–Z a–z 0–9 . _ -`.
pub fn code_violation(code: &str) -> Option<String> {
    let ok = !code.is_empty()
        && code.len() <= 32
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    (!ok).then(|| format!("指标编码「{code}」无效：应为1–32位字母、数字或 . _ -"))
}

/// Trims tags, drops empty ones and duplicates, keeps the order given.
pub fn normalize_tags(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = t.trim();
        if !t.is_empty() && !out.iter().any(|o| o == t) {
            out.push(t.to_owned());
        }
    }
    out
}

impl Spec {
    /// Checks the spec against the rules and the frame of its fiscal year. Returns field
    /// violations with paths under `prefix` (e.g. `spec.unit`).
    pub fn violations(&self, frame: &Frame, prefix: &str) -> Vec<FieldViolation> {
        let field = |f: &str| format!("{prefix}{f}");
        let mut v = Vec::new();
        let name = self.name.trim();
        if name.is_empty() {
            v.push(FieldViolation::generic(field("name"), "指标名称不能为空"));
        } else if name.chars().count() > MAX_NAME {
            v.push(FieldViolation::generic(
                field("name"),
                format!("指标名称不能超过{MAX_NAME}个字"),
            ));
        }
        if frame.level2(&self.frame_node_code).is_none() {
            v.push(FieldViolation::generic(
                field("frame_node_code"),
                format!(
                    "{}年度指标框架中没有二级指标「{}」",
                    self.fiscal_year, self.frame_node_code
                ),
            ));
        }
        // docs/DOMAIN.md "Directions and units": ≥, ≤ and = are measured against a number in a
        // unit; 定性 is not.
        if self.direction.is_quantitative() {
            if self.unit.trim().is_empty() {
                v.push(FieldViolation::generic(
                    field("unit"),
                    "定量指标（≥、≤、=）必须填写计量单位",
                ));
            }
            if !self.reference_target.trim().is_empty()
                && pbm_types::decimal::parse(&self.reference_target).is_err()
            {
                v.push(FieldViolation::generic(
                    field("reference_target"),
                    format!(
                        "定量指标的指标值必须是数字，「{}」不是数字",
                        self.reference_target
                    ),
                ));
            }
        } else {
            if !self.unit.trim().is_empty() {
                v.push(FieldViolation::new(
                    field("unit"),
                    UNIT_NOT_ALLOWED,
                    format!(
                        "定性指标没有计量单位，请删除计量单位「{}」",
                        self.unit.trim()
                    ),
                ));
            }
            if self.last_year_value.is_some() || self.year_before_value.is_some() {
                v.push(FieldViolation::generic(
                    field("last_year_value"),
                    "定性指标没有数值型的历史值",
                ));
            }
        }
        for (f, text) in [
            ("unit", &self.unit),
            ("explanation", &self.explanation),
            ("formula", &self.formula),
            ("scoring_rule", &self.scoring_rule),
            ("value_standard_note", &self.value_standard_note),
            ("reference_target", &self.reference_target),
        ] {
            if text.chars().count() > MAX_TEXT {
                v.push(FieldViolation::generic(
                    field(f),
                    format!("不能超过{MAX_TEXT}个字"),
                ));
            }
        }
        for (f, tags) in [
            ("industry_tags", &self.industry_tags),
            ("field_tags", &self.field_tags),
            ("level_tags", &self.level_tags),
        ] {
            for (i, t) in tags.iter().enumerate() {
                if t.chars().count() > MAX_TAG || t.contains('|') || t.trim().is_empty() {
                    v.push(FieldViolation::generic(
                        format!("{prefix}{f}[{i}]"),
                        format!("标签不能为空、不能含「|」且不超过{MAX_TAG}个字"),
                    ));
                }
            }
        }
        for (f, year) in [
            ("enabled_from_year", self.enabled_from_year),
            ("enabled_to_year", self.enabled_to_year),
        ] {
            if let Some(y) = year
                && FiscalYear::new(y).is_err()
            {
                v.push(FieldViolation::generic(
                    field(f),
                    format!("启用年度 {y} 无效"),
                ));
            }
        }
        if let (Some(from), Some(to)) = (self.enabled_from_year, self.enabled_to_year)
            && from > to
        {
            v.push(FieldViolation::generic(
                field("enabled_to_year"),
                format!("启用期间无效：起始年度 {from} 晚于截止年度 {to}"),
            ));
        }
        match self.kind {
            Kind::Specific if self.owner_department.trim().is_empty() => {
                v.push(FieldViolation::generic(
                    field("owner_department"),
                    "个性指标必须注明所属部门",
                ));
            }
            Kind::Common if !self.owner_department.trim().is_empty() => {
                v.push(FieldViolation::generic(
                    field("owner_department"),
                    "共性指标由财政设置，不属于某个部门",
                ));
            }
            _ => {}
        }
        v
    }

    /// Whether the indicator's enabled period covers `year` (open ends are unbounded).
    pub fn in_period(&self, year: i32) -> bool {
        self.enabled_from_year.is_none_or(|from| from <= year)
            && self.enabled_to_year.is_none_or(|to| year <= to)
    }
}

/// Why an indicator may not be used in a declaration for `year`, if it may not.
pub fn unusable_reason(indicator: &Indicator, year: i32) -> Option<(&'static str, String)> {
    if indicator.status == Status::Disabled {
        return Some((
            "INDICATOR_DISABLED",
            format!("指标「{}」({}) 已停用", indicator.spec.name, indicator.code),
        ));
    }
    if !indicator.spec.in_period(year) {
        let from = indicator
            .spec
            .enabled_from_year
            .map_or("不限".to_string(), |y| y.to_string());
        let to = indicator
            .spec
            .enabled_to_year
            .map_or("不限".to_string(), |y| y.to_string());
        return Some((
            "INDICATOR_OUT_OF_PERIOD",
            format!(
                "指标「{}」({}) 的启用期间为 {from}–{to}，不能用于 {year} 年度",
                indicator.spec.name, indicator.code
            ),
        ));
    }
    None
}

/// Indicators for unit tests: the one place a test builds an `Indicator` field by field, so a
/// new field is added here only.
#[cfg(test)]
pub mod fixture {
    use super::*;

    /// An enabled 共性 indicator of 2026 under frame node 101 with `name` and `explanation`.
    pub fn indicator(code: &str, name: &str, explanation: &str, version: i64) -> Indicator {
        Indicator {
            code: code.into(),
            version,
            status: Status::Enabled,
            spec: Spec {
                fiscal_year: FiscalYear::new(2026).unwrap(),
                frame_node_code: "101".into(),
                name: name.into(),
                kind: Kind::Common,
                industry_tags: vec![],
                field_tags: vec![],
                level_tags: vec![],
                direction: Direction::Ge,
                unit: "人".into(),
                explanation: explanation.into(),
                formula: String::new(),
                scoring_rule: String::new(),
                value_standard: None,
                value_standard_note: String::new(),
                reference_target: String::new(),
                last_year_value: None,
                year_before_value: None,
                fixed: false,
                enabled_from_year: None,
                enabled_to_year: None,
                owner_department: String::new(),
            },
            change_note: String::new(),
            changed_by: "u".into(),
            changed_at: Default::default(),
            origin: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::frame::Template;
    use rust_decimal_macros::dec;

    pub(crate) fn frame() -> Frame {
        Frame {
            fiscal_year: FiscalYear::new(2026).unwrap(),
            name: "f".into(),
            nodes: Template::NationalDefault.nodes(),
        }
    }

    pub(crate) fn spec() -> Spec {
        Spec {
            fiscal_year: FiscalYear::new(2026).unwrap(),
            frame_node_code: "101".into(),
            name: "受益人口数量".into(),
            kind: Kind::Common,
            industry_tags: vec!["水利".into()],
            field_tags: vec![],
            level_tags: vec![],
            direction: Direction::Ge,
            unit: "人".into(),
            explanation: "农村饮水安全工程受益人口".into(),
            formula: String::new(),
            scoring_rule: String::new(),
            value_standard: Some(ValueStandard::Plan),
            value_standard_note: String::new(),
            reference_target: "1000".into(),
            last_year_value: Some(dec!(900)),
            year_before_value: None,
            fixed: false,
            enabled_from_year: Some(2025),
            enabled_to_year: None,
            owner_department: String::new(),
        }
    }

    fn fields(v: Vec<FieldViolation>) -> Vec<String> {
        v.into_iter().map(|v| v.field).collect()
    }

    #[test]
    fn a_complete_spec_is_valid() {
        assert!(spec().violations(&frame(), "spec.").is_empty());
    }

    #[test]
    fn quantitative_indicator_needs_unit_and_numeric_target() {
        let s = Spec {
            unit: " ".into(),
            reference_target: "很多".into(),
            ..spec()
        };
        assert_eq!(
            fields(s.violations(&frame(), "spec.")),
            vec!["spec.unit", "spec.reference_target"]
        );
    }

    #[test]
    fn qualitative_indicator_needs_no_unit_but_has_no_numeric_history() {
        let s = Spec {
            direction: Direction::Qualitative,
            unit: String::new(),
            reference_target: "达成".into(),
            last_year_value: None,
            ..spec()
        };
        assert!(s.violations(&frame(), "").is_empty());
        let s = Spec {
            direction: Direction::Qualitative,
            unit: String::new(),
            ..spec()
        };
        assert_eq!(fields(s.violations(&frame(), "")), vec!["last_year_value"]);
    }

    #[test]
    fn qualitative_indicator_has_no_unit() {
        let s = Spec {
            direction: Direction::Qualitative,
            reference_target: "达成".into(),
            last_year_value: None,
            ..spec()
        };
        let v = s.violations(&frame(), "spec.");
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].field, "spec.unit");
        assert_eq!(v[0].reason, UNIT_NOT_ALLOWED);
        assert!(
            v[0].message.contains("定性指标没有计量单位"),
            "{}",
            v[0].message
        );
        let blank = Spec {
            unit: "  ".into(),
            ..s
        };
        assert!(blank.violations(&frame(), "spec.").is_empty());
    }

    #[test]
    fn unknown_or_first_level_frame_node_is_rejected() {
        for code in ["999", "1"] {
            let s = Spec {
                frame_node_code: code.into(),
                ..spec()
            };
            assert_eq!(fields(s.violations(&frame(), "")), vec!["frame_node_code"]);
        }
    }

    #[test]
    fn specific_indicator_belongs_to_a_department() {
        let s = Spec {
            kind: Kind::Specific,
            ..spec()
        };
        assert_eq!(fields(s.violations(&frame(), "")), vec!["owner_department"]);
        let s = Spec {
            kind: Kind::Specific,
            owner_department: "101".into(),
            ..spec()
        };
        assert!(s.violations(&frame(), "").is_empty());
    }

    #[test]
    fn period_must_be_ordered() {
        let s = Spec {
            enabled_from_year: Some(2027),
            enabled_to_year: Some(2026),
            ..spec()
        };
        assert_eq!(fields(s.violations(&frame(), "")), vec!["enabled_to_year"]);
    }

    #[test]
    fn disabled_and_out_of_period_indicators_are_unusable() {
        let ind = Indicator {
            code: "A1".into(),
            version: 1,
            status: Status::Enabled,
            spec: Spec {
                enabled_from_year: Some(2025),
                enabled_to_year: Some(2026),
                ..spec()
            },
            change_note: String::new(),
            changed_by: "u".into(),
            changed_at: NaiveDateTime::default(),
            origin: None,
        };
        assert!(unusable_reason(&ind, 2026).is_none());
        assert_eq!(
            unusable_reason(&ind, 2027).unwrap().0,
            "INDICATOR_OUT_OF_PERIOD"
        );
        assert_eq!(
            unusable_reason(&ind, 2024).unwrap().0,
            "INDICATOR_OUT_OF_PERIOD"
        );
        let disabled = Indicator {
            status: Status::Disabled,
            ..ind
        };
        assert_eq!(
            unusable_reason(&disabled, 2026).unwrap().0,
            "INDICATOR_DISABLED"
        );
    }

    #[test]
    fn codes_and_tags() {
        assert!(code_violation("CP-01.2_a").is_none());
        for bad in ["", "有中文", "a b", &"x".repeat(33)] {
            assert!(code_violation(bad).is_some(), "{bad}");
        }
        assert_eq!(
            normalize_tags(&[" 水利 ".into(), "".into(), "水利".into(), "农业".into()]),
            vec!["水利", "农业"]
        );
    }

    #[test]
    fn text_enums_round_trip() {
        for d in Direction::ALL {
            assert_eq!(Direction::from_db(d.as_db()), Some(*d));
            assert_eq!(Direction::from_chinese(d.chinese()), Some(*d));
        }
        for k in Kind::ALL {
            assert_eq!(Kind::from_db(k.as_db()), Some(*k));
        }
        for s in ValueStandard::ALL {
            assert_eq!(ValueStandard::from_chinese(s.chinese()), Some(*s));
        }
        for s in Status::ALL {
            assert_eq!(Status::from_db(s.as_db()), Some(*s));
        }
    }
}
