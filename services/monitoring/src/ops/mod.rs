//! Use cases of monitoring: authorise the caller first ([`crate::domain::access`]), then
//! validate, load, apply the pure rules ([`crate::domain`]) and save in one transaction with
//! audit and idempotency (`pbm_server::rpc::mutate`). One file per noun. A step the pure rules
//! refuse converts to the API's error here (`From<WorkflowError>`).

pub mod actions;
pub mod decisions;
pub mod deviations;
pub mod execution;
pub mod key;
pub mod recompute;
pub mod report_reads;
pub mod report_table;
pub mod reports;
pub mod round_reads;
pub mod rounds;
pub mod rules;

use pbm_server::{ApiError, ErrorKind};

use crate::domain::report_workflow::{ErrorClass, WorkflowError};

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
