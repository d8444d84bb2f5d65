//! Use cases: authorise the caller, load, apply the domain rules, save in one transaction with
//! the audit row, idempotency record and outbox event (via `pbm_server::run_mutation`).
//!
//! * [`frames`] – the frame of a fiscal year: create, get, list.
//! * [`indicators`] – third-level indicators: create, new versions (update, enable/disable),
//!   get, list, versions, search.
//! * [`resolve`] – pinning versions for a declaration (the goal service's call).
//! * [`proposals`] – departments' proposals of 个性 indicators and finance's decisions.
//! * [`excel`] – .xlsx import and export.
//!
//! Helpers shared by several of them live here, with the conversions of domain errors to
//! [`ApiError`].

pub mod excel;
pub mod frames;
pub mod indicators;
pub mod library;
pub mod proposals;
pub mod resolve;

use pbm_db::platform::{self, NewOutboxEvent};
use pbm_db::{AnyConnection, StoreError};
use pbm_server::ApiError;
use pbm_server::paging::Page;

use crate::domain::indicator::{Indicator, Origin};
use crate::state::AppState;
use crate::store;

/// The service's name in its outbox events: its `ErrorInfo.domain`.
pub const SERVICE: &str = "pbm.indicator";

fn frame_missing(year: i32) -> ApiError {
    ApiError::failed_precondition(
        "FRAME_NOT_FOUND",
        format!("{year} 年度尚未建立指标框架，请先创建该年度的指标框架"),
    )
    .with_violation("spec.fiscal_year", format!("no frame for {year}"))
}

/// A local change of an indicator an upstream library owns (docs/INDICATOR.md "Following an
/// upstream library").
fn upstream_owned(code: &str, origin: &Origin) -> ApiError {
    ApiError::failed_precondition(
        "UPSTREAM_OWNED",
        format!(
            "指标「{code}」由上级（{}）维护，本级不能修改",
            origin.region
        ),
    )
}

/// Refuses to create (or approve) a code an upstream library owns.
fn refuse_upstream_owned(conn: &mut AnyConnection, code: &str) -> Result<(), ApiError> {
    match store::current(conn, code)? {
        Some(Indicator {
            origin: Some(o), ..
        }) => Err(upstream_owned(code, &o)),
        _ => Ok(()),
    }
}

fn not_found(code: &str) -> ApiError {
    ApiError::not_found("INDICATOR_NOT_FOUND", format!("指标「{code}」不存在"))
}

/// Maps a store failure on an indicator write to what the caller should see.
fn indicator_write_error(code: &str, err: StoreError) -> ApiError {
    match err {
        StoreError::UniqueViolation(_) => {
            ApiError::already_exists("INDICATOR_CODE_EXISTS", format!("指标编码「{code}」已存在"))
                .with_violation("code", "duplicate code")
        }
        other => other.into(),
    }
}

/// The page a list request asks for.
fn page(p: Option<pbm_proto::common::v1::PageRequest>) -> Result<Page, ApiError> {
    let p = p.unwrap_or_default();
    Page::parse(p.page_size, &p.page_token)
}

/// Records that an indicator changed, for other services (goals pin versions).
fn outbox(conn: &mut AnyConnection, indicator: &Indicator) -> Result<(), ApiError> {
    platform::insert_outbox(conn, &outbox_event(indicator))?;
    Ok(())
}

/// The `pbm.indicator.changed` event of one indicator version written: by a local write, or by
/// the follower applying an upstream library's batch ([`crate::mirror`]).
pub(crate) fn outbox_event(indicator: &Indicator) -> NewOutboxEvent {
    let payload = serde_json::json!({
        "code": indicator.code,
        "version": indicator.version,
        "status": indicator.status.as_db(),
        "fiscal_year": indicator.spec.fiscal_year.get(),
    });
    NewOutboxEvent {
        occurred_at: indicator.changed_at,
        service: SERVICE.into(),
        topic: "pbm.indicator.changed".into(),
        entity_id: indicator.code.clone(),
        payload: payload.to_string(),
    }
}

/// Re-reads one indicator into the search index after a write (also after a replayed one).
async fn reindex(state: &AppState, code: &str) {
    state.library_written();
    let code = code.to_owned();
    match state.db.read(move |conn| store::current(conn, &code)).await {
        Ok(Some(i)) => state.index_written([i]),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "could not refresh the search index"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbox_service_is_the_error_domain() {
        assert_eq!(pbm_server::rpc::error_domain(crate::HEALTH_NAME), SERVICE);
    }
}
