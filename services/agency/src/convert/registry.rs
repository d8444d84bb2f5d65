//! Admission batches and agencies ⇄ proto.

use chrono::NaiveDate;
use pbm_proto::agency::v1 as proto;
use pbm_server::{ApiError, FieldViolation};
use pbm_types::DivisionCode;

use super::relations::{relation_kind_from, relation_kind_to};
use super::{both, check, date, opt_date, stamp};
use crate::domain::ids::CreditCode;
use crate::domain::personal::{Disclosure, mask_email, mask_phone};
use crate::domain::registry::{
    Action, Agency, AgencySpec, AgencyType, Batch, Branch, Details, EffectiveStatus, LeadEvaluator,
    Person, Relation, Scope, effective_status,
};
use crate::store::StatusChange;

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

fn person_from(p: proto::Person) -> Person {
    Person {
        name: p.name.trim().into(),
        role: p.role.trim().into(),
        phone: p.phone.trim().into(),
        email: p.email.trim().into(),
    }
}

fn person_to(p: &Person, disclosure: Disclosure) -> proto::Person {
    proto::Person {
        name: p.name.name(),
        role: p.role.clone(),
        phone: p.phone.shown(disclosure, mask_phone),
        email: p.email.shown(disclosure, mask_email),
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

/// `disclosure` (`domain::personal::disclosure`): people's phones in full — when the caller
/// opened them — or masked. People's names in full: the caller opened them
/// (`ops::personal::open_names`).
pub fn agency_to_proto(
    a: &Agency,
    batch: &Batch,
    today: NaiveDate,
    region: &DivisionCode,
    disclosure: Disclosure,
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
                    name: e.name.name(),
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
                .map(|p| person_to(p, disclosure))
                .collect(),
            other_staff: s
                .details
                .other_staff
                .iter()
                .map(|p| person_to(p, disclosure))
                .collect(),
            contacts: s
                .details
                .contacts
                .iter()
                .map(|p| person_to(p, disclosure))
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

pub fn status_change_to_proto(c: &StatusChange) -> proto::StatusChange {
    proto::StatusChange {
        from_status: c.from_status.clone(),
        to_status: c.to_status.clone(),
        reason: c.reason.clone(),
        until: c.until.map(|d| d.to_string()).unwrap_or_default(),
        changed: Some(stamp(&c.changed_by, c.changed_at)),
    }
}
