//! Third-level indicators: create, new versions (update, enable/disable), read, search.

use pbm_auth::Caller;
use pbm_proto::indicator::v1 as proto;
use pbm_server::{ApiError, Effect, FieldViolation, MutationContext, run_mutation};

use super::{
    frame_missing, indicator_write_error, not_found, outbox, page, refuse_upstream_owned, reindex,
    upstream_owned,
};
use crate::convert::{self, limits};
use crate::domain::access;
use crate::domain::indicator::{self, Indicator, Spec, Status};
use crate::state::AppState;
use crate::store;

pub async fn create(
    state: &AppState,
    ctx: MutationContext,
    m: proto::CreateIndicatorRequest,
) -> Result<proto::CreateIndicatorResponse, ApiError> {
    let code = m.code.trim().to_owned();
    let spec = limits::check(&m).and_then(|()| convert::spec_from_proto(m.spec, "spec."));
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
            refuse_upstream_owned(conn, &code)?;
            let indicator = Indicator {
                code: code.clone(),
                version: 1,
                status: Status::Enabled,
                spec,
                change_note: "新建".into(),
                changed_by: ctx.caller.subject.clone(),
                changed_at: pbm_db::now(),
                origin: None,
            };
            store::insert_new(conn, &indicator).map_err(|e| indicator_write_error(&code, e))?;
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
    Ok(proto::CreateIndicatorResponse {
        indicator: Some(response),
    })
}

/// A new version of one indicator: `change` turns the current version (which must still be
/// `expected`) into the next one's spec, status and change note.
struct NewVersion<'a, F> {
    state: &'a AppState,
    ctx: MutationContext,
    code: String,
    expected: i64,
    /// The request's texts within their maxima ([`limits::check`]), answered once the caller
    /// is authorised.
    texts: Result<(), ApiError>,
    /// The frame of the indicator's fiscal year, if any; the new spec must be of its year.
    frame: Option<std::sync::Arc<store::StoredFrame>>,
    change: F,
}

/// Applies `change` to the current version (which must still be `expected`) and stores the
/// result as the next version.
async fn new_version<F>(
    NewVersion {
        state,
        ctx,
        code,
        expected,
        texts,
        frame,
        change,
    }: NewVersion<'_, F>,
) -> Result<proto::Indicator, ApiError>
where
    F: FnOnce(&Indicator) -> Result<(Spec, Status, String), ApiError> + Send + 'static,
{
    let region = state.region.clone();
    let st = state.clone();
    let response = run_mutation(
        &state.db,
        ctx,
        ("indicator", code.clone()),
        move |conn, ctx| {
            access::can_write(&ctx.caller, &region)?;
            texts?;
            let current = store::current(conn, &code)?.ok_or_else(|| not_found(&code))?;
            if let Some(o) = &current.origin {
                return Err(upstream_owned(&code, o));
            }
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
            let mut violations = spec.violations(&frame.frame, "spec.");
            if spec == current.spec {
                // Enabling or disabling keeps the spec as stored: a 定性 indicator stored with a
                // unit before units were refused for it changes status as it is.
                violations.retain(|v| v.reason != indicator::UNIT_NOT_ALLOWED);
            }
            ApiError::check(violations)?;
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
                origin: None,
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

pub async fn update(
    state: &AppState,
    ctx: MutationContext,
    m: proto::UpdateIndicatorRequest,
) -> Result<proto::UpdateIndicatorResponse, ApiError> {
    let texts = limits::check(&m);
    let code = m.code.trim().to_owned();
    let (expected, note) = (m.expected_version, m.change_note);
    let spec = convert::spec_from_proto(m.spec, "spec.");
    let frame = match &spec {
        Ok(s) => state.frame(s.fiscal_year.get()).await?,
        Err(_) => None,
    };
    new_version(NewVersion {
        state,
        ctx,
        code: code.clone(),
        expected,
        texts,
        frame,
        change: move |current: &Indicator| {
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
        },
    })
    .await
    .map(|indicator| proto::UpdateIndicatorResponse {
        indicator: Some(indicator),
    })
}

pub async fn set_status(
    state: &AppState,
    ctx: MutationContext,
    m: proto::SetIndicatorStatusRequest,
) -> Result<proto::SetIndicatorStatusResponse, ApiError> {
    let texts = limits::check(&m);
    let code = m.code.trim().to_owned();
    let (expected, reason) = (m.expected_version, m.reason);
    let status = convert::status_from(m.status)
        .ok_or_else(|| ApiError::invalid_field("STATUS_INVALID", "status", "请选择启用或停用"));
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
    new_version(NewVersion {
        state,
        ctx,
        code: code.clone(),
        expected,
        texts,
        frame,
        change: move |current: &Indicator| {
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
        },
    })
    .await
    .map(|indicator| proto::SetIndicatorStatusResponse {
        indicator: Some(indicator),
    })
}

pub async fn get(
    state: &AppState,
    caller: Caller,
    m: proto::GetIndicatorRequest,
) -> Result<proto::GetIndicatorResponse, ApiError> {
    let (code, version) = (m.code.trim().to_owned(), m.version);
    access::can_read(&caller, &state.region)?;
    limits::check(&m)?;
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
        return Ok(proto::GetIndicatorResponse {
            indicator: Some(convert::indicator_to_proto(&indexed, state)),
        });
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
        Some(i) => Ok(proto::GetIndicatorResponse {
            indicator: Some(convert::indicator_to_proto(&i, state)),
        }),
        None if version == 0 => Err(not_found(&code)),
        None => Err(ApiError::not_found(
            "INDICATOR_VERSION_NOT_FOUND",
            format!("指标「{code}」没有第 {version} 版"),
        )),
    }
}

pub async fn list(
    state: &AppState,
    caller: Caller,
    m: proto::ListIndicatorsRequest,
) -> Result<proto::ListIndicatorsResponse, ApiError> {
    let filter = convert::filter_from_proto(m.filter)?;
    let page = page(m.page)?;
    access::can_read(&caller, &state.region)?;
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

pub async fn versions(
    state: &AppState,
    caller: Caller,
    m: proto::ListIndicatorVersionsRequest,
) -> Result<proto::ListIndicatorVersionsResponse, ApiError> {
    let code = m.code.trim().to_owned();
    access::can_read(&caller, &state.region)?;
    limits::check(&m)?;
    let c = code.clone();
    let versions = state.db.read(move |conn| store::versions(conn, &c)).await?;
    if versions.is_empty() {
        return Err(not_found(&code));
    }
    Ok(proto::ListIndicatorVersionsResponse {
        versions: versions
            .iter()
            .map(|i| convert::indicator_to_proto(i, state))
            .collect(),
    })
}

pub async fn search(
    state: &AppState,
    caller: Caller,
    m: proto::SearchIndicatorsRequest,
) -> Result<proto::SearchIndicatorsResponse, ApiError> {
    let filter = convert::filter_from_proto(m.filter)?;
    let limit = match m.limit {
        0 => 20,
        n @ 1..=200 => n as usize,
        _ => {
            return Err(ApiError::invalid_field(
                "LIMIT_INVALID",
                "limit",
                "返回条数应在 1–200 之间",
            ));
        }
    };
    let query = m.query.as_str();
    access::can_read(&caller, &state.region)?;
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
    let (hits, total) = state.index.search(query, &filter, limit);
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
