//! Departments' proposals of 个性 indicators, and finance's decisions on them.

use pbm_auth::Caller;
use pbm_proto::indicator::v1 as proto;
use pbm_server::{ApiError, Effect, FieldViolation, MutationContext, run_mutation};

use super::{frame_missing, indicator_write_error, outbox, page, reindex};
use crate::convert;
use crate::domain::access;
use crate::domain::indicator::{self, Indicator, Status};
use crate::state::AppState;
use crate::store::{self, ProposalStatus};

pub async fn propose(
    state: &AppState,
    ctx: MutationContext,
    m: proto::ProposeIndicatorRequest,
) -> Result<proto::ProposeIndicatorResponse, ApiError> {
    let texts = convert::limits::check(&m);
    let code = m.code.trim().to_owned();
    let reason = m.reason;
    let spec = texts.and_then(|()| convert::spec_from_proto(m.spec, "spec."));
    let frame = match &spec {
        Ok(s) => state.frame(s.fiscal_year.get()).await?,
        Err(_) => None,
    };
    let region = state.region.clone();
    run_mutation(
        &state.db,
        ctx,
        ("proposal", code.clone()),
        move |conn, ctx| {
            let department = access::can_propose(&ctx.caller, &region)?;
            let mut spec = spec?;
            // A proposal is always 个性 and owned by the proposing department.
            spec.kind = indicator::Kind::Specific;
            spec.owner_department = department.clone();
            let frame = frame.ok_or_else(|| frame_missing(spec.fiscal_year.get()))?;
            let mut violations = Vec::new();
            if let Some(v) = indicator::code_violation(&code) {
                violations.push(FieldViolation::generic("code", v));
            }
            violations.extend(spec.violations(&frame.frame, "spec."));
            if reason.trim().is_empty() {
                violations.push(FieldViolation::generic(
                    "reason",
                    "请说明申请设立该个性指标的理由",
                ));
            }
            ApiError::check(violations)?;
            if store::current(conn, &code)?.is_some() {
                return Err(indicator_write_error(
                    &code,
                    pbm_db::StoreError::UniqueViolation(code.clone()),
                ));
            }
            let at = pbm_db::now();
            let id = store::insert_proposal(
                conn,
                &code,
                &spec,
                &department,
                reason.trim(),
                &ctx.caller.subject,
                at,
            )?;
            let record = store::proposal(conn, id)?
                .ok_or_else(|| ApiError::internal("proposal vanished"))?;
            Ok(Effect {
                response: convert::proposal_to_proto(&record),
                entity_type: "proposal",
                entity_id: id.to_string(),
                detail: code,
            })
        },
    )
    .await
    .map(|proposal| proto::ProposeIndicatorResponse {
        proposal: Some(proposal),
    })
}

pub async fn decide(
    state: &AppState,
    ctx: MutationContext,
    m: proto::DecideProposalRequest,
) -> Result<proto::DecideProposalResponse, ApiError> {
    let texts = convert::limits::check(&m);
    let proto::DecideProposalRequest {
        proposal_id: id,
        expected_version: expected,
        approve,
        comment,
        ..
    } = m;
    let region = state.region.clone();
    let pending = state.db.read(move |conn| store::proposal(conn, id)).await?;
    let frame = match &pending {
        Some(p) => state.frame(p.spec.fiscal_year.get()).await?,
        None => None,
    };
    let st = state.clone();
    let response = run_mutation(
        &state.db,
        ctx,
        ("proposal", id.to_string()),
        move |conn, ctx| {
            access::can_write(&ctx.caller, &region)?;
            texts.clone()?;
            let proposal = store::proposal(conn, id)?.ok_or_else(|| {
                ApiError::not_found("PROPOSAL_NOT_FOUND", format!("个性指标申请 {id} 不存在"))
            })?;
            if proposal.status != ProposalStatus::Pending {
                return Err(ApiError::failed_precondition(
                    "PROPOSAL_DECIDED",
                    format!("个性指标申请 {id} 已审核，不能重复审核"),
                ));
            }
            if proposal.version != expected {
                return Err(ApiError::stale_version(
                    &format!("个性指标申请 {id}"),
                    expected,
                    proposal.version,
                ));
            }
            if !approve && comment.trim().is_empty() {
                return Err(ApiError::invalid_field(
                    "COMMENT_REQUIRED",
                    "comment",
                    "驳回申请时必须填写意见",
                ));
            }
            let at = pbm_db::now();
            let mut created = None;
            if approve {
                let frame = frame.ok_or_else(|| frame_missing(proposal.spec.fiscal_year.get()))?;
                // The frame or library may have changed since the proposal: check again.
                ApiError::check(proposal.spec.violations(&frame.frame, "spec."))?;
                let indicator = Indicator {
                    code: proposal.code.clone(),
                    version: 1,
                    status: Status::Enabled,
                    spec: proposal.spec.clone(),
                    change_note: format!("个性指标申请 {id} 审核通过"),
                    changed_by: ctx.caller.subject.clone(),
                    changed_at: at,
                    origin: None,
                };
                super::refuse_upstream_owned(conn, &proposal.code)?;
                store::insert_new(conn, &indicator)
                    .map_err(|e| indicator_write_error(&proposal.code, e))?;
                outbox(conn, &indicator)?;
                created = Some(indicator);
            }
            let status = if approve {
                ProposalStatus::Approved
            } else {
                ProposalStatus::Rejected
            };
            let decision = store::Decision {
                status,
                comment: comment.trim(),
                actor: &ctx.caller.subject,
                at,
                indicator_version: created.as_ref().map(|i| i.version),
            };
            if !store::decide_proposal(conn, id, expected, &decision)? {
                return Err(ApiError::stale_version(
                    &format!("个性指标申请 {id}"),
                    expected,
                    expected + 1,
                ));
            }
            let record = store::proposal(conn, id)?
                .ok_or_else(|| ApiError::internal("proposal vanished"))?;
            Ok(Effect {
                response: proto::DecideProposalResponse {
                    proposal: Some(convert::proposal_to_proto(&record)),
                    indicator: created
                        .as_ref()
                        .map(|i| convert::indicator_to_proto(i, &st)),
                },
                entity_type: "proposal",
                entity_id: id.to_string(),
                detail: format!("{}: {}", status.as_db(), comment.trim()),
            })
        },
    )
    .await?;
    if let Some(i) = &response.indicator {
        reindex(state, &i.code).await;
    }
    Ok(response)
}

pub async fn get(
    state: &AppState,
    caller: Caller,
    m: proto::GetProposalRequest,
) -> Result<proto::GetProposalResponse, ApiError> {
    let id = m.proposal_id;
    let scope = access::proposal_scope(&caller, &state.region)?;
    let found = state.db.read(move |conn| store::proposal(conn, id)).await?;
    match found {
        // A department must not learn whether other departments' proposals exist.
        Some(p) if scope.as_ref().is_none_or(|d| d == &p.department) => {
            Ok(proto::GetProposalResponse {
                proposal: Some(convert::proposal_to_proto(&p)),
            })
        }
        _ => Err(ApiError::not_found(
            "PROPOSAL_NOT_FOUND",
            format!("个性指标申请 {id} 不存在"),
        )),
    }
}

pub async fn list(
    state: &AppState,
    caller: Caller,
    m: proto::ListProposalsRequest,
) -> Result<proto::ListProposalsResponse, ApiError> {
    let status = convert::proposal_status_from(m.status)?;
    let page = page(m.page)?;
    let scope = access::proposal_scope(&caller, &state.region)?;
    let (rows, total) = state
        .db
        .read(move |conn| {
            store::list_proposals(conn, status, scope.as_deref(), page.offset, page.limit)
        })
        .await?;
    Ok(proto::ListProposalsResponse {
        proposals: rows.iter().map(convert::proposal_to_proto).collect(),
        page: Some(pbm_proto::common::v1::PageResponse {
            next_page_token: page.next_token(total),
            total_size: total,
        }),
    })
}
