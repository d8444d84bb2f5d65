//! Violations ⇄ proto.

use pbm_proto::agency::v1 as proto;
use pbm_server::ApiError;

use super::stamp;
use crate::store::ViolationRecord;

pub fn severity_from(v: i32) -> Result<&'static str, ApiError> {
    use crate::domain::rules::Severity;
    match proto::Severity::try_from(v) {
        Ok(proto::Severity::Minor) => Ok(Severity::Minor.as_db()),
        Ok(proto::Severity::Major) => Ok(Severity::Major.as_db()),
        Ok(proto::Severity::Unspecified) | Err(_) => Err(ApiError::invalid_field(
            "SEVERITY_INVALID",
            "severity",
            "请选择违规程度：一般或严重",
        )),
    }
}

pub fn violation_to_proto(v: &ViolationRecord) -> proto::Violation {
    proto::Violation {
        id: v.id,
        credit_code: match &v.violator {
            crate::store::Violator::Agency(code) => code.clone(),
            crate::store::Violator::Expert(_) => String::new(),
        },
        expert_id: match &v.violator {
            crate::store::Violator::Agency(_) => 0,
            crate::store::Violator::Expert(id) => *id,
        },
        occurred_on: v.occurred_on.to_string(),
        severity: match crate::domain::rules::Severity::from_db(&v.severity) {
            Some(crate::domain::rules::Severity::Major) => proto::Severity::Major,
            Some(crate::domain::rules::Severity::Minor) | None => proto::Severity::Minor,
        } as i32,
        description: v.description.clone(),
        recorded: Some(stamp(&v.recorded_by, v.recorded_at)),
    }
}
