//! The expert registry: register, update, change status, read, reveal contact data.

use pbm_auth::Caller;
use pbm_db::AnyConnection;
use pbm_proto::agency::v1 as proto;
use pbm_server::{ApiError, Effect, FieldViolation, MutationContext, run_mutation};

use super::{RulesInForce, SERVICE, expert_not_found, personal, rules_in_force};
use crate::convert;
use crate::domain::access::{self, ExpertScope};
use crate::domain::eligibility::ExpertStatus;
use crate::domain::experts::{self, ExpertSpec};
use crate::state::AppState;
use crate::store::experts::{self as expert_store, ExpertFilter, ExpertRow, ExpertStatusChange};
use chrono::{Datelike, NaiveDate};

/// Checks a spec, that no other expert is the same person, and the entry rules in force;
/// returns the row to store (personal data encrypted).
fn expert_row(
    conn: &mut AnyConnection,
    state: &AppState,
    rules: &RulesInForce,
    spec: ExpertSpec,
    keep: Option<&ExpertRow>,
    actor: &str,
) -> Result<ExpertRow, ApiError> {
    let mut v = spec.violations(&state.taxonomy);
    let (id_enc, id_index, id_masked, birth_date) = match (&spec.id_number, keep) {
        (Some(id), _) => {
            // Under any blind index it may still carry (a key rotation not yet re-encrypted):
            // the unique column alone compares only the current one.
            let indexes = state.pii.blind_indexes(id.as_str());
            if expert_store::with_id_number_index(conn, &indexes, keep.map(|k| k.id))?.is_some() {
                return Err(person_exists());
            }
            (
                state.pii.encrypt(id.as_str()),
                indexes[0].clone(),
                id.masked(),
                id.birth_date(),
            )
        }
        (None, Some(k)) => (
            k.id_number_enc.clone(),
            k.id_number_index.clone(),
            k.id_number_masked.clone(),
            personal::birth_date(&state.pii, k.id, k.birth_date_enc.as_deref())?,
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
    // docs/DOMAIN.md "Experts", docs/DOMAIN.md "Configuration per region and year": entry by
    // title and years, age cap (PoolRules).
    let entry = experts::entry_violations(
        spec.title,
        spec.years_in_field,
        birth_date,
        state.today(),
        &rules.rules,
    );
    if !entry.is_empty() {
        let mut e = ApiError::failed_precondition(
            experts::ENTRY_RULES_NOT_MET,
            format!(
                "不符合专家入库条件（{}）：{}",
                rules.label(),
                entry
                    .iter()
                    .map(|v| v.message.as_str())
                    .collect::<Vec<_>>()
                    .join("；")
            ),
        );
        e.violations = entry;
        return Err(e);
    }
    let details = serde_json::to_string(&spec.details).map_err(ApiError::internal)?;
    Ok(ExpertRow {
        id: keep.map_or(0, |k| k.id),
        name: String::new(),
        name_enc: Some(state.pii.encrypt(spec.name.trim())),
        id_number_enc: id_enc,
        id_number_index: id_index,
        phone_enc,
        id_number_masked: id_masked,
        phone_masked,
        birth_date_enc: Some(personal::seal_birth_date(&state.pii, birth_date)),
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

fn person_exists() -> ApiError {
    ApiError::already_exists("EXPERT_EXISTS", "该身份证号的专家已在库中")
        .with_violation("spec.id_number", "duplicate person")
}

fn duplicate_person(e: pbm_db::StoreError) -> ApiError {
    match e {
        pbm_db::StoreError::UniqueViolation(_) => person_exists(),
        other => other.into(),
    }
}

pub async fn register(
    state: &AppState,
    ctx: MutationContext,
    r: proto::RegisterExpertRequest,
) -> Result<proto::RegisterExpertResponse, ApiError> {
    crate::convert::limits::check(&r)?;
    let spec = convert::expert_spec_from_proto(r.spec, false);
    let st = state.clone();
    run_mutation(
        &state.db,
        ctx,
        ("expert", String::new()),
        move |conn, ctx| {
            access::can_manage(&ctx.caller, &st.region)?;
            let rules = rules_in_force(conn, st.today().year())?;
            let mut row = expert_row(conn, &st, &rules, spec?, None, &ctx.caller.subject)?;
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
            let response = convert::expert_to_proto(&row, &st.region, &st.pii)?;
            Ok(Effect {
                response,
                entity_type: "expert",
                entity_id: row.id.to_string(),
                detail: "registered".into(),
            })
        },
    )
    .await
    .map(|expert| proto::RegisterExpertResponse {
        expert: Some(expert),
    })
}

pub async fn update(
    state: &AppState,
    ctx: MutationContext,
    r: proto::UpdateExpertRequest,
) -> Result<proto::UpdateExpertResponse, ApiError> {
    crate::convert::limits::check(&r)?;
    let (id, expected) = (r.expert_id, r.expected_version);
    let spec = convert::expert_spec_from_proto(r.spec, true);
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
            let row = expert_row(conn, &st, &rules, spec, Some(&current), &ctx.caller.subject)?;
            if !expert_store::update_expert(conn, &row, expected).map_err(duplicate_person)? {
                return Err(ApiError::stale_version(
                    &format!("专家 {id}"),
                    expected,
                    expected + 1,
                ));
            }
            let response = convert::expert_to_proto(&row, &st.region, &st.pii)?;
            Ok(Effect {
                response,
                entity_type: "expert",
                entity_id: id.to_string(),
                detail: format!("version {}", row.version),
            })
        },
    )
    .await
    .map(|expert| proto::UpdateExpertResponse {
        expert: Some(expert),
    })
}

pub async fn change_status(
    state: &AppState,
    ctx: MutationContext,
    r: proto::ChangeExpertStatusRequest,
) -> Result<proto::ChangeExpertStatusResponse, ApiError> {
    crate::convert::limits::check(&r)?;
    let to = convert::expert_status_from(r.status).ok_or_else(|| {
        ApiError::invalid_field("STATUS_INVALID", "status", "请选择：入库、考评或退出")
    });
    let (id, expected, reason) = (r.expert_id, r.expected_version, r.reason);
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
            let response = convert::expert_to_proto(&next, &st.region, &st.pii)?;
            Ok(Effect {
                response,
                entity_type: "expert",
                entity_id: id.to_string(),
                detail: format!("{} → {}: {}", from.as_db(), status.as_db(), reason.trim()),
            })
        },
    )
    .await
    .map(|expert| proto::ChangeExpertStatusResponse {
        expert: Some(expert),
    })
}

pub async fn get(
    state: &AppState,
    caller: Caller,
    r: proto::GetExpertRequest,
) -> Result<proto::GetExpertResponse, ApiError> {
    let id = r.expert_id;
    let scope = access::expert_scope(&caller, &state.region)?;
    if !access::may_see_expert(&scope, id) {
        return Err(expert_not_found(id));
    }
    let row = state
        .db
        .read(move |conn| expert_store::expert(conn, id))
        .await?
        .ok_or_else(|| expert_not_found(id))?;
    Ok(proto::GetExpertResponse {
        expert: Some(convert::expert_to_proto(&row, &state.region, &state.pii)?),
    })
}

pub async fn list(
    state: &AppState,
    caller: Caller,
    r: proto::ListExpertsRequest,
) -> Result<proto::ListExpertsResponse, ApiError> {
    crate::convert::limits::check(&r)?;
    let field = Some(r.field.trim().to_uppercase()).filter(|f| !f.is_empty());
    let status =
        match r.status {
            0 => None,
            s => Some(convert::expert_status_from(s).ok_or_else(|| {
                ApiError::invalid_field("STATUS_INVALID", "status", "专家状态无效")
            })?),
        };
    let min_title = match r.min_title {
        0 => None,
        t => Some(convert::title_from(t).ok_or_else(|| {
            ApiError::invalid_field("TITLE_INVALID", "min_title", "职称级别无效")
        })?),
    };
    let mut filter = ExpertFilter {
        field,
        status,
        min_title,
        only: None,
    };
    let p = r.page.unwrap_or_default();
    let page = pbm_server::paging::Page::parse(p.page_size, &p.page_token)?;
    if let ExpertScope::Own(own) = access::expert_scope(&caller, &state.region)? {
        filter.only = Some(own);
    }
    let (rows, total) = state
        .db
        .read(move |conn| expert_store::list_experts(conn, &filter, page.offset, page.limit))
        .await?;
    Ok(proto::ListExpertsResponse {
        experts: rows
            .iter()
            .map(|r| convert::expert_to_proto(r, &state.region, &state.pii))
            .collect::<Result<_, _>>()?,
        page: Some(pbm_proto::common::v1::PageResponse {
            next_page_token: page.next_token(total),
            total_size: total,
        }),
    })
}

pub async fn history(
    state: &AppState,
    caller: Caller,
    r: proto::ListExpertStatusHistoryRequest,
) -> Result<proto::ListStatusHistoryResponse, ApiError> {
    let id = r.expert_id;
    let scope = access::expert_scope(&caller, &state.region)?;
    if !access::may_see_expert(&scope, id) {
        return Err(expert_not_found(id));
    }
    let rows = state
        .db
        .read(move |conn| expert_store::status_history(conn, id))
        .await?;
    if rows.is_empty() {
        return Err(expert_not_found(id));
    }
    Ok(proto::ListStatusHistoryResponse {
        changes: rows
            .iter()
            .map(|c| proto::StatusChange {
                from_status: c.from_status.clone(),
                to_status: c.to_status.clone(),
                reason: c.reason.clone(),
                until: String::new(),
                changed: Some(convert::stamp(&c.changed_by, c.changed_at)),
            })
            .collect(),
    })
}

/// The full 身份证号 and phone (docs/DOMAIN.md "Experts", personal data: full values only to
/// finance of the region, with a reason, every attempt audited). The values are never written
/// to the idempotency table, so a reveal is audited each time it is asked for.
pub async fn reveal_contact(
    state: &AppState,
    caller: Caller,
    r: proto::RevealExpertContactRequest,
) -> Result<proto::RevealExpertContactResponse, ApiError> {
    crate::convert::limits::check(&r)?;
    let (caller, id, reason) = (&caller, r.expert_id, r.reason);
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
    let refusal = access::can_manage(caller, &state.region)
        .err()
        .map(ApiError::from)
        .or_else(|| {
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

/// The expert fields (专家领域) of the taxonomy, for every reader of the expert registry.
pub async fn taxonomy(
    state: &AppState,
    caller: Caller,
    _: proto::GetFieldTaxonomyRequest,
) -> Result<proto::GetFieldTaxonomyResponse, ApiError> {
    access::expert_scope(&caller, &state.region)?;
    let fields = state
        .taxonomy
        .fields
        .iter()
        .map(|f| proto::Field {
            code: f.code.clone(),
            name: f.name.clone(),
        })
        .collect();
    Ok(proto::GetFieldTaxonomyResponse { fields })
}
