//! The expert registry: what an expert record holds, the entry rules (中级 + 8 years or 高级,
//! age cap — configuration per region in [`PoolRules`]) and the status lifecycle 入库 → 考评 → 退出.

use chrono::NaiveDate;
use pbm_types::FieldViolation;

use super::eligibility::{ExpertFacts, ExpertStatus, TitleLevel, expert_standing};
use super::ids::{IdNumber, Phone};
use super::registry::Relation;
use super::rules::{Action, PoolRules};
use super::taxonomy::FieldTaxonomy;

#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Employment {
    pub organization: String,
    pub position: String,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// Lists of an expert record read and written whole (stored as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ExpertDetails {
    pub employment: Vec<Employment>,
    pub relations: Vec<Relation>,
}

/// What a writer sets. `id_number`/`phone` are `None` on an update that keeps the stored ones.
#[derive(Debug, Clone)]
pub struct ExpertSpec {
    pub name: String,
    pub id_number: Option<IdNumber>,
    pub phone: Option<Phone>,
    pub title: TitleLevel,
    pub years_in_field: u32,
    pub fields: Vec<String>,
    pub affiliation: String,
    pub details: ExpertDetails,
}

impl ExpertSpec {
    /// Field violations (paths under `spec.`).
    pub fn violations(&self, taxonomy: &FieldTaxonomy) -> Vec<FieldViolation> {
        let mut v = Vec::new();
        if self.name.trim().is_empty() {
            v.push(FieldViolation::generic("spec.name", "专家姓名不能为空"));
        }
        if self.fields.is_empty() {
            v.push(FieldViolation::generic(
                "spec.fields",
                "至少选择一个专业领域",
            ));
        }
        if let Err(unknown) = taxonomy.validate(&self.fields) {
            v.push(FieldViolation::generic(
                "spec.fields",
                format!("未知的专业领域：{}", unknown.join("、")),
            ));
        }
        for (i, e) in self.details.employment.iter().enumerate() {
            if e.organization.trim().is_empty() {
                v.push(FieldViolation::generic(
                    format!("spec.employment[{i}].organization"),
                    "工作单位不能为空",
                ));
            }
            if let (Some(f), Some(t)) = (e.from, e.to)
                && t < f
            {
                v.push(FieldViolation::generic(
                    format!("spec.employment[{i}].to"),
                    "截止日期早于起始日期",
                ));
            }
        }
        for (i, r) in self.details.relations.iter().enumerate() {
            if r.party_code.trim().is_empty() {
                v.push(FieldViolation::generic(
                    format!("spec.relations[{i}].party_code"),
                    "关联方编码不能为空",
                ));
            }
        }
        v
    }
}

/// Reason of every entry-rule violation: the person does not meet the entry rules in force.
pub const ENTRY_RULES_NOT_MET: &str = "ENTRY_RULES_NOT_MET";

/// Entry rules (docs/DOMAIN.md "Experts": 中级 + 8 years, or 高级; age cap 70 by default): the
/// violations that keep a person out of the pool on `on` (reason [`ENTRY_RULES_NOT_MET`], on the
/// field the rule reads).
pub fn entry_violations(
    title: TitleLevel,
    years_in_field: u32,
    birth_date: NaiveDate,
    on: NaiveDate,
    rules: &PoolRules,
) -> Vec<FieldViolation> {
    let facts = ExpertFacts {
        id: String::new(),
        status: ExpertStatus::Active,
        title,
        years_in_field,
        birth_date,
        fields: Vec::new(),
        relations: Vec::new(),
        engagements_this_year: 0,
        drawn_for_task: false,
        major_violation_on: None,
    };
    expert_standing(&facts, on, rules)
        .into_iter()
        .filter_map(|e| {
            let field = match e.code() {
                "AGE_OVER_CAP" => "spec.id_number",
                "TITLE_TOO_LOW" => "spec.title",
                "YEARS_TOO_FEW" => "spec.years_in_field",
                _ => return None,
            };
            Some(FieldViolation::new(field, ENTRY_RULES_NOT_MET, e.chinese()))
        })
        .collect()
}

/// The status after a change, or why not (reason, message). 退出 is final.
pub fn transition(
    current: ExpertStatus,
    to: ExpertStatus,
) -> Result<ExpertStatus, (&'static str, String)> {
    use ExpertStatus::*;
    match (current, to) {
        (Exited, _) => Err(("EXPERT_EXITED", "专家已退出专家库，状态不能再变更".into())),
        (a, b) if a == b => Err((
            "STATUS_UNCHANGED",
            format!("专家已是「{}」状态", a.chinese()),
        )),
        (Active, UnderReview) | (UnderReview, Active) | (Active | UnderReview, Exited) => Ok(to),
        (_, _) => Err(("STATUS_TRANSITION_INVALID", "专家状态变更无效".into())),
    }
}

/// The status a grade action moves an expert to (docs/DOMAIN.md "Rating and credit grades": the
/// grade acts by itself). Experts have no warned or dated-suspension status (动态管理：入库、考评、
/// 退出), so a suspension sends an active expert to 考评 (not drawn until finance decides) and a
/// removal to 退出; a warning is recorded on the rating only. `None` = nothing to change.
pub fn grade_action_target(current: ExpertStatus, action: Action) -> Option<ExpertStatus> {
    match (current, action) {
        (ExpertStatus::Active, Action::Suspend { .. }) => Some(ExpertStatus::UnderReview),
        (ExpertStatus::Active | ExpertStatus::UnderReview, Action::Remove) => {
            Some(ExpertStatus::Exited)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grade_actions_move_experts_to_review_or_exit_and_never_back() {
        use ExpertStatus::*;
        let suspend = Action::Suspend { months: 6 };
        assert_eq!(grade_action_target(Active, suspend), Some(UnderReview));
        assert_eq!(grade_action_target(UnderReview, suspend), None);
        assert_eq!(grade_action_target(Active, Action::Remove), Some(Exited));
        assert_eq!(
            grade_action_target(UnderReview, Action::Remove),
            Some(Exited)
        );
        assert_eq!(grade_action_target(Exited, Action::Remove), None);
        assert_eq!(grade_action_target(Active, Action::Warning), None);
        assert_eq!(grade_action_target(Active, Action::None), None);
        // Every target is a legal transition.
        for from in [Active, UnderReview, Exited] {
            for a in [Action::None, Action::Warning, suspend, Action::Remove] {
                if let Some(to) = grade_action_target(from, a) {
                    assert_eq!(transition(from, to), Ok(to));
                }
            }
        }
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn entry_needs_intermediate_with_eight_years_or_senior_and_age_under_cap() {
        let rules = PoolRules::default();
        let on = d("2026-06-01");
        assert!(
            entry_violations(TitleLevel::Intermediate, 8, d("1980-01-01"), on, &rules).is_empty()
        );
        assert!(entry_violations(TitleLevel::Senior, 0, d("1980-01-01"), on, &rules).is_empty());
        let fields = |v: Vec<FieldViolation>| v.into_iter().map(|v| v.field).collect::<Vec<_>>();
        assert_eq!(
            fields(entry_violations(
                TitleLevel::Intermediate,
                7,
                d("1980-01-01"),
                on,
                &rules
            )),
            ["spec.years_in_field"]
        );
        assert_eq!(
            fields(entry_violations(
                TitleLevel::Junior,
                20,
                d("1980-01-01"),
                on,
                &rules
            )),
            ["spec.title"]
        );
        assert_eq!(
            fields(entry_violations(
                TitleLevel::Senior,
                30,
                d("1950-01-01"),
                on,
                &rules
            )),
            ["spec.id_number"]
        );
    }

    #[test]
    fn exit_is_final() {
        use ExpertStatus::*;
        assert_eq!(transition(Active, UnderReview).unwrap(), UnderReview);
        assert_eq!(transition(UnderReview, Active).unwrap(), Active);
        assert_eq!(transition(UnderReview, Exited).unwrap(), Exited);
        assert_eq!(transition(Exited, Active).unwrap_err().0, "EXPERT_EXITED");
        assert_eq!(
            transition(Active, Active).unwrap_err().0,
            "STATUS_UNCHANGED"
        );
    }
}
