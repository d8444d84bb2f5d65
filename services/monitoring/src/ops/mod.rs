//! Use cases of monitoring: authorise the caller first ([`crate::domain::access`]), then
//! validate, load, apply the pure rules ([`crate::domain`]) and save in one transaction with
//! audit and idempotency (`pbm_server::rpc::mutate`). One file per noun. A step the pure rules
//! refuse converts to the API's error here (`From<WorkflowError>`).

pub mod actions;
pub mod decisions;
pub mod deviations;
pub mod execution;
pub mod goal_events;
pub mod key;
pub mod recompute;
pub mod report_reads;
pub mod report_table;
pub mod reports;
pub mod round_reads;
pub mod rounds;
pub mod rules;
pub mod summary;

use pbm_auth::{Caller, Role};
use pbm_db::AnyConnection;
use pbm_server::paging::Page;
use pbm_server::{ApiError, ErrorKind};

use crate::domain::access::{ListFilter, SubjectRef, Viewer, ensure_local, role_denied, viewer};
use crate::domain::report_workflow::{ErrorClass, WorkflowError};
use crate::state::AppState;
use crate::store::{self, RoundRow, SubjectRow};

/// A step the pure rules refuse (reports, corrective actions, decisions) as the API's error: its
/// class, stable reason and Chinese message, and the request field at fault where there is one.
impl From<WorkflowError> for ApiError {
    fn from(e: WorkflowError) -> Self {
        let kind = match e.class() {
            ErrorClass::InvalidArgument => ErrorKind::InvalidArgument,
            ErrorClass::FailedPrecondition => ErrorKind::FailedPrecondition,
            ErrorClass::PermissionDenied => ErrorKind::PermissionDenied,
            ErrorClass::Aborted => ErrorKind::Aborted,
        };
        let message = e.chinese();
        let error = ApiError::new(kind, e.reason(), message.clone());
        let field = match e {
            WorkflowError::StaleRevision { .. } => "expected_revision",
            WorkflowError::CommentsRequired => "comments",
            WorkflowError::CompletionNoteRequired => "completion_note",
            WorkflowError::TextTooLong { field, .. } => field,
            WorkflowError::ResubmitByRequired { .. } | WorkflowError::ResubmitByInvalid { .. } => {
                "resubmit_by"
            }
            _ => return error,
        };
        error.with_violation(field, message)
    }
}

// -- shared by the use cases ---------------------------------------------------------------

/// Authorises `caller` for an RPC that `roles` may call (tests/tests/authorization_matrix.rs),
/// before anything of the request is looked at: another role is refused (ROLE_NOT_ALLOWED), so
/// is a caller of another region, and a write (`write`) comes only from this very region
/// (REGION_NOT_ALLOWED). The caller as monitoring sees them: [`viewer`].
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

pub(crate) fn round_not_found(id: i64) -> ApiError {
    ApiError::not_found(
        "ROUND_NOT_FOUND",
        format!("监控轮次 {id} 不存在（ROUND_NOT_FOUND）"),
    )
}

/// The round `id` (NOT_FOUND otherwise); a round being opened has no subjects yet but is shown.
pub(crate) fn round_of(conn: &mut AnyConnection, id: i64) -> Result<RoundRow, ApiError> {
    store::round_row(conn, id)?.ok_or_else(|| round_not_found(id))
}

pub(crate) fn subject_not_found(round_id: i64, key: &str) -> ApiError {
    ApiError::not_found(
        "SUBJECT_NOT_FOUND",
        format!("监控轮次 {round_id} 中没有监控对象「{key}」（SUBJECT_NOT_FOUND）"),
    )
}

/// A subject as the access rules see it (`commissioned`: the agency its key monitoring is
/// commissioned to, when the caller is one).
pub(crate) fn subject_ref<'a>(s: &'a SubjectRow, commissioned: Option<&'a str>) -> SubjectRef<'a> {
    SubjectRef {
        agency_code: &s.agency_code,
        department_code: &s.department_code,
        commissioned_agency: commissioned,
    }
}

/// Whether the subjects `scope` shows include `s`; for an agency, whether the subject's key
/// monitoring is commissioned to it (one read).
pub(crate) fn sees(
    conn: &mut AnyConnection,
    scope: &ListFilter,
    s: &SubjectRow,
) -> Result<bool, ApiError> {
    let commissioned = match scope {
        ListFilter::Agency(id) => store::key_row(conn, s.round_id, &s.subject_key)?
            .is_some_and(|k| &k.agency_id == id)
            .then_some(id.as_str()),
        _ => None,
    };
    Ok(scope.matches(&subject_ref(s, commissioned)))
}

/// The subject `key` of round `round_id` if the subjects `scope` shows include it; NOT_FOUND otherwise,
/// so that its existence does not leak.
pub(crate) fn subject_in_view(
    conn: &mut AnyConnection,
    scope: &ListFilter,
    round_id: i64,
    key: &str,
) -> Result<SubjectRow, ApiError> {
    match store::subject(conn, round_id, key)? {
        Some(s) if sees(conn, scope, &s)? => Ok(s),
        _ => Err(subject_not_found(round_id, key)),
    }
}

pub(crate) fn page_of(p: Option<&pbm_proto::common::v1::PageRequest>) -> Result<Page, ApiError> {
    let p = p.cloned().unwrap_or_default();
    Page::parse(p.page_size, &p.page_token)
}
