//! Names of the `pbm.agency.v1` enums: the short key used on the command line and in JSON
//! (`accounting_firm`), the Chinese label shown in tables and written to spreadsheets
//! (会计师事务所), and the proto value. Parsing accepts the key (with `-` or `_`), the Chinese
//! label, or the full proto name (`AGENCY_TYPE_ACCOUNTING_FIRM`), and a few shorter aliases
//! (`ex-ante` for `ex_ante_assessment`).

use pbm_proto::agency::v1 as pb;

pub struct Name {
    pub value: i32,
    pub key: &'static str,
    pub zh: &'static str,
    /// Other accepted keys (lower case, `_`), e.g. `ex_ante`.
    pub aliases: &'static [&'static str],
}

pub struct Names {
    /// Prefix of the proto value names, e.g. `AGENCY_TYPE_`.
    pub prefix: &'static str,
    pub names: &'static [Name],
}

const fn n(value: i32, key: &'static str, zh: &'static str) -> Name {
    Name {
        value,
        key,
        zh,
        aliases: &[],
    }
}

/// A name with aliases.
const fn na(
    value: i32,
    key: &'static str,
    zh: &'static str,
    aliases: &'static [&'static str],
) -> Name {
    Name {
        value,
        key,
        zh,
        aliases,
    }
}

impl Name {
    fn has_key(&self, key: &str) -> bool {
        self.key == key || self.aliases.contains(&key)
    }
}

impl Names {
    /// The value named by `text` (key, Chinese label or full proto name), if any.
    pub fn parse(&self, text: &str) -> Option<i32> {
        let text = text.trim();
        let key = text.to_ascii_lowercase().replace('-', "_");
        let key = key
            .strip_prefix(&self.prefix.to_ascii_lowercase())
            .unwrap_or(&key);
        self.names
            .iter()
            .find(|n| n.has_key(key) || n.zh == text)
            .map(|n| n.value)
    }

    /// Like [`Names::parse`], with an error listing the accepted keys.
    pub fn parse_or_err(&self, text: &str) -> Result<i32, String> {
        self.parse(text)
            .ok_or_else(|| format!("「{text}」无效，可选: {}", self.choices()))
    }

    /// The accepted keys and labels, for errors and help: `accounting_firm (会计师事务所), …`
    /// (aliases after the key: `ex_ante_assessment|ex_ante (事前绩效评估)`).
    pub fn choices(&self) -> String {
        self.names
            .iter()
            .map(|n| {
                let mut keys = vec![n.key];
                keys.extend(n.aliases);
                format!("{} ({})", keys.join("|"), n.zh)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The Chinese labels, as spreadsheets take them: `初级、中级、副高级、正高级`.
    pub fn zh_list(&self) -> String {
        self.names
            .iter()
            .map(|n| n.zh)
            .collect::<Vec<_>>()
            .join("、")
    }

    fn find(&self, value: i32) -> Option<&Name> {
        self.names.iter().find(|n| n.value == value)
    }

    /// The key of a value; `""` for 0 (unspecified), `unknown(N)` for a value this client does
    /// not know.
    pub fn key(&self, value: i32) -> String {
        match self.find(value) {
            Some(n) => n.key.to_owned(),
            None if value == 0 => String::new(),
            None => format!("unknown({value})"),
        }
    }

    /// The Chinese label of a value (see [`Names::key`] for 0 and unknown values).
    pub fn zh(&self, value: i32) -> String {
        match self.find(value) {
            Some(n) => n.zh.to_owned(),
            None if value == 0 => String::new(),
            None => format!("unknown({value})"),
        }
    }

    /// The Chinese label of a key as stored in histories (`admitted` → 入库); other text as is.
    pub fn zh_of_key(&self, key: &str) -> String {
        self.names
            .iter()
            .find(|n| n.has_key(key))
            .map_or_else(|| key.to_owned(), |n| n.zh.to_owned())
    }
}

pub const AGENCY_TYPE: Names = Names {
    prefix: "AGENCY_TYPE_",
    names: &[
        n(
            pb::AgencyType::AccountingFirm as i32,
            "accounting_firm",
            "会计师事务所",
        ),
        n(
            pb::AgencyType::AssetAppraisal as i32,
            "asset_appraisal",
            "资产评估机构",
        ),
        n(pb::AgencyType::LawFirm as i32, "law_firm", "律师事务所"),
        n(pb::AgencyType::Consulting as i32, "consulting", "咨询机构"),
        n(
            pb::AgencyType::ResearchInstitute as i32,
            "research_institute",
            "科研院所",
        ),
        n(pb::AgencyType::University as i32, "university", "高等院校"),
    ],
};

pub const SCOPE: Names = Names {
    prefix: "SERVICE_SCOPE_",
    names: &[
        n(
            pb::ServiceScope::ExAnteAndGoalReview as i32,
            "ex_ante_and_goal_review",
            "事前绩效评估和绩效目标审核",
        ),
        n(
            pb::ServiceScope::Evaluation as i32,
            "evaluation",
            "绩效评价或评价结果复核",
        ),
        n(
            pb::ServiceScope::IndicatorSystem as i32,
            "indicator_system",
            "指标体系建设",
        ),
        n(pb::ServiceScope::Research as i32, "research", "课题研究"),
    ],
};

pub const AGENCY_STATUS: Names = Names {
    prefix: "AGENCY_STATUS_",
    names: &[
        n(pb::AgencyStatus::Admitted as i32, "admitted", "入库"),
        n(pb::AgencyStatus::Warned as i32, "warned", "警告"),
        n(pb::AgencyStatus::Suspended as i32, "suspended", "暂停"),
        n(pb::AgencyStatus::Removed as i32, "removed", "清退"),
        n(pb::AgencyStatus::Expired as i32, "expired", "资格到期"),
    ],
};

pub const EXPERT_STATUS: Names = Names {
    prefix: "EXPERT_STATUS_",
    names: &[
        n(pb::ExpertStatus::Active as i32, "active", "入库"),
        n(pb::ExpertStatus::UnderReview as i32, "under_review", "考评"),
        n(pb::ExpertStatus::Exited as i32, "exited", "退出"),
    ],
};

pub const TITLE: Names = Names {
    prefix: "TITLE_LEVEL_",
    names: &[
        n(pb::TitleLevel::Junior as i32, "junior", "初级"),
        n(pb::TitleLevel::Intermediate as i32, "intermediate", "中级"),
        n(pb::TitleLevel::Senior as i32, "senior", "副高级"),
        n(pb::TitleLevel::FullSenior as i32, "full_senior", "正高级"),
    ],
};

pub const RELATION: Names = Names {
    prefix: "RELATION_KIND_",
    names: &[
        n(pb::RelationKind::WorkedFor as i32, "worked_for", "任职"),
        n(pb::RelationKind::Directed as i32, "directed", "指导"),
        n(pb::RelationKind::Controlled as i32, "controlled", "控制"),
        n(pb::RelationKind::Family as i32, "family", "亲属"),
        n(
            pb::RelationKind::OtherInterest as i32,
            "other_interest",
            "其他利害关系",
        ),
    ],
};

pub const SEVERITY: Names = Names {
    prefix: "SEVERITY_",
    names: &[
        n(pb::Severity::Minor as i32, "minor", "一般"),
        n(pb::Severity::Major as i32, "major", "严重"),
    ],
};

pub const ENGAGEMENT_KIND: Names = Names {
    prefix: "ENGAGEMENT_KIND_",
    names: &[
        na(
            pb::EngagementKind::ExAnteAssessment as i32,
            "ex_ante_assessment",
            "事前绩效评估",
            &["ex_ante"],
        ),
        n(
            pb::EngagementKind::GoalReview as i32,
            "goal_review",
            "绩效目标审核",
        ),
        n(
            pb::EngagementKind::Evaluation as i32,
            "evaluation",
            "绩效评价",
        ),
        n(
            pb::EngagementKind::EvaluationReview as i32,
            "evaluation_review",
            "评价结果复核",
        ),
        n(
            pb::EngagementKind::IndicatorSystem as i32,
            "indicator_system",
            "指标体系建设",
        ),
        n(pb::EngagementKind::Research as i32, "research", "课题研究"),
        // Never commissionable: accepted here so that the server refuses them with its reason.
        n(
            pb::EngagementKind::GoalSetting as i32,
            "goal_setting",
            "绩效目标设定",
        ),
        n(
            pb::EngagementKind::Monitoring as i32,
            "monitoring",
            "绩效运行监控",
        ),
        n(
            pb::EngagementKind::SelfEvaluation as i32,
            "self_evaluation",
            "单位自评",
        ),
    ],
};

pub const DRAW_ANSWER: Names = Names {
    prefix: "DRAW_ANSWER_",
    names: &[
        n(pb::DrawAnswer::Pending as i32, "pending", "待确认"),
        n(pb::DrawAnswer::Accepted as i32, "accepted", "参加"),
        n(pb::DrawAnswer::Declined as i32, "declined", "不参加"),
    ],
};

pub const DRAW_SUBJECT: Names = Names {
    prefix: "DRAW_SUBJECT_",
    names: &[
        n(pb::DrawSubject::Experts as i32, "experts", "专家"),
        n(pb::DrawSubject::Agencies as i32, "agencies", "机构"),
    ],
};

/// The names of a `pbm.agency.v1` enum by its full proto name (`pbm.agency.v1.AgencyType`), for
/// JSON (`json.rs`).
pub fn of_enum(full_name: &str) -> Option<&'static Names> {
    Some(match full_name.strip_prefix("pbm.agency.v1.")? {
        "AgencyType" => &AGENCY_TYPE,
        "ServiceScope" => &SCOPE,
        "AgencyStatus" => &AGENCY_STATUS,
        "ExpertStatus" => &EXPERT_STATUS,
        "TitleLevel" => &TITLE,
        "RelationKind" => &RELATION,
        "Severity" => &SEVERITY,
        "EngagementKind" => &ENGAGEMENT_KIND,
        "DrawAnswer" => &DRAW_ANSWER,
        "DrawSubject" => &DRAW_SUBJECT,
        _ => return None,
    })
}

/// What a credit grade does (`RatingExplanation.action`, a string on the wire).
pub fn rating_action_zh(action: &str, suspend_months: i32) -> String {
    match action {
        "none" => "无".into(),
        "warning" => "警告".into(),
        "suspend" if suspend_months > 0 => format!("暂停 {suspend_months} 个月"),
        "suspend" => "暂停".into(),
        "remove" => "清退".into(),
        other => other.into(),
    }
}

/// clap value parsers (the value is the proto enum number).
pub fn agency_type_arg(s: &str) -> Result<i32, String> {
    AGENCY_TYPE.parse_or_err(s)
}
pub fn scope_arg(s: &str) -> Result<i32, String> {
    SCOPE.parse_or_err(s)
}
pub fn agency_status_arg(s: &str) -> Result<i32, String> {
    AGENCY_STATUS.parse_or_err(s)
}
pub fn expert_status_arg(s: &str) -> Result<i32, String> {
    EXPERT_STATUS.parse_or_err(s)
}
pub fn title_arg(s: &str) -> Result<i32, String> {
    TITLE.parse_or_err(s)
}
pub fn severity_arg(s: &str) -> Result<i32, String> {
    SEVERITY.parse_or_err(s)
}
pub fn engagement_kind_arg(s: &str) -> Result<i32, String> {
    ENGAGEMENT_KIND.parse_or_err(s)
}

/// clap value parser for `YYYY-MM-DD`.
pub fn date_arg(s: &str) -> Result<String, String> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map(|d| d.format("%Y-%m-%d").to_string())
        .map_err(|_| format!("日期「{s}」无效，格式应为 YYYY-MM-DD"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_labels_and_proto_names() {
        let v = pb::AgencyType::AccountingFirm as i32;
        assert_eq!(AGENCY_TYPE.parse("accounting_firm"), Some(v));
        assert_eq!(AGENCY_TYPE.parse("accounting-firm"), Some(v));
        assert_eq!(AGENCY_TYPE.parse("会计师事务所"), Some(v));
        assert_eq!(AGENCY_TYPE.parse("AGENCY_TYPE_ACCOUNTING_FIRM"), Some(v));
        assert_eq!(AGENCY_TYPE.parse("bank"), None);
        assert_eq!(EXPERT_STATUS.parse("under-review"), Some(2));
        assert_eq!(AGENCY_STATUS.zh_of_key("suspended"), "暂停");
        assert_eq!(AGENCY_STATUS.zh_of_key(""), "");
        assert_eq!(SEVERITY.key(9), "unknown(9)");
    }

    #[test]
    fn engagement_kinds_take_short_names_and_aliases() {
        let ex_ante = pb::EngagementKind::ExAnteAssessment as i32;
        assert_eq!(ENGAGEMENT_KIND.parse("ex-ante"), Some(ex_ante));
        assert_eq!(ENGAGEMENT_KIND.parse("ex_ante_assessment"), Some(ex_ante));
        assert_eq!(
            ENGAGEMENT_KIND.parse("ENGAGEMENT_KIND_EX_ANTE_ASSESSMENT"),
            Some(ex_ante)
        );
        assert_eq!(ENGAGEMENT_KIND.parse("事前绩效评估"), Some(ex_ante));
        for (text, kind) in [
            ("goal-review", pb::EngagementKind::GoalReview),
            ("evaluation", pb::EngagementKind::Evaluation),
            ("evaluation-review", pb::EngagementKind::EvaluationReview),
            ("indicator-system", pb::EngagementKind::IndicatorSystem),
            ("research", pb::EngagementKind::Research),
            ("goal-setting", pb::EngagementKind::GoalSetting),
            ("monitoring", pb::EngagementKind::Monitoring),
            ("self-evaluation", pb::EngagementKind::SelfEvaluation),
        ] {
            assert_eq!(ENGAGEMENT_KIND.parse(text), Some(kind as i32), "{text}");
        }
        assert_eq!(ENGAGEMENT_KIND.parse("audit"), None);
        assert_eq!(ENGAGEMENT_KIND.zh_of_key("ex_ante"), "事前绩效评估");
        assert!(
            ENGAGEMENT_KIND
                .choices()
                .starts_with("ex_ante_assessment|ex_ante (事前绩效评估), goal_review")
        );
        assert_eq!(rating_action_zh("suspend", 6), "暂停 6 个月");
        assert_eq!(DRAW_ANSWER.zh(pb::DrawAnswer::Declined as i32), "不参加");
        assert_eq!(
            DRAW_SUBJECT.key(pb::DrawSubject::Agencies as i32),
            "agencies"
        );
        assert_eq!(DRAW_SUBJECT.zh(pb::DrawSubject::Experts as i32), "专家");
    }
}
