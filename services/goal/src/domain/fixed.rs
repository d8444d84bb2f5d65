//! Which 固化 (fixed) indicators of the library a declaration must carry.
//!
//! Rule: docs/DOMAIN.md "Third-level indicators" — a third-level indicator has industry / field /
//! level tags (分行业、分领域、分层次) — and docs/DOMAIN.md "Fixed indicators (固化)": it may be
//! 固化, and a unit may not change or remove it; docs/DOMAIN.md "Quality checks" (check 6: every
//! 固化 indicator that applies is present and unchanged). The library says *that* an
//! indicator is fixed and *where* it belongs (its tags and, for a 个性 indicator, its owning
//! department); this module decides, for one declaration, which fixed indicators apply:
//!
//! * it must be usable in the declaration's fiscal year (启用, and its enabled period covers the
//!   year) — a disabled one cannot be demanded;
//! * a 个性 indicator (an owning department) applies only to its own department's
//!   declarations; a 共性 one (no owner) to every department;
//! * **field tags** (分领域) bind it to projects of a special field (政府采购, PPP, 专项债 …) or of
//!   one of the 四本预算: a tag matches when it is the field's or fund source's Chinese name or
//!   code, or a part of the name ("专项债券" matches "政府债务（专项债券）", "政府债务" both kinds
//!   of bond). An indicator with field tags never applies to a department-overall declaration;
//! * **level tags** (分层次) that name a kind of declaration bind it to that kind: a tag
//!   containing "部门整体" to 部门整体支出, "政策" to policy projects, "项目" to projects. Other
//!   level tags (e.g. 市级 / 县级: one deployment is one region) do not restrict;
//! * **industry tags** (分行业) do not restrict: the budget system records no industry on a
//!   project, so an industry tag only helps people find the indicator.
//!
//! With no tags at all, a 共性 fixed indicator applies to every declaration of the region.

use serde::{Deserialize, Serialize};

use super::common::FiscalYear;
use super::goal::LibraryIndicator;
use super::project::{DepartmentCode, FundSource, Nature, SpecialField};

/// A 固化 indicator as the library lists it: its facts and where it belongs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedIndicator {
    /// The current library version.
    pub indicator: LibraryIndicator,
    /// 分行业 tags (informational).
    pub industry_tags: Vec<String>,
    /// 分领域 tags.
    pub field_tags: Vec<String>,
    /// 分层次 tags.
    pub level_tags: Vec<String>,
    /// Owning department of a 个性 indicator; empty for 共性.
    pub owner_department: String,
}

/// Where a declaration sits, for the library's tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The department the subject belongs to (the project's 主管部门, or the department itself).
    pub department_code: DepartmentCode,
    /// For a project: its fund source, special field and nature; `None` for 部门整体支出.
    pub project: Option<(FundSource, SpecialField, Nature)>,
}

fn tag_names(tag: &str, chinese: &str, code: &str) -> bool {
    let tag = tag.trim();
    !tag.is_empty() && (tag == chinese || tag == code || chinese.contains(tag))
}

fn field_matches(tag: &str, fund: FundSource, field: SpecialField) -> bool {
    tag_names(tag, fund.chinese(), fund.as_db())
        || (field != SpecialField::None && tag_names(tag, field.chinese(), field.as_db()))
}

/// The kind of declaration a level tag names, if it names one.
fn level_kind(tag: &str) -> Option<LevelKind> {
    if tag.contains("部门整体") {
        Some(LevelKind::DepartmentOverall)
    } else if tag.contains("政策") {
        Some(LevelKind::Policy)
    } else if tag.contains("项目") {
        Some(LevelKind::Project)
    } else {
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LevelKind {
    Project,
    Policy,
    DepartmentOverall,
}

impl FixedIndicator {
    /// True when this fixed indicator must appear in a declaration placed at `at` for `year`.
    pub fn applies_to(&self, at: &Placement, year: FiscalYear) -> bool {
        if !self.indicator.fixed || !self.indicator.usable_in(year) {
            return false;
        }
        let owner = self.owner_department.trim();
        if !owner.is_empty() && owner != at.department_code.as_str() {
            return false;
        }
        let fields: Vec<&str> = self
            .field_tags
            .iter()
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
            .collect();
        if !fields.is_empty() {
            let Some((fund, field, _)) = at.project else {
                return false;
            };
            if !fields.iter().any(|t| field_matches(t, fund, field)) {
                return false;
            }
        }
        let kinds: Vec<LevelKind> = self
            .level_tags
            .iter()
            .filter_map(|t| level_kind(t))
            .collect();
        if !kinds.is_empty() {
            let kind = match at.project {
                None => LevelKind::DepartmentOverall,
                Some((_, _, Nature::Policy)) => LevelKind::Policy,
                Some((_, _, Nature::Project)) => LevelKind::Project,
            };
            // A policy is also a project in the budget system's sense: "项目" covers both.
            let covered = kinds
                .iter()
                .any(|k| *k == kind || (*k == LevelKind::Project && kind == LevelKind::Policy));
            if !covered {
                return false;
            }
        }
        true
    }
}

/// The fixed indicators of `all` that a declaration placed at `at` for `year` must carry, in
/// code order.
pub fn required_fixed(
    all: &[FixedIndicator],
    at: &Placement,
    year: FiscalYear,
) -> Vec<LibraryIndicator> {
    let mut out: Vec<LibraryIndicator> = all
        .iter()
        .filter(|f| f.applies_to(at, year))
        .map(|f| f.indicator.clone())
        .collect();
    out.sort_by(|a, b| a.code.cmp(&b.code));
    out.dedup_by(|a, b| a.code == b.code);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::goal::{Direction, Level1, Level2, LibraryStatus};

    fn fixed(code: &str) -> FixedIndicator {
        FixedIndicator {
            indicator: LibraryIndicator {
                code: code.into(),
                version: 1,
                level1: Level1::Output,
                level2: Level2::Quantity,
                name: format!("固化指标{code}"),
                direction: Direction::Ge,
                unit: "个".into(),
                reference_target: String::new(),
                fixed: true,
                status: LibraryStatus::Enabled,
                enabled_from_year: Some(2024),
                enabled_to_year: None,
            },
            industry_tags: vec![],
            field_tags: vec![],
            level_tags: vec![],
            owner_department: String::new(),
        }
    }

    fn project(field: SpecialField, nature: Nature) -> Placement {
        Placement {
            department_code: DepartmentCode::parse("140500301").unwrap(),
            project: Some((FundSource::GeneralPublic, field, nature)),
        }
    }

    fn overall() -> Placement {
        Placement {
            department_code: DepartmentCode::parse("140500301").unwrap(),
            project: None,
        }
    }

    fn year(y: i32) -> FiscalYear {
        FiscalYear::new(y).unwrap()
    }

    #[test]
    fn an_untagged_common_fixed_indicator_applies_to_every_declaration() {
        let f = fixed("F1");
        assert!(f.applies_to(&project(SpecialField::None, Nature::Project), year(2026)));
        assert!(f.applies_to(&overall(), year(2026)));
    }

    #[test]
    fn only_usable_fixed_indicators_are_demanded() {
        let mut f = fixed("F1");
        assert!(!f.applies_to(&overall(), year(2023)), "before its period");
        f.indicator.status = LibraryStatus::Disabled;
        assert!(!f.applies_to(&overall(), year(2026)), "停用");
        let mut g = fixed("F2");
        g.indicator.fixed = false;
        assert!(!g.applies_to(&overall(), year(2026)), "not 固化");
    }

    #[test]
    fn a_specific_indicator_binds_only_its_own_department() {
        let mut f = fixed("F1");
        f.owner_department = "140500301".into();
        assert!(f.applies_to(&overall(), year(2026)));
        f.owner_department = "140500302".into();
        assert!(!f.applies_to(&overall(), year(2026)));
    }

    #[test]
    fn field_tags_bind_projects_of_that_field_or_fund_source() {
        let mut f = fixed("F1");
        f.field_tags = vec!["专项债券".into()];
        assert!(f.applies_to(
            &project(SpecialField::SpecialBond, Nature::Project),
            year(2026)
        ));
        assert!(!f.applies_to(
            &project(SpecialField::GeneralBond, Nature::Project),
            year(2026)
        ));
        assert!(!f.applies_to(&project(SpecialField::None, Nature::Project), year(2026)));
        assert!(
            !f.applies_to(&overall(), year(2026)),
            "a field tag never binds 部门整体"
        );
        f.field_tags = vec!["政府债务".into()];
        assert!(f.applies_to(
            &project(SpecialField::GeneralBond, Nature::Project),
            year(2026)
        ));
        f.field_tags = vec!["ppp".into(), "教育".into()];
        assert!(f.applies_to(&project(SpecialField::Ppp, Nature::Project), year(2026)));
        f.field_tags = vec!["一般公共预算".into()];
        assert!(f.applies_to(&project(SpecialField::None, Nature::Project), year(2026)));
        f.field_tags = vec!["无".into()];
        assert!(
            !f.applies_to(&project(SpecialField::None, Nature::Project), year(2026)),
            "'no special field' is not a field"
        );
    }

    #[test]
    fn level_tags_that_name_a_kind_of_declaration_bind_that_kind() {
        let mut f = fixed("F1");
        f.level_tags = vec!["部门整体支出".into()];
        assert!(f.applies_to(&overall(), year(2026)));
        assert!(!f.applies_to(&project(SpecialField::None, Nature::Project), year(2026)));
        f.level_tags = vec!["项目支出".into()];
        assert!(!f.applies_to(&overall(), year(2026)));
        assert!(f.applies_to(&project(SpecialField::None, Nature::Policy), year(2026)));
        f.level_tags = vec!["政策".into()];
        assert!(!f.applies_to(&project(SpecialField::None, Nature::Project), year(2026)));
        assert!(f.applies_to(&project(SpecialField::None, Nature::Policy), year(2026)));
        f.level_tags = vec!["县级".into()];
        assert!(
            f.applies_to(&overall(), year(2026)),
            "a government level does not restrict"
        );
        f.industry_tags = vec!["水利".into()];
        assert!(
            f.applies_to(&overall(), year(2026)),
            "industry tags do not restrict"
        );
    }

    #[test]
    fn the_required_list_is_in_code_order_without_repeats() {
        let all = vec![fixed("F2"), fixed("F1"), fixed("F2")];
        let codes: Vec<String> = required_fixed(&all, &overall(), year(2026))
            .into_iter()
            .map(|l| l.code)
            .collect();
        assert_eq!(codes, ["F1", "F2"]);
    }
}
