//! 二上二下: a goal declared, checked against the library, submitted, reviewed, amended,
//! approved and published in step with the budget; exported with the national element names;
//! changed after approval only through an adjustment; its full history.

use pbm_auth::Role;
use pbm_proto::goal::v1 as pb;
use pbm_testkit::TestDatabase;
use tonic::{Code, Status};

use crate::common::*;

async fn goals_move_in_step_with_the_budget(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    app.project("P-2026-002", "800000", pb::Continuity::Continuing)
        .await
        .unwrap();

    // A declaration without benefit and satisfaction indicators is refused at 二上, all at once.
    let draft = app
        .save(
            &unit(),
            declaration("P-2026-002", vec![lib("OUT-001", "12")]),
            0,
        )
        .await
        .unwrap();
    assert_eq!(draft.status, pb::GoalStatus::Draft as i32);
    let d = draft.declaration.clone().unwrap();
    // The library filled in levels, name, unit and pinned the version.
    assert_eq!(
        (
            d.indicators[0].level2_name.as_str(),
            d.indicators[0].unit.as_str(),
            d.indicators[0].library_version
        ),
        ("数量指标", "处", 1)
    );
    let refused = app.submit(&draft).await.unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused).as_str()),
        (Code::InvalidArgument, "GOAL_QUALITY_FAILED")
    );
    let found = violations(&refused);
    assert!(
        found
            .iter()
            .any(|(_, m)| m.contains("MISSING_BENEFIT_INDICATOR"))
            && found
                .iter()
                .any(|(_, m)| m.contains("MISSING_SATISFACTION_INDICATOR")),
        "{found:?}"
    );
    // Nothing changed: the same revision submits after the fix.
    let fixed = app
        .save(&unit(), full("P-2026-002"), draft.revision)
        .await
        .unwrap();
    let submitted = app.submit(&fixed).await.unwrap();
    assert_eq!(submitted.status, pb::GoalStatus::Submitted as i32);
    // A stale revision is ABORTED; a retried request returns the first result.
    let stale = app.submit(&fixed).await.unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);

    // 良: finance must amend before approving; the amendment keeps its diff.
    let reviewed = app
        .review(
            &submitted,
            pb::ReviewOutcome::Good,
            "受益人口口径需与统计局一致",
        )
        .await
        .unwrap();
    assert_eq!(reviewed.status_text, "已审核（良）");
    let early = app.approve(&reviewed).await.unwrap_err();
    assert_eq!(early.code(), Code::FailedPrecondition);
    let mut amended_decl = full("P-2026-002");
    amended_decl.indicators[1].target_value = "31500".into();
    let amend = pb::AmendGoalRequest {
        request_id: app.rid(),
        goal_id: reviewed.id,
        expected_revision: reviewed.revision,
        declaration: Some(amended_decl),
        comments: "按统计口径修正".into(),
    };
    let amended = app
        .goals
        .clone()
        .amend_goal(app.req(&finance(), amend.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        amended
            .changes
            .iter()
            .map(|c| (c.field.as_str(), c.before.as_str(), c.after.as_str()))
            .collect::<Vec<_>>(),
        [("indicators[1].target_value", "32000", "31500")]
    );
    // The same request id replays the first answer.
    let replay = app
        .goals
        .clone()
        .amend_goal(app.req(&finance(), amend))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replay, amended);
    let goal = amended.goal.unwrap();
    // A unit may not approve (二下 is finance's).
    let r = pb::ApproveGoalRequest {
        request_id: app.rid(),
        goal_id: goal.id,
        expected_revision: goal.revision,
    };
    let denied = app
        .goals
        .clone()
        .approve_goal(app.req(&unit(), r))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let approved = app.approve(&goal).await.unwrap();
    assert_eq!(
        (approved.status, approved.approved_version),
        (pb::GoalStatus::Approved as i32, 1)
    );
    let r = pb::PublishGoalRequest {
        request_id: app.rid(),
        goal_id: approved.id,
        expected_revision: approved.revision,
    };
    let published = app
        .goals
        .clone()
        .publish_goal(app.req(&finance(), r))
        .await
        .unwrap()
        .into_inner()
        .goal
        .unwrap();
    assert_eq!(published.published_version, 1);

    // The approved goal exports with the national element names, one row per indicator.
    let export = |caller: Who| {
        let mut c = app.goals.clone();
        let r = app.req(
            &caller,
            pb::ExportApprovedGoalsRequest {
                fiscal_year: FY,
                department_code: String::new(),
            },
        );
        async move {
            use tokio_stream::StreamExt;
            let chunks: Vec<pb::ExportApprovedGoalsChunk> = c
                .export_approved_goals(r)
                .await?
                .into_inner()
                .collect::<Result<_, _>>()
                .await?;
            Ok::<_, Status>(chunks)
        }
    };
    let chunks = export(finance()).await.unwrap();
    assert_eq!((chunks[0].goals, chunks[0].rows), (1, 3));
    let bytes: Vec<u8> = chunks.iter().flat_map(|c| c.data.clone()).collect();
    let table = pbm_xlsx::read_table(&bytes, &pbm_goal::EXPORT_COLUMNS).unwrap();
    let benefit = &table[1].cells;
    assert_eq!(
        (
            benefit[4].as_str(),
            benefit[8].as_str(),
            benefit[10].as_str()
        ),
        ("P-2026-002", "受益人口", "31500")
    );
    assert_eq!(benefit[13], "受益人口达到目标值得满分，每低1%扣0.5分");
    assert_eq!(
        export(who(Role::Public, REGION, None, None))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );

    // After approval the goal changes only through an adjustment with its reference.
    let mut adjust = pb::RequestAdjustmentRequest {
        request_id: app.rid(),
        goal_id: published.id,
        expected_revision: published.revision,
        budget_adjustment_ref: String::new(),
        reason: "追加资金".into(),
    };
    let missing_ref = app
        .goals
        .clone()
        .request_adjustment(app.req(&unit(), adjust.clone()))
        .await
        .unwrap_err();
    assert_eq!(missing_ref.code(), Code::InvalidArgument);
    adjust.request_id = app.rid();
    adjust.budget_adjustment_ref = "晋市财预〔2026〕15号".into();
    let adjusting = app
        .goals
        .clone()
        .request_adjustment(app.req(&unit(), adjust))
        .await
        .unwrap()
        .into_inner()
        .goal
        .unwrap();
    assert_eq!(
        (
            adjusting.status,
            adjusting.latest_version,
            adjusting.approved_version
        ),
        (pb::GoalStatus::Adjusting as i32, 2, 1)
    );
    // Both versions stay readable; the approved one stays in force for funding.
    let v1 = app
        .goals
        .clone()
        .get_goal(app.req(
            &unit(),
            pb::GetGoalRequest {
                goal_id: adjusting.id,
                version: 1,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .goal
        .unwrap();
    assert_eq!(v1.declaration.unwrap().indicators[1].target_value, "31500");
    let answers = app.funding(&["P-2026-002"]).await;
    assert!(answers[0].allowed, "{:?}", answers[0]);

    // Full history: who did what, with comments, diffs and the adjustment reference.
    let history = app.history(adjusting.id).await;
    let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "edit",
            "edit",
            "submit",
            "review",
            "amend",
            "approve",
            "publish",
            "request_adjustment"
        ]
    );
    assert_eq!(history[4].changes.len(), 1);
    assert_eq!(history[3].comments, "受益人口口径需与统计局一致");
    assert_eq!(history[7].budget_adjustment_ref, "晋市财预〔2026〕15号");
}

pbm_testkit::backend_tests! {
    lifecycle => goals_move_in_step_with_the_budget;
}
