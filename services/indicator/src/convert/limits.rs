//! The longest text every string field of every `pbm.indicator.v1` request may carry, as
//! stated on the field in proto/pbm/indicator/v1/*.proto, checked where the request is parsed
//! with the one check [`pbm_types::check_len`]: one `TEXT_TOO_LONG` violation per field over its
//! maximum, every field at once, before anything reads the texts.
//!
//! These bound what a request may carry at all. The library's own rules may be stricter and keep
//! their reasons ([`crate::domain::indicator`]: an indicator code is 1–32 characters, a name at
//! most 100, a tag at most 32, an explanation, formula, scoring rule or note at most 2,000); a
//! search text is at most 50 characters (`QUERY_TOO_LONG`, checked by the search).

use pbm_proto::indicator::v1 as proto;

use pbm_server::limits::{Bounded, nested};
pub use pbm_server::limits::{CODE, LONG, NAME, NUMBER, SHORT, Texts};
pub use pbm_server::limits::{check, check_under};

/// The contract whose texts these maxima bound (`pbm.indicator.v1`).
pub enum Indicator {}

impl Bounded<Indicator> for proto::FrameNode {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "code", "节点编码", &self.code, CODE);
        t.text(at, "name", "节点名称", &self.name, NAME);
        t.text(at, "parent_code", "上级节点编码", &self.parent_code, CODE);
    }
}

impl Bounded<Indicator> for proto::IndicatorSpec {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(
            at,
            "frame_node_code",
            "二级指标编码",
            &self.frame_node_code,
            CODE,
        );
        t.text(at, "name", "指标名称", &self.name, NAME);
        t.each(at, "industry_tags", "分行业标签", &self.industry_tags, CODE);
        t.each(at, "field_tags", "分领域标签", &self.field_tags, CODE);
        t.each(at, "level_tags", "分层次标签", &self.level_tags, CODE);
        t.text(at, "unit", "计量单位", &self.unit, NAME);
        t.text(at, "explanation", "指标解释", &self.explanation, LONG);
        t.text(at, "formula", "计算公式", &self.formula, LONG);
        t.text(at, "scoring_rule", "评分规则", &self.scoring_rule, LONG);
        t.text(
            at,
            "value_standard_note",
            "指标值设定依据说明",
            &self.value_standard_note,
            LONG,
        );
        t.text(
            at,
            "reference_target",
            "指标值",
            &self.reference_target,
            SHORT,
        );
        t.number(
            at,
            "last_year_value",
            "上年值",
            self.last_year_value.as_ref(),
        );
        t.number(
            at,
            "year_before_value",
            "前年值",
            self.year_before_value.as_ref(),
        );
        t.text(
            at,
            "owner_department",
            "所属部门",
            &self.owner_department,
            CODE,
        );
    }
}

impl Bounded<Indicator> for proto::IndicatorFilter {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(
            at,
            "frame_node_code",
            "二级指标编码",
            &self.frame_node_code,
            CODE,
        );
        t.text(at, "level1_code", "一级指标编码", &self.level1_code, CODE);
        t.text(at, "industry_tag", "分行业标签", &self.industry_tag, CODE);
        t.text(at, "field_tag", "分领域标签", &self.field_tag, CODE);
        t.text(at, "level_tag", "分层次标签", &self.level_tag, CODE);
        t.text(
            at,
            "owner_department",
            "所属部门",
            &self.owner_department,
            CODE,
        );
    }
}

// -- requests ------------------------------------------------------------------------------------

impl Bounded<Indicator> for proto::CreateFrameRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "name", "框架名称", &self.name, NAME);
        for (i, n) in self.nodes.iter().enumerate() {
            nested(t, at, &format!("nodes[{i}]"), n);
        }
    }
}

impl Bounded<Indicator> for proto::CreateIndicatorRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "code", "指标编码", &self.code, CODE);
        nested(t, at, "spec", &self.spec);
    }
}

impl Bounded<Indicator> for proto::UpdateIndicatorRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "code", "指标编码", &self.code, CODE);
        nested(t, at, "spec", &self.spec);
        t.text(at, "change_note", "修改说明", &self.change_note, SHORT);
    }
}

impl Bounded<Indicator> for proto::SetIndicatorStatusRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "code", "指标编码", &self.code, CODE);
        t.text(at, "reason", "原因", &self.reason, SHORT);
    }
}

impl Bounded<Indicator> for proto::GetIndicatorRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "code", "指标编码", &self.code, CODE);
    }
}

impl Bounded<Indicator> for proto::ListIndicatorVersionsRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "code", "指标编码", &self.code, CODE);
    }
}

impl Bounded<Indicator> for proto::ResolveIndicatorsRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        for (i, r) in self.refs.iter().enumerate() {
            if r.code.len() > CODE {
                t.text(at, &format!("refs[{i}].code"), "指标编码", &r.code, CODE);
            }
        }
    }
}

impl Bounded<Indicator> for proto::ProposeIndicatorRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "code", "指标编码", &self.code, CODE);
        nested(t, at, "spec", &self.spec);
        t.text(at, "reason", "申请理由", &self.reason, LONG);
    }
}

impl Bounded<Indicator> for proto::WatchLibraryRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "cursor", "游标", &self.cursor, CODE);
    }
}

impl Bounded<Indicator> for proto::DecideProposalRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "comment", "审核意见", &self.comment, LONG);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(m: &impl Bounded<Indicator>) -> Vec<(String, &'static str)> {
        pbm_server::limits::violations(m, "")
            .into_iter()
            .map(|v| (v.field, v.reason))
            .collect()
    }

    #[test]
    fn every_text_over_its_maximum_is_named_at_once() {
        let m = proto::CreateIndicatorRequest {
            code: "C".repeat(CODE + 1),
            spec: Some(proto::IndicatorSpec {
                name: "名".repeat(NAME),
                explanation: "释".repeat(1 << 20),
                field_tags: vec!["教育".into(), "标".repeat(CODE + 1)],
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            fields(&m),
            [
                ("code".to_owned(), "TEXT_TOO_LONG"),
                ("spec.field_tags[1]".to_owned(), "TEXT_TOO_LONG"),
                ("spec.explanation".to_owned(), "TEXT_TOO_LONG"),
            ]
        );
        let e = check(&m).unwrap_err();
        assert_eq!(e.reason, "TEXT_TOO_LONG");
        assert!(
            e.violations[2]
                .message
                .starts_with("「指标解释」不能超过 4000 个字符")
        );
    }

    #[test]
    fn texts_at_their_maximum_and_empty_requests_pass() {
        let m = proto::DecideProposalRequest {
            comment: "意".repeat(LONG),
            ..Default::default()
        };
        assert!(check(&m).is_ok());
        assert!(check(&proto::CreateFrameRequest::default()).is_ok());
        let m = proto::ResolveIndicatorsRequest {
            refs: vec![
                proto::IndicatorRef {
                    code: "OUT-001".into(),
                    version: 0,
                },
                proto::IndicatorRef {
                    code: "C".repeat(CODE + 1),
                    version: 0,
                },
            ],
            ..Default::default()
        };
        assert_eq!(fields(&m), [("refs[1].code".to_owned(), "TEXT_TOO_LONG")]);
    }
}
