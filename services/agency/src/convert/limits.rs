//! The longest text every string field of every `pbm.agency.v1` request may carry, as stated on
//! the field in proto/pbm/agency/v1/*.proto, checked first thing in each operation with the one
//! check [`pbm_types::check_len`]: one `TEXT_TOO_LONG` violation per field over its maximum,
//! every field at once, before anything reads the texts or keeps them (an idempotency record, an
//! audit line).
//!
//! These bound what a request may carry at all. The domain's rules may be stricter and keep their
//! own reasons: a credit code is 18 characters (`CREDIT_CODE_INVALID`), a 身份证号 18
//! (`ID_NUMBER_INVALID`), a withdrawal reason at most 500.

use pbm_proto::agency::v1 as proto;

use pbm_server::limits::{Bounded, each_nested, nested};
pub use pbm_server::limits::{CODE, LONG, NAME, SHORT, Texts};
pub use pbm_server::limits::{check, check_under};

/// The contract whose texts these maxima bound (`pbm.agency.v1`).
pub enum Agency {}

/// The JSON text of a year's pool rules (SetPoolRules): a rule set is a few kilobytes; 64 KiB
/// leaves room for long rubrics and keeps a request far below the 4 MiB message limit.
pub const RULES_JSON: usize = 65_536;

impl Bounded<Agency> for proto::LeadEvaluator {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "name", "主评人姓名", &self.name, NAME);
        t.each(at, "qualifications", "执业资格", &self.qualifications, NAME);
    }
}

impl Bounded<Agency> for proto::Branch {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "name", "分支机构名称", &self.name, NAME);
        t.text(
            at,
            "credit_code",
            "分支机构信用代码",
            &self.credit_code,
            CODE,
        );
    }
}

impl Bounded<Agency> for proto::Person {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "name", "姓名", &self.name, NAME);
        t.text(at, "role", "职务", &self.role, NAME);
        t.text(at, "phone", "电话", &self.phone, CODE);
        t.text(at, "email", "电子邮箱", &self.email, NAME);
    }
}

impl Bounded<Agency> for proto::Relation {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "party_code", "关联方代码", &self.party_code, CODE);
        t.text(at, "from", "开始日期", &self.from, CODE);
        t.text(at, "to", "结束日期", &self.to, CODE);
        t.text(at, "note", "说明", &self.note, SHORT);
    }
}

impl Bounded<Agency> for proto::AgencySpec {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(
            at,
            "credit_code",
            "统一社会信用代码",
            &self.credit_code,
            CODE,
        );
        t.text(at, "name", "机构名称", &self.name, NAME);
        t.text(
            at,
            "legal_representative",
            "法定代表人",
            &self.legal_representative,
            NAME,
        );
        each_nested(t, at, "lead_evaluators", &self.lead_evaluators);
        each_nested(t, at, "branches", &self.branches);
        each_nested(t, at, "cooperating_experts", &self.cooperating_experts);
        each_nested(t, at, "other_staff", &self.other_staff);
        each_nested(t, at, "contacts", &self.contacts);
        each_nested(t, at, "relations", &self.relations);
    }
}

impl Bounded<Agency> for proto::EmploymentRecord {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "organization", "工作单位", &self.organization, NAME);
        t.text(at, "position", "职务", &self.position, NAME);
        t.text(at, "from", "开始日期", &self.from, CODE);
        t.text(at, "to", "结束日期", &self.to, CODE);
    }
}

impl Bounded<Agency> for proto::ExpertSpec {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "name", "姓名", &self.name, NAME);
        t.text(at, "id_number", "身份证号", &self.id_number, CODE);
        t.text(at, "phone", "手机号码", &self.phone, CODE);
        t.each(at, "fields", "专业领域", &self.fields, CODE);
        t.text(at, "affiliation", "工作单位", &self.affiliation, NAME);
        each_nested(t, at, "employment", &self.employment);
        each_nested(t, at, "relations", &self.relations);
    }
}

impl Bounded<Agency> for proto::CriterionScore {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "criterion", "评分项", &self.criterion, CODE);
        t.number(at, "score", "分数", self.score.as_ref());
    }
}

// -- requests ------------------------------------------------------------------------------------

impl Bounded<Agency> for proto::CreateAdmissionBatchRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "name", "批次名称", &self.name, NAME);
        t.text(
            at,
            "procurement_ref",
            "采购项目编号",
            &self.procurement_ref,
            CODE,
        );
        t.text(
            at,
            "qualified_from",
            "资格开始日期",
            &self.qualified_from,
            CODE,
        );
        t.text(at, "qualified_to", "资格结束日期", &self.qualified_to, CODE);
    }
}

impl Bounded<Agency> for proto::RegisterAgencyRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        nested(t, at, "spec", &self.spec);
    }
}

impl Bounded<Agency> for proto::UpdateAgencyRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        nested(t, at, "spec", &self.spec);
    }
}

impl Bounded<Agency> for proto::GetAgencyRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(
            at,
            "credit_code",
            "统一社会信用代码",
            &self.credit_code,
            CODE,
        );
    }
}

impl Bounded<Agency> for proto::ChangeAgencyStatusRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(
            at,
            "credit_code",
            "统一社会信用代码",
            &self.credit_code,
            CODE,
        );
        t.text(at, "reason", "原因", &self.reason, LONG);
        t.text(at, "until", "暂停截止日期", &self.until, CODE);
    }
}

impl Bounded<Agency> for proto::RecordViolationRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(
            at,
            "credit_code",
            "统一社会信用代码",
            &self.credit_code,
            CODE,
        );
        t.text(at, "occurred_on", "发生日期", &self.occurred_on, CODE);
        t.text(at, "description", "违规情况", &self.description, LONG);
    }
}

impl Bounded<Agency> for proto::ListViolationsRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(
            at,
            "credit_code",
            "统一社会信用代码",
            &self.credit_code,
            CODE,
        );
    }
}

impl Bounded<Agency> for proto::ListStatusHistoryRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(
            at,
            "credit_code",
            "统一社会信用代码",
            &self.credit_code,
            CODE,
        );
    }
}

impl Bounded<Agency> for proto::RegisterExpertRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        nested(t, at, "spec", &self.spec);
    }
}

impl Bounded<Agency> for proto::UpdateExpertRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        nested(t, at, "spec", &self.spec);
    }
}

impl Bounded<Agency> for proto::ListExpertsRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "field", "专业领域", &self.field, CODE);
    }
}

impl Bounded<Agency> for proto::ChangeExpertStatusRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "reason", "原因", &self.reason, LONG);
    }
}

impl Bounded<Agency> for proto::RevealExpertContactRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "reason", "查看原因", &self.reason, SHORT);
    }
}

impl Bounded<Agency> for proto::SetPoolRulesRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "rules_json", "规则", &self.rules_json, RULES_JSON);
    }
}

impl Bounded<Agency> for proto::DrawExpertsRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "task_ref", "任务编号", &self.task_ref, CODE);
        t.text(at, "field", "专业领域", &self.field, CODE);
        t.text(
            at,
            "evaluated_party",
            "被评价方",
            &self.evaluated_party,
            CODE,
        );
    }
}

impl Bounded<Agency> for proto::DrawAgenciesRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "task_ref", "任务编号", &self.task_ref, CODE);
        t.text(
            at,
            "evaluated_party",
            "被评价方",
            &self.evaluated_party,
            CODE,
        );
    }
}

impl Bounded<Agency> for proto::RespondToDrawRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "reason", "原因", &self.reason, SHORT);
        t.text(
            at,
            "agency_credit_code",
            "机构信用代码",
            &self.agency_credit_code,
            CODE,
        );
    }
}

impl Bounded<Agency> for proto::CreateEngagementRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "commissioner", "委托方", &self.commissioner, CODE);
        t.text(
            at,
            "evaluated_party",
            "被评价方",
            &self.evaluated_party,
            CODE,
        );
        t.text(
            at,
            "agency_credit_code",
            "机构信用代码",
            &self.agency_credit_code,
            CODE,
        );
        t.text(at, "started_on", "开始日期", &self.started_on, CODE);
        t.text(at, "ended_on", "结束日期", &self.ended_on, CODE);
    }
}

impl Bounded<Agency> for proto::RateEngagementRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        each_nested(t, at, "scores", &self.scores);
    }
}

impl Bounded<Agency> for proto::CancelEngagementRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "reason", "撤销原因", &self.reason, SHORT);
    }
}

impl Bounded<Agency> for proto::ListEngagementsRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(
            at,
            "agency_credit_code",
            "机构信用代码",
            &self.agency_credit_code,
            CODE,
        );
    }
}

impl Bounded<Agency> for proto::ExplainRatingRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(
            at,
            "agency_credit_code",
            "机构信用代码",
            &self.agency_credit_code,
            CODE,
        );
        t.text(at, "as_of", "评价基准日", &self.as_of, CODE);
    }
}

impl Bounded<Agency> for proto::RecomputeRatingsRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "as_of", "评价基准日", &self.as_of, CODE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pbm_proto::common::v1 as common;
    use pbm_server::limits::NUMBER;

    fn fields(m: &impl Bounded<Agency>) -> Vec<String> {
        pbm_server::limits::violations(m, "")
            .into_iter()
            .inspect(|v| assert_eq!(v.reason, "TEXT_TOO_LONG"))
            .map(|v| v.field)
            .collect()
    }

    #[test]
    fn every_text_of_an_agency_over_its_maximum_is_named_at_once() {
        let m = proto::RegisterAgencyRequest {
            spec: Some(proto::AgencySpec {
                credit_code: "9".repeat(CODE + 1),
                name: "所".repeat(NAME),
                contacts: vec![
                    proto::Person::default(),
                    proto::Person {
                        phone: "1".repeat(CODE + 1),
                        email: "e".repeat(NAME + 1),
                        ..Default::default()
                    },
                ],
                lead_evaluators: vec![proto::LeadEvaluator {
                    qualifications: vec!["注册会计师".into(), "资".repeat(NAME + 1)],
                    ..Default::default()
                }],
                relations: vec![proto::Relation {
                    note: "注".repeat(SHORT + 1),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            fields(&m),
            [
                "spec.credit_code",
                "spec.lead_evaluators[0].qualifications[1]",
                "spec.contacts[1].phone",
                "spec.contacts[1].email",
                "spec.relations[0].note",
            ]
        );
        let e = check(&m).unwrap_err();
        assert_eq!(e.reason, "TEXT_TOO_LONG");
    }

    #[test]
    fn experts_draws_engagements_and_rules_are_bounded() {
        let m = proto::UpdateExpertRequest {
            spec: Some(proto::ExpertSpec {
                id_number: "1".repeat(1 << 20),
                fields: vec!["F".repeat(CODE + 1)],
                employment: vec![proto::EmploymentRecord {
                    organization: "单".repeat(NAME + 1),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            fields(&m),
            [
                "spec.id_number",
                "spec.fields[0]",
                "spec.employment[0].organization"
            ]
        );
        let m = proto::RateEngagementRequest {
            scores: vec![proto::CriterionScore {
                criterion: "QUALITY".into(),
                score: Some(common::Decimal {
                    value: "9".repeat(NUMBER + 1),
                }),
            }],
            ..Default::default()
        };
        assert_eq!(fields(&m), ["scores[0].score"]);
        let m = proto::DrawExpertsRequest {
            task_ref: "T".repeat(CODE + 1),
            ..Default::default()
        };
        assert_eq!(fields(&m), ["task_ref"]);
        let m = proto::SetPoolRulesRequest {
            rules_json: " ".repeat(RULES_JSON + 1),
            ..Default::default()
        };
        assert_eq!(fields(&m), ["rules_json"]);
    }

    #[test]
    fn texts_at_their_maximum_and_empty_requests_pass() {
        let m = proto::ChangeAgencyStatusRequest {
            credit_code: "9".repeat(CODE),
            reason: "因".repeat(LONG),
            ..Default::default()
        };
        assert!(check(&m).is_ok());
        assert!(check(&proto::RegisterExpertRequest::default()).is_ok());
        assert!(check(&proto::CreateEngagementRequest::default()).is_ok());
    }
}
