//! `pbmctl stats`: pool statistics as the provincial platform reads them
//! (`GetPoolStatistics`): agencies by type and status, experts by field and status, credit
//! grades, engagements by year and kind.

use pbm_proto::agency::v1 as pb;

use crate::client::{Ctx, Outcome};
use crate::json;
use crate::names::{AGENCY_STATUS, AGENCY_TYPE, ENGAGEMENT_KIND, EXPERT_STATUS};
use crate::table::{Table, fields};

pub async fn run(ctx: &Ctx) -> Outcome {
    let stats = ctx
        .api()
        .get_pool_statistics(ctx.req(pb::GetPoolStatisticsRequest {}))
        .await?
        .into_inner();
    if ctx.json {
        json::print(&json::message(&stats));
    } else {
        print!("{}", text(&stats));
    }
    Ok(())
}

/// The label of a key: the Chinese name of a stable English code (`accounting_firm` →
/// 会计师事务所; `2026/evaluation` → 2026年 绩效评价); other keys (field codes, grades) as is.
fn label(section: Section, key: &str) -> String {
    match section {
        Section::AgencyType => AGENCY_TYPE.zh_of_key(key),
        Section::AgencyStatus => AGENCY_STATUS.zh_of_key(key),
        Section::ExpertStatus => EXPERT_STATUS.zh_of_key(key),
        Section::EngagementYearKind => match key.split_once('/') {
            Some((year, kind)) => format!("{year}年 {}", ENGAGEMENT_KIND.zh_of_key(kind)),
            None => key.to_owned(),
        },
        Section::Plain => key.to_owned(),
    }
}

#[derive(Clone, Copy)]
enum Section {
    AgencyType,
    AgencyStatus,
    ExpertStatus,
    EngagementYearKind,
    Plain,
}

fn text(s: &pb::GetPoolStatisticsResponse) -> String {
    let mut out = fields(&[
        ("财政区划 region", s.mof_div_code.clone()),
        ("统计日期 as of", s.as_of.clone()),
        ("规则 rules", s.rules.clone()),
    ]);
    let sections: [(&str, &[pb::CountByKey], Section); 6] = [
        (
            "机构类型 agencies by type",
            &s.agencies_by_type,
            Section::AgencyType,
        ),
        (
            "机构状态 agencies by status",
            &s.agencies_by_status,
            Section::AgencyStatus,
        ),
        (
            "机构信用等级 agency grades",
            &s.agency_grades,
            Section::Plain,
        ),
        (
            "专家领域 experts by field",
            &s.experts_by_field,
            Section::Plain,
        ),
        (
            "专家状态 experts by status",
            &s.experts_by_status,
            Section::ExpertStatus,
        ),
        (
            "委托（按结束年度和事项）engagements by year and kind",
            &s.engagements_by_year_and_kind,
            Section::EngagementYearKind,
        ),
    ];
    for (title, counts, section) in sections {
        out.push('\n');
        out.push_str(title);
        out.push('\n');
        if counts.is_empty() {
            out.push_str("（无 / none）\n");
            continue;
        }
        let total: i64 = counts.iter().map(|c| c.count).sum();
        match section {
            Section::Plain => {
                let mut t = Table::new(&["键 key", "数量"]);
                for c in counts {
                    t.row(vec![c.key.clone(), c.count.to_string()]);
                }
                t.row(vec!["合计".into(), total.to_string()]);
                out.push_str(&t.render());
            }
            _ => {
                let mut t = Table::new(&["键 key", "名称", "数量"]);
                for c in counts {
                    t.row(vec![
                        c.key.clone(),
                        label(section, &c.key),
                        c.count.to_string(),
                    ]);
                }
                t.row(vec!["合计".into(), String::new(), total.to_string()]);
                out.push_str(&t.render());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_list_is_a_table_with_labels() {
        let c = |key: &str, count| pb::CountByKey {
            key: key.into(),
            count,
        };
        let s = pb::GetPoolStatisticsResponse {
            mof_div_code: "140500".into(),
            as_of: "2026-06-01".into(),
            agencies_by_type: vec![c("accounting_firm", 2)],
            agencies_by_status: vec![c("admitted", 1), c("expired", 1)],
            experts_by_field: vec![c("LAW", 3)],
            experts_by_status: vec![c("active", 3)],
            agency_grades: vec![c("B", 2)],
            engagements_by_year_and_kind: vec![c("2026/ex_ante_assessment", 1)],
            rules: "2026年度全国默认规则".into(),
        };
        let text = text(&s);
        for expected in [
            "会计师事务所",
            "资格到期",
            "LAW",
            "入库",
            "2026年 事前绩效评估",
            "2026年度全国默认规则",
        ] {
            assert!(text.contains(expected), "{expected} in\n{text}");
        }
        assert_eq!(text.matches("合计").count(), 6, "{text}");
    }
}
