//! Experts ⇄ proto.

use pbm_proto::agency::v1 as proto;
use pbm_server::pii::PiiCipher;
use pbm_server::{ApiError, FieldViolation};
use pbm_types::DivisionCode;

use super::relations::{relation_from, relation_to};
use super::{opt_date, stamp};
use crate::domain::eligibility::{ExpertStatus, TitleLevel};
use crate::domain::experts::{Employment, ExpertDetails, ExpertSpec};
use crate::domain::ids::{IdNumber, Phone};
use crate::domain::personal::{mask_id_number, mask_phone};
use crate::domain::registry::Relation;
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

/// An expert's name, decrypted.
fn expert_name(pii: &PiiCipher, r: &ExpertRow) -> Result<String, ApiError> {
    let sealed = r.name_enc.as_deref().ok_or_else(|| {
        ApiError::internal(format!(
            "expert {}: name not sealed yet (restart the service)",
            r.id
        ))
    })?;
    pii.decrypt(sealed).map_err(ApiError::internal)
}

/// An expert as every read and every mutation's response shows it: 身份证号 and phone masked
/// (`domain::personal`; the stored masked forms are masked again, so none can show more than the
/// rule allows) and no birth date, which beside the masked number would narrow it to a handful
/// of people. `RevealExpertContact` gives the full values, audited. The name, stored encrypted,
/// is decrypted with `pii` and shown in full.
pub fn expert_to_proto(
    r: &ExpertRow,
    region: &DivisionCode,
    pii: &PiiCipher,
) -> Result<proto::Expert, ApiError> {
    let details = r.details()?;
    Ok(proto::Expert {
        id: r.id,
        spec: Some(proto::ExpertSpec {
            name: expert_name(pii, r)?,
            id_number: mask_id_number(&r.id_number_masked),
            phone: mask_phone(&r.phone_masked),
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
        birth_date: String::new(),
        status: expert_status_to(r.status()?) as i32,
        version: r.version,
        mof_div_code: region.to_string(),
        changed: Some(stamp(&r.changed_by, r.changed_at)),
    })
}
