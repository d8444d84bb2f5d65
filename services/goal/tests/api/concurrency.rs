//! Workflow steps sent at once: racing retries answer the first response, rivals on one
//! revision are ABORTED, a reused request id is refused, every goal moves once.

use pbm_proto::goal::v1 as pb;
use pbm_testkit::TestDatabase;
use tonic::{Code, Status};

use crate::common::*;

/// Many workflow steps at once, as a busy bureau sends them (on PostgreSQL they are read and
/// written in batches, `src/ops/steps.rs`): every goal moves once; a retry answers what its first
/// attempt answered; of two different requests on the same revision one wins and the other is
/// ABORTED; a request id already used for another goal is refused and changes nothing, while the
/// steps beside it go through.
async fn concurrent_steps_on_many_goals(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    let mut drafts = Vec::new();
    for k in 0..10 {
        let code = format!("P-2026-1{k:02}");
        app.project(&code, "800000", pb::Continuity::Continuing)
            .await
            .unwrap();
        drafts.push(app.save(&unit(), full(&code), 0).await.unwrap());
    }
    let submit = |goal: &pb::Goal, request_id: &str| pb::SubmitGoalRequest {
        request_id: request_id.into(),
        goal_id: goal.id,
        expected_revision: goal.revision,
    };
    // Goal 9 is submitted first; its request id is then reused for goal 7.
    app.goals
        .clone()
        .submit_goal(app.req(&unit(), submit(&drafts[9], "many-early")))
        .await
        .unwrap();
    let mut requests = Vec::new();
    for (k, goal) in drafts.iter().enumerate().take(9) {
        let id = if k == 7 {
            "many-early".to_owned()
        } else {
            format!("many-{k}")
        };
        requests.push((k, "first", submit(goal, &id)));
        if k < 4 {
            requests.push((k, "retry", submit(goal, &id)));
        } else if k < 7 {
            requests.push((k, "rival", submit(goal, &format!("many-{k}-rival"))));
        }
    }
    let mut racing = Vec::new();
    for (k, kind, request) in requests {
        let (mut goals, r) = (app.goals.clone(), app.req(&unit(), request));
        racing.push(tokio::spawn(async move {
            (
                k,
                kind,
                goals
                    .submit_goal(r)
                    .await
                    .map(|r| r.into_inner().goal.unwrap()),
            )
        }));
    }
    let mut answers: Vec<Vec<(&str, Result<pb::Goal, Status>)>> =
        (0..10).map(|_| Vec::new()).collect();
    for t in racing {
        let (k, kind, answer) = t.await.unwrap();
        answers[k].push((kind, answer));
    }
    for (k, mine) in answers.iter().enumerate().take(9) {
        let won: Vec<&pb::Goal> = mine.iter().filter_map(|(_, a)| a.as_ref().ok()).collect();
        match k {
            0..4 => {
                assert_eq!(won.len(), 2, "goal {k}: {mine:?}");
                assert_eq!(
                    won[0], won[1],
                    "goal {k}: a retry answers the first response"
                );
            }
            4..7 => {
                assert_eq!(won.len(), 1, "goal {k}: {mine:?}");
                let lost = mine.iter().find_map(|(_, a)| a.as_ref().err()).unwrap();
                assert_eq!(
                    (lost.code(), reason(lost).as_str()),
                    (Code::Aborted, "STALE_REVISION"),
                    "goal {k}"
                );
            }
            7 => {
                let refused = mine[0].1.as_ref().unwrap_err();
                assert_eq!(
                    (refused.code(), reason(refused).as_str()),
                    (Code::InvalidArgument, "REQUEST_ID_REUSED")
                );
            }
            _ => assert!(mine[0].1.is_ok(), "goal {k}: {mine:?}"),
        }
        for g in &won {
            assert_eq!(
                (g.status, g.revision),
                (pb::GoalStatus::Submitted as i32, drafts[k].revision + 1),
                "goal {k}"
            );
        }
    }
    for (k, goal) in drafts.iter().enumerate() {
        let history = app.history(goal.id).await;
        let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
        let expected: &[&str] = if k == 7 {
            &["edit"]
        } else {
            &["edit", "submit"]
        };
        assert_eq!(actions, expected, "goal {k}");
    }
}

/// A workflow step is decided on a read and written in one guarded statement: retries of one
/// SubmitGoal racing each other all answer the first response, the goal moves once, its
/// history and the audit trail hold one submission; a second request on the old revision is
/// ABORTED and changes nothing.
async fn racing_retries_submit_once(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    app.project("P-2026-009", "800000", pb::Continuity::Continuing)
        .await
        .unwrap();
    let draft = app.save(&unit(), full("P-2026-009"), 0).await.unwrap();
    let request = pb::SubmitGoalRequest {
        request_id: "submit-race-1".into(),
        goal_id: draft.id,
        expected_revision: draft.revision,
    };
    let mut racing = Vec::new();
    for _ in 0..8 {
        let (mut goals, r) = (app.goals.clone(), app.req(&unit(), request.clone()));
        racing.push(tokio::spawn(async move { goals.submit_goal(r).await }));
    }
    let mut answers = Vec::new();
    for t in racing {
        answers.push(t.await.unwrap().unwrap().into_inner().goal.unwrap());
    }
    assert!(answers.iter().all(|g| g == &answers[0]), "{answers:?}");
    assert_eq!(
        (answers[0].status, answers[0].revision),
        (pb::GoalStatus::Submitted as i32, draft.revision + 1)
    );
    let other = pb::SubmitGoalRequest {
        request_id: "submit-race-2".into(),
        ..request
    };
    let stale = app
        .goals
        .clone()
        .submit_goal(app.req(&unit(), other))
        .await
        .unwrap_err();
    assert_eq!(
        (stale.code(), reason(&stale).as_str()),
        (Code::Aborted, "STALE_REVISION")
    );
    let history = app.history(draft.id).await;
    let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["edit", "submit"]);
    let current = app
        .goals
        .clone()
        .get_goal(app.req(
            &finance(),
            pb::GetGoalRequest {
                goal_id: draft.id,
                version: 0,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .goal
        .unwrap();
    assert_eq!(current.revision, draft.revision + 1);
}

pbm_testkit::backend_tests! {
    racing_retries => racing_retries_submit_once;
    many_at_once => concurrent_steps_on_many_goals;
}
