//! Violations (违规记录) of agencies and experts.

use pbm_auth::Caller;
use pbm_proto::agency::v1 as proto;
use pbm_server::{ApiError, Effect, FieldViolation, MutationContext, run_mutation};

use super::{agency_not_found, expert_not_found};
use crate::convert;
use crate::domain::access::{self};
use crate::state::AppState;
use crate::store::experts as expert_store;
use crate::store::{self, ViolationRecord, Violator};

/// Whose violation a request names: exactly one of an agency's credit code and an expert id.
fn violator(credit_code: &str, expert_id: i64) -> Result<Violator, ApiError> {
    let code = credit_code.trim().to_uppercase();
    match (code.is_empty(), expert_id) {
        (false, 0) => Ok(Violator::Agency(code)),
        (true, id) if id > 0 => Ok(Violator::Expert(id)),
        _ => Err(ApiError::invalid_field(
            "PARTY_REQUIRED",
            "credit_code",
            "请指定一个机构（统一社会信用代码）或一位专家（编号），二者选一",
        )),
    }
}

pub async fn record(
    state: &AppState,
    ctx: MutationContext,
    r: proto::RecordViolationRequest,
) -> Result<proto::RecordViolationResponse, ApiError> {
    crate::convert::limits::check(&r)?;
    let occurred_on = convert::date(&r.occurred_on, "occurred_on").map_err(|e| e.violations);
    let severity = convert::severity_from(r.severity).map_err(|e| e.violations);
    let who = violator(&r.credit_code, r.expert_id);
    let description = r.description;
    let region = state.region.clone();
    let today = state.today();
    let (entity_type, entity_id) = match &who {
        Ok(Violator::Agency(code)) => ("agency", code.clone()),
        Ok(Violator::Expert(id)) => ("expert", id.to_string()),
        Err(_) => ("agency", String::new()),
    };
    run_mutation(
        &state.db,
        ctx,
        (entity_type, entity_id.clone()),
        move |conn, ctx| {
            access::can_manage(&ctx.caller, &region)?;
            let who = who?;
            let described = convert::check(!description.trim().is_empty(), || {
                FieldViolation::generic("description", "请描述违规事实")
            });
            let not_future =
                convert::check(!occurred_on.as_ref().is_ok_and(|d| *d > today), || {
                    FieldViolation::generic("occurred_on", "违规日期不能晚于今天")
                });
            let ((occurred_on, severity), ((), ())) = convert::both(
                convert::both(occurred_on, severity),
                convert::both(described, not_future),
            )
            .map_err(ApiError::validation)?;
            match &who {
                Violator::Agency(code) => {
                    store::agency(conn, code)?.ok_or_else(|| agency_not_found(code))?;
                }
                Violator::Expert(id) => {
                    expert_store::expert(conn, *id)?.ok_or_else(|| expert_not_found(*id))?;
                }
            }
            let mut record = ViolationRecord {
                id: 0,
                violator: who.clone(),
                occurred_on,
                severity: severity.into(),
                description: description.trim().into(),
                recorded_by: ctx.caller.subject.clone(),
                recorded_at: pbm_db::now(),
            };
            record.id = store::insert_violation(conn, &record)?;
            Ok(Effect {
                response: convert::violation_to_proto(&record),
                entity_type,
                entity_id,
                detail: format!("violation {severity} on {occurred_on}"),
            })
        },
    )
    .await
    .map(|violation| proto::RecordViolationResponse {
        violation: Some(violation),
    })
}

/// Violations of one agency (finance, auditors, the province, the agency itself) or one expert
/// (the same readers, the expert itself); others' records answer NOT_FOUND.
pub async fn list(
    state: &AppState,
    caller: Caller,
    r: proto::ListViolationsRequest,
) -> Result<proto::ListViolationsResponse, ApiError> {
    crate::convert::limits::check(&r)?;
    let caller = &caller;
    let who = violator(&r.credit_code, r.expert_id);
    // Whoever may read neither registry is refused before the request is examined.
    if access::read_scope(caller, &state.region).is_err() {
        access::expert_scope(caller, &state.region)?;
    }
    let who = who?;
    match &who {
        Violator::Agency(code) => {
            if !access::may_see(&access::read_scope(caller, &state.region)?, code) {
                return Err(agency_not_found(code));
            }
        }
        Violator::Expert(id) => {
            if !access::may_see_expert(&access::expert_scope(caller, &state.region)?, *id) {
                return Err(expert_not_found(*id));
            }
        }
    }
    let rows = state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let exists = match &who {
                Violator::Agency(code) => store::agency(conn, code)?.is_some(),
                Violator::Expert(id) => expert_store::expert(conn, *id)?.is_some(),
            };
            if !exists {
                return Err(match &who {
                    Violator::Agency(code) => agency_not_found(code),
                    Violator::Expert(id) => expert_not_found(*id),
                });
            }
            Ok(store::violations_of(conn, Some(&who))?)
        })
        .await?;
    Ok(proto::ListViolationsResponse {
        violations: rows.iter().map(convert::violation_to_proto).collect(),
    })
}
