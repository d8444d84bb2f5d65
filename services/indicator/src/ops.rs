//! Use cases: authorise the caller, load, apply the domain rules, save in one transaction with
//! the audit row, idempotency record and outbox event (via `pbm_server::run_mutation`).

use pbm_auth::Caller;
use pbm_db::AnyConnection;
use pbm_db::platform::{self, NewOutboxEvent};
use pbm_proto::indicator::v1 as proto;
use pbm_server::{ApiError, Effect, FieldViolation, MutationContext, run_mutation};

use crate::domain::access;
use crate::domain::frame::Frame;
use crate::domain::indicator::{self, Indicator, Spec, Status};
use crate::grpc::convert;
use crate::state::AppState;
use crate::store::{self, Filter, ProposalStatus};

pub const SERVICE: &str = "pbm.indicator";

fn frame_missing(year: i32) -> ApiError {
    ApiError::failed_precondition(
        "FRAME_NOT_FOUND",
        format!("{year} 年度尚未建立指标框架，请先创建该年度的指标框架"),
    )
    .with_violation("spec.fiscal_year", format!("no frame for {year}"))
}

fn not_found(code: &str) -> ApiError {
    ApiError::not_found("INDICATOR_NOT_FOUND", format!("指标「{code}」不存在"))
}

/// Records that an indicator changed, for other services (goals pin versions).
fn outbox(conn: &mut AnyConnection, indicator: &Indicator) -> Result<(), ApiError> {
    let payload = serde_json::json!({
        "code": indicator.code,
        "version": indicator.version,
        "status": indicator.status.as_db(),
        "fiscal_year": indicator.spec.fiscal_year.get(),
    });
    platform::insert_outbox(
        conn,
        &NewOutboxEvent {
            occurred_at: indicator.changed_at,
            service: SERVICE.into(),
            topic: "pbm.indicator.changed".into(),
            entity_id: indicator.code.clone(),
            payload: payload.to_string(),
        },
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Frames

pub async fn create_frame(
    state: &AppState,
    ctx: MutationContext,
    frame: Result<Frame, ApiError>,
) -> Result<proto::CreateFrameResponse, ApiError> {
    let region = state.region.clone();
    let entity = (
        "frame",
        frame
            .as_ref()
            .map(|f| f.fiscal_year.to_string())
            .unwrap_or_default(),
    );
    let st = state.clone();
    let response = run_mutation(&state.db, ctx, entity, move |conn, ctx| {
        access::can_write(&ctx.caller, &region)?;
        let frame = frame?;
        ApiError::check(frame.violations())?;
        let year = frame.fiscal_year.get();
        if store::load_frames(conn)?
            .iter()
            .any(|f| f.frame.fiscal_year == frame.fiscal_year)
        {
            return Err(ApiError::already_exists(
                "FRAME_EXISTS",
                format!("{year} 年度的指标框架已存在，框架建立后不可修改"),
            )
            .with_violation("fiscal_year", "frame exists"));
        }
        let at = pbm_db::now();
        store::insert_frame(conn, &frame, &ctx.caller.subject, at)?;
        let stored = store::StoredFrame {
            frame,
            created_by: ctx.caller.subject.clone(),
            created_at: at,
        };
        Ok(Effect {
            response: proto::CreateFrameResponse {
                frame: Some(convert::frame_to_proto(&stored, &st.region)),
            },
            entity_type: "frame",
            entity_id: year.to_string(),
            detail: format!("{} nodes", stored.frame.nodes.len()),
        })
    })
    .await?;
    state.reload_frames().await?;
    Ok(response)
}

// ---------------------------------------------------------------------------------------------
// Indicators

pub async fn create_indicator(
    state: &AppState,
    ctx: MutationContext,
    code: String,
    spec: Result<Spec, ApiError>,
) -> Result<proto::Indicator, ApiError> {
    let frame = match &spec {
        Ok(s) => state.frame(s.fiscal_year.get()).await?,
        Err(_) => None,
    };
    let region = state.region.clone();
    let st = state.clone();
    let response = run_mutation(
        &state.db,
        ctx,
        ("indicator", code.clone()),
        move |conn, ctx| {
            access::can_write(&ctx.caller, &region)?;
            let spec = spec?;
            let frame = frame.ok_or_else(|| frame_missing(spec.fiscal_year.get()))?;
            let mut violations = Vec::new();
            if let Some(v) = indicator::code_violation(&code) {
                violations.push(FieldViolation::generic("code", v));
            }
            violations.extend(spec.violations(&frame.frame, "spec."));
            ApiError::check(violations)?;
            let indicator = Indicator {
                code: code.clone(),
                version: 1,
                status: Status::Enabled,
                spec,
                change_note: "新建".into(),
                changed_by: ctx.caller.subject.clone(),
                changed_at: pbm_db::now(),
            };
            store::insert_new(conn, &indicator)
                .map_err(|e| store::indicator_write_error(&code, e))?;
            outbox(conn, &indicator)?;
            Ok(Effect {
                response: convert::indicator_to_proto(&indicator, &st),
                entity_type: "indicator",
                entity_id: code,
                detail: "version 1".into(),
            })
        },
    )
    .await?;
    reindex(state, &response.code).await;
    Ok(response)
}

/// Re-reads one indicator into the search index after a write (also after a replayed one).
async fn reindex(state: &AppState, code: &str) {
    let code = code.to_owned();
    match state.db.read(move |conn| store::current(conn, &code)).await {
        Ok(Some(i)) => state.index_written([i]),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "could not refresh the search index"),
    }
}

/// Applies `change` to the current version (which must still be `expected`) and stores the
/// result as the next version.
async fn new_version(
    state: &AppState,
    ctx: MutationContext,
    code: String,
    expected: i64,
    frame: Option<std::sync::Arc<store::StoredFrame>>,
    change: impl FnOnce(&Indicator) -> Result<(Spec, Status, String), ApiError> + Send + 'static,
) -> Result<proto::Indicator, ApiError> {
    let region = state.region.clone();
    let st = state.clone();
    let response = run_mutation(
        &state.db,
        ctx,
        ("indicator", code.clone()),
        move |conn, ctx| {
            access::can_write(&ctx.caller, &region)?;
            let current = store::current(conn, &code)?.ok_or_else(|| not_found(&code))?;
            if current.version != expected {
                return Err(ApiError::stale_version(
                    &format!("指标「{code}」"),
                    expected,
                    current.version,
                ));
            }
            let (spec, status, note) = change(&current)?;
            let frame = frame
                .filter(|f| f.frame.fiscal_year == spec.fiscal_year)
                .ok_or_else(|| frame_missing(spec.fiscal_year.get()))?;
            ApiError::check(spec.violations(&frame.frame, "spec."))?;
            if spec == current.spec && status == current.status {
                return Err(ApiError::failed_precondition(
                    "NO_CHANGE",
                    format!("指标「{code}」没有任何变化，未生成新版本"),
                ));
            }
            let next = Indicator {
                code: code.clone(),
                version: current.version + 1,
                status,
                spec,
                change_note: note,
                changed_by: ctx.caller.subject.clone(),
                changed_at: pbm_db::now(),
            };
            if let Err(actual) = store::insert_next_version(conn, &next, expected)? {
                return Err(ApiError::stale_version(
                    &format!("指标「{code}」"),
                    expected,
                    actual,
                ));
            }
            outbox(conn, &next)?;
            let detail = format!(
                "version {} → {}: {}",
                current.version, next.version, next.change_note
            );
            Ok(Effect {
                response: convert::indicator_to_proto(&next, &st),
                entity_type: "indicator",
                entity_id: code,
                detail,
            })
        },
    )
    .await?;
    reindex(state, &response.code).await;
    Ok(response)
}

pub async fn update_indicator(
    state: &AppState,
    ctx: MutationContext,
    code: String,
    expected: i64,
    spec: Result<Spec, ApiError>,
    note: String,
) -> Result<proto::Indicator, ApiError> {
    let frame = match &spec {
        Ok(s) => state.frame(s.fiscal_year.get()).await?,
        Err(_) => None,
    };
    new_version(state, ctx, code.clone(), expected, frame, move |current| {
        let spec = spec?;
        if current.status == Status::Disabled {
            return Err(ApiError::failed_precondition(
                "INDICATOR_DISABLED",
                format!("指标「{code}」已停用，请先启用再修改"),
            ));
        }
        let note = if note.trim().is_empty() {
            "修改".to_string()
        } else {
            note.trim().to_string()
        };
        Ok((spec, current.status, note))
    })
    .await
}

pub async fn set_status(
    state: &AppState,
    ctx: MutationContext,
    code: String,
    expected: i64,
    status: Result<Status, ApiError>,
    reason: String,
) -> Result<proto::Indicator, ApiError> {
    let year = state
        .db
        .read({
            let code = code.clone();
            move |conn| store::current(conn, &code).map(|c| c.map(|i| i.spec.fiscal_year.get()))
        })
        .await?;
    let frame = match year {
        Some(y) => state.frame(y).await?,
        None => None,
    };
    new_version(state, ctx, code.clone(), expected, frame, move |current| {
        let status = status?;
        if status == current.status {
            return Err(ApiError::failed_precondition(
                "STATUS_UNCHANGED",
                format!("指标「{code}」已经是「{}」状态", status.chinese()),
            ));
        }
        if status == Status::Disabled && reason.trim().is_empty() {
            return Err(ApiError::invalid_field(
                "REASON_REQUIRED",
                "reason",
                "停用指标必须说明原因",
            ));
        }
        let note = format!("{}: {}", status.chinese(), reason.trim());
        Ok((current.spec.clone(), status, note))
    })
    .await
}

pub async fn get_indicator(
    state: &AppState,
    caller: &Caller,
    code: String,
    version: i64,
) -> Result<proto::Indicator, ApiError> {
    access::can_read(caller, &state.region)?;
    if version < 0 {
        return Err(ApiError::invalid_field(
            "VERSION_INVALID",
            "version",
            "版本号不能为负数",
        ));
    }
    // The current version is served from this process's view of the library (kept current on
    // its own writes at once, on other replicas' within the refresh interval); a pinned version
    // equal to it too, since versions never change. Anything else reads the database.
    if let Some(indexed) = state.index.get(&code)
        && (version == 0 || version == indexed.version)
    {
        return Ok(convert::indicator_to_proto(&indexed, state));
    }
    let c = code.clone();
    let found = state
        .db
        .read(move |conn| {
            if version == 0 {
                store::current(conn, &c)
            } else {
                store::version(conn, &c, version)
            }
        })
        .await?;
    if version == 0
        && let Some(i) = &found
    {
        state.index_written([i.clone()]);
    }
    match found {
        Some(i) => Ok(convert::indicator_to_proto(&i, state)),
        None if version == 0 => Err(not_found(&code)),
        None => Err(ApiError::not_found(
            "INDICATOR_VERSION_NOT_FOUND",
            format!("指标「{code}」没有第 {version} 版"),
        )),
    }
}

pub async fn list_indicators(
    state: &AppState,
    caller: &Caller,
    filter: Filter,
    page: pbm_server::paging::Page,
) -> Result<proto::ListIndicatorsResponse, ApiError> {
    access::can_read(caller, &state.region)?;
    let (rows, total) = state
        .db
        .read(move |conn| store::list(conn, &filter, page.offset, page.limit))
        .await?;
    Ok(proto::ListIndicatorsResponse {
        indicators: rows
            .iter()
            .map(|i| convert::indicator_to_proto(i, state))
            .collect(),
        page: Some(pbm_proto::common::v1::PageResponse {
            next_page_token: page.next_token(total),
            total_size: total,
        }),
    })
}

pub async fn list_versions(
    state: &AppState,
    caller: &Caller,
    code: String,
) -> Result<Vec<proto::Indicator>, ApiError> {
    access::can_read(caller, &state.region)?;
    let c = code.clone();
    let versions = state.db.read(move |conn| store::versions(conn, &c)).await?;
    if versions.is_empty() {
        return Err(not_found(&code));
    }
    Ok(versions
        .iter()
        .map(|i| convert::indicator_to_proto(i, state))
        .collect())
}

pub fn search(
    state: &AppState,
    caller: &Caller,
    query: &str,
    filter: &Filter,
    limit: usize,
) -> Result<proto::SearchIndicatorsResponse, ApiError> {
    access::can_read(caller, &state.region)?;
    if query.trim().is_empty() {
        return Err(ApiError::invalid_field(
            "QUERY_EMPTY",
            "query",
            "请输入要搜索的文字",
        ));
    }
    if query.chars().count() > 50 {
        return Err(ApiError::invalid_field(
            "QUERY_TOO_LONG",
            "query",
            "搜索文字不能超过50个字",
        ));
    }
    let (hits, total) = state.index.search(query, filter, limit);
    Ok(proto::SearchIndicatorsResponse {
        hits: hits
            .iter()
            .map(|h| proto::SearchHit {
                indicator: Some(convert::indicator_to_proto(&h.indicator, state)),
                r#match: convert::match_kind(h.kind) as i32,
            })
            .collect(),
        total_matches: total as i64,
    })
}

/// Pins versions for a declaration of `year`: every reference must exist, be enabled and be in
/// its enabled period (DOMAIN.md: goals keep the version they were declared against).
pub async fn resolve(
    state: &AppState,
    caller: &Caller,
    year: i32,
    refs: Vec<(String, i64)>,
) -> Result<Vec<proto::Indicator>, ApiError> {
    access::can_read(caller, &state.region)?;
    pbm_types::FiscalYear::new(year)
        .map_err(|e| ApiError::invalid_field(e.reason, "fiscal_year", e.message))?;
    if refs.is_empty() || refs.len() > 1000 {
        return Err(ApiError::invalid_field(
            "REFS_INVALID",
            "refs",
            "请提供 1–1000 个指标引用",
        ));
    }
    let resolved = state
        .db
        .read(
            move |conn| -> Result<Vec<(String, i64, Option<Indicator>)>, ApiError> {
                let mut codes: Vec<String> = refs.iter().map(|(c, _)| c.clone()).collect();
                codes.sort();
                codes.dedup();
                let pinned: Vec<(String, i64)> =
                    refs.iter().filter(|(_, v)| *v != 0).cloned().collect();
                let (current, pinned) = store::current_and_pinned(conn, &codes, &pinned)?;
                Ok(refs
                    .into_iter()
                    .map(|(code, version)| {
                        let now = current.iter().find(|i| i.code == code);
                        let found = match (version, now) {
                            (0, now) => now.cloned(),
                            // A pinned version is usable only while the indicator itself is
                            // enabled: a disabled indicator may not enter a new declaration at
                            // any version.
                            (v, Some(now)) => pinned
                                .iter()
                                .find(|p| p.code == code && p.version == v)
                                .map(|p| {
                                    let mut p = p.clone();
                                    if now.status == Status::Disabled {
                                        p.status = Status::Disabled;
                                    }
                                    p
                                }),
                            (_, None) => None,
                        };
                        (code, version, found)
                    })
                    .collect())
            },
        )
        .await?;
    let mut missing = Vec::new();
    let mut unusable = Vec::new();
    let mut out = Vec::new();
    for (i, (code, version, found)) in resolved.into_iter().enumerate() {
        match found {
            None => missing.push(FieldViolation::new(
                format!("refs[{i}].code"),
                "INDICATOR_NOT_FOUND",
                format!("指标「{code}」(版本 {version}) 不存在"),
            )),
            Some(ind) => match indicator::unusable_reason(&ind, year) {
                Some((reason, why)) => {
                    unusable.push(FieldViolation::new(format!("refs[{i}]"), reason, why))
                }
                None => out.push(convert::indicator_to_proto(&ind, state)),
            },
        }
    }
    if !missing.is_empty() {
        let mut e = ApiError::not_found(
            "INDICATOR_NOT_FOUND",
            missing
                .iter()
                .map(|v| v.message.as_str())
                .collect::<Vec<_>>()
                .join("；"),
        );
        e.violations = missing;
        return Err(e);
    }
    if !unusable.is_empty() {
        let mut e = ApiError::failed_precondition(
            "INDICATOR_UNUSABLE",
            unusable
                .iter()
                .map(|v| v.message.as_str())
                .collect::<Vec<_>>()
                .join("；"),
        );
        e.violations = unusable;
        return Err(e);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Proposals of 个性 indicators

pub async fn propose(
    state: &AppState,
    ctx: MutationContext,
    code: String,
    spec: Result<Spec, ApiError>,
    reason: String,
) -> Result<proto::Proposal, ApiError> {
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
                return Err(store::indicator_write_error(
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
}

pub async fn decide(
    state: &AppState,
    ctx: MutationContext,
    id: i64,
    expected: i64,
    approve: bool,
    comment: String,
) -> Result<proto::DecideProposalResponse, ApiError> {
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
                };
                store::insert_new(conn, &indicator)
                    .map_err(|e| store::indicator_write_error(&proposal.code, e))?;
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

pub async fn get_proposal(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<proto::Proposal, ApiError> {
    let scope = access::proposal_scope(caller, &state.region)?;
    let found = state.db.read(move |conn| store::proposal(conn, id)).await?;
    match found {
        // A department must not learn whether other departments' proposals exist.
        Some(p) if scope.as_ref().is_none_or(|d| d == &p.department) => {
            Ok(convert::proposal_to_proto(&p))
        }
        _ => Err(ApiError::not_found(
            "PROPOSAL_NOT_FOUND",
            format!("个性指标申请 {id} 不存在"),
        )),
    }
}

pub async fn list_proposals(
    state: &AppState,
    caller: &Caller,
    status: Option<ProposalStatus>,
    page: pbm_server::paging::Page,
) -> Result<proto::ListProposalsResponse, ApiError> {
    let scope = access::proposal_scope(caller, &state.region)?;
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
