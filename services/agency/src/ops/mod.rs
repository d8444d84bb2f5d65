//! Use cases of the registry: authorise → load → domain rules → one transaction (with audit,
//! idempotency and outbox rows) via `pbm_server::run_mutation`.

use chrono::NaiveDate;
use pbm_auth::Caller;
use pbm_db::AnyConnection;
use pbm_db::platform::{self, NewOutboxEvent};
use pbm_proto::agency::v1 as proto;
use pbm_server::{ApiError, Effect, FieldViolation, MutationContext, run_mutation};

use crate::access::{self, ReadScope};
use crate::domain::registry::{self, Action, Agency, AgencySpec, Batch, Status};
use crate::grpc::convert;
use crate::state::AppState;
use crate::store::{self, AgencyFilter, StatusChange, ViolationRecord, Violator};

pub const SERVICE: &str = "pbm.agency";

/// Violations of a domain rule without codes of their own.
pub(crate) fn generic(v: Vec<(String, String)>) -> Vec<FieldViolation> {
    v.into_iter()
        .map(|(f, m)| FieldViolation::generic(f, m))
        .collect()
}

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
        ApiError::check(generic(spec.violations()))?;
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
        ApiError::check(generic(spec.violations()))?;
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

/// Whose violation a request names: exactly one of an agency's credit code and an expert id.
pub fn violator(credit_code: &str, expert_id: i64) -> Result<Violator, ApiError> {
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

pub async fn record_violation(
    state: &AppState,
    ctx: MutationContext,
    who: Result<Violator, ApiError>,
    occurred_on: Result<NaiveDate, ApiError>,
    severity: Result<&'static str, ApiError>,
    description: String,
) -> Result<proto::Violation, ApiError> {
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
            let mut violations = Vec::new();
            let occurred_on = occurred_on
                .map_err(|e| violations.extend(e.violations))
                .ok();
            let severity = severity.map_err(|e| violations.extend(e.violations)).ok();
            if description.trim().is_empty() {
                violations.push(FieldViolation::generic("description", "请描述违规事实"));
            }
            if occurred_on.is_some_and(|d| d > today) {
                violations.push(FieldViolation::generic(
                    "occurred_on",
                    "违规日期不能晚于今天",
                ));
            }
            ApiError::check(violations)?;
            let (Some(occurred_on), Some(severity)) = (occurred_on, severity) else {
                return Err(ApiError::internal("unreachable"));
            };
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
}

/// Violations of one agency (finance, auditors, the province, the agency itself) or one expert
/// (the same readers, the expert itself); others' records answer NOT_FOUND.
pub async fn violations(
    state: &AppState,
    caller: &Caller,
    who: Result<Violator, ApiError>,
) -> Result<Vec<proto::Violation>, ApiError> {
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
            if !may_see_expert(&access::expert_scope(caller, &state.region)?, *id) {
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

// ---------------------------------------------------------------------------------------------
// Experts

use crate::access::ExpertScope;
use crate::domain::eligibility::ExpertStatus;
use crate::domain::experts::{self, ExpertSpec};
use crate::store::experts::{self as expert_store, ExpertFilter, ExpertRow, ExpertStatusChange};

fn expert_not_found(id: i64) -> ApiError {
    ApiError::not_found("EXPERT_NOT_FOUND", format!("专家 {id} 不存在"))
}

/// Checks a spec and the entry rules in force; returns the row to store (personal data
/// encrypted).
fn expert_row(
    state: &AppState,
    rules: &RulesInForce,
    spec: ExpertSpec,
    keep: Option<&ExpertRow>,
    actor: &str,
) -> Result<ExpertRow, ApiError> {
    let mut v = generic(spec.violations(&state.taxonomy));
    let (id_enc, id_index, id_masked, birth_date) = match (&spec.id_number, keep) {
        (Some(id), _) => (
            state.pii.encrypt(id.as_str()),
            state.pii.blind_index(id.as_str()),
            id.masked(),
            id.birth_date(),
        ),
        (None, Some(k)) => (
            k.id_number_enc.clone(),
            k.id_number_index.clone(),
            k.id_number_masked.clone(),
            k.birth_date,
        ),
        (None, None) => {
            v.push(FieldViolation::generic(
                "spec.id_number",
                "身份证号不能为空",
            ));
            (Vec::new(), String::new(), String::new(), NaiveDate::MIN)
        }
    };
    let (phone_enc, phone_masked) = match (&spec.phone, keep) {
        (Some(p), _) => (state.pii.encrypt(p.as_str()), p.masked()),
        (None, Some(k)) => (k.phone_enc.clone(), k.phone_masked.clone()),
        (None, None) => {
            v.push(FieldViolation::generic("spec.phone", "手机号不能为空"));
            (Vec::new(), String::new())
        }
    };
    ApiError::check(v)?;
    // DOMAIN.md: entry by title and years, age cap — configuration per region (PoolRules).
    let entry = experts::entry_violations(
        spec.title,
        spec.years_in_field,
        birth_date,
        state.today(),
        &rules.rules,
    );
    if !entry.is_empty() {
        let mut e = ApiError::failed_precondition(
            "ENTRY_RULES_NOT_MET",
            format!(
                "不符合专家入库条件（{}）：{}",
                rules.label(),
                entry
                    .iter()
                    .map(|(_, m)| m.as_str())
                    .collect::<Vec<_>>()
                    .join("；")
            ),
        );
        e.violations = entry
            .into_iter()
            .map(|(f, m)| FieldViolation::new(f, "ENTRY_RULES_NOT_MET", m))
            .collect();
        return Err(e);
    }
    let details = serde_json::to_string(&spec.details).map_err(ApiError::internal)?;
    Ok(ExpertRow {
        id: keep.map_or(0, |k| k.id),
        name: spec.name.trim().into(),
        id_number_enc: id_enc,
        id_number_index: id_index,
        phone_enc,
        id_number_masked: id_masked,
        phone_masked,
        birth_date,
        title: spec.title.as_db().into(),
        years_in_field: i32::try_from(spec.years_in_field).unwrap_or(i32::MAX),
        fields: expert_store::join_fields(&spec.fields),
        affiliation: spec.affiliation.trim().into(),
        details,
        status: keep.map_or(ExpertStatus::Active.as_db().to_owned(), |k| {
            k.status.clone()
        }),
        version: keep.map_or(1, |k| k.version + 1),
        changed_by: actor.into(),
        changed_at: pbm_db::now(),
    })
}

fn duplicate_person(e: pbm_db::StoreError) -> ApiError {
    match e {
        pbm_db::StoreError::UniqueViolation(_) => {
            ApiError::already_exists("EXPERT_EXISTS", "该身份证号的专家已在库中")
                .with_violation("spec.id_number", "duplicate person")
        }
        other => other.into(),
    }
}

pub async fn register_expert(
    state: &AppState,
    ctx: MutationContext,
    spec: Result<ExpertSpec, ApiError>,
) -> Result<proto::Expert, ApiError> {
    let st = state.clone();
    run_mutation(
        &state.db,
        ctx,
        ("expert", String::new()),
        move |conn, ctx| {
            access::can_manage(&ctx.caller, &st.region)?;
            let rules = rules_in_force(conn, st.today().year())?;
            let mut row = expert_row(&st, &rules, spec?, None, &ctx.caller.subject)?;
            row.id = expert_store::insert_expert(conn, &row).map_err(duplicate_person)?;
            expert_store::insert_status_change(
                conn,
                &ExpertStatusChange {
                    expert_id: row.id,
                    from_status: String::new(),
                    to_status: row.status.clone(),
                    reason: format!("入库（依据{}）", rules.label()),
                    changed_by: ctx.caller.subject.clone(),
                    changed_at: row.changed_at,
                },
            )?;
            let response = convert::expert_to_proto(&row, &st.region)?;
            Ok(Effect {
                response,
                entity_type: "expert",
                entity_id: row.id.to_string(),
                detail: "registered".into(),
            })
        },
    )
    .await
}

pub async fn update_expert(
    state: &AppState,
    ctx: MutationContext,
    id: i64,
    expected: i64,
    spec: Result<ExpertSpec, ApiError>,
) -> Result<proto::Expert, ApiError> {
    let st = state.clone();
    run_mutation(
        &state.db,
        ctx,
        ("expert", id.to_string()),
        move |conn, ctx| {
            access::can_manage(&ctx.caller, &st.region)?;
            let spec = spec?;
            let current = expert_store::expert(conn, id)?.ok_or_else(|| expert_not_found(id))?;
            if current.version != expected {
                return Err(ApiError::stale_version(
                    &format!("专家 {id}"),
                    expected,
                    current.version,
                ));
            }
            if current.status()? == ExpertStatus::Exited {
                return Err(ApiError::failed_precondition(
                    "EXPERT_EXITED",
                    format!("专家 {id} 已退出，不能修改"),
                ));
            }
            let rules = rules_in_force(conn, st.today().year())?;
            let row = expert_row(&st, &rules, spec, Some(&current), &ctx.caller.subject)?;
            if !expert_store::update_expert(conn, &row, expected).map_err(duplicate_person)? {
                return Err(ApiError::stale_version(
                    &format!("专家 {id}"),
                    expected,
                    expected + 1,
                ));
            }
            let response = convert::expert_to_proto(&row, &st.region)?;
            Ok(Effect {
                response,
                entity_type: "expert",
                entity_id: id.to_string(),
                detail: format!("version {}", row.version),
            })
        },
    )
    .await
}

pub async fn change_expert_status(
    state: &AppState,
    ctx: MutationContext,
    id: i64,
    expected: i64,
    to: Result<ExpertStatus, ApiError>,
    reason: String,
) -> Result<proto::Expert, ApiError> {
    let st = state.clone();
    run_mutation(
        &state.db,
        ctx,
        ("expert", id.to_string()),
        move |conn, ctx| {
            access::can_manage(&ctx.caller, &st.region)?;
            let to = to?;
            if reason.trim().is_empty() {
                return Err(ApiError::invalid_field(
                    "REASON_REQUIRED",
                    "reason",
                    "变更专家状态必须说明原因",
                ));
            }
            let current = expert_store::expert(conn, id)?.ok_or_else(|| expert_not_found(id))?;
            if current.version != expected {
                return Err(ApiError::stale_version(
                    &format!("专家 {id}"),
                    expected,
                    current.version,
                ));
            }
            let from = current.status()?;
            let status = experts::transition(from, to)
                .map_err(|(reason, message)| ApiError::failed_precondition(reason, message))?;
            let next = ExpertRow {
                status: status.as_db().into(),
                version: expected + 1,
                changed_by: ctx.caller.subject.clone(),
                changed_at: pbm_db::now(),
                ..current
            };
            if !expert_store::update_expert(conn, &next, expected)? {
                return Err(ApiError::stale_version(
                    &format!("专家 {id}"),
                    expected,
                    expected + 1,
                ));
            }
            expert_store::insert_status_change(
                conn,
                &ExpertStatusChange {
                    expert_id: id,
                    from_status: from.as_db().into(),
                    to_status: status.as_db().into(),
                    reason: reason.trim().into(),
                    changed_by: ctx.caller.subject.clone(),
                    changed_at: next.changed_at,
                },
            )?;
            let response = convert::expert_to_proto(&next, &st.region)?;
            Ok(Effect {
                response,
                entity_type: "expert",
                entity_id: id.to_string(),
                detail: format!("{} → {}: {}", from.as_db(), status.as_db(), reason.trim()),
            })
        },
    )
    .await
}

fn may_see_expert(scope: &ExpertScope, id: i64) -> bool {
    match scope {
        ExpertScope::All => true,
        ExpertScope::Own(own) => *own == id,
    }
}

pub async fn get_expert(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<proto::Expert, ApiError> {
    let scope = access::expert_scope(caller, &state.region)?;
    if !may_see_expert(&scope, id) {
        return Err(expert_not_found(id));
    }
    let row = state
        .db
        .read(move |conn| expert_store::expert(conn, id))
        .await?
        .ok_or_else(|| expert_not_found(id))?;
    convert::expert_to_proto(&row, &state.region)
}

pub async fn list_experts(
    state: &AppState,
    caller: &Caller,
    mut filter: ExpertFilter,
    page: pbm_server::paging::Page,
) -> Result<proto::ListExpertsResponse, ApiError> {
    if let ExpertScope::Own(own) = access::expert_scope(caller, &state.region)? {
        filter.only = Some(own);
    }
    let (rows, total) = state
        .db
        .read(move |conn| expert_store::list_experts(conn, &filter, page.offset, page.limit))
        .await?;
    Ok(proto::ListExpertsResponse {
        experts: rows
            .iter()
            .map(|r| convert::expert_to_proto(r, &state.region))
            .collect::<Result<_, _>>()?,
        page: Some(pbm_proto::common::v1::PageResponse {
            next_page_token: page.next_token(total),
            total_size: total,
        }),
    })
}

pub async fn expert_history(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<Vec<proto::StatusChange>, ApiError> {
    let scope = access::expert_scope(caller, &state.region)?;
    if !may_see_expert(&scope, id) {
        return Err(expert_not_found(id));
    }
    let rows = state
        .db
        .read(move |conn| expert_store::status_history(conn, id))
        .await?;
    if rows.is_empty() {
        return Err(expert_not_found(id));
    }
    Ok(rows
        .iter()
        .map(|c| proto::StatusChange {
            from_status: c.from_status.clone(),
            to_status: c.to_status.clone(),
            reason: c.reason.clone(),
            until: String::new(),
            changed: Some(convert::stamp(&c.changed_by, c.changed_at)),
        })
        .collect())
}

/// The full 身份证号 and phone (issue 3: "the full value needs a separate permission and each
/// full read is audited"): finance of this region, with a reason. The values are never written
/// to the idempotency table, so a reveal is audited each time it is asked for.
pub async fn reveal_contact(
    state: &AppState,
    caller: &Caller,
    id: i64,
    reason: String,
) -> Result<proto::RevealExpertContactResponse, ApiError> {
    let audit = |outcome: &str, detail: String| pbm_db::platform::AuditEntry {
        occurred_at: pbm_db::now(),
        service: SERVICE.into(),
        method: "RevealExpertContact".into(),
        request_id: String::new(),
        subject: caller.subject.clone(),
        role: caller.role.as_str().into(),
        mof_div_code: caller.mof_div_code.to_string(),
        entity_type: "expert".into(),
        entity_id: id.to_string(),
        outcome: outcome.into(),
        detail,
    };
    let refusal = access::can_manage(caller, &state.region).err().or_else(|| {
        reason.trim().is_empty().then(|| {
            ApiError::invalid_field(
                "REASON_REQUIRED",
                "reason",
                "查看完整身份证号和手机号必须说明用途",
            )
        })
    });
    if let Some(e) = refusal {
        let entry = audit(e.reason, e.message.clone());
        state
            .db
            .write(move |c| pbm_db::platform::insert_audit(c, &entry))
            .await?;
        return Err(e);
    }
    let entry = audit("OK", format!("reveal: {}", reason.trim()));
    let row = state
        .db
        .write(move |conn| -> Result<Option<ExpertRow>, ApiError> {
            let row = expert_store::expert(conn, id)?;
            if row.is_some() {
                pbm_db::platform::insert_audit(conn, &entry)?;
            }
            Ok(row)
        })
        .await?
        .ok_or_else(|| expert_not_found(id))?;
    let decrypt = |data: &[u8]| state.pii.decrypt(data).map_err(ApiError::internal);
    Ok(proto::RevealExpertContactResponse {
        id_number: decrypt(&row.id_number_enc)?,
        phone: decrypt(&row.phone_enc)?,
    })
}

// ---------------------------------------------------------------------------------------------
// Pool rules (configuration per region and fiscal year)

use crate::domain::rules::PoolRules;
use chrono::Datelike;

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

fn rules_record(
    r: &RulesInForce,
    changed: Option<(&str, chrono::NaiveDateTime)>,
) -> Result<proto::PoolRulesRecord, ApiError> {
    Ok(proto::PoolRulesRecord {
        fiscal_year: r.fiscal_year,
        version: r.version,
        rules_json: serde_json::to_string_pretty(&r.rules).map_err(ApiError::internal)?,
        changed: changed.map(|(by, at)| convert::stamp(by, at)),
    })
}

fn fiscal_year(year: i32) -> Result<i32, ApiError> {
    pbm_types::FiscalYear::new(year)
        .map(|y| y.get())
        .map_err(|e| ApiError::invalid_field(e.reason, "fiscal_year", e.message))
}

pub async fn get_rules(
    state: &AppState,
    caller: &Caller,
    year: i32,
) -> Result<proto::PoolRulesRecord, ApiError> {
    // Rules are not secret: every reader of the pool (agencies and experts included) may see them.
    if access::read_scope(caller, &state.region).is_err() {
        access::expert_scope(caller, &state.region)?;
    }
    let year = fiscal_year(year)?;
    state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let stored = store::current_rules(conn, year)?;
            let r = rules_in_force(conn, year)?;
            rules_record(
                &r,
                stored
                    .as_ref()
                    .map(|s| (s.changed_by.as_str(), s.changed_at)),
            )
        })
        .await
}

pub async fn set_rules(
    state: &AppState,
    ctx: MutationContext,
    year: i32,
    expected: i64,
    json: String,
) -> Result<proto::PoolRulesRecord, ApiError> {
    let region = state.region.clone();
    run_mutation(
        &state.db,
        ctx,
        ("pool_rules", year.to_string()),
        move |conn, ctx| {
            access::can_manage(&ctx.caller, &region)?;
            let year = fiscal_year(year)?;
            let rules: PoolRules = serde_json::from_str(&json).map_err(|e| {
                ApiError::invalid_field("RULES_INVALID", "rules_json", format!("规则格式错误：{e}"))
            })?;
            let violations: Vec<FieldViolation> = rules
                .violations()
                .into_iter()
                .map(|(f, m)| FieldViolation::generic(format!("rules_json.{f}"), m))
                .collect();
            ApiError::check(violations)?;
            let current = rules_in_force(conn, year)?;
            if current.version != expected {
                return Err(ApiError::stale_version(
                    &format!("{year}年度规则"),
                    expected,
                    current.version,
                ));
            }
            let stored = store::StoredRules {
                fiscal_year: year,
                version: expected + 1,
                rules: serde_json::to_string(&rules).map_err(ApiError::internal)?,
                changed_by: ctx.caller.subject.clone(),
                changed_at: pbm_db::now(),
            };
            store::insert_rules(conn, &stored).map_err(|e| match e {
                pbm_db::StoreError::UniqueViolation(_) => {
                    ApiError::stale_version(&format!("{year}年度规则"), expected, expected + 1)
                }
                other => other.into(),
            })?;
            let now = RulesInForce {
                rules,
                fiscal_year: year,
                version: stored.version,
            };
            let response = rules_record(&now, Some((&stored.changed_by, stored.changed_at)))?;
            Ok(Effect {
                response,
                entity_type: "pool_rules",
                entity_id: year.to_string(),
                detail: now.label(),
            })
        },
    )
    .await
}
