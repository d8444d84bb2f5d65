//! Review outcomes (优 / 良 / 中 / 差) route the goal; the funding gate answers per project
//! with its reasons; the year's statistics; who may ask.

use pbm_auth::Role;
use pbm_proto::goal::v1 as pb;
use pbm_testkit::TestDatabase;
use tonic::Code;

use crate::common::*;

async fn review_outcomes_route_and_the_gate_answers(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    // Rules of the year: new projects of 500万元 and above need an ex-ante assessment.
    let r = pb::SetGoalRulesRequest {
        request_id: app.rid(),
        rules: Some(pb::GoalRules {
            fiscal_year: FY,
            ex_ante_threshold: dec("5000000"),
            ..Default::default()
        }),
        expected_version: 0,
    };
    let rules = app
        .goals
        .clone()
        .set_goal_rules(app.req(&finance(), r))
        .await
        .unwrap()
        .into_inner()
        .rules
        .unwrap();
    assert_eq!(
        rules.label,
        "2026年度目标规则第1版（事前评估门槛 5000000 元）"
    );
    for (code, amount, c) in [
        ("P-A", "6000000", pb::Continuity::New),
        ("P-B", "300000", pb::Continuity::Continuing),
        ("P-C", "300000", pb::Continuity::Continuing),
    ] {
        app.project(code, amount, c).await.unwrap();
    }
    // 中 returns the goal to the unit with comments; it is resubmitted.
    let b = app.save(&unit(), full("P-B"), 0).await.unwrap();
    let b = app.submit(&b).await.unwrap();
    let no_comment = app
        .review(&b, pb::ReviewOutcome::Fair, "")
        .await
        .unwrap_err();
    assert_eq!(no_comment.code(), Code::InvalidArgument);
    let returned = app
        .review(&b, pb::ReviewOutcome::Fair, "产出指标应细化到乡镇")
        .await
        .unwrap();
    assert_eq!(returned.status, pb::GoalStatus::Returned as i32);
    let again = app
        .save(&unit(), full("P-B"), returned.revision)
        .await
        .unwrap();
    let again = app.submit(&again).await.unwrap();
    let passed = app
        .review(&again, pb::ReviewOutcome::Excellent, "")
        .await
        .unwrap();
    assert_eq!(passed.first_review, pb::ReviewOutcome::Fair as i32);
    app.approve(&passed).await.unwrap();
    // 差 blocks the goal for this cycle.
    let c = app.save(&unit(), full("P-C"), 0).await.unwrap();
    let c = app.submit(&c).await.unwrap();
    let blocked = app
        .review(&c, pb::ReviewOutcome::Poor, "项目必要性不足")
        .await
        .unwrap();
    assert_eq!(blocked.status, pb::GoalStatus::Blocked as i32);
    let stuck = app
        .save(&unit(), full("P-C"), blocked.revision)
        .await
        .unwrap_err();
    assert_eq!(stuck.code(), Code::FailedPrecondition);

    let answers = app.funding(&["P-A", "P-B", "P-C", "P-404"]).await;
    let codes = |i: usize| {
        answers[i]
            .reasons
            .iter()
            .map(|r| r.code.as_str())
            .collect::<Vec<_>>()
    };
    assert!(!answers[0].allowed);
    assert_eq!(codes(0), ["NO_GOAL", "EX_ANTE_MISSING"]);
    assert!(answers[1].allowed, "{:?}", answers[1]);
    assert_eq!(codes(2), ["GOAL_BLOCKED"]);
    assert_eq!(codes(3)[0], "PROJECT_NOT_FOUND");
    assert_eq!(answers[1].rules, rules.label);
    // Statistics for the province: counts and amounts, as the local reports count them
    // (docs/DOMAIN.md "Statistics and publication").
    let r = pb::GetGoalStatisticsRequest {
        fiscal_year: FY,
        by_fund_source: true,
        ..Default::default()
    };
    let stats = app
        .goals
        .clone()
        .get_goal_statistics(app.req(&who(Role::Province, "140000", None, None), r))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stats.rows.len(), 1);
    let row = &stats.rows[0];
    assert_eq!(row.fund_source, pb::FundSource::GeneralPublic as i32);
    let t = |t: &Option<pb::Tally>| {
        let t = t.as_ref().unwrap();
        (t.count, t.amount.as_ref().unwrap().value.clone())
    };
    assert_eq!(t(&row.projects), (3, "6600000".into()));
    assert_eq!(t(&row.declared), (2, "600000".into()));
    assert_eq!(t(&row.passed_first_review), (0, "0".into()));
    assert_eq!(t(&row.returned), (1, "300000".into()));
    assert_eq!(t(&row.blocked), (1, "300000".into()));
    assert_eq!(t(&row.approved), (1, "300000".into()));
    // 事前绩效评估: P-A is new and at the threshold's 500万元 or above, and filed no report.
    let x = row.ex_ante.as_ref().unwrap();
    assert_eq!(t(&x.required), (1, "6000000".into()));
    assert_eq!(t(&x.missing), (1, "6000000".into()));
    assert_eq!(t(&x.reported), (0, "0".into()));
    assert_eq!(t(&x.not_supported), (0, "0".into()));
    let denied = app
        .goals
        .clone()
        .get_goal_statistics(app.req(&unit(), r))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    // A large batch (read as the whole year, filtered) answers the same.
    let many: Vec<String> = std::iter::once("P-B".to_owned())
        .chain((0..250).map(|i| format!("P-MISSING-{i}")))
        .collect();
    let big = app
        .funding(&many.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    assert_eq!(big.len(), 251);
    assert!(big[0].allowed);
    assert!(
        big[1..]
            .iter()
            .all(|a| !a.allowed && a.reasons[0].code == "PROJECT_NOT_FOUND")
    );
    // The gate is for finance, auditors and the province.
    let r = pb::CheckFundingEligibilityRequest {
        fiscal_year: FY,
        pro_codes: vec!["P-B".into()],
    };
    let denied = app
        .goals
        .clone()
        .check_funding_eligibility(app.req(&unit(), r))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}

pbm_testkit::backend_tests! {
    outcomes_and_gate => review_outcomes_route_and_the_gate_answers;
}
