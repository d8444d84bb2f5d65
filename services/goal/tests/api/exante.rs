//! 事前绩效评估 reports filed by the unit and reviewed by finance gate the budget.

use pbm_auth::Role;
use pbm_proto::goal::v1 as pb;
use pbm_testkit::TestDatabase;
use tonic::Code;

use crate::common::*;

async fn ex_ante_reports_gate_the_budget(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    let r = pb::SetGoalRulesRequest {
        request_id: app.rid(),
        rules: Some(pb::GoalRules {
            fiscal_year: FY,
            ex_ante_threshold: dec("5000000"),
            ..Default::default()
        }),
        expected_version: 0,
    };
    app.goals
        .clone()
        .set_goal_rules(app.req(&finance(), r))
        .await
        .unwrap();
    app.project("P-NEW", "6000000", pb::Continuity::New)
        .await
        .unwrap();
    let g = app.save(&unit(), full("P-NEW"), 0).await.unwrap();
    let g = app.submit(&g).await.unwrap();
    let g = app
        .review(&g, pb::ReviewOutcome::Excellent, "")
        .await
        .unwrap();
    app.approve(&g).await.unwrap();
    let reasons =
        |a: &pb::FundingEligibility| a.reasons.iter().map(|r| r.code.clone()).collect::<Vec<_>>();
    // Approved goal, no report: no budget.
    assert_eq!(
        reasons(&app.funding(&["P-NEW"]).await[0]),
        ["EX_ANTE_MISSING"]
    );

    // A report missing a dimension is refused with the field, and nothing is filed.
    let mut incomplete = report("P-NEW", "support", "");
    incomplete.scores.pop();
    let err = app.ex_ante(&unit(), incomplete, 0).await.unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::InvalidArgument, "EX_ANTE_REPORT_INVALID")
    );
    assert!(
        violations(&err)
            .iter()
            .any(|(_, m)| m.contains("DIMENSION_MISSING")),
        "{:?}",
        violations(&err)
    );
    // 不予支持 needs its reason.
    let err = app
        .ex_ante(&unit(), report("P-NEW", "不予支持", ""), 0)
        .await
        .unwrap_err();
    assert!(violations(&err).iter().any(|(f, _)| f == "report.summary"));

    let filed = app
        .ex_ante(&unit(), report("P-NEW", "support", ""), 0)
        .await
        .unwrap();
    assert_eq!((filed.review_state.as_str(), filed.version), ("pending", 1));
    assert_eq!(filed.total.as_ref().unwrap().value, "88.5");
    assert_eq!(
        reasons(&app.funding(&["P-NEW"]).await[0]),
        ["EX_ANTE_PENDING_REVIEW"]
    );
    // Insufficient needs a written opinion; then the report is returned.
    assert_eq!(
        app.review_ex_ante(&filed, false, "")
            .await
            .unwrap_err()
            .code(),
        Code::InvalidArgument
    );
    let returned = app
        .review_ex_ante(&filed, false, "成本测算依据不足")
        .await
        .unwrap();
    assert_eq!(returned.review_state, "insufficient");
    assert_eq!(
        reasons(&app.funding(&["P-NEW"]).await[0]),
        ["EX_ANTE_INSUFFICIENT"]
    );
    // Resubmitted as 不予支持: not fundable.
    let not_supported = app
        .ex_ante(
            &unit(),
            report("P-NEW", "not_supported", "同类项目已由省级资金覆盖"),
            returned.version,
        )
        .await
        .unwrap();
    assert_eq!(
        reasons(&app.funding(&["P-NEW"]).await[0]),
        ["EX_ANTE_NOT_SUPPORTED"]
    );
    // Resubmitted with support and found sufficient: fundable.
    let supported = app
        .ex_ante(
            &unit(),
            report("P-NEW", "support", ""),
            not_supported.version,
        )
        .await
        .unwrap();
    let reviewed = app.review_ex_ante(&supported, true, "").await.unwrap();
    assert_eq!(reviewed.gate, "事前绩效评估予以支持");
    assert!(app.funding(&["P-NEW"]).await[0].allowed);
    // Stale versions are ABORTED; other units and the public do not see or file reports.
    assert_eq!(
        app.ex_ante(&unit(), report("P-NEW", "support", ""), 1)
            .await
            .unwrap_err()
            .code(),
        Code::Aborted
    );
    let other = who(Role::BudgetUnit, REGION, Some("140500999"), Some(DEPT));
    assert_eq!(
        app.ex_ante(&other, report("P-NEW", "support", ""), reviewed.version)
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    let get = |caller: Who| {
        let mut c = app.goals.clone();
        let r = app.req(
            &caller,
            pb::GetExAnteReportRequest {
                pro_code: "P-NEW".into(),
                fiscal_year: FY,
            },
        );
        async move { c.get_ex_ante_report(r).await }
    };
    assert!(get(unit()).await.is_ok());
    assert_eq!(get(other).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(
        get(who(Role::Public, REGION, None, None))
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
}

pbm_testkit::backend_tests! {
    ex_ante => ex_ante_reports_gate_the_budget;
}
