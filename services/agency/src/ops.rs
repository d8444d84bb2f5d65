//! Use cases of the registry: authorise → load → domain rules → one transaction (with audit,
//! idempotency and outbox rows) via `pbm_server::run_mutation`.

use chrono::NaiveDate;
use pbm_auth::Caller;
use pbm_db::AnyConnection;
use pbm_db::platform::{self, NewOutboxEvent};
use pbm_proto::agency::v1 as proto;
use pbm_server::{ApiError, Effect, MutationContext, run_mutation};

use crate::access::{self, ReadScope};
use crate::domain::registry::{self, Action, Agency, AgencySpec, Batch, Status};
use crate::grpc::convert;
use crate::state::AppState;
use crate::store::{self, AgencyFilter, StatusChange, ViolationRecord};

pub const SERVICE: &str = "pbm.agency";

fn agency_not_found(code: &str) -> ApiError {
    ApiError::not_found("AGENCY_NOT_FOUND", format!("第三方机构「{code}」不存在"))
}

fn batch_not_found(id: i64) -> ApiError {
    ApiError::failed_precondition("BATCH_NOT_FOUND", format!("入库批次 {id} 不存在"))
        .with_violation("spec.admission_batch_id", "unknown batch")
}

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

pub async fn create_batch(
    state: &AppState,
    ctx: MutationContext,
    batch: Result<Batch, ApiError>,
) -> Result<proto::AdmissionBatch, ApiError> {
    let region = state.region.clone();
    run_mutation(
        &state.db,
        ctx,
        ("admission_batch", String::new()),
        move |conn, ctx| {
            access::can_manage(&ctx.caller, &region)?;
            let mut batch = batch?;
            batch.created_by = ctx.caller.subject.clone();
            batch.created_at = pbm_db::now();
            batch.id = store::insert_batch(conn, &batch)?;
            Ok(Effect {
                response: convert::batch_to_proto(&batch),
                entity_type: "admission_batch",
                entity_id: batch.id.to_string(),
                detail: format!(
                    "{} {}–{}",
                    batch.name, batch.qualified_from, batch.qualified_to
                ),
            })
        },
    )
    .await
}

pub async fn list_batches(
    state: &AppState,
    caller: &Caller,
) -> Result<Vec<proto::AdmissionBatch>, ApiError> {
    access::read_scope(caller, &state.region)?;
    let batches = state.db.read(store::batches).await?;
    Ok(batches.iter().map(convert::batch_to_proto).collect())
}

pub async fn register(
    state: &AppState,
    ctx: MutationContext,
    spec: Result<AgencySpec, ApiError>,
) -> Result<proto::Agency, ApiError> {
    let region = state.region.clone();
    let today = state.today();
    let entity = spec
        .as_ref()
        .map(|s| s.credit_code.as_str().to_owned())
        .unwrap_or_default();
    let st = state.clone();
    run_mutation(&state.db, ctx, ("agency", entity), move |conn, ctx| {
        access::can_manage(&ctx.caller, &region)?;
        let spec = spec?;
        ApiError::check(spec.violations())?;
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
            response: convert::agency_to_proto(&agency, &batch, today, &st.region, true),
            entity_type: "agency",
            entity_id: code,
            detail: "registered".into(),
        })
    })
    .await
}

pub async fn update(
    state: &AppState,
    ctx: MutationContext,
    expected: i64,
    spec: Result<AgencySpec, ApiError>,
) -> Result<proto::Agency, ApiError> {
    let region = state.region.clone();
    let today = state.today();
    let entity = spec
        .as_ref()
        .map(|s| s.credit_code.as_str().to_owned())
        .unwrap_or_default();
    let st = state.clone();
    run_mutation(&state.db, ctx, ("agency", entity), move |conn, ctx| {
        access::can_manage(&ctx.caller, &region)?;
        let spec = spec?;
        ApiError::check(spec.violations())?;
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
            response: convert::agency_to_proto(&next, &batch, today, &st.region, true),
            entity_type: "agency",
            entity_id: code,
            detail: format!("version {}", next.version),
        })
    })
    .await
}

pub async fn change_status(
    state: &AppState,
    ctx: MutationContext,
    code: String,
    expected: i64,
    action: Result<Action, ApiError>,
    reason: String,
) -> Result<proto::Agency, ApiError> {
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
            let next = Agency {
                status,
                suspended_until: until,
                version: expected + 1,
                changed_by: ctx.caller.subject.clone(),
                changed_at: pbm_db::now(),
                ..current.clone()
            };
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
                response: convert::agency_to_proto(&next, &batch, today, &st.region, true),
                entity_type: "agency",
                entity_id: code,
                detail,
            })
        },
    )
    .await
}

pub async fn get(
    state: &AppState,
    caller: &Caller,
    code: String,
) -> Result<proto::Agency, ApiError> {
    let scope = access::read_scope(caller, &state.region)?;
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
    let (agency, batch) = found.ok_or_else(|| agency_not_found(&code))?;
    Ok(convert::agency_to_proto(
        &agency,
        &batch,
        today,
        &state.region,
        scope == ReadScope::All || caller.role == pbm_auth::Role::Agency,
    ))
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    mut filter: AgencyFilter,
    page: pbm_server::paging::Page,
) -> Result<proto::ListAgenciesResponse, ApiError> {
    let scope = access::read_scope(caller, &state.region)?;
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
    let mut agencies = Vec::with_capacity(rows.len());
    for (a, batch) in rows {
        let batch = batch.ok_or_else(|| ApiError::internal("agency without batch"))?;
        // Lists mask contacts' phones even for finance (first 3, last 4): a list is easy to leak.
        agencies.push(convert::agency_to_proto(
            &a,
            &batch,
            today,
            &state.region,
            false,
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

pub async fn record_violation(
    state: &AppState,
    ctx: MutationContext,
    code: String,
    occurred_on: Result<NaiveDate, ApiError>,
    severity: Result<&'static str, ApiError>,
    description: String,
) -> Result<proto::Violation, ApiError> {
    let region = state.region.clone();
    let today = state.today();
    run_mutation(
        &state.db,
        ctx,
        ("agency", code.clone()),
        move |conn, ctx| {
            access::can_manage(&ctx.caller, &region)?;
            let mut violations = Vec::new();
            let occurred_on = occurred_on
                .map_err(|e| violations.extend(e.violations))
                .ok();
            let severity = severity.map_err(|e| violations.extend(e.violations)).ok();
            if description.trim().is_empty() {
                violations.push(("description".into(), "请描述违规事实".into()));
            }
            if occurred_on.is_some_and(|d| d > today) {
                violations.push(("occurred_on".into(), "违规日期不能晚于今天".into()));
            }
            ApiError::check(violations)?;
            let (Some(occurred_on), Some(severity)) = (occurred_on, severity) else {
                return Err(ApiError::internal("unreachable"));
            };
            store::agency(conn, &code)?.ok_or_else(|| agency_not_found(&code))?;
            let mut record = ViolationRecord {
                id: 0,
                credit_code: code.clone(),
                occurred_on,
                severity: severity.into(),
                description: description.trim().into(),
                recorded_by: ctx.caller.subject.clone(),
                recorded_at: pbm_db::now(),
            };
            record.id = store::insert_violation(conn, &record)?;
            Ok(Effect {
                response: convert::violation_to_proto(&record),
                entity_type: "agency",
                entity_id: code,
                detail: format!("violation {severity} on {occurred_on}"),
            })
        },
    )
    .await
}

pub async fn violations(
    state: &AppState,
    caller: &Caller,
    code: String,
) -> Result<Vec<proto::Violation>, ApiError> {
    let scope = access::read_scope(caller, &state.region)?;
    if !access::may_see(&scope, &code) {
        return Err(agency_not_found(&code));
    }
    let rows = state
        .db
        .read(move |conn| store::violations_of(conn, &code))
        .await?;
    Ok(rows.iter().map(convert::violation_to_proto).collect())
}

pub async fn history(
    state: &AppState,
    caller: &Caller,
    code: String,
) -> Result<Vec<proto::StatusChange>, ApiError> {
    let scope = access::read_scope(caller, &state.region)?;
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
    Ok(rows.iter().map(convert::status_change_to_proto).collect())
}
