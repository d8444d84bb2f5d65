//! Use cases of evaluation: authorise the caller first ([`crate::domain::access`]), then
//! validate, load, apply the pure rules ([`crate::domain`], scores only through `pbm_scoring`)
//! and save in one transaction with audit and idempotency (`pbm_server::rpc::mutate`). One file
//! per noun.

pub mod campaigns;
pub mod goal_events;
pub mod region;
pub mod reviews;
pub mod rules;
pub mod saves;
pub mod scoring;
pub mod sheet_reads;
pub mod sheet_table;
pub mod sheets;
pub mod spot_checks;
pub mod statistics;

use pbm_auth::{Caller, Role};
use pbm_server::ApiError;
use pbm_server::paging::Page;

use crate::domain::access::{Viewer, ensure_local, role_denied, viewer};
use crate::state::AppState;

/// Authorises `caller` for an RPC that `roles` may call (tests/tests/authorization_matrix.rs),
/// before anything of the request is looked at: another role is refused (ROLE_NOT_ALLOWED), so
/// is a caller of another region, and a write (`write`) comes only from this very region
/// (REGION_NOT_ALLOWED). The caller as evaluation sees them: [`viewer`].
pub(crate) fn authorise(
    caller: &Caller,
    state: &AppState,
    roles: &[Role],
    write: bool,
) -> Result<Viewer, ApiError> {
    if !caller.authenticated {
        return Err(ApiError::unauthenticated());
    }
    if !roles.contains(&caller.role) {
        return Err(role_denied(format!("角色「{}」无权执行此操作", caller.role.as_str())).into());
    }
    let v = viewer(caller, &state.region)?;
    if write {
        ensure_local(caller, &state.region)?;
    }
    Ok(v)
}

/// The page a list asks for (the server's default size when unset).
pub(crate) fn page_of(p: Option<&pbm_proto::common::v1::PageRequest>) -> Result<Page, ApiError> {
    let p = p.cloned().unwrap_or_default();
    Page::parse(p.page_size, &p.page_token)
}
