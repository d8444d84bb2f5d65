//! Proto ⇄ domain for the registry; enums matched exhaustively.

use chrono::NaiveDate;
use pbm_proto::agency::v1 as proto;
use pbm_server::{ApiError, FieldViolation};
use pbm_types::DivisionCode;

use crate::domain::ids::{CreditCode, mask};
use crate::domain::registry::{
    Action, Agency, AgencySpec, AgencyType, Batch, Branch, Details, EffectiveStatus, LeadEvaluator,
    Person, Relation, RelationKind, Scope, effective_status,
};
use crate::store::{StatusChange, ViolationRecord};
pub use pbm_server::wire::stamp;

/// One part of a request parsed, or what is wrong with it.
pub type Parsed<T> = Result<T, Vec<FieldViolation>>;

/// Both parts, or the violations of either (the first's before the second's): a request is
/// built from its parsed parts only once every part parsed, so nothing is left unchecked.
pub fn both<A, B>(a: Parsed<A>, b: Parsed<B>) -> Parsed<(A, B)> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => Err(a.err().into_iter().chain(b.err()).flatten().collect()),
    }
}

/// A rule on a request: `Ok` when it holds, else its violation.
pub fn check(holds: bool, violation: impl FnOnce() -> FieldViolation) -> Parsed<()> {
    if holds {
        Ok(())
    } else {
        Err(vec![violation()])
    }
}

/// A credit code as typed in a request: trimmed, upper case (looked up as is; a code that is not
/// on file answers NOT_FOUND).
pub fn code(text: &str) -> String {
    text.trim().to_uppercase()
}

/// Parses `YYYY-MM-DD`; `field` names it in the violation.
pub fn date(text: &str, field: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        ApiError::invalid_field(
            "DATE_INVALID",
            field,
            format!("日期「{text}」无效，格式应为 YYYY-MM-DD"),
        )
    })
}

fn opt_date(text: &str, field: &str) -> Result<Option<NaiveDate>, ApiError> {
    if text.trim().is_empty() {
        Ok(None)
    } else {
        date(text, field).map(Some)
    }
}

fn agency_type_from(v: i32) -> Option<AgencyType> {
    match proto::AgencyType::try_from(v).ok()? {
        proto::AgencyType::Unspecified => None,
        proto::AgencyType::AccountingFirm => Some(AgencyType::AccountingFirm),
        proto::AgencyType::AssetAppraisal => Some(AgencyType::AssetAppraisal),
        proto::AgencyType::LawFirm => Some(AgencyType::LawFirm),
        proto::AgencyType::Consulting => Some(AgencyType::Consulting),
        proto::AgencyType::ResearchInstitute => Some(AgencyType::ResearchInstitute),
        proto::AgencyType::University => Some(AgencyType::University),
    }
}

fn agency_type_to(t: AgencyType) -> proto::AgencyType {
    match t {
        AgencyType::AccountingFirm => proto::AgencyType::AccountingFirm,
        AgencyType::AssetAppraisal => proto::AgencyType::AssetAppraisal,
        AgencyType::LawFirm => proto::AgencyType::LawFirm,
        AgencyType::Consulting => proto::AgencyType::Consulting,
        AgencyType::ResearchInstitute => proto::AgencyType::ResearchInstitute,
        AgencyType::University => proto::AgencyType::University,
    }
}

pub fn scope_from(v: i32) -> Option<Scope> {
    match proto::ServiceScope::try_from(v).ok()? {
        proto::ServiceScope::Unspecified => None,
        proto::ServiceScope::ExAnteAndGoalReview => Some(Scope::ExAnteAndGoalReview),
        proto::ServiceScope::Evaluation => Some(Scope::Evaluation),
        proto::ServiceScope::IndicatorSystem => Some(Scope::IndicatorSystem),
        proto::ServiceScope::Research => Some(Scope::Research),
    }
}

fn scope_to(s: Scope) -> proto::ServiceScope {
    match s {
        Scope::ExAnteAndGoalReview => proto::ServiceScope::ExAnteAndGoalReview,
        Scope::Evaluation => proto::ServiceScope::Evaluation,
        Scope::IndicatorSystem => proto::ServiceScope::IndicatorSystem,
        Scope::Research => proto::ServiceScope::Research,
    }
}

fn relation_kind_from(v: i32) -> Option<RelationKind> {
    match proto::RelationKind::try_from(v).ok()? {
        proto::RelationKind::Unspecified => None,
        proto::RelationKind::WorkedFor => Some(RelationKind::WorkedFor),
        proto::RelationKind::Directed => Some(RelationKind::Directed),
        proto::RelationKind::Controlled => Some(RelationKind::Controlled),
        proto::RelationKind::Family => Some(RelationKind::Family),
        proto::RelationKind::OtherInterest => Some(RelationKind::OtherInterest),
    }
}

fn relation_kind_to(k: RelationKind) -> proto::RelationKind {
    match k {
        RelationKind::WorkedFor => proto::RelationKind::WorkedFor,
        RelationKind::Directed => proto::RelationKind::Directed,
        RelationKind::Controlled => proto::RelationKind::Controlled,
        RelationKind::Family => proto::RelationKind::Family,
        RelationKind::OtherInterest => proto::RelationKind::OtherInterest,
    }
}

pub fn status_filter_from(v: i32) -> Result<Option<crate::domain::registry::Status>, ApiError> {
    use crate::domain::registry::Status;
    match proto::AgencyStatus::try_from(v) {
        Ok(proto::AgencyStatus::Unspecified) => Ok(None),
        Ok(proto::AgencyStatus::Admitted) => Ok(Some(Status::Admitted)),
        Ok(proto::AgencyStatus::Warned) => Ok(Some(Status::Warned)),
        Ok(proto::AgencyStatus::Suspended) => Ok(Some(Status::Suspended)),
        Ok(proto::AgencyStatus::Removed) => Ok(Some(Status::Removed)),
        Ok(proto::AgencyStatus::Expired) | Err(_) => Err(ApiError::invalid_field(
            "STATUS_FILTER_INVALID",
            "status",
            "可按 入库/警告/暂停/清退 筛选；资格到期由批次期间决定",
        )),
    }
}

pub fn agency_type_filter_from(v: i32) -> Result<Option<AgencyType>, ApiError> {
    if v == 0 {
        return Ok(None);
    }
    agency_type_from(v)
        .map(Some)
        .ok_or_else(|| ApiError::invalid_field("TYPE_INVALID", "type", "机构类型无效"))
}

pub fn scope_filter_from(v: i32) -> Result<Option<Scope>, ApiError> {
    if v == 0 {
        return Ok(None);
    }
    scope_from(v)
        .map(Some)
        .ok_or_else(|| ApiError::invalid_field("SCOPE_INVALID", "scope", "服务范围无效"))
}

pub fn action_from(r: &proto::ChangeAgencyStatusRequest) -> Result<Action, ApiError> {
    match proto::AgencyAction::try_from(r.action) {
        Ok(proto::AgencyAction::Warn) => Ok(Action::Warn),
        Ok(proto::AgencyAction::Suspend) => Ok(Action::Suspend {
            until: date(&r.until, "until")?,
        }),
        Ok(proto::AgencyAction::Reinstate) => Ok(Action::Reinstate),
        Ok(proto::AgencyAction::Remove) => Ok(Action::Remove),
        Ok(proto::AgencyAction::Unspecified) | Err(_) => Err(ApiError::invalid_field(
            "ACTION_INVALID",
            "action",
            "请选择：警告、暂停、恢复或清退",
        )),
    }
}

pub fn severity_from(v: i32) -> Result<&'static str, ApiError> {
    use crate::domain::rules::Severity;
    match proto::Severity::try_from(v) {
        Ok(proto::Severity::Minor) => Ok(Severity::Minor.as_db()),
        Ok(proto::Severity::Major) => Ok(Severity::Major.as_db()),
        Ok(proto::Severity::Unspecified) | Err(_) => Err(ApiError::invalid_field(
            "SEVERITY_INVALID",
            "severity",
            "请选择违规程度：一般或严重",
        )),
    }
}

fn person_from(p: proto::Person) -> Person {
    Person {
        name: p.name.trim().into(),
        role: p.role.trim().into(),
        phone: p.phone.trim().into(),
        email: p.email.trim().into(),
    }
}

fn person_to(p: &Person, reveal: bool) -> proto::Person {
    proto::Person {
        name: p.name.clone(),
        role: p.role.clone(),
        phone: if reveal {
            p.phone.clone()
        } else {
            mask(&p.phone)
        },
        email: p.email.clone(),
    }
}

/// Parses a spec, collecting every violation.
pub fn spec_from_proto(p: Option<proto::AgencySpec>) -> Result<AgencySpec, ApiError> {
    let Some(p) = p else {
        return Err(ApiError::invalid_field(
            "SPEC_REQUIRED",
            "spec",
            "缺少机构信息 spec",
        ));
    };
    let proto::AgencySpec {
        credit_code,
        name,
        r#type,
        legal_representative,
        lead_evaluators,
        branches,
        cooperating_experts,
        other_staff,
        contacts,
        scopes,
        admission_batch_id,
        relations,
    } = p;
    let mut v: Vec<FieldViolation> = Vec::new();
    let credit_code = CreditCode::parse(&credit_code)
        .map_err(|e| v.push(FieldViolation::new("spec.credit_code", e.reason, e.message)))
        .ok();
    let agency_type = agency_type_from(r#type);
    if agency_type.is_none() {
        v.push(FieldViolation::generic("spec.type", "请选择机构类型"));
    }
    let mut parsed_scopes = Vec::new();
    for (i, s) in scopes.iter().enumerate() {
        match scope_from(*s) {
            Some(s) => parsed_scopes.push(s),
            None => v.push(FieldViolation::generic(
                format!("spec.scopes[{i}]"),
                "服务范围无效",
            )),
        }
    }
    let mut parsed_relations = Vec::new();
    for (i, r) in relations.into_iter().enumerate() {
        let kind = relation_kind_from(r.kind);
        if kind.is_none() {
            v.push(FieldViolation::generic(
                format!("spec.relations[{i}].kind"),
                "请选择关联类型",
            ));
        }
        let from = date(&r.from, &format!("spec.relations[{i}].from"))
            .map_err(|e| v.extend(e.violations))
            .ok();
        let to = opt_date(&r.to, &format!("spec.relations[{i}].to"))
            .map_err(|e| v.extend(e.violations))
            .ok()
            .flatten();
        if let (Some(kind), Some(from)) = (kind, from) {
            parsed_relations.push(Relation {
                party_code: r.party_code.trim().into(),
                kind,
                from,
                to,
                note: r.note.trim().into(),
            });
        }
    }
    if admission_batch_id <= 0 {
        v.push(FieldViolation::generic(
            "spec.admission_batch_id",
            "请选择入库批次",
        ));
    }
    let (Some(credit_code), Some(agency_type)) = (credit_code, agency_type) else {
        return Err(ApiError::validation(v));
    };
    if !v.is_empty() {
        return Err(ApiError::validation(v));
    }
    Ok(AgencySpec {
        credit_code,
        name: name.trim().into(),
        agency_type,
        legal_representative: legal_representative.trim().into(),
        details: Details {
            lead_evaluators: lead_evaluators
                .into_iter()
                .map(|e| LeadEvaluator {
                    name: e.name.trim().into(),
                    qualifications: e
                        .qualifications
                        .into_iter()
                        .map(|q| q.trim().to_owned())
                        .collect(),
                })
                .collect(),
            branches: branches
                .into_iter()
                .map(|b| Branch {
                    name: b.name.trim().into(),
                    credit_code: b.credit_code.trim().to_uppercase(),
                    is_legal_person: b.is_legal_person,
                })
                .collect(),
            cooperating_experts: cooperating_experts.into_iter().map(person_from).collect(),
            other_staff: other_staff.into_iter().map(person_from).collect(),
            contacts: contacts.into_iter().map(person_from).collect(),
            relations: parsed_relations,
        },
        scopes: parsed_scopes,
        admission_batch_id,
    })
}

pub fn batch_to_proto(b: &Batch) -> proto::AdmissionBatch {
    proto::AdmissionBatch {
        id: b.id,
        name: b.name.clone(),
        procurement_ref: b.procurement_ref.clone(),
        qualified_from: b.qualified_from.to_string(),
        qualified_to: b.qualified_to.to_string(),
        created: Some(stamp(&b.created_by, b.created_at)),
    }
}

pub fn batch_from_request(r: &proto::CreateAdmissionBatchRequest) -> Result<Batch, ApiError> {
    let name = check(!r.name.trim().is_empty(), || {
        FieldViolation::generic("name", "批次名称不能为空")
    });
    let from = date(&r.qualified_from, "qualified_from").map_err(|e| e.violations);
    let to = date(&r.qualified_to, "qualified_to").map_err(|e| e.violations);
    let period = both(from, to).and_then(|(from, to)| {
        check(to >= from, || {
            FieldViolation::generic("qualified_to", "资格期限的截止日期早于起始日期")
        })
        .map(|()| (from, to))
    });
    let ((), (qualified_from, qualified_to)) = both(name, period).map_err(ApiError::validation)?;
    Ok(Batch {
        id: 0,
        name: r.name.trim().into(),
        procurement_ref: r.procurement_ref.trim().into(),
        qualified_from,
        qualified_to,
        created_by: String::new(),
        created_at: chrono::NaiveDateTime::default(),
    })
}

/// `reveal`: contacts' phones in full (finance, and the agency itself) or masked.
pub fn agency_to_proto(
    a: &Agency,
    batch: &Batch,
    today: NaiveDate,
    region: &DivisionCode,
    reveal: bool,
) -> proto::Agency {
    let s = &a.spec;
    let status = match effective_status(a, batch.qualified_to, today) {
        EffectiveStatus::Admitted => proto::AgencyStatus::Admitted,
        EffectiveStatus::Warned => proto::AgencyStatus::Warned,
        EffectiveStatus::Suspended => proto::AgencyStatus::Suspended,
        EffectiveStatus::Removed => proto::AgencyStatus::Removed,
        EffectiveStatus::Expired => proto::AgencyStatus::Expired,
    };
    proto::Agency {
        spec: Some(proto::AgencySpec {
            credit_code: s.credit_code.as_str().into(),
            name: s.name.clone(),
            r#type: agency_type_to(s.agency_type) as i32,
            legal_representative: s.legal_representative.clone(),
            lead_evaluators: s
                .details
                .lead_evaluators
                .iter()
                .map(|e| proto::LeadEvaluator {
                    name: e.name.clone(),
                    qualifications: e.qualifications.clone(),
                })
                .collect(),
            branches: s
                .details
                .branches
                .iter()
                .map(|b| proto::Branch {
                    name: b.name.clone(),
                    credit_code: b.credit_code.clone(),
                    is_legal_person: b.is_legal_person,
                })
                .collect(),
            cooperating_experts: s
                .details
                .cooperating_experts
                .iter()
                .map(|p| person_to(p, reveal))
                .collect(),
            other_staff: s
                .details
                .other_staff
                .iter()
                .map(|p| person_to(p, reveal))
                .collect(),
            contacts: s
                .details
                .contacts
                .iter()
                .map(|p| person_to(p, reveal))
                .collect(),
            scopes: s.scopes.iter().map(|x| scope_to(*x) as i32).collect(),
            admission_batch_id: s.admission_batch_id,
            relations: s
                .details
                .relations
                .iter()
                .map(|r| proto::Relation {
                    party_code: r.party_code.clone(),
                    kind: relation_kind_to(r.kind) as i32,
                    from: r.from.to_string(),
                    to: r.to.map(|d| d.to_string()).unwrap_or_default(),
                    note: r.note.clone(),
                })
                .collect(),
        }),
        status: status as i32,
        suspended_until: a
            .suspended_until
            .filter(|_| status == proto::AgencyStatus::Suspended)
            .map(|d| d.to_string())
            .unwrap_or_default(),
        qualified_from: batch.qualified_from.to_string(),
        qualified_to: batch.qualified_to.to_string(),
        version: a.version,
        mof_div_code: region.to_string(),
        changed: Some(stamp(&a.changed_by, a.changed_at)),
    }
}

pub fn violation_to_proto(v: &ViolationRecord) -> proto::Violation {
    proto::Violation {
        id: v.id,
        credit_code: match &v.violator {
            crate::store::Violator::Agency(code) => code.clone(),
            crate::store::Violator::Expert(_) => String::new(),
        },
        expert_id: match &v.violator {
            crate::store::Violator::Agency(_) => 0,
            crate::store::Violator::Expert(id) => *id,
        },
        occurred_on: v.occurred_on.to_string(),
        severity: match crate::domain::rules::Severity::from_db(&v.severity) {
            Some(crate::domain::rules::Severity::Major) => proto::Severity::Major,
            Some(crate::domain::rules::Severity::Minor) | None => proto::Severity::Minor,
        } as i32,
        description: v.description.clone(),
        recorded: Some(stamp(&v.recorded_by, v.recorded_at)),
    }
}

pub fn status_change_to_proto(c: &StatusChange) -> proto::StatusChange {
    proto::StatusChange {
        from_status: c.from_status.clone(),
        to_status: c.to_status.clone(),
        reason: c.reason.clone(),
        until: c.until.map(|d| d.to_string()).unwrap_or_default(),
        changed: Some(stamp(&c.changed_by, c.changed_at)),
    }
}

// ---------------------------------------------------------------------------------------------
// Experts

use crate::domain::eligibility::{ExpertStatus, TitleLevel};
use crate::domain::experts::{Employment, ExpertDetails, ExpertSpec};
use crate::domain::ids::{IdNumber, Phone};
use crate::store::experts::ExpertRow;

pub fn title_from(v: i32) -> Option<TitleLevel> {
    match proto::TitleLevel::try_from(v).ok()? {
        proto::TitleLevel::Unspecified => None,
        proto::TitleLevel::Junior => Some(TitleLevel::Junior),
        proto::TitleLevel::Intermediate => Some(TitleLevel::Intermediate),
        proto::TitleLevel::Senior => Some(TitleLevel::Senior),
        proto::TitleLevel::FullSenior => Some(TitleLevel::FullSenior),
    }
}

fn title_to(t: TitleLevel) -> proto::TitleLevel {
    match t {
        TitleLevel::Junior => proto::TitleLevel::Junior,
        TitleLevel::Intermediate => proto::TitleLevel::Intermediate,
        TitleLevel::Senior => proto::TitleLevel::Senior,
        TitleLevel::FullSenior => proto::TitleLevel::FullSenior,
    }
}

pub fn expert_status_from(v: i32) -> Option<ExpertStatus> {
    match proto::ExpertStatus::try_from(v).ok()? {
        proto::ExpertStatus::Unspecified => None,
        proto::ExpertStatus::Active => Some(ExpertStatus::Active),
        proto::ExpertStatus::UnderReview => Some(ExpertStatus::UnderReview),
        proto::ExpertStatus::Exited => Some(ExpertStatus::Exited),
    }
}

fn expert_status_to(s: ExpertStatus) -> proto::ExpertStatus {
    match s {
        ExpertStatus::Active => proto::ExpertStatus::Active,
        ExpertStatus::UnderReview => proto::ExpertStatus::UnderReview,
        ExpertStatus::Exited => proto::ExpertStatus::Exited,
    }
}

fn relation_from(r: proto::Relation, field: &str, v: &mut Vec<FieldViolation>) -> Option<Relation> {
    let kind = relation_kind_from(r.kind);
    if kind.is_none() {
        v.push(FieldViolation::generic(
            format!("{field}.kind"),
            "请选择关联类型",
        ));
    }
    let from = date(&r.from, &format!("{field}.from"))
        .map_err(|e| v.extend(e.violations))
        .ok();
    let to = opt_date(&r.to, &format!("{field}.to"))
        .map_err(|e| v.extend(e.violations))
        .ok()
        .flatten();
    Some(Relation {
        party_code: r.party_code.trim().into(),
        kind: kind?,
        from: from?,
        to,
        note: r.note.trim().into(),
    })
}

fn relation_to(r: &Relation) -> proto::Relation {
    proto::Relation {
        party_code: r.party_code.clone(),
        kind: relation_kind_to(r.kind) as i32,
        from: r.from.to_string(),
        to: r.to.map(|d| d.to_string()).unwrap_or_default(),
        note: r.note.clone(),
    }
}

/// Parses an expert spec. With `update`, an empty ID number or phone keeps the stored one.
pub fn expert_spec_from_proto(
    p: Option<proto::ExpertSpec>,
    update: bool,
) -> Result<ExpertSpec, ApiError> {
    let Some(p) = p else {
        return Err(ApiError::invalid_field(
            "SPEC_REQUIRED",
            "spec",
            "缺少专家信息 spec",
        ));
    };
    let proto::ExpertSpec {
        name,
        id_number,
        phone,
        title,
        years_in_field,
        fields,
        affiliation,
        employment,
        relations,
    } = p;
    let mut v: Vec<FieldViolation> = Vec::new();
    let id_number = if update && id_number.trim().is_empty() {
        None
    } else {
        IdNumber::parse(&id_number)
            .map_err(|e| v.push(FieldViolation::generic("spec.id_number", e.message)))
            .ok()
    };
    let phone = if update && phone.trim().is_empty() {
        None
    } else {
        Phone::parse(&phone)
            .map_err(|e| v.push(FieldViolation::generic("spec.phone", e.message)))
            .ok()
    };
    let title = title_from(title);
    if title.is_none() {
        v.push(FieldViolation::generic("spec.title", "请选择职称级别"));
    }
    if years_in_field < 0 {
        v.push(FieldViolation::generic(
            "spec.years_in_field",
            "从业年限不能为负数",
        ));
    }
    let mut jobs = Vec::new();
    for (i, e) in employment.into_iter().enumerate() {
        let from = opt_date(&e.from, &format!("spec.employment[{i}].from"))
            .map_err(|e| v.extend(e.violations))
            .ok()
            .flatten();
        let to = opt_date(&e.to, &format!("spec.employment[{i}].to"))
            .map_err(|e| v.extend(e.violations))
            .ok()
            .flatten();
        jobs.push(Employment {
            organization: e.organization.trim().into(),
            position: e.position.trim().into(),
            from,
            to,
        });
    }
    let relations: Vec<Relation> = relations
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| relation_from(r, &format!("spec.relations[{i}]"), &mut v))
        .collect();
    let Some(title) = title else {
        return Err(ApiError::validation(v));
    };
    if !v.is_empty() {
        return Err(ApiError::validation(v));
    }
    Ok(ExpertSpec {
        name: name.trim().into(),
        id_number,
        phone,
        title,
        years_in_field: u32::try_from(years_in_field).unwrap_or(0),
        fields: crate::domain::taxonomy::FieldTaxonomy::normalize(&fields),
        affiliation: affiliation.trim().into(),
        details: ExpertDetails {
            employment: jobs,
            relations,
        },
    })
}

/// An expert as callers see it: personal data masked.
pub fn expert_to_proto(r: &ExpertRow, region: &DivisionCode) -> Result<proto::Expert, ApiError> {
    let details = r.details()?;
    Ok(proto::Expert {
        id: r.id,
        spec: Some(proto::ExpertSpec {
            name: r.name.clone(),
            id_number: r.id_number_masked.clone(),
            phone: r.phone_masked.clone(),
            title: title_to(r.title()?) as i32,
            years_in_field: r.years_in_field,
            fields: r.fields(),
            affiliation: r.affiliation.clone(),
            employment: details
                .employment
                .iter()
                .map(|e| proto::EmploymentRecord {
                    organization: e.organization.clone(),
                    position: e.position.clone(),
                    from: e.from.map(|d| d.to_string()).unwrap_or_default(),
                    to: e.to.map(|d| d.to_string()).unwrap_or_default(),
                })
                .collect(),
            relations: details.relations.iter().map(relation_to).collect(),
        }),
        birth_date: r.birth_date.to_string(),
        status: expert_status_to(r.status()?) as i32,
        version: r.version,
        mof_div_code: region.to_string(),
        changed: Some(stamp(&r.changed_by, r.changed_at)),
    })
}

// ---------------------------------------------------------------------------------------------
// Engagements

use crate::domain::engagement::EngagementKind;
use crate::store::engagements::EngagementRow;
pub use pbm_server::wire::decimal as dec;
use pbm_types::Decimal;

pub fn kind_from(v: i32) -> Option<EngagementKind> {
    use proto::EngagementKind as P;
    Some(match P::try_from(v).ok()? {
        P::Unspecified => return None,
        P::ExAnteAssessment => EngagementKind::ExAnteAssessment,
        P::GoalReview => EngagementKind::GoalReview,
        P::Evaluation => EngagementKind::Evaluation,
        P::EvaluationReview => EngagementKind::EvaluationReview,
        P::IndicatorSystem => EngagementKind::IndicatorSystem,
        P::Research => EngagementKind::Research,
        P::GoalSetting => EngagementKind::GoalSetting,
        P::Monitoring => EngagementKind::Monitoring,
        P::SelfEvaluation => EngagementKind::SelfEvaluation,
    })
}

pub fn kind_to(k: EngagementKind) -> proto::EngagementKind {
    use proto::EngagementKind as P;
    match k {
        EngagementKind::ExAnteAssessment => P::ExAnteAssessment,
        EngagementKind::GoalReview => P::GoalReview,
        EngagementKind::Evaluation => P::Evaluation,
        EngagementKind::EvaluationReview => P::EvaluationReview,
        EngagementKind::IndicatorSystem => P::IndicatorSystem,
        EngagementKind::Research => P::Research,
        EngagementKind::GoalSetting => P::GoalSetting,
        EngagementKind::Monitoring => P::Monitoring,
        EngagementKind::SelfEvaluation => P::SelfEvaluation,
    }
}

pub fn engagement_to_proto(
    row: &EngagementRow,
    experts: &[i64],
) -> Result<proto::Engagement, ApiError> {
    let scores: Vec<(String, Decimal)> =
        serde_json::from_str(&row.scores).map_err(ApiError::internal)?;
    let kind =
        EngagementKind::from_db(&row.kind).ok_or_else(|| ApiError::internal("engagement kind"))?;
    Ok(proto::Engagement {
        id: row.id,
        commissioner: row.commissioner.clone(),
        evaluated_party: row.evaluated_party.clone(),
        kind: kind_to(kind) as i32,
        agency_credit_code: row.agency_credit_code.clone().unwrap_or_default(),
        expert_ids: experts.to_vec(),
        started_on: row.started_on.to_string(),
        ended_on: row.ended_on.to_string(),
        rated: row.score.is_some(),
        scores: scores
            .into_iter()
            .map(|(criterion, score)| proto::CriterionScore {
                criterion,
                score: dec(score),
            })
            .collect(),
        score: row.score.and_then(|s| dec(s.0)),
        rules: row.rules.clone(),
        version: row.version,
        created: Some(stamp(&row.created_by, row.created_at)),
        rated_by: match (&row.rated_by, row.rated_at) {
            (Some(by), Some(at)) => Some(stamp(by, at)),
            _ => None,
        },
        cancelled: row.cancelled_at.is_some(),
        cancelled_by: match (&row.cancelled_by, row.cancelled_at) {
            (Some(by), Some(at)) => Some(stamp(by, at)),
            _ => None,
        },
        cancel_reason: row.cancel_reason.clone(),
    })
}

// ---------------------------------------------------------------------------------------------
// Draws

use crate::domain::draw::round_seed;
use crate::store::draws::{Draw, MemberRow};

fn answer_to(a: &str) -> proto::DrawAnswer {
    match a {
        "accepted" => proto::DrawAnswer::Accepted,
        "declined" => proto::DrawAnswer::Declined,
        _ => proto::DrawAnswer::Pending,
    }
}

/// The draw as callers see it: every round's picks in draw order (`members` come from the store
/// in that order).
pub fn draw_to_proto(row: &Draw, members: &[MemberRow]) -> proto::Draw {
    let (seed, candidates) = (row.seed, &row.candidates);
    let agencies = row.is_agencies();
    let max_round = members.iter().map(|m| m.round).max().unwrap_or(0);
    let expert_id = |m: &MemberRow| m.key.parse::<i64>().unwrap_or_default();
    let rounds = (0..=max_round)
        .map(|r| {
            let picked = members.iter().filter(|m| m.round == r);
            proto::DrawRound {
                round: r,
                seed: round_seed(seed, u32::try_from(r).unwrap_or(0)).to_string(),
                picked: if agencies {
                    Vec::new()
                } else {
                    picked.clone().map(expert_id).collect()
                },
                picked_agencies: if agencies {
                    picked.map(|m| m.key.clone()).collect()
                } else {
                    Vec::new()
                },
            }
        })
        .collect();
    let weight = |key: &str| {
        candidates
            .iter()
            .find(|c| c.id == key)
            .and_then(|c| dec(c.weight))
    };
    proto::Draw {
        id: row.id,
        task_ref: row.task_ref.clone(),
        field: row.field.clone(),
        count: row.count,
        evaluated_party: row.evaluated_party.clone(),
        kind: EngagementKind::from_db(&row.kind).map_or(0, |k| kind_to(k) as i32),
        on_date: row.on_date.to_string(),
        seed: seed.to_string(),
        candidates_fingerprint: row.fingerprint.clone(),
        eligible: i32::try_from(candidates.len()).unwrap_or(i32::MAX),
        rounds,
        drawn: if agencies {
            Vec::new()
        } else {
            members
                .iter()
                .map(|m| proto::DrawnExpert {
                    expert_id: expert_id(m),
                    round: m.round,
                    answer: answer_to(&m.answer) as i32,
                    reason: m.reason.clone(),
                })
                .collect()
        },
        drawn_agencies: if agencies {
            members
                .iter()
                .map(|m| proto::DrawnAgency {
                    credit_code: m.key.clone(),
                    round: m.round,
                    answer: answer_to(&m.answer) as i32,
                    reason: m.reason.clone(),
                    weight: weight(&m.key),
                })
                .collect()
        } else {
            Vec::new()
        },
        subject: if agencies {
            proto::DrawSubject::Agencies
        } else {
            proto::DrawSubject::Experts
        } as i32,
        weighted_by_rating: row.weighted,
        rules: row.rules.clone(),
        version: row.version,
        created: Some(stamp(&row.created_by, row.created_at)),
    }
}

/// A round recomputed by a replay (`round` 0 draws the count, later rounds one replacement):
/// its derived seed and its picks in draw order.
pub fn replayed_round_to_proto(row: &Draw, round: usize, picked: &[String]) -> proto::DrawRound {
    let agencies = row.is_agencies();
    proto::DrawRound {
        round: i32::try_from(round).unwrap_or(i32::MAX),
        seed: round_seed(row.seed, u32::try_from(round).unwrap_or(0)).to_string(),
        picked: if agencies {
            Vec::new()
        } else {
            picked.iter().filter_map(|p| p.parse().ok()).collect()
        },
        picked_agencies: if agencies {
            picked.to_vec()
        } else {
            Vec::new()
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Ratings

use crate::domain::rating::Rating;
use crate::domain::rules::Action as GradeAction;

/// A grade's action as the API names it, and its suspension in months (0 unless suspended).
fn grade_action_to(action: GradeAction) -> (&'static str, i32) {
    match action {
        GradeAction::None => ("none", 0),
        GradeAction::Warning => ("warning", 0),
        GradeAction::Suspend { months } => ("suspend", i32::try_from(months).unwrap_or(i32::MAX)),
        GradeAction::Remove => ("remove", 0),
    }
}

/// Every number behind a rating, for ExplainRating and RateEngagement; `rules` names the rules
/// it was computed under.
pub fn rating_explanation_to_proto(r: &Rating, rules: String) -> proto::RatingExplanation {
    let (action, months) = grade_action_to(r.action);
    proto::RatingExplanation {
        as_of: r.as_of.to_string(),
        contributions: r
            .contributions
            .iter()
            .map(|c| proto::RatingContribution {
                engagement_id: c.engagement_id,
                ended_on: c.ended_on.to_string(),
                score: dec(c.score),
                age_months: i32::try_from(c.age_months).unwrap_or(i32::MAX),
                decay_weight: dec(c.decay_weight),
                weighted: dec(c.weighted),
            })
            .collect(),
        weighted_sum: dec(r.weighted_sum),
        weight_total: dec(r.weight_total),
        pool_mean: dec(r.pool_mean),
        shrinkage_k: dec(r.shrinkage_k),
        shrunk: dec(r.shrunk.round_dp(6)),
        penalties: r
            .penalties
            .iter()
            .map(|p| proto::RatingPenalty {
                violation_id: p.violation_id,
                occurred_on: p.on.to_string(),
                severity: p.severity.as_db().into(),
                points: dec(p.points),
            })
            .collect(),
        final_score: dec(r.final_score),
        grade: format!("{:?}", r.grade),
        action: action.into(),
        suspend_months: months,
        selectable: r.selectable,
        rules,
    }
}

/// One line of a recomputed ranking: the rating's score, grade and action, and how many
/// engagements it rests on (the caller fills in who).
pub fn rated_subject_to_proto(rating: &Rating, engagements: usize) -> proto::RatedSubject {
    proto::RatedSubject {
        final_score: dec(rating.final_score),
        grade: format!("{:?}", rating.grade),
        action: grade_action_to(rating.action).0.into(),
        selectable: rating.selectable,
        engagements: i32::try_from(engagements).unwrap_or(i32::MAX),
        ..Default::default()
    }
}
