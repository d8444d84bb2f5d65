//! Projects as the budget system knows them, and what a goal declaration is for.
//!
//! Rule: docs/DOMAIN.md "Budgets, fields and projects" — 项目编码 (`PRO_CODE`), name, budget unit
//! (`AGENCY_CODE`) and its department, fiscal year, fund source among the 四本预算, special field,
//! new or continuing, requested amount (exact decimal, 元), mid-term period; 中发〔2018〕34号 for
//! coverage (四本预算 and the special fields 政府投资基金, PPP, 政府采购, 政府购买服务, 政府债务).
//!
//! Choices where the rules are silent:
//! * **Codes.** docs/DOMAIN.md "Interoperability" names the national 一体化 elements but not their
//!   formats, and codes are issued by the budget system (docs/DOMAIN.md "Budgets, fields and
//!   projects"), so a code is accepted as given: 1–40 characters of ASCII letters, digits, `-`,
//!   `_`, `.`, surrounding whitespace trimmed.
//! * **Requested amount.** Greater than 0, at most two decimal places (分), below
//!   [`MAX_AMOUNT`] (10¹⁵ 元: far above any region's whole budget, and inside the
//!   `NUMERIC(20,4)` columns the other services use). Trailing zeros are insignificant
//!   (`1.500` 元 is accepted as `1.50`).
//! * **Special field.** One per project: the field under which the project is managed. 政府债务
//!   is split into 一般债券 and 专项债券 because only 专项债券 projects owe the eight ex-ante
//!   items (财预〔2021〕61号). A project financed by a 专项债券 belongs to the 政府性基金预算 and
//!   one financed by a 一般债券 to the 一般公共预算 (财预〔2016〕155号 and 154号: 专项债务收支纳入
//!   政府性基金预算管理, 一般债务收支纳入一般公共预算管理); a mismatch is refused.
//! * **Mid-term period.** Optional (one-year projects have none). When given it must contain
//!   the fiscal year and span at most five years (中期财政规划 rolls over three years; five
//!   allows projects aligned with a 五年规划).
//! * **Policy or project.** Ex-ante assessment covers "new major policies and projects"
//!   (docs/DOMAIN.md "Ex-ante assessment (事前绩效评估)"), so a record says which it is
//!   ([`Nature`]).

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::common::{
    FieldViolation, FiscalYear, char_count, fiscal_year, has_at_most_places, show,
};

/// Code newtypes issued by the budget system; see the module doc for the accepted shape.
macro_rules! code_type {
    ($(#[$doc:meta])* $name:ident, $field:literal, $reason:ident, $zh:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        #[doc = concat!("Reason code of an invalid ", $zh, ".")]
        pub const $reason: &str = stringify!($reason);

        impl $name {
            #[doc = concat!("Parses a ", $zh, "; the violation is on field `", $field, "`.")]
            pub fn parse(text: &str) -> Result<Self, FieldViolation> {
                let code = text.trim();
                let ok = !code.is_empty()
                    && code.len() <= MAX_CODE_LEN
                    && code
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
                if ok {
                    Ok(Self(code.to_owned()))
                } else {
                    Err(FieldViolation::new(
                        $field,
                        $reason,
                        format!(
                            "{}「{}」无效：应为1–{}位字母、数字或 - _ .",
                            $zh, code, MAX_CODE_LEN
                        ),
                    ))
                }
            }

            /// The code as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;

            fn try_from(text: String) -> Result<Self, Self::Error> {
                Self::parse(&text).map_err(|v| v.message)
            }
        }

        impl From<$name> for String {
            fn from(code: $name) -> String {
                code.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// Longest accepted code.
pub const MAX_CODE_LEN: usize = 40;
/// Longest accepted project or department name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest mid-term period, in fiscal years.
pub const MAX_MID_TERM_YEARS: i32 = 5;

code_type!(
    /// 项目编码 (`PRO_CODE`).
    ProCode, "pro_code", PRO_CODE_INVALID, "项目编码"
);
code_type!(
    /// 单位编码 (`AGENCY_CODE`) of a budget unit (预算单位).
    AgencyCode, "agency_code", AGENCY_CODE_INVALID, "单位编码"
);
code_type!(
    /// Code of a competent department (主管部门 / 一级预算单位).
    DepartmentCode, "department_code", DEPARTMENT_CODE_INVALID, "主管部门编码"
);

/// 四本预算: the budget a project is funded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FundSource {
    /// 一般公共预算
    GeneralPublic,
    /// 政府性基金预算
    GovernmentFund,
    /// 国有资本经营预算
    StateCapital,
    /// 社会保险基金预算
    SocialInsurance,
}

text_enum!(FundSource {
    GeneralPublic => "general_public", "一般公共预算";
    GovernmentFund => "government_fund", "政府性基金预算";
    StateCapital => "state_capital", "国有资本经营预算";
    SocialInsurance => "social_insurance", "社会保险基金预算";
});

/// 重点领域: the special field a project is managed under (docs/DOMAIN.md "Budgets, fields and
/// projects").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpecialField {
    /// 无 (an ordinary project).
    None,
    /// 政府投资基金
    GovernmentInvestmentFund,
    /// 政府和社会资本合作（PPP）
    Ppp,
    /// 政府采购
    GovernmentProcurement,
    /// 政府购买服务
    GovernmentPurchasedServices,
    /// 政府债务（一般债券）
    GeneralBond,
    /// 政府债务（专项债券）: owes the eight ex-ante items of 财预〔2021〕61号.
    SpecialBond,
}

text_enum!(SpecialField {
    None => "none", "无";
    GovernmentInvestmentFund => "government_investment_fund", "政府投资基金";
    Ppp => "ppp", "政府和社会资本合作（PPP）";
    GovernmentProcurement => "government_procurement", "政府采购";
    GovernmentPurchasedServices => "government_purchased_services", "政府购买服务";
    GeneralBond => "general_bond", "政府债务（一般债券）";
    SpecialBond => "special_bond", "政府债务（专项债券）";
});

impl SpecialField {
    /// True for 政府债务 of either kind.
    pub fn is_government_debt(self) -> bool {
        matches!(self, SpecialField::GeneralBond | SpecialField::SpecialBond)
    }

    /// The only fund source a debt-financed project can have, if this field fixes one
    /// (财预〔2016〕154号 and 155号).
    pub fn required_fund_source(self) -> Option<FundSource> {
        match self {
            SpecialField::GeneralBond => Some(FundSource::GeneralPublic),
            SpecialField::SpecialBond => Some(FundSource::GovernmentFund),
            SpecialField::None
            | SpecialField::GovernmentInvestmentFund
            | SpecialField::Ppp
            | SpecialField::GovernmentProcurement
            | SpecialField::GovernmentPurchasedServices => None,
        }
    }
}

/// 新增 or 延续: ex-ante assessment concerns new projects only (docs/DOMAIN.md "Ex-ante assessment
/// (事前绩效评估)").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Continuity {
    /// 新增项目
    New,
    /// 延续项目
    Continuing,
}

text_enum!(Continuity { New => "new", "新增"; Continuing => "continuing", "延续"; });

/// Whether the record is an ordinary project or a policy (重大政策) funded through the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Nature {
    /// 项目
    Project,
    /// 政策
    Policy,
}

text_enum!(Nature { Project => "project", "项目"; Policy => "policy", "政策"; });

/// What a goal declaration is declared for: 项目支出 or 部门整体支出 (docs/DOMAIN.md
/// "Declarations").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// 项目支出绩效目标
    Project,
    /// 部门整体支出绩效目标
    DepartmentOverall,
}

text_enum!(TargetKind {
    Project => "project", "项目支出";
    DepartmentOverall => "department_overall", "部门整体支出";
});

/// The subject of a goal declaration.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeclarationTarget {
    /// A project, by its 项目编码.
    Project {
        /// The project.
        pro_code: ProCode,
    },
    /// A department's spending as a whole (部门整体支出).
    DepartmentOverall {
        /// The department.
        department_code: DepartmentCode,
    },
}

impl DeclarationTarget {
    /// Which kind of target this is.
    pub fn kind(&self) -> TargetKind {
        match self {
            DeclarationTarget::Project { .. } => TargetKind::Project,
            DeclarationTarget::DepartmentOverall { .. } => TargetKind::DepartmentOverall,
        }
    }
}

/// Reason code of an invalid requested amount.
pub const AMOUNT_INVALID: &str = "AMOUNT_INVALID";
/// Reason code of a name that is blank or too long.
pub const NAME_INVALID: &str = "NAME_INVALID";
/// Reason code of a mid-term period that does not contain the fiscal year or is too long.
pub const MID_TERM_INVALID: &str = "MID_TERM_INVALID";
/// Reason code of a debt-financed project in the wrong budget.
pub const FUND_SOURCE_MISMATCH: &str = "FUND_SOURCE_MISMATCH";

/// Largest accepted requested amount, in 元 (10¹⁵).
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(2_764_472_320, 232_830, 0, false, 0);

/// A requested amount (申请金额) in 元: > 0, at most two decimal places, below
/// [`MAX_AMOUNT`]. Stored with exactly two places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Decimal")]
pub struct RequestedAmount(Decimal);

impl RequestedAmount {
    /// Validates an amount in 元; the violation is on field `requested_amount`.
    pub fn new(yuan: Decimal) -> Result<Self, FieldViolation> {
        let problem = if yuan <= Decimal::ZERO {
            Some(format!("申请金额应大于0元，实为 {} 元", show(yuan)))
        } else if !has_at_most_places(yuan, 2) {
            Some(format!(
                "申请金额以元为单位，最多保留两位小数（到分），实为 {} 元",
                show(yuan)
            ))
        } else if yuan >= MAX_AMOUNT {
            Some(format!("申请金额 {} 元超出上限", show(yuan)))
        } else {
            None
        };
        match problem {
            Some(message) => Err(FieldViolation::new(
                "requested_amount",
                AMOUNT_INVALID,
                message,
            )),
            None => {
                let mut two_places = yuan.normalize();
                two_places.rescale(2);
                Ok(Self(two_places))
            }
        }
    }

    /// The amount in 元, with two decimal places.
    pub fn yuan(self) -> Decimal {
        self.0
    }

    /// The amount in 万元, as reports show it (exact; rounding is the report's business).
    pub fn wan_yuan(self) -> Decimal {
        self.0 / Decimal::from(10_000)
    }
}

impl TryFrom<Decimal> for RequestedAmount {
    type Error = String;

    fn try_from(yuan: Decimal) -> Result<Self, Self::Error> {
        Self::new(yuan).map_err(|v| v.message)
    }
}

impl From<RequestedAmount> for Decimal {
    fn from(amount: RequestedAmount) -> Decimal {
        amount.0
    }
}

/// 中期 period of a multi-year project: fiscal years `start..=end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MidTermPeriod {
    /// First fiscal year.
    pub start: FiscalYear,
    /// Last fiscal year.
    pub end: FiscalYear,
}

impl MidTermPeriod {
    /// Number of fiscal years covered.
    pub fn years(self) -> i32 {
        self.end.get() - self.start.get() + 1
    }

    /// True when `year` lies in the period.
    pub fn contains(self, year: FiscalYear) -> bool {
        self.start <= year && year <= self.end
    }
}

/// A project as the budget system knows it. Build one with [`Project::parse`], which checks
/// every field and reports every problem at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// 项目编码 (`PRO_CODE`).
    pub pro_code: ProCode,
    /// 项目名称.
    pub name: String,
    /// The budget unit (`AGENCY_CODE`) that spends the money.
    pub agency_code: AgencyCode,
    /// The unit's competent department.
    pub department_code: DepartmentCode,
    /// 预算年度.
    pub fiscal_year: FiscalYear,
    /// Which of the 四本预算.
    pub fund_source: FundSource,
    /// 重点领域.
    pub special_field: SpecialField,
    /// 新增 or 延续.
    pub continuity: Continuity,
    /// 项目 or 政策.
    pub nature: Nature,
    /// 申请金额 in 元.
    pub requested_amount: RequestedAmount,
    /// 中期 period, if the project spans several years.
    pub mid_term: Option<MidTermPeriod>,
}

/// Unchecked project fields as they arrive from the transport layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectInput {
    /// 项目编码.
    pub pro_code: String,
    /// 项目名称.
    pub name: String,
    /// 单位编码.
    pub agency_code: String,
    /// 主管部门编码.
    pub department_code: String,
    /// 预算年度.
    pub fiscal_year: i32,
    /// Which of the 四本预算.
    pub fund_source: FundSource,
    /// 重点领域.
    pub special_field: SpecialField,
    /// 新增 or 延续.
    pub continuity: Continuity,
    /// 项目 or 政策.
    pub nature: Nature,
    /// 申请金额 in 元.
    pub requested_amount: Decimal,
    /// 中期 period as (first year, last year).
    pub mid_term: Option<(i32, i32)>,
}

/// The value, or `None` after recording its violation.
fn keep<T>(r: Result<T, FieldViolation>, violations: &mut Vec<FieldViolation>) -> Option<T> {
    r.map_err(|v| violations.push(v)).ok()
}

fn check_name(name: &str, field: &str, what: &str) -> Option<FieldViolation> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        Some(FieldViolation::new(
            field,
            NAME_INVALID,
            format!("{what}不能为空"),
        ))
    } else if char_count(trimmed) > MAX_NAME_CHARS {
        Some(FieldViolation::new(
            field,
            NAME_INVALID,
            format!("{what}不能超过{MAX_NAME_CHARS}个字"),
        ))
    } else {
        None
    }
}

impl Project {
    /// Checks every field of `input` and returns the project, or every violation found.
    pub fn parse(input: ProjectInput) -> Result<Project, Vec<FieldViolation>> {
        let mut violations = Vec::new();
        let pro_code = keep(ProCode::parse(&input.pro_code), &mut violations);
        let agency_code = keep(AgencyCode::parse(&input.agency_code), &mut violations);
        let department_code = keep(
            DepartmentCode::parse(&input.department_code),
            &mut violations,
        );
        let fiscal_year = keep(fiscal_year(input.fiscal_year), &mut violations);
        let requested_amount = keep(
            RequestedAmount::new(input.requested_amount),
            &mut violations,
        );
        let mid_term = match input.mid_term {
            None => Some(None),
            Some((start, end)) => {
                let period = match (FiscalYear::new(start), FiscalYear::new(end)) {
                    (Ok(start), Ok(end)) => Some(MidTermPeriod { start, end }),
                    _ => None,
                };
                let valid = period.filter(|p| {
                    p.start <= p.end
                        && p.years() <= MAX_MID_TERM_YEARS
                        && fiscal_year.is_none_or(|y| p.contains(y))
                });
                if valid.is_none() {
                    violations.push(FieldViolation::new(
                        "mid_term",
                        MID_TERM_INVALID,
                        format!(
                            "中期期间 {start}–{end} 无效：\
                             应包含预算年度 {}，且不超过{MAX_MID_TERM_YEARS}年",
                            input.fiscal_year
                        ),
                    ));
                }
                valid.map(Some)
            }
        };
        if let Some(v) = check_name(&input.name, "name", "项目名称") {
            violations.push(v);
        }
        if let Some(required) = input.special_field.required_fund_source()
            && required != input.fund_source
        {
            violations.push(FieldViolation::new(
                "fund_source",
                FUND_SOURCE_MISMATCH,
                format!(
                    "{}项目应纳入{}管理，不能选择{}",
                    input.special_field.chinese(),
                    required.chinese(),
                    input.fund_source.chinese()
                ),
            ));
        }
        match (
            pro_code,
            agency_code,
            department_code,
            fiscal_year,
            requested_amount,
            mid_term,
        ) {
            (
                Some(pro_code),
                Some(agency_code),
                Some(department_code),
                Some(fiscal_year),
                Some(requested_amount),
                Some(mid_term),
            ) if violations.is_empty() => Ok(Project {
                pro_code,
                name: input.name.trim().to_owned(),
                agency_code,
                department_code,
                fiscal_year,
                fund_source: input.fund_source,
                special_field: input.special_field,
                continuity: input.continuity,
                nature: input.nature,
                requested_amount,
                mid_term,
            }),
            _ => Err(violations),
        }
    }

    /// The declaration target of this project's goal.
    pub fn target(&self) -> DeclarationTarget {
        DeclarationTarget::Project {
            pro_code: self.pro_code.clone(),
        }
    }

    /// True for a new (新增) project or policy.
    pub fn is_new(&self) -> bool {
        self.continuity == Continuity::New
    }
}

/// A department's budget as a whole, the subject of a 部门整体支出 declaration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentBudget {
    /// The department.
    pub department_code: DepartmentCode,
    /// 部门名称.
    pub name: String,
    /// 预算年度.
    pub fiscal_year: FiscalYear,
    /// The department's total budget request (部门预算申请总额) in 元.
    pub requested_amount: RequestedAmount,
}

impl DepartmentBudget {
    /// The declaration target of this department's overall goal.
    pub fn target(&self) -> DeclarationTarget {
        DeclarationTarget::DepartmentOverall {
            department_code: self.department_code.clone(),
        }
    }
}

/// What the quality checks need to know about the subject of a declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectFacts {
    /// The subject.
    pub target: DeclarationTarget,
    /// Its fiscal year.
    pub fiscal_year: FiscalYear,
    /// The money requested for it, in 元 (cost indicators are compared with it).
    pub requested_amount: RequestedAmount,
}

impl From<&Project> for SubjectFacts {
    fn from(p: &Project) -> Self {
        SubjectFacts {
            target: p.target(),
            fiscal_year: p.fiscal_year,
            requested_amount: p.requested_amount,
        }
    }
}

impl From<&DepartmentBudget> for SubjectFacts {
    fn from(d: &DepartmentBudget) -> Self {
        SubjectFacts {
            target: d.target(),
            fiscal_year: d.fiscal_year,
            requested_amount: d.requested_amount,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    pub(crate) fn input() -> ProjectInput {
        ProjectInput {
            pro_code: "140500-2019-0001".into(),
            name: "农村饮水安全工程".into(),
            agency_code: "101001".into(),
            department_code: "101".into(),
            fiscal_year: 2019,
            fund_source: FundSource::GeneralPublic,
            special_field: SpecialField::None,
            continuity: Continuity::New,
            nature: Nature::Project,
            requested_amount: dec!(6000000),
            mid_term: Some((2019, 2021)),
        }
    }

    pub(crate) fn project() -> Project {
        Project::parse(input()).unwrap()
    }

    fn fields(r: Result<Project, Vec<FieldViolation>>) -> Vec<(String, &'static str)> {
        r.err()
            .unwrap_or_default()
            .into_iter()
            .map(|v| (v.field, v.reason))
            .collect()
    }

    fn f(field: &str, reason: &'static str) -> (String, &'static str) {
        (field.to_owned(), reason)
    }

    #[test]
    fn a_complete_project_parses() {
        let p = project();
        assert_eq!(p.pro_code.as_str(), "140500-2019-0001");
        assert_eq!(p.requested_amount.yuan(), dec!(6000000.00));
        assert_eq!(p.requested_amount.wan_yuan(), dec!(600));
        assert_eq!(p.mid_term.unwrap().years(), 3);
        assert!(p.is_new());
        assert_eq!(p.target().kind(), TargetKind::Project);
    }

    #[test]
    fn amount_must_be_positive_yuan_with_at_most_two_places() {
        for bad in [dec!(0), dec!(-1), dec!(0.001), dec!(1000000000000000)] {
            let v = RequestedAmount::new(bad).unwrap_err();
            assert_eq!(
                (v.field.as_str(), v.reason),
                ("requested_amount", AMOUNT_INVALID),
                "{bad}"
            );
        }
        assert_eq!(
            RequestedAmount::new(dec!(1.500))
                .unwrap()
                .yuan()
                .to_string(),
            "1.50"
        );
        assert_eq!(RequestedAmount::new(dec!(0.01)).unwrap().yuan(), dec!(0.01));
        assert_eq!(MAX_AMOUNT, dec!(1000000000000000));
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let bad = ProjectInput {
            pro_code: "项目一".into(),
            name: " ".into(),
            agency_code: String::new(),
            department_code: "D 1".into(),
            fiscal_year: 1999,
            requested_amount: dec!(-5),
            mid_term: Some((2019, 2025)),
            ..input()
        };
        assert_eq!(
            fields(Project::parse(bad)),
            vec![
                f("pro_code", PRO_CODE_INVALID),
                f("agency_code", AGENCY_CODE_INVALID),
                f("department_code", DEPARTMENT_CODE_INVALID),
                f("fiscal_year", crate::domain::common::FISCAL_YEAR_INVALID),
                f("requested_amount", AMOUNT_INVALID),
                f("mid_term", MID_TERM_INVALID),
                f("name", NAME_INVALID),
            ]
        );
    }

    #[test]
    fn mid_term_period_must_contain_the_year() {
        for (start, end) in [(2020, 2022), (2017, 2018), (2021, 2019)] {
            let p = ProjectInput {
                mid_term: Some((start, end)),
                ..input()
            };
            assert_eq!(
                fields(Project::parse(p)),
                vec![f("mid_term", MID_TERM_INVALID)]
            );
        }
        let one_year = ProjectInput {
            mid_term: None,
            ..input()
        };
        assert!(Project::parse(one_year).is_ok());
        let five = ProjectInput {
            mid_term: Some((2017, 2021)),
            ..input()
        };
        assert!(Project::parse(five).is_ok());
    }

    #[test]
    fn debt_financed_projects_sit_in_their_budget() {
        let wrong = ProjectInput {
            special_field: SpecialField::SpecialBond,
            ..input()
        };
        let got = Project::parse(wrong).unwrap_err();
        assert_eq!(
            (got[0].field.as_str(), got[0].reason),
            ("fund_source", FUND_SOURCE_MISMATCH)
        );
        assert!(
            got[0].message.contains("政府性基金预算"),
            "{}",
            got[0].message
        );
        let right = ProjectInput {
            special_field: SpecialField::SpecialBond,
            fund_source: FundSource::GovernmentFund,
            ..input()
        };
        assert!(Project::parse(right).is_ok());
        let general = ProjectInput {
            special_field: SpecialField::GeneralBond,
            fund_source: FundSource::GovernmentFund,
            ..input()
        };
        assert!(Project::parse(general).is_err());
        for field in [SpecialField::Ppp, SpecialField::GovernmentInvestmentFund] {
            for source in FundSource::ALL {
                let p = ProjectInput {
                    special_field: field,
                    fund_source: *source,
                    ..input()
                };
                assert!(Project::parse(p).is_ok());
            }
        }
    }

    #[test]
    fn enums_round_trip_their_text_forms() {
        for s in FundSource::ALL {
            assert_eq!(FundSource::from_db(s.as_db()), Some(*s));
            assert_eq!(FundSource::from_chinese(s.chinese()), Some(*s));
        }
        for s in SpecialField::ALL {
            assert_eq!(SpecialField::from_db(s.as_db()), Some(*s));
            assert_eq!(SpecialField::from_chinese(s.chinese()), Some(*s));
        }
        assert_eq!(FundSource::ALL.len(), 4, "四本预算");
        assert_eq!(
            Continuity::from_chinese("延续"),
            Some(Continuity::Continuing)
        );
        assert_eq!(
            TargetKind::from_db("department_overall"),
            Some(TargetKind::DepartmentOverall)
        );
        assert_eq!(Nature::from_chinese(" 政策 "), Some(Nature::Policy));
    }

    #[test]
    fn project_json_is_stable_and_validated_on_load() {
        let json = serde_json::to_value(project()).unwrap();
        assert_eq!(json["requested_amount"], "6000000.00");
        assert_eq!(json["special_field"], "none");
        assert_eq!(json["mid_term"]["start"], 2019);
        let back: Project = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, project());
        let mut bad = json;
        bad["requested_amount"] = "0".into();
        assert!(serde_json::from_value::<Project>(bad).is_err());
    }

    proptest! {
        #[test]
        fn accepted_amounts_are_positive_and_exact_to_the_fen(
            cents in -1_000_000_000_000i64..1_000_000_000_000
        ) {
            let yuan = Decimal::new(cents, 2);
            match RequestedAmount::new(yuan) {
                Ok(a) => {
                    prop_assert!(cents > 0);
                    prop_assert_eq!(a.yuan(), yuan);
                    prop_assert_eq!(a.yuan().scale(), 2);
                }
                Err(v) => {
                    prop_assert!(cents <= 0);
                    prop_assert_eq!(v.reason, AMOUNT_INVALID);
                }
            }
        }
    }
}
