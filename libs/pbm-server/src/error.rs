use pbm_db::StoreError;
pub use pbm_types::FieldViolation;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The kinds of failure an RPC reports. Deliberately small: add a variant only with a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input: nothing was written. Carries field violations.
    InvalidArgument,
    NotFound,
    AlreadyExists,
    /// The request is well formed but the state forbids it (disabled indicator, illegal step).
    FailedPrecondition,
    /// A stale version or a concurrent change: re-read and retry.
    Aborted,
    PermissionDenied,
    Unauthenticated,
    /// A dependency (database, another service) is unreachable: retry later.
    Unavailable,
    /// A client stream stayed idle, or open, past its deadline.
    DeadlineExceeded,
    Internal,
}

/// A failed RPC: what went wrong for the caller, in Chinese and with a stable reason code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub kind: ErrorKind,
    /// Stable machine-readable reason, e.g. `INDICATOR_NOT_FOUND`.
    pub reason: &'static str,
    /// For a finance clerk, in Chinese.
    pub message: String,
    /// Refused fields, sent as BadRequest (and PreconditionFailure) details, each with its own
    /// reason code.
    pub violations: Vec<FieldViolation>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.reason)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    pub fn new(kind: ErrorKind, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            reason,
            message: message.into(),
            violations: Vec::new(),
        }
    }

    pub fn invalid(reason: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, reason, message)
    }

    /// Bad input on one field.
    pub fn invalid_field(
        reason: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let message = message.into();
        Self::new(ErrorKind::InvalidArgument, reason, message.clone())
            .with_violation(field, message)
    }

    /// Several bad fields at once. The reason is their common code when they share one (a bad
    /// 统一社会信用代码 alone answers `CREDIT_CODE_INVALID`), else `VALIDATION_FAILED`; each
    /// field violation carries its own.
    pub fn validation(violations: Vec<FieldViolation>) -> Self {
        let summary = violations
            .iter()
            .map(|v| format!("{}: {}", v.field, v.message))
            .collect::<Vec<_>>()
            .join("；");
        Self {
            kind: ErrorKind::InvalidArgument,
            reason: pbm_types::common_reason(&violations),
            message: format!("输入有误：{summary}"),
            violations,
        }
    }

    pub fn not_found(reason: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, reason, message)
    }

    pub fn already_exists(reason: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::AlreadyExists, reason, message)
    }

    pub fn failed_precondition(reason: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::FailedPrecondition, reason, message)
    }

    /// The record changed since the caller read it.
    pub fn stale_version(entity: &str, expected: i64, actual: i64) -> Self {
        Self::new(
            ErrorKind::Aborted,
            "VERSION_MISMATCH",
            format!(
                "{entity}已被他人修改（您读取的版本 {expected}，当前版本 {actual}），请刷新后重试"
            ),
        )
        .with_violation(
            "expected_version",
            format!("expected {expected}, current {actual}"),
        )
    }

    pub fn permission_denied(reason: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::PermissionDenied, reason, message)
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            ErrorKind::Unauthenticated,
            "UNAUTHENTICATED",
            "请先登录（缺少访问令牌）",
        )
    }

    pub fn unavailable(reason: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, reason, message)
    }

    /// An unexpected failure. The detail is logged, never sent to the caller.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(
            ErrorKind::Internal,
            "INTERNAL",
            "系统内部错误，请稍后重试或联系管理员",
        )
    }

    /// Adds a violation of `field`, under this error's reason.
    pub fn with_violation(
        mut self,
        field: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        self.violations
            .push(FieldViolation::new(field, self.reason, description));
        self
    }

    /// Returns `Ok(())` when there are no violations, else a [`ApiError::validation`].
    pub fn check(violations: Vec<FieldViolation>) -> Result<(), ApiError> {
        if violations.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(violations))
        }
    }

    pub fn code(&self) -> Code {
        match self.kind {
            ErrorKind::InvalidArgument => Code::InvalidArgument,
            ErrorKind::NotFound => Code::NotFound,
            ErrorKind::AlreadyExists => Code::AlreadyExists,
            ErrorKind::FailedPrecondition => Code::FailedPrecondition,
            ErrorKind::Aborted => Code::Aborted,
            ErrorKind::PermissionDenied => Code::PermissionDenied,
            ErrorKind::Unauthenticated => Code::Unauthenticated,
            ErrorKind::Unavailable => Code::Unavailable,
            ErrorKind::DeadlineExceeded => Code::DeadlineExceeded,
            ErrorKind::Internal => Code::Internal,
        }
    }

    /// Builds the status. `domain` is `ErrorInfo.domain`: the service's proto package without
    /// its version (`pbm.indicator`, `pbm.goal`; see [`crate::rpc::error_domain`]).
    pub fn into_status(self, domain: &str) -> Status {
        let mut details = ErrorDetails::new();
        details.set_error_info(self.reason, domain, std::collections::HashMap::new());
        if !self.violations.is_empty() {
            if self.kind == ErrorKind::FailedPrecondition {
                for v in &self.violations {
                    details.add_precondition_failure_violation(v.reason, &v.field, &v.message);
                }
            }
            // Clients that only read BadRequest still see which fields are at fault, and why.
            details.set_bad_request(
                self.violations
                    .iter()
                    .map(|v| tonic_types::FieldViolation {
                        field: v.field.clone(),
                        description: v.message.clone(),
                        reason: v.reason.to_owned(),
                        localized_message: None,
                    })
                    .collect::<Vec<_>>(),
            );
        }
        Status::with_error_details(
            self.code(),
            format!("{} ({})", self.message, self.reason),
            details,
        )
    }
}

impl From<ApiError> for Status {
    /// For errors outside any service's RPC (the platform's own): domain `pbm`.
    fn from(err: ApiError) -> Status {
        err.into_status(crate::rpc::PLATFORM_DOMAIN)
    }
}

impl From<pbm_auth::Denied> for ApiError {
    fn from(d: pbm_auth::Denied) -> Self {
        match d {
            pbm_auth::Denied::Unauthenticated => ApiError::unauthenticated(),
            pbm_auth::Denied::Permission { reason, message } => {
                ApiError::permission_denied(reason, message)
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ApiError::not_found("NOT_FOUND", "记录不存在"),
            StoreError::UniqueViolation(c) => {
                ApiError::already_exists("ALREADY_EXISTS", format!("记录已存在（{c}）"))
            }
            StoreError::ForeignKeyViolation(c) => ApiError::failed_precondition(
                "REFERENCE_MISSING",
                format!("引用的记录不存在（{c}）"),
            ),
            StoreError::Conflict(c) => {
                tracing::warn!(detail = %c, "transaction conflict");
                ApiError::new(
                    ErrorKind::Aborted,
                    "CONCURRENT_UPDATE",
                    "数据正被他人修改，请稍后重试",
                )
            }
            StoreError::Unavailable(c) => {
                tracing::error!(detail = %c, "database unavailable");
                ApiError::unavailable("DATABASE_UNAVAILABLE", "数据库暂时不可用，请稍后重试")
            }
            StoreError::Other(c) => ApiError::internal(c),
        }
    }
}

impl From<pbm_db::diesel::result::Error> for ApiError {
    fn from(err: pbm_db::diesel::result::Error) -> Self {
        StoreError::from(err).into()
    }
}

impl From<pbm_types::ParseError> for ApiError {
    fn from(err: pbm_types::ParseError) -> Self {
        ApiError::invalid(err.reason, err.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_carries_reason_and_field_violations() {
        let err = ApiError::invalid_field("UNIT_REQUIRED", "spec.unit", "定量指标必须填写计量单位");
        let status = err.into_status("pbm.indicator");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains("UNIT_REQUIRED"));
        let info = status.get_details_error_info().expect("error info");
        assert_eq!(info.reason, "UNIT_REQUIRED");
        assert_eq!(info.domain, "pbm.indicator");
        let bad = status.get_details_bad_request().expect("bad request");
        assert_eq!(bad.field_violations[0].field, "spec.unit");
        assert_eq!(bad.field_violations[0].reason, "UNIT_REQUIRED");
    }

    #[test]
    fn every_kind_maps_to_its_code() {
        let cases = [
            (ErrorKind::InvalidArgument, Code::InvalidArgument),
            (ErrorKind::NotFound, Code::NotFound),
            (ErrorKind::AlreadyExists, Code::AlreadyExists),
            (ErrorKind::FailedPrecondition, Code::FailedPrecondition),
            (ErrorKind::Aborted, Code::Aborted),
            (ErrorKind::PermissionDenied, Code::PermissionDenied),
            (ErrorKind::Unauthenticated, Code::Unauthenticated),
            (ErrorKind::Unavailable, Code::Unavailable),
            (ErrorKind::DeadlineExceeded, Code::DeadlineExceeded),
            (ErrorKind::Internal, Code::Internal),
        ];
        for (kind, code) in cases {
            assert_eq!(
                ApiError::new(kind, "R", "m").into_status("pbm").code(),
                code
            );
        }
    }

    #[test]
    fn store_errors_never_leak_sql() {
        let status: Status =
            ApiError::from(StoreError::Other("syntax error at SELECT".into())).into();
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("SELECT"));
    }
}
