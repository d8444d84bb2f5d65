//! Use cases: authorise (domain::access) → load (store) → domain rules → one transaction (with
//! audit, idempotency and outbox rows) via `pbm_server::run_mutation`. Split by noun; the files
//! do not import each other in cycles, and what several need lives here.

pub mod agencies;
pub mod batches;
pub mod draws;
pub mod engagements;
pub mod experts;
pub mod personal;
pub mod rating_events;
pub mod ratings;
pub mod rules;
pub mod statistics;
pub mod violations;

use chrono::NaiveDate;
use pbm_db::AnyConnection;
use pbm_server::ApiError;
use pbm_server::pii::PiiCipher;

use crate::domain::eligibility::{self, AgencyFacts, AgencyStatus, ExpertFacts};
use crate::domain::registry::{self, Agency, EffectiveStatus};
use crate::domain::rules::{PoolRules, Severity};
use crate::store::experts as store_x;
use crate::store::{self, Violator};

/// The service's name outside an RPC (outbox events, the audit of a contact reveal): the
/// `ErrorInfo.domain` of its RPCs.
pub const SERVICE: &str = "pbm.agency";

fn agency_not_found(code: &str) -> ApiError {
    ApiError::not_found("AGENCY_NOT_FOUND", format!("第三方机构「{code}」不存在"))
}

fn batch_not_found(id: i64) -> ApiError {
    ApiError::failed_precondition("BATCH_NOT_FOUND", format!("入库批次 {id} 不存在"))
        .with_violation("spec.admission_batch_id", "unknown batch")
}

fn expert_not_found(id: i64) -> ApiError {
    ApiError::not_found("EXPERT_NOT_FOUND", format!("专家 {id} 不存在"))
}

// ---------------------------------------------------------------------------------------------
// Pool rules in force

/// The rules a result was produced under: a fiscal year's stored version, or the national
/// defaults (version 0).
pub struct RulesInForce {
    pub rules: PoolRules,
    pub fiscal_year: i32,
    pub version: i64,
}

impl RulesInForce {
    /// How results name the rules they used.
    pub fn label(&self) -> String {
        if self.version == 0 {
            format!("{}年度全国默认规则", self.fiscal_year)
        } else {
            format!("{}年度规则第{}版", self.fiscal_year, self.version)
        }
    }
}

pub fn rules_in_force(
    conn: &mut AnyConnection,
    fiscal_year: i32,
) -> Result<RulesInForce, ApiError> {
    match store::current_rules(conn, fiscal_year)? {
        None => Ok(RulesInForce {
            rules: PoolRules::default(),
            fiscal_year,
            version: 0,
        }),
        Some(stored) => {
            let rules = serde_json::from_str(&stored.rules).map_err(ApiError::internal)?;
            Ok(RulesInForce {
                rules,
                fiscal_year,
                version: stored.version,
            })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Facts the eligibility and independence rules need

/// Date of the most recent major violation of an agency or expert.
pub(crate) fn major_violation_on(
    conn: &mut AnyConnection,
    who: &Violator,
) -> Result<Option<NaiveDate>, ApiError> {
    Ok(store::violations_of(conn, Some(who))?
        .iter()
        .filter(|v| Severity::from_db(&v.severity) == Some(Severity::Major))
        .map(|v| v.occurred_on)
        .max())
}

/// The facts the independence and eligibility rules need about an agency.
pub(crate) fn agency_facts(
    conn: &mut AnyConnection,
    agency: &Agency,
    today: NaiveDate,
) -> Result<AgencyFacts, ApiError> {
    let batch = store::batch(conn, agency.spec.admission_batch_id)?
        .ok_or_else(|| ApiError::internal("agency without batch"))?;
    let code = Violator::Agency(agency.spec.credit_code.as_str().to_owned());
    let major = major_violation_on(conn, &code)?;
    Ok(agency_facts_from(agency, &batch, major, today))
}

/// The facts about an agency from its batch and its latest major violation (bulk draws).
pub fn agency_facts_from(
    agency: &Agency,
    batch: &registry::Batch,
    major_violation_on: Option<NaiveDate>,
    today: NaiveDate,
) -> AgencyFacts {
    let status = match registry::effective_status(agency, batch.qualified_to, today) {
        EffectiveStatus::Admitted => AgencyStatus::Admitted,
        EffectiveStatus::Warned => AgencyStatus::Warned,
        EffectiveStatus::Suspended => AgencyStatus::Suspended {
            until: agency.suspended_until.unwrap_or(today),
        },
        EffectiveStatus::Removed => AgencyStatus::Removed,
        EffectiveStatus::Expired => AgencyStatus::Expired,
    };
    AgencyFacts {
        credit_code: agency.spec.credit_code.clone(),
        status,
        qualified_from: batch.qualified_from,
        qualified_to: batch.qualified_to,
        scopes: agency.spec.scopes.clone(),
        lead_evaluators: u32::try_from(agency.spec.details.lead_evaluators.len())
            .unwrap_or(u32::MAX),
        relations: agency
            .spec
            .details
            .relations
            .iter()
            .map(|r| eligibility::Relation {
                party_code: r.party_code.clone(),
                kind: r.kind,
                from: r.from,
                to: r.to,
            })
            .collect(),
        major_violation_on,
        drawn_for_task: false,
    }
}

/// The facts about an expert; its birth date is decrypted with `pii`.
pub fn expert_facts(
    row: &store_x::EligibilityRow,
    pii: &PiiCipher,
) -> Result<ExpertFacts, ApiError> {
    let details = row.details()?;
    Ok(ExpertFacts {
        id: row.id.to_string(),
        status: row.status()?,
        title: row.title()?,
        years_in_field: u32::try_from(row.years_in_field).unwrap_or(0),
        birth_date: personal::birth_date(pii, row.id, row.birth_date_enc.as_deref())?,
        fields: row.fields(),
        relations: details
            .relations
            .iter()
            .map(|r| eligibility::Relation {
                party_code: r.party_code.clone(),
                kind: r.kind,
                from: r.from,
                to: r.to,
            })
            .collect(),
        engagements_this_year: 0,
        drawn_for_task: false,
        major_violation_on: None,
    })
}
