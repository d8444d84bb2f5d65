//! Corrective actions (整改纠偏) through every state over real gRPC: created by finance or the
//! department, moved by the owner unit, verified or sent back by finance; overdue while past due
//! and not done, late when done after due; each reader sees only its own.

use pbm_proto::monitoring::v1 as mon;
use pbm_testkit::TestDatabase;
use tonic::{Code, Status};

use crate::common::*;
use crate::deviations::{RED, RED2, deviated_round};

impl App {
    pub async fn create_action(
        &self,
        who: &Who,
        request_id: &str,
        m: mon::CreateCorrectiveActionRequest,
    ) -> Result<mon::CorrectiveAction, Status> {
        let m = mon::CreateCorrectiveActionRequest {
            request_id: request_id.into(),
            ..m
        };
        Ok(self
            .deviations
            .clone()
            .create_corrective_action(self.req(who, m))
            .await?
            .into_inner()
            .action
            .unwrap())
    }

    pub async fn update_action(
        &self,
        who: &Who,
        a: &mon::CorrectiveAction,
        status: mon::ActionStatus,
        note: &str,
    ) -> Result<mon::CorrectiveAction, Status> {
        Ok(self
            .deviations
            .clone()
            .update_corrective_action(self.req(
                who,
                mon::UpdateCorrectiveActionRequest {
                    request_id: self.rid(),
                    action_id: a.id,
                    expected_revision: a.revision,
                    status: status as i32,
                    completion_note: note.into(),
                },
            ))
            .await?
            .into_inner()
            .action
            .unwrap())
    }

    pub async fn verify_action(
        &self,
        a: &mon::CorrectiveAction,
        accept: bool,
        comments: &str,
    ) -> Result<mon::CorrectiveAction, Status> {
        Ok(self
            .deviations
            .clone()
            .verify_corrective_action(self.req(
                &finance(),
                mon::VerifyCorrectiveActionRequest {
                    request_id: self.rid(),
                    action_id: a.id,
                    expected_revision: a.revision,
                    accept,
                    comments: comments.into(),
                },
            ))
            .await?
            .into_inner()
            .action
            .unwrap())
    }

    pub async fn actions_of(
        &self,
        who: &Who,
        m: mon::ListCorrectiveActionsRequest,
    ) -> Result<Vec<mon::CorrectiveAction>, Status> {
        Ok(self
            .deviations
            .clone()
            .list_corrective_actions(self.req(who, m))
            .await?
            .into_inner()
            .actions)
    }
}

fn action(round_id: i64, key: &str, due_on: &str) -> mon::CreateCorrectiveActionRequest {
    mon::CreateCorrectiveActionRequest {
        round_id,
        subject_key: key.into(),
        description: "加快项目实施进度，9月底前完成剩余工程招标".into(),
        contact: "张某 0356-1234567".into(),
        due_on: due_on.into(),
        ..Default::default()
    }
}

fn code_and_reason(s: &Status) -> (Code, String) {
    (s.code(), reason(s))
}

/// OPEN → IN_PROGRESS → DONE (late, with a note) → back to IN_PROGRESS → DONE → VERIFIED, with
/// overdue computed from the service's calendar; bad steps and stale revisions refused.
async fn an_action_goes_through_every_state(db: TestDatabase) {
    let app = spawn(db).await;
    let round = deviated_round(&app).await;

    // Finance creates; the owner defaults to the subject's unit; a retry replays.
    let created = app
        .create_action(&finance(), "act-1", action(round, RED, "2026-08-31"))
        .await
        .unwrap();
    assert_eq!(created.status, mon::ActionStatus::Open as i32);
    assert_eq!(created.owner_agency_code, UNIT);
    assert_eq!(created.department_code, DEPT);
    assert!(!created.overdue && !created.late);
    let again = app
        .create_action(&finance(), "act-1", action(round, RED, "2026-08-31"))
        .await
        .unwrap();
    assert_eq!(again, created);

    // The indicator must exist; the description is required; dates are dates, not past.
    let mut on_indicator = action(round, RED, "2026-08-31");
    on_indicator.seq = 2;
    let on_indicator = app
        .create_action(&department(), &app.rid(), on_indicator)
        .await
        .unwrap();
    assert_eq!(on_indicator.seq, 2);
    let mut bad = action(round, RED, "2026-08-31");
    bad.seq = 99;
    let refused = app
        .create_action(&finance(), &app.rid(), bad)
        .await
        .unwrap_err();
    assert_eq!(
        code_and_reason(&refused),
        (Code::InvalidArgument, "SEQ_NOT_FOUND".into())
    );
    let mut bad = action(round, RED, "2026-13-01");
    bad.description = "  ".into();
    let refused = app
        .create_action(&finance(), &app.rid(), bad)
        .await
        .unwrap_err();
    let fields: Vec<String> = violations(&refused).into_iter().map(|v| v.0).collect();
    assert_eq!(fields, ["description", "due_on"]);
    let refused = app
        .create_action(&finance(), &app.rid(), action(round, RED, "2026-07-01"))
        .await
        .unwrap_err();
    assert_eq!(reason(&refused), "DUE_ON_PAST");

    // The owner unit moves it; a stale revision and a skipped step are refused.
    let started = app
        .update_action(&unit(), &created, mon::ActionStatus::InProgress, "")
        .await
        .unwrap();
    assert_eq!(started.status, mon::ActionStatus::InProgress as i32);
    let stale = app
        .update_action(&unit(), &created, mon::ActionStatus::Done, "完成")
        .await
        .unwrap_err();
    assert_eq!(
        code_and_reason(&stale),
        (Code::Aborted, "STALE_REVISION".into())
    );
    let skipped = app
        .update_action(&unit(), &on_indicator, mon::ActionStatus::Done, "完成")
        .await
        .unwrap_err();
    assert_eq!(
        code_and_reason(&skipped),
        (Code::FailedPrecondition, "ILLEGAL_TRANSITION".into())
    );
    let no_note = app
        .update_action(&unit(), &started, mon::ActionStatus::Done, " ")
        .await
        .unwrap_err();
    assert_eq!(reason(&no_note), "COMPLETION_NOTE_REQUIRED");

    // Past the due day and not done: overdue (computed), and listed as such.
    app.set_today(chrono::NaiveDate::from_ymd_opt(FY, 9, 1).unwrap());
    let overdue = app
        .actions_of(
            &finance(),
            mon::ListCorrectiveActionsRequest {
                round_id: round,
                overdue_only: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(overdue.len(), 2);
    assert!(overdue.iter().all(|a| a.overdue));

    // Done after the due day: late, no longer overdue.
    let done = app
        .update_action(
            &unit(),
            &started,
            mon::ActionStatus::Done,
            "已完成招标并开工",
        )
        .await
        .unwrap();
    assert!(done.late && !done.overdue, "{done:?}");
    assert_eq!(done.completion_note, "已完成招标并开工");

    // Finance sends it back (comments required), the unit finishes it again, finance verifies.
    let no_comments = app.verify_action(&done, false, "").await.unwrap_err();
    assert_eq!(reason(&no_comments), "COMMENTS_REQUIRED");
    let back = app
        .verify_action(&done, false, "请补充开工证明材料")
        .await
        .unwrap();
    assert_eq!(back.status, mon::ActionStatus::InProgress as i32);
    assert_eq!(back.comments, "请补充开工证明材料");
    assert!(back.overdue);
    let not_done = app.verify_action(&back, true, "").await.unwrap_err();
    assert_eq!(reason(&not_done), "ILLEGAL_TRANSITION");
    let done = app
        .update_action(
            &department(),
            &back,
            mon::ActionStatus::Done,
            "已补充开工证明",
        )
        .await
        .unwrap();
    let verified = app.verify_action(&done, true, "整改到位").await.unwrap();
    assert_eq!(verified.status, mon::ActionStatus::Verified as i32);
    assert!(verified.late && !verified.overdue);
    let listed = app
        .actions_of(
            &finance(),
            mon::ListCorrectiveActionsRequest {
                round_id: round,
                status: mon::ActionStatus::Verified as i32,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(listed, [verified]);
    // The deviation list counts the action still open.
    let list = app
        .deviations_of(&finance(), round, "", None)
        .await
        .unwrap();
    assert_eq!(list.deviations[0].open_actions, 1);
}

/// A unit sees and moves only the actions it owns, a department only its units'; roles outside
/// the table are refused before the request is looked at.
async fn actions_are_narrowed_to_their_owners(db: TestDatabase) {
    let app = spawn(db).await;
    let round = deviated_round(&app).await;
    let mine = app
        .create_action(&finance(), &app.rid(), action(round, RED, "2026-08-31"))
        .await
        .unwrap();
    let theirs = app
        .create_action(
            &department2(),
            &app.rid(),
            action(round, RED2, "2026-08-31"),
        )
        .await
        .unwrap();
    assert_eq!(theirs.owner_agency_code, UNIT2);

    // A department creates only for its own units' subjects; a unit never creates.
    let foreign = app
        .create_action(&department2(), &app.rid(), action(round, RED, "2026-08-31"))
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::NotFound);
    let by_unit = app
        .create_action(&unit(), &app.rid(), action(round, RED, "2026-08-31"))
        .await
        .unwrap_err();
    assert_eq!(
        code_and_reason(&by_unit),
        (Code::PermissionDenied, "ROLE_NOT_ALLOWED".into())
    );
    // The owner is a unit of the subject's department.
    let mut elsewhere = action(round, RED, "2026-08-31");
    elsewhere.owner_agency_code = UNIT2.into();
    let elsewhere = app
        .create_action(&finance(), &app.rid(), elsewhere)
        .await
        .unwrap_err();
    assert_eq!(reason(&elsewhere), "OWNER_NOT_IN_DEPARTMENT");

    let all = mon::ListCorrectiveActionsRequest {
        round_id: round,
        ..Default::default()
    };
    let ids = |list: Vec<mon::CorrectiveAction>| list.iter().map(|a| a.id).collect::<Vec<_>>();
    assert_eq!(
        ids(app.actions_of(&unit(), all.clone()).await.unwrap()),
        [mine.id]
    );
    assert_eq!(
        ids(app.actions_of(&unit2(), all.clone()).await.unwrap()),
        [theirs.id]
    );
    assert_eq!(
        ids(app.actions_of(&department(), all.clone()).await.unwrap()),
        [mine.id]
    );
    assert_eq!(
        ids(app.actions_of(&auditor(), all.clone()).await.unwrap()),
        [mine.id, theirs.id]
    );

    // Another unit's action is not found; finance does not move an owner's step; the
    // department does not verify.
    let hidden = app
        .update_action(&unit2(), &mine, mon::ActionStatus::InProgress, "")
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
    let by_finance = app
        .update_action(&finance(), &mine, mon::ActionStatus::InProgress, "")
        .await
        .unwrap_err();
    assert_eq!(by_finance.code(), Code::PermissionDenied);
    let verify = app
        .deviations
        .clone()
        .verify_corrective_action(app.req(
            &department(),
            mon::VerifyCorrectiveActionRequest {
                request_id: app.rid(),
                action_id: mine.id,
                expected_revision: mine.revision,
                accept: true,
                comments: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(verify.code(), Code::PermissionDenied);
    for who in [agency("91350100M000100Y4X"), province()] {
        let denied = app.actions_of(&who, all.clone()).await.unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied, "{who:?}");
    }
}

pbm_testkit::backend_tests! {
    every_state => an_action_goes_through_every_state;
    narrowed_to_owners => actions_are_narrowed_to_their_owners;
}
