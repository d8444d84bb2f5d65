//! Who may be drawn or engaged, and every reason why not (docs/DOMAIN.md "Independence",
//! docs/DOMAIN.md "Random draws": only eligible candidates — status, qualification period, age
//! cap, title/years, recusal against the evaluated party within 3 years, not already drawn for
//! the task, workload cap).
//!
//! The facts are plain values the service loads; the functions return *all* exclusions, so a
//! failed draw can say why each other candidate was left out. Empty means eligible.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::dates;
use super::engagement::{EngagementKind, ServiceScope};
use super::ids::CreditCode;
use super::rules::PoolRules;

/// Status of an expert in the pool (动态管理：入库、考评、退出). Only 入库 experts are drawn;
/// an expert under review (考评) waits for its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpertStatus {
    Active,
    UnderReview,
    Exited,
}

text_enum!(ExpertStatus { Active => "active", "入库"; UnderReview => "under_review", "考评"; Exited => "exited", "退出"; });

/// Professional title level (职称), ordered from lowest to highest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TitleLevel {
    Junior,
    Intermediate,
    Senior,
    FullSenior,
}

text_enum!(TitleLevel {
    Junior => "junior", "初级";
    Intermediate => "intermediate", "中级";
    Senior => "senior", "副高级";
    FullSenior => "full_senior", "正高级";
});

/// Kind of a declared relation with a party (for recusal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelationKind {
    WorkedFor,
    Directed,
    Controlled,
    Family,
    OtherInterest,
}

text_enum!(RelationKind {
    WorkedFor => "worked_for", "任职";
    Directed => "directed", "指导";
    Controlled => "controlled", "控制";
    Family => "family", "亲属";
    OtherInterest => "other_interest", "其他利害关系";
});

impl RelationKind {
    /// Family ties and other interests recuse whenever declared, whatever their period
    /// (docs/DOMAIN.md "Independence": worked for, directed or controlled within the recusal
    /// window; family ties; other interest).
    pub fn always_recuses(self) -> bool {
        matches!(self, RelationKind::Family | RelationKind::OtherInterest)
    }
}

/// A declared relation with a party (a department, unit or company, by its code), from
/// `from` to `to` (inclusive; `None` = ongoing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub party_code: String,
    pub kind: RelationKind,
    pub from: NaiveDate,
    pub to: Option<NaiveDate>,
}

impl Relation {
    /// True when this relation requires recusal from work on `party` on `on`: same party
    /// (codes compared after trimming) and either a family/other-interest relation, or a
    /// period overlapping the last `recusal_years` years up to `on` (both ends included).
    /// A relation starting after `on` does not count.
    pub fn ties_to(&self, party: &str, on: NaiveDate, recusal_years: u32) -> bool {
        if self.party_code.trim() != party.trim() {
            return false;
        }
        if self.kind.always_recuses() {
            return true;
        }
        let window_start = dates::months_before(on, recusal_years.saturating_mul(12));
        self.from <= on && self.to.is_none_or(|to| to >= window_start)
    }

    /// Readable form for messages: `任职（2020-01-01 至 2024-01-01）`, `控制（2021-03-01 至今）`.
    pub fn describe(&self) -> String {
        let to = self.to.map_or("今".to_owned(), |t| t.to_string());
        format!("{}（{} 至 {}）", self.kind.chinese(), self.from, to)
    }
}

/// What eligibility needs to know about an expert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpertFacts {
    pub id: String,
    pub status: ExpertStatus,
    pub title: TitleLevel,
    pub years_in_field: u32,
    pub birth_date: NaiveDate,
    /// Field codes from the taxonomy.
    pub fields: Vec<String>,
    pub relations: Vec<Relation>,
    /// Engagements and draw participations in the task's fiscal year.
    pub engagements_this_year: u32,
    pub drawn_for_task: bool,
    /// Date of the most recent major violation.
    pub major_violation_on: Option<NaiveDate>,
}

/// Status of an agency (admitted → warned → suspended until a date → removed; expired).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgencyStatus {
    Admitted,
    /// Still selectable.
    Warned,
    /// Not selectable before `until`; selectable again from `until`.
    Suspended {
        until: NaiveDate,
    },
    Removed,
    Expired,
}

impl AgencyStatus {
    pub fn as_db(self) -> &'static str {
        match self {
            AgencyStatus::Admitted => "admitted",
            AgencyStatus::Warned => "warned",
            AgencyStatus::Suspended { .. } => "suspended",
            AgencyStatus::Removed => "removed",
            AgencyStatus::Expired => "expired",
        }
    }

    pub fn chinese(self) -> &'static str {
        match self {
            AgencyStatus::Admitted => "入库",
            AgencyStatus::Warned => "警告",
            AgencyStatus::Suspended { .. } => "暂停",
            AgencyStatus::Removed => "清退",
            AgencyStatus::Expired => "资格到期",
        }
    }
}

/// What eligibility needs to know about an agency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyFacts {
    pub credit_code: CreditCode,
    pub status: AgencyStatus,
    /// Qualification period from the admission batch, both ends included.
    pub qualified_from: NaiveDate,
    pub qualified_to: NaiveDate,
    pub scopes: Vec<ServiceScope>,
    /// Number of 主评人 (lead evaluators).
    pub lead_evaluators: u32,
    pub relations: Vec<Relation>,
    /// Date of the most recent major violation.
    pub major_violation_on: Option<NaiveDate>,
    pub drawn_for_task: bool,
}

/// The task a draw is for. Experts are drawn by `field` (a taxonomy code; `None` = any
/// field); agencies by the service scope of `kind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawTask {
    pub field: Option<String>,
    pub evaluated_party: String,
    pub on: NaiveDate,
    pub kind: EngagementKind,
}

/// One reason an agency or expert may not be drawn or engaged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exclusion {
    /// Expert not 入库, or agency removed (清退). `status` is the Chinese status.
    NotActive {
        status: &'static str,
    },
    /// Task date before the qualification period.
    QualificationNotStarted {
        from: NaiveDate,
    },
    /// Task date after the qualification period, or status 资格到期.
    QualificationExpired {
        to: NaiveDate,
    },
    Suspended {
        until: NaiveDate,
    },
    AgeOverCap {
        age: u32,
        cap: u32,
    },
    TitleTooLow {
        title: TitleLevel,
        min: TitleLevel,
    },
    YearsTooFew {
        years: u32,
        min: u32,
    },
    Recusal {
        party: String,
        relation: String,
    },
    AlreadyDrawn,
    WorkloadCap {
        count: u32,
        cap: u32,
    },
    FieldMismatch {
        field: String,
    },
    KindNotCommissionable {
        kind: EngagementKind,
    },
    ScopeMismatch {
        scope: ServiceScope,
    },
    MajorViolation {
        on: NaiveDate,
    },
    NoLeadEvaluator,
}

impl Exclusion {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Exclusion::NotActive { .. } => "NOT_ACTIVE",
            Exclusion::QualificationNotStarted { .. } => "QUALIFICATION_NOT_STARTED",
            Exclusion::QualificationExpired { .. } => "QUALIFICATION_EXPIRED",
            Exclusion::Suspended { .. } => "SUSPENDED",
            Exclusion::AgeOverCap { .. } => "AGE_OVER_CAP",
            Exclusion::TitleTooLow { .. } => "TITLE_TOO_LOW",
            Exclusion::YearsTooFew { .. } => "YEARS_TOO_FEW",
            Exclusion::Recusal { .. } => "RECUSAL",
            Exclusion::AlreadyDrawn => "ALREADY_DRAWN",
            Exclusion::WorkloadCap { .. } => "WORKLOAD_CAP",
            Exclusion::FieldMismatch { .. } => "FIELD_MISMATCH",
            Exclusion::KindNotCommissionable { .. } => "KIND_NOT_COMMISSIONABLE",
            Exclusion::ScopeMismatch { .. } => "SCOPE_MISMATCH",
            Exclusion::MajorViolation { .. } => "MAJOR_VIOLATION",
            Exclusion::NoLeadEvaluator => "NO_LEAD_EVALUATOR",
        }
    }

    /// The kind of reason in a few Chinese words, without the particulars: what a count of
    /// excluded candidates is given by.
    pub fn label(&self) -> &'static str {
        match self {
            Exclusion::NotActive { .. } => "不在库",
            Exclusion::QualificationNotStarted { .. } => "入库资格尚未生效",
            Exclusion::QualificationExpired { .. } => "入库资格已到期",
            Exclusion::Suspended { .. } => "暂停中",
            Exclusion::AgeOverCap { .. } => "超过年龄上限",
            Exclusion::TitleTooLow { .. } => "职称低于要求",
            Exclusion::YearsTooFew { .. } => "从业年限不足",
            Exclusion::Recusal { .. } => "与被评价对象有关联须回避",
            Exclusion::AlreadyDrawn => "已被抽取参加本任务",
            Exclusion::WorkloadCap { .. } => "本年度参与次数已达上限",
            Exclusion::FieldMismatch { .. } => "专业领域不符",
            Exclusion::KindNotCommissionable { .. } => "该事项不可委托第三方",
            Exclusion::ScopeMismatch { .. } => "服务范围不符",
            Exclusion::MajorViolation { .. } => "有重大违规记录",
            Exclusion::NoLeadEvaluator => "没有主评人",
        }
    }

    /// Message for a finance clerk.
    pub fn chinese(&self) -> String {
        match self {
            Exclusion::NotActive { status } => format!("状态为「{status}」，不在库"),
            Exclusion::QualificationNotStarted { from } => {
                format!("入库资格自 {from} 起生效，尚未开始")
            }
            Exclusion::QualificationExpired { to } => format!("入库资格已于 {to} 到期"),
            Exclusion::Suspended { until } => format!("暂停中，{until} 起方可选用"),
            Exclusion::AgeOverCap { age, cap } => format!("年龄 {age} 周岁，超过上限 {cap} 周岁"),
            Exclusion::TitleTooLow { title, min } => {
                format!("职称为{}，低于入库要求的{}", title.chinese(), min.chinese())
            }
            Exclusion::YearsTooFew { years, min } => {
                format!("从业 {years} 年，不满 {min} 年且不具备免年限要求的职称")
            }
            Exclusion::Recusal { party, relation } => {
                format!("与被评价对象「{party}」存在关联关系（{relation}），应回避")
            }
            Exclusion::AlreadyDrawn => "已被抽取参加本任务".to_owned(),
            Exclusion::WorkloadCap { count, cap } => {
                format!("本年度已参与 {count} 次，达到上限 {cap} 次")
            }
            Exclusion::FieldMismatch { field } => format!("专业领域不含「{field}」"),
            Exclusion::KindNotCommissionable { kind } => {
                format!("{}不属于可委托第三方的工作", kind.chinese())
            }
            Exclusion::ScopeMismatch { scope } => format!("服务范围不含「{}」", scope.chinese()),
            Exclusion::MajorViolation { on } => format!("{on} 有重大违规记录，三年内不得选用"),
            Exclusion::NoLeadEvaluator => "没有主评人，不能承接绩效评价".to_owned(),
        }
    }
}

/// Why an expert is not selectable at all on `on`, whatever the task: status, age cap,
/// title/years entry rule, major violation.
pub fn expert_standing(expert: &ExpertFacts, on: NaiveDate, rules: &PoolRules) -> Vec<Exclusion> {
    let mut out = Vec::new();
    if expert.status != ExpertStatus::Active {
        out.push(Exclusion::NotActive {
            status: expert.status.chinese(),
        });
    }
    let entry = &rules.expert_entry;
    // Exact age (周岁) on the task date.
    let age = dates::age_years(expert.birth_date, on);
    if age > entry.age_cap {
        out.push(Exclusion::AgeOverCap {
            age,
            cap: entry.age_cap,
        });
    }
    // 中级 + N years, or 高级 without a years requirement.
    if expert.title < entry.min_title_for_years_route {
        out.push(Exclusion::TitleTooLow {
            title: expert.title,
            min: entry.min_title_for_years_route,
        });
    } else if expert.title < entry.min_title_without_years
        && expert.years_in_field < entry.min_years
    {
        out.push(Exclusion::YearsTooFew {
            years: expert.years_in_field,
            min: entry.min_years,
        });
    }
    if let Some(v) = expert.major_violation_on
        && rules.major_violation_bars(v, on)
    {
        out.push(Exclusion::MajorViolation { on: v });
    }
    out
}

/// Why an agency is not selectable at all on `on`, whatever the task: status, qualification
/// period (expired when `on > qualified_to`, whatever the stored status), suspension, major
/// violation. A warned agency stays selectable.
pub fn agency_standing(agency: &AgencyFacts, on: NaiveDate, rules: &PoolRules) -> Vec<Exclusion> {
    let mut out = Vec::new();
    match agency.status {
        AgencyStatus::Admitted | AgencyStatus::Warned | AgencyStatus::Expired => {}
        AgencyStatus::Removed => out.push(Exclusion::NotActive {
            status: agency.status.chinese(),
        }),
        AgencyStatus::Suspended { until } => {
            if on < until {
                out.push(Exclusion::Suspended { until });
            }
        }
    }
    if on < agency.qualified_from {
        out.push(Exclusion::QualificationNotStarted {
            from: agency.qualified_from,
        });
    }
    if agency.status == AgencyStatus::Expired || on > agency.qualified_to {
        out.push(Exclusion::QualificationExpired {
            to: agency.qualified_to,
        });
    }
    if let Some(v) = agency.major_violation_on
        && rules.major_violation_bars(v, on)
    {
        out.push(Exclusion::MajorViolation { on: v });
    }
    out
}

fn recusals(
    relations: &[Relation],
    party: &str,
    on: NaiveDate,
    rules: &PoolRules,
) -> Vec<Exclusion> {
    relations
        .iter()
        .filter(|r| r.ties_to(party, on, rules.draw.recusal_years))
        .map(|r| Exclusion::Recusal {
            party: party.trim().to_owned(),
            relation: r.describe(),
        })
        .collect()
}

/// Every reason `expert` may not be drawn for `task` (empty = eligible): its standing, then
/// kind, field, recusal against the evaluated party, already drawn, workload cap.
pub fn expert_exclusions(
    expert: &ExpertFacts,
    task: &DrawTask,
    rules: &PoolRules,
) -> Vec<Exclusion> {
    let mut out = expert_standing(expert, task.on, rules);
    if !task.kind.is_commissionable() {
        out.push(Exclusion::KindNotCommissionable { kind: task.kind });
    }
    if let Some(field) = &task.field
        && !expert.fields.iter().any(|f| f == field)
    {
        out.push(Exclusion::FieldMismatch {
            field: field.clone(),
        });
    }
    out.extend(recusals(
        &expert.relations,
        &task.evaluated_party,
        task.on,
        rules,
    ));
    if expert.drawn_for_task {
        out.push(Exclusion::AlreadyDrawn);
    }
    if expert.engagements_this_year >= rules.draw.workload_cap {
        out.push(Exclusion::WorkloadCap {
            count: expert.engagements_this_year,
            cap: rules.draw.workload_cap,
        });
    }
    out
}

/// Every reason `agency` may not be drawn for `task` (empty = eligible): its standing, then
/// kind and service scope, 主评人 for evaluations, recusal against the evaluated party,
/// already drawn.
pub fn agency_exclusions(
    agency: &AgencyFacts,
    task: &DrawTask,
    rules: &PoolRules,
) -> Vec<Exclusion> {
    let mut out = agency_standing(agency, task.on, rules);
    match task.kind.scope() {
        None => out.push(Exclusion::KindNotCommissionable { kind: task.kind }),
        Some(scope) => {
            if !agency.scopes.contains(&scope) {
                out.push(Exclusion::ScopeMismatch { scope });
            }
            if task.kind.is_evaluation() && agency.lead_evaluators == 0 {
                out.push(Exclusion::NoLeadEvaluator);
            }
        }
    }
    out.extend(recusals(
        &agency.relations,
        &task.evaluated_party,
        task.on,
        rules,
    ));
    if agency.drawn_for_task {
        out.push(Exclusion::AlreadyDrawn);
    }
    out
}

/// How many candidates each exclusion code left out (a candidate with several reasons counts
/// once per distinct code), sorted by code — for the "too few eligible" error.
pub fn tally<'a>(lists: impl IntoIterator<Item = &'a [Exclusion]>) -> Vec<(&'static str, usize)> {
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for list in lists {
        let mut codes: Vec<&'static str> = list.iter().map(Exclusion::code).collect();
        codes.sort_unstable();
        codes.dedup();
        for code in codes {
            *counts.entry(code).or_default() += 1;
        }
    }
    counts.into_iter().collect()
}

/// [`tally`] in Chinese: `不在库 2人，与被评价对象有关联须回避 1人` (`unit` 人 or 家), the reasons
/// in the order of their codes.
pub fn tally_chinese<'a>(lists: impl IntoIterator<Item = &'a [Exclusion]>, unit: &str) -> String {
    let mut counts: BTreeMap<&'static str, (&'static str, usize)> = BTreeMap::new();
    for list in lists {
        let mut seen: Vec<&'static str> = Vec::new();
        for e in list {
            if !seen.contains(&e.code()) {
                seen.push(e.code());
                counts.entry(e.code()).or_insert((e.label(), 0)).1 += 1;
            }
        }
    }
    counts
        .into_values()
        .map(|(label, n)| format!("{label} {n}{unit}"))
        .collect::<Vec<_>>()
        .join("，")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// An eligible expert for an evaluation in education on 2026-06-30.
    pub(crate) fn expert() -> ExpertFacts {
        ExpertFacts {
            id: "E001".into(),
            status: ExpertStatus::Active,
            title: TitleLevel::Intermediate,
            years_in_field: 8,
            birth_date: d(1970, 5, 1),
            fields: vec!["EDU".into(), "ACCT".into()],
            relations: vec![Relation {
                party_code: "DEPT-WATER".into(),
                kind: RelationKind::WorkedFor,
                from: d(2018, 1, 1),
                to: None,
            }],
            engagements_this_year: 3,
            drawn_for_task: false,
            major_violation_on: None,
        }
    }

    /// An eligible agency for an evaluation on 2026-06-30.
    pub(crate) fn agency() -> AgencyFacts {
        AgencyFacts {
            credit_code: CreditCode::parse("91350100M000100Y43").unwrap(),
            status: AgencyStatus::Admitted,
            qualified_from: d(2025, 1, 1),
            qualified_to: d(2027, 12, 31),
            scopes: vec![
                ServiceScope::Evaluation,
                ServiceScope::ExAnteAndGoalReview,
                ServiceScope::Research,
            ],
            lead_evaluators: 2,
            relations: vec![],
            major_violation_on: None,
            drawn_for_task: false,
        }
    }

    pub(crate) fn task() -> DrawTask {
        DrawTask {
            field: Some("EDU".into()),
            evaluated_party: "DEPT-EDU".into(),
            on: d(2026, 6, 30),
            kind: EngagementKind::Evaluation,
        }
    }

    fn codes(v: Vec<Exclusion>) -> Vec<&'static str> {
        v.iter().map(Exclusion::code).collect()
    }

    fn expert_codes(e: &ExpertFacts) -> Vec<&'static str> {
        codes(expert_exclusions(e, &task(), &PoolRules::default()))
    }

    fn agency_codes(a: &AgencyFacts, t: &DrawTask) -> Vec<&'static str> {
        codes(agency_exclusions(a, t, &PoolRules::default()))
    }

    #[test]
    fn the_fixtures_are_eligible() {
        assert_eq!(expert_codes(&expert()), Vec::<&str>::new());
        assert_eq!(agency_codes(&agency(), &task()), Vec::<&str>::new());
    }

    #[test]
    fn only_active_experts_are_drawn() {
        for status in [ExpertStatus::UnderReview, ExpertStatus::Exited] {
            assert_eq!(
                expert_codes(&ExpertFacts { status, ..expert() }),
                vec!["NOT_ACTIVE"]
            );
        }
    }

    #[test]
    fn age_cap_is_exact_to_the_day() {
        // 70 on 2026-06-30 when born 1956-06-30; 71 when born 1955-06-30.
        assert_eq!(
            expert_codes(&ExpertFacts {
                birth_date: d(1956, 6, 30),
                ..expert()
            }),
            Vec::<&str>::new()
        );
        assert_eq!(
            expert_codes(&ExpertFacts {
                birth_date: d(1955, 7, 1),
                ..expert()
            }),
            Vec::<&str>::new()
        );
        assert_eq!(
            expert_codes(&ExpertFacts {
                birth_date: d(1955, 6, 30),
                ..expert()
            }),
            vec!["AGE_OVER_CAP"]
        );
        // A province with a cap of 68.
        let mut rules = PoolRules::default();
        rules.expert_entry.age_cap = 68;
        let e = ExpertFacts {
            birth_date: d(1957, 6, 30),
            ..expert()
        };
        let got = expert_exclusions(&e, &task(), &rules);
        assert_eq!(got, vec![Exclusion::AgeOverCap { age: 69, cap: 68 }]);
        assert_eq!(got[0].chinese(), "年龄 69 周岁，超过上限 68 周岁");
    }

    #[test]
    fn title_and_years_entry_rule() {
        let with = |title, years_in_field| {
            expert_codes(&ExpertFacts {
                title,
                years_in_field,
                ..expert()
            })
        };
        assert_eq!(with(TitleLevel::Junior, 30), vec!["TITLE_TOO_LOW"]);
        assert_eq!(with(TitleLevel::Intermediate, 7), vec!["YEARS_TOO_FEW"]);
        assert_eq!(with(TitleLevel::Intermediate, 8), Vec::<&str>::new());
        assert_eq!(with(TitleLevel::Senior, 0), Vec::<&str>::new());
        assert_eq!(with(TitleLevel::FullSenior, 0), Vec::<&str>::new());
    }

    #[test]
    fn recusal_window_and_always_recusing_kinds() {
        let rel = |kind, from, to| ExpertFacts {
            relations: vec![Relation {
                party_code: " DEPT-EDU".into(),
                kind,
                from,
                to,
            }],
            ..expert()
        };
        // Ended exactly 3 years before the task: still within the window.
        assert_eq!(
            expert_codes(&rel(
                RelationKind::WorkedFor,
                d(2010, 1, 1),
                Some(d(2023, 6, 30))
            )),
            vec!["RECUSAL"]
        );
        assert_eq!(
            expert_codes(&rel(
                RelationKind::Directed,
                d(2010, 1, 1),
                Some(d(2023, 6, 29))
            )),
            Vec::<&str>::new()
        );
        assert_eq!(
            expert_codes(&rel(RelationKind::Controlled, d(2026, 1, 1), None)),
            vec!["RECUSAL"]
        );
        // Starting after the task date does not count.
        assert_eq!(
            expert_codes(&rel(RelationKind::WorkedFor, d(2026, 7, 1), None)),
            Vec::<&str>::new()
        );
        // Family and other interests: always.
        for kind in [RelationKind::Family, RelationKind::OtherInterest] {
            assert_eq!(
                expert_codes(&rel(kind, d(1990, 1, 1), Some(d(1995, 1, 1)))),
                vec!["RECUSAL"]
            );
        }
        let e = rel(RelationKind::WorkedFor, d(2020, 1, 1), None);
        let got = expert_exclusions(&e, &task(), &PoolRules::default());
        assert_eq!(
            got[0].chinese(),
            "与被评价对象「DEPT-EDU」存在关联关系（任职（2020-01-01 至 今）），应回避"
        );
    }

    #[test]
    fn draw_limits_field_and_violations() {
        assert_eq!(
            expert_codes(&ExpertFacts {
                drawn_for_task: true,
                ..expert()
            }),
            vec!["ALREADY_DRAWN"]
        );
        assert_eq!(
            expert_codes(&ExpertFacts {
                engagements_this_year: 11,
                ..expert()
            }),
            Vec::<&str>::new()
        );
        assert_eq!(
            expert_codes(&ExpertFacts {
                engagements_this_year: 12,
                ..expert()
            }),
            vec!["WORKLOAD_CAP"]
        );
        assert_eq!(
            expert_codes(&ExpertFacts {
                fields: vec!["LAW".into()],
                ..expert()
            }),
            vec!["FIELD_MISMATCH"]
        );
        let any_field = DrawTask {
            field: None,
            ..task()
        };
        let law = ExpertFacts {
            fields: vec!["LAW".into()],
            ..expert()
        };
        assert!(expert_exclusions(&law, &any_field, &PoolRules::default()).is_empty());
        // A major violation bars for 3 years to the day.
        assert_eq!(
            expert_codes(&ExpertFacts {
                major_violation_on: Some(d(2023, 6, 30)),
                ..expert()
            }),
            vec!["MAJOR_VIOLATION"]
        );
        assert_eq!(
            expert_codes(&ExpertFacts {
                major_violation_on: Some(d(2023, 6, 29)),
                ..expert()
            }),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn all_reasons_are_reported() {
        let e = ExpertFacts {
            status: ExpertStatus::Exited,
            title: TitleLevel::Junior,
            birth_date: d(1940, 1, 1),
            fields: vec![],
            drawn_for_task: true,
            engagements_this_year: 20,
            ..expert()
        };
        assert_eq!(
            expert_codes(&e),
            vec![
                "NOT_ACTIVE",
                "AGE_OVER_CAP",
                "TITLE_TOO_LOW",
                "FIELD_MISMATCH",
                "ALREADY_DRAWN",
                "WORKLOAD_CAP"
            ]
        );
    }

    #[test]
    fn agency_status_and_qualification_period() {
        let t = task();
        assert_eq!(
            agency_codes(
                &AgencyFacts {
                    status: AgencyStatus::Warned,
                    ..agency()
                },
                &t
            ),
            Vec::<&str>::new()
        );
        assert_eq!(
            agency_codes(
                &AgencyFacts {
                    status: AgencyStatus::Removed,
                    ..agency()
                },
                &t
            ),
            vec!["NOT_ACTIVE"]
        );
        let suspended = |until| AgencyFacts {
            status: AgencyStatus::Suspended { until },
            ..agency()
        };
        assert_eq!(
            agency_codes(&suspended(d(2026, 7, 1)), &t),
            vec!["SUSPENDED"]
        );
        assert_eq!(
            agency_codes(&suspended(d(2026, 6, 30)), &t),
            Vec::<&str>::new()
        );
        // Expired by date, whatever the stored status; and by status.
        assert_eq!(
            agency_codes(
                &AgencyFacts {
                    qualified_to: d(2026, 6, 30),
                    ..agency()
                },
                &t
            ),
            Vec::<&str>::new()
        );
        assert_eq!(
            agency_codes(
                &AgencyFacts {
                    qualified_to: d(2026, 6, 29),
                    ..agency()
                },
                &t
            ),
            vec!["QUALIFICATION_EXPIRED"]
        );
        assert_eq!(
            agency_codes(
                &AgencyFacts {
                    status: AgencyStatus::Expired,
                    ..agency()
                },
                &t
            ),
            vec!["QUALIFICATION_EXPIRED"]
        );
        assert_eq!(
            agency_codes(
                &AgencyFacts {
                    qualified_from: d(2026, 7, 1),
                    ..agency()
                },
                &t
            ),
            vec!["QUALIFICATION_NOT_STARTED"]
        );
        assert_eq!(
            agency_codes(
                &AgencyFacts {
                    major_violation_on: Some(d(2025, 1, 1)),
                    ..agency()
                },
                &t
            ),
            vec!["MAJOR_VIOLATION"]
        );
    }

    #[test]
    fn agency_scope_lead_evaluator_recusal() {
        let no_lead = AgencyFacts {
            lead_evaluators: 0,
            ..agency()
        };
        assert_eq!(agency_codes(&no_lead, &task()), vec!["NO_LEAD_EVALUATOR"]);
        let research = DrawTask {
            kind: EngagementKind::Research,
            ..task()
        };
        assert_eq!(agency_codes(&no_lead, &research), Vec::<&str>::new());
        let indicators = DrawTask {
            kind: EngagementKind::IndicatorSystem,
            ..task()
        };
        assert_eq!(agency_codes(&agency(), &indicators), vec!["SCOPE_MISMATCH"]);
        let monitoring = DrawTask {
            kind: EngagementKind::Monitoring,
            ..task()
        };
        assert_eq!(
            agency_codes(&agency(), &monitoring),
            vec!["KIND_NOT_COMMISSIONABLE"]
        );
        let tied = AgencyFacts {
            relations: vec![Relation {
                party_code: "DEPT-EDU".into(),
                kind: RelationKind::Controlled,
                from: d(2019, 1, 1),
                to: Some(d(2024, 12, 31)),
            }],
            drawn_for_task: true,
            ..agency()
        };
        assert_eq!(
            agency_codes(&tied, &task()),
            vec!["RECUSAL", "ALREADY_DRAWN"]
        );
    }

    #[test]
    fn tally_counts_candidates_per_code() {
        let lists = [
            vec![Exclusion::AlreadyDrawn, Exclusion::NoLeadEvaluator],
            vec![
                Exclusion::Recusal {
                    party: "A".into(),
                    relation: "x".into(),
                },
                Exclusion::Recusal {
                    party: "A".into(),
                    relation: "y".into(),
                },
            ],
            vec![],
            vec![Exclusion::AlreadyDrawn],
        ];
        assert_eq!(
            tally(lists.iter().map(Vec::as_slice)),
            vec![
                ("ALREADY_DRAWN", 2),
                ("NO_LEAD_EVALUATOR", 1),
                ("RECUSAL", 1)
            ]
        );
    }

    #[test]
    fn every_exclusion_has_a_code_and_message() {
        let all = [
            Exclusion::NotActive { status: "退出" },
            Exclusion::QualificationNotStarted {
                from: d(2026, 1, 1),
            },
            Exclusion::QualificationExpired { to: d(2026, 1, 1) },
            Exclusion::Suspended {
                until: d(2026, 1, 1),
            },
            Exclusion::AgeOverCap { age: 71, cap: 70 },
            Exclusion::TitleTooLow {
                title: TitleLevel::Junior,
                min: TitleLevel::Intermediate,
            },
            Exclusion::YearsTooFew { years: 3, min: 8 },
            Exclusion::Recusal {
                party: "P".into(),
                relation: "亲属".into(),
            },
            Exclusion::AlreadyDrawn,
            Exclusion::WorkloadCap { count: 12, cap: 12 },
            Exclusion::FieldMismatch {
                field: "LAW".into(),
            },
            Exclusion::KindNotCommissionable {
                kind: EngagementKind::Monitoring,
            },
            Exclusion::ScopeMismatch {
                scope: ServiceScope::Research,
            },
            Exclusion::MajorViolation { on: d(2025, 1, 1) },
            Exclusion::NoLeadEvaluator,
        ];
        let mut codes: Vec<&str> = all.iter().map(Exclusion::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        for e in &all {
            assert!(!e.chinese().is_empty());
        }
    }

    #[test]
    fn text_enums_round_trip() {
        for t in TitleLevel::ALL {
            assert_eq!(TitleLevel::from_db(t.as_db()), Some(*t));
            assert_eq!(TitleLevel::from_chinese(t.chinese()), Some(*t));
        }
        for s in ExpertStatus::ALL {
            assert_eq!(ExpertStatus::from_db(s.as_db()), Some(*s));
        }
        for k in RelationKind::ALL {
            assert_eq!(RelationKind::from_chinese(k.chinese()), Some(*k));
        }
        assert!(
            TitleLevel::Junior < TitleLevel::Intermediate
                && TitleLevel::Senior < TitleLevel::FullSenior
        );
    }
}
