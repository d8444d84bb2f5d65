//! 目标规则: submissions are checked against the newest version of the year's rules.

use pbm_proto::goal::v1 as pb;
use pbm_testkit::TestDatabase;

use crate::common::*;

/// SubmitGoal checks against the newest version of the year's rules, read with the goal.
async fn submission_checks_the_rules_in_force(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    app.project("P-2026-010", "800000", pb::Continuity::Continuing)
        .await
        .unwrap();
    for (version, total) in [(0, "100"), (1, "90")] {
        let r = pb::SetGoalRulesRequest {
            request_id: app.rid(),
            rules: Some(pb::GoalRules {
                fiscal_year: FY,
                weight_total: dec(total),
                ..Default::default()
            }),
            expected_version: version,
        };
        app.goals
            .clone()
            .set_goal_rules(app.req(&finance(), r))
            .await
            .unwrap();
    }
    let mut weighted = full("P-2026-010");
    for (i, w) in ["30", "30", "40"].into_iter().enumerate() {
        weighted.indicators[i].weight = dec(w);
    }
    let draft = app.save(&unit(), weighted.clone(), 0).await.unwrap();
    let refused = app.submit(&draft).await.unwrap_err();
    let found = violations(&refused);
    assert!(
        found.iter().any(|(f, m)| f == "declaration.indicators"
            && m.contains("应为90")
            && m.contains("WEIGHT_TOTAL_INVALID")),
        "{found:?}"
    );
    weighted.indicators[2].weight = dec("30");
    let fixed = app.save(&unit(), weighted, draft.revision).await.unwrap();
    assert_eq!(
        app.submit(&fixed).await.unwrap().status,
        pb::GoalStatus::Submitted as i32
    );
}

pbm_testkit::backend_tests! {
    rules_in_force => submission_checks_the_rules_in_force;
}
