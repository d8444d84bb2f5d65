//! The agency registry: register, update, change status, read.

use pbm_auth::Caller;
use pbm_db::AnyConnection;
use pbm_proto::agency::v1 as proto;
use pbm_server::{ApiError, Effect, MutationContext, run_mutation};

use super::{SERVICE, agency_not_found, batch_not_found, personal};
use crate::convert;
use crate::domain::access::{self, ReadScope};
use crate::domain::personal::{Disclosure, View, disclosure};
use crate::domain::registry::{self, Agency, Status};
use crate::state::AppState;
use crate::store::{self, AgencyFilter, StatusChange};
use pbm_db::platform::{self, NewOutboxEvent};
use pbm_server::paging::Page;

fn outbox(conn: &mut AnyConnection, agency: &Agency) -> Result<(), ApiError> {
    let payload = serde_json::json!({
        "credit_code": agency.spec.credit_code.as_str(),
        "version": agency.version,
        "status": agency.status.as_db(),
    });
    platform::insert_outbox(
        conn,
        &NewOutboxEvent {
            occurred_at: agency.changed_at,
            service: SERVICE.into(),
            topic: "pbm.agency.changed".into(),
            entity_id: agency.spec.credit_code.as_str().to_owned(),
            payload: payload.to_string(),
        },
    )?;
    Ok(())
}

/// A mutation's response: stored for replay in the idempotency table, so people's phones are
/// masked even for finance (who reads them in full with GetAgency); their names are shown, as
/// on every read.
fn mutation_response(
    (agency, batch): (&Agency, &registry::Batch),
    today: chrono::NaiveDate,
    st: &AppState,
    caller: &Caller,
) -> Result<proto::Agency, ApiError> {
    let shown = disclosure(caller, &st.region, View::MutationResponse);
    let mut agency = agency.clone();
    personal::open_names(&mut agency.spec.details, &st.pii)?;
    Ok(convert::agency_to_proto(
        &agency, batch, today, &st.region, shown,
    ))
}

pub async fn register(
    state: &AppState,
    ctx: MutationContext,
    r: proto::RegisterAgencyRequest,
) -> Result<proto::RegisterAgencyResponse, ApiError> {
    crate::convert::limits::check(&r)?;
    let spec = convert::spec_from_proto(r.spec);
    let region = state.region.clone();
    let today = state.today();
    let entity = spec
        .as_ref()
        .map(|s| s.credit_code.as_str().to_owned())
        .unwrap_or_default();
    let st = state.clone();
    run_mutation(&state.db, ctx, ("agency", entity), move |conn, ctx| {
        access::can_manage(&ctx.caller, &region)?;
        let mut spec = spec?;
        ApiError::check(spec.violations())?;
        personal::seal(&mut spec.details, &st.pii);
        let batch = store::batch(conn, spec.admission_batch_id)?
            .ok_or_else(|| batch_not_found(spec.admission_batch_id))?;
        let code = spec.credit_code.as_str().to_owned();
        let agency = Agency {
            spec,
            status: Status::Admitted,
            suspended_until: None,
            version: 1,
            changed_by: ctx.caller.subject.clone(),
            changed_at: pbm_db::now(),
        };
        store::insert_agency(conn, &agency).map_err(|e| match e {
            pbm_db::StoreError::UniqueViolation(_) => ApiError::already_exists(
                "AGENCY_EXISTS",
                format!("统一社会信用代码为「{code}」的机构已在库中"),
            )
            .with_violation("spec.credit_code", "duplicate"),
            other => other.into(),
        })?;
        store::insert_status_change(
            conn,
            &StatusChange {
                credit_code: code.clone(),
                from_status: String::new(),
                to_status: Status::Admitted.as_db().into(),
                reason: format!("入库（{}）", batch.name),
                until: None,
                changed_by: ctx.caller.subject.clone(),
                changed_at: agency.changed_at,
            },
        )?;
        outbox(conn, &agency)?;
        Ok(Effect {
            response: mutation_response((&agency, &batch), today, &st, &ctx.caller)?,
            entity_type: "agency",
            entity_id: code,
            detail: "registered".into(),
        })
    })
    .await
    .map(|agency| proto::RegisterAgencyResponse {
        agency: Some(agency),
    })
}

pub async fn update(
    state: &AppState,
    ctx: MutationContext,
    r: proto::UpdateAgencyRequest,
) -> Result<proto::UpdateAgencyResponse, ApiError> {
    crate::convert::limits::check(&r)?;
    let expected = r.expected_version;
    let spec = convert::spec_from_proto(r.spec);
    let region = state.region.clone();
    let today = state.today();
    let entity = spec
        .as_ref()
        .map(|s| s.credit_code.as_str().to_owned())
        .unwrap_or_default();
    let st = state.clone();
    run_mutation(&state.db, ctx, ("agency", entity), move |conn, ctx| {
        access::can_manage(&ctx.caller, &region)?;
        let mut spec = spec?;
        ApiError::check(spec.violations())?;
        personal::seal(&mut spec.details, &st.pii);
        let code = spec.credit_code.as_str().to_owned();
        let current = store::agency(conn, &code)?.ok_or_else(|| agency_not_found(&code))?;
        if current.version != expected {
            return Err(ApiError::stale_version(
                &format!("机构「{code}」"),
                expected,
                current.version,
            ));
        }
        if current.status == Status::Removed {
            return Err(ApiError::failed_precondition(
                "AGENCY_REMOVED",
                format!("机构「{code}」已清退，不能修改"),
            ));
        }
        let batch = store::batch(conn, spec.admission_batch_id)?
            .ok_or_else(|| batch_not_found(spec.admission_batch_id))?;
        let next = Agency {
            spec,
            version: expected + 1,
            changed_by: ctx.caller.subject.clone(),
            changed_at: pbm_db::now(),
            ..current
        };
        if !store::update_agency(conn, &next, expected)? {
            return Err(ApiError::stale_version(
                &format!("机构「{code}」"),
                expected,
                expected + 1,
            ));
        }
        outbox(conn, &next)?;
        Ok(Effect {
            response: mutation_response((&next, &batch), today, &st, &ctx.caller)?,
            entity_type: "agency",
            entity_id: code,
            detail: format!("version {}", next.version),
        })
    })
    .await
    .map(|agency| proto::UpdateAgencyResponse {
        agency: Some(agency),
    })
}

pub async fn change_status(
    state: &AppState,
    ctx: MutationContext,
    r: proto::ChangeAgencyStatusRequest,
) -> Result<proto::ChangeAgencyStatusResponse, ApiError> {
    crate::convert::limits::check(&r)?;
    let action = convert::action_from(&r);
    let (code, expected, reason) = (convert::code(&r.credit_code), r.expected_version, r.reason);
    let region = state.region.clone();
    let today = state.today();
    let st = state.clone();
    run_mutation(
        &state.db,
        ctx,
        ("agency", code.clone()),
        move |conn, ctx| {
            access::can_manage(&ctx.caller, &region)?;
            let action = action?;
            if reason.trim().is_empty() {
                return Err(ApiError::invalid_field(
                    "REASON_REQUIRED",
                    "reason",
                    "变更机构状态必须说明原因",
                ));
            }
            let current = store::agency(conn, &code)?.ok_or_else(|| agency_not_found(&code))?;
            if current.version != expected {
                return Err(ApiError::stale_version(
                    &format!("机构「{code}」"),
                    expected,
                    current.version,
                ));
            }
            let (status, until) = registry::transition(current.status, action, today)
                .map_err(|(reason, message)| ApiError::failed_precondition(reason, message))?;
            let batch = store::batch(conn, current.spec.admission_batch_id)?
                .ok_or_else(|| batch_not_found(current.spec.admission_batch_id))?;
            let mut next = Agency {
                status,
                suspended_until: until,
                version: expected + 1,
                changed_by: ctx.caller.subject.clone(),
                changed_at: pbm_db::now(),
                ..current.clone()
            };
            // A record stored before names, phones and emails were sealed is sealed by its next
            // write.
            personal::seal(&mut next.spec.details, &st.pii);
            if !store::update_agency(conn, &next, expected)? {
                return Err(ApiError::stale_version(
                    &format!("机构「{code}」"),
                    expected,
                    expected + 1,
                ));
            }
            store::insert_status_change(
                conn,
                &StatusChange {
                    credit_code: code.clone(),
                    from_status: current.status.as_db().into(),
                    to_status: status.as_db().into(),
                    reason: reason.trim().into(),
                    until,
                    changed_by: ctx.caller.subject.clone(),
                    changed_at: next.changed_at,
                },
            )?;
            outbox(conn, &next)?;
            let detail = format!(
                "{} → {}: {}",
                current.status.as_db(),
                status.as_db(),
                reason.trim()
            );
            Ok(Effect {
                response: mutation_response((&next, &batch), today, &st, &ctx.caller)?,
                entity_type: "agency",
                entity_id: code,
                detail,
            })
        },
    )
    .await
    .map(|agency| proto::ChangeAgencyStatusResponse {
        agency: Some(agency),
    })
}

pub async fn get(
    state: &AppState,
    caller: Caller,
    r: proto::GetAgencyRequest,
) -> Result<proto::GetAgencyResponse, ApiError> {
    crate::convert::limits::check(&r)?;
    let code = convert::code(&r.credit_code);
    let scope = access::read_scope(&caller, &state.region)?;
    if !access::may_see(&scope, &code) {
        return Err(agency_not_found(&code));
    }
    let today = state.today();
    let c = code.clone();
    let found = state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let Some(a) = store::agency(conn, &c)? else {
                return Ok(None);
            };
            let batch = store::batch(conn, a.spec.admission_batch_id)?
                .ok_or_else(|| ApiError::internal("agency without batch"))?;
            Ok(Some((a, batch)))
        })
        .await?;
    let (mut agency, batch) = found.ok_or_else(|| agency_not_found(&code))?;
    let shown = disclosure(&caller, &state.region, View::Record);
    if shown == Disclosure::Full {
        personal::open(&mut agency.spec.details, &state.pii)?;
    } else {
        personal::open_names(&mut agency.spec.details, &state.pii)?;
    }
    Ok(proto::GetAgencyResponse {
        agency: Some(convert::agency_to_proto(
            &agency,
            &batch,
            today,
            &state.region,
            shown,
        )),
    })
}

pub async fn list(
    state: &AppState,
    caller: Caller,
    r: proto::ListAgenciesRequest,
) -> Result<proto::ListAgenciesResponse, ApiError> {
    let mut filter = AgencyFilter {
        agency_type: convert::agency_type_filter_from(r.r#type)?,
        status: convert::status_filter_from(r.status)?,
        scope: convert::scope_filter_from(r.scope)?,
        batch: (r.admission_batch_id > 0).then_some(r.admission_batch_id),
        only: None,
    };
    let p = r.page.unwrap_or_default();
    let page = Page::parse(p.page_size, &p.page_token)?;
    let scope = access::read_scope(&caller, &state.region)?;
    if let ReadScope::OwnAgency(own) = &scope {
        filter.only = Some(own.clone());
    }
    let today = state.today();
    let (rows, total) = state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let (agencies, total) = store::list_agencies(conn, &filter, page.offset, page.limit)?;
            let batches = store::batches(conn)?;
            Ok((
                agencies
                    .into_iter()
                    .map(|a| {
                        let batch = batches
                            .iter()
                            .find(|b| b.id == a.spec.admission_batch_id)
                            .cloned();
                        (a, batch)
                    })
                    .collect::<Vec<_>>(),
                total,
            ))
        })
        .await?;
    // Lists mask people's phones even for finance: a list is easy to leak.
    let shown = disclosure(&caller, &state.region, View::List);
    let mut agencies = Vec::with_capacity(rows.len());
    for (mut a, batch) in rows {
        let batch = batch.ok_or_else(|| ApiError::internal("agency without batch"))?;
        personal::open_names(&mut a.spec.details, &state.pii)?;
        agencies.push(convert::agency_to_proto(
            &a,
            &batch,
            today,
            &state.region,
            shown,
        ));
    }
    Ok(proto::ListAgenciesResponse {
        agencies,
        page: Some(pbm_proto::common::v1::PageResponse {
            next_page_token: page.next_token(total),
            total_size: total,
        }),
    })
}

pub async fn history(
    state: &AppState,
    caller: Caller,
    r: proto::ListStatusHistoryRequest,
) -> Result<proto::ListStatusHistoryResponse, ApiError> {
    crate::convert::limits::check(&r)?;
    let code = convert::code(&r.credit_code);
    let scope = access::read_scope(&caller, &state.region)?;
    if !access::may_see(&scope, &code) {
        return Err(agency_not_found(&code));
    }
    let c = code.clone();
    let rows = state
        .db
        .read(move |conn| store::status_history(conn, &c))
        .await?;
    if rows.is_empty() {
        return Err(agency_not_found(&code));
    }
    Ok(proto::ListStatusHistoryResponse {
        changes: rows.iter().map(convert::status_change_to_proto).collect(),
    })
}
