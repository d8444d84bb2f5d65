//! SelfEvaluationService over real gRPC, on both backends: the unit's saves scored by the engine
//! on every save, completeness at submission, the department's review and finance's receipt,
//! returns, the lock after the deadline and a reopened unit's late submission, the history, and
//! who sees and does what (denials, list leakage, stale revisions, replays).

use pbm_proto::evaluation::v1 as ev;
use tonic::Code;

use crate::common::*;

/// An approved project of [`UNIT`] with its December figures (95 % executed) and the campaign.
async fn opened(db: pbm_testkit::TestDatabase) -> (App, ev::Campaign) {
    let app = spawn(db).await;
    app.library().await;
    app.approved("P001", "1000000").await;
    app.approved_for(&unit2(), "P002", DEPT2, UNIT2, "500000")
        .await;
    app.execution("P001", "1000000", "950000").await;
    let campaign = app.open_campaign().await.unwrap();
    (app, campaign)
}

pub(crate) fn entry(seq: i32, achieved: &str) -> ev::IndicatorEntry {
    ev::IndicatorEntry {
        seq,
        achieved_value: achieved.into(),
        ..Default::default()
    }
}

/// The sheet of `key` as `who` lists it (without indicators).
pub(crate) async fn listed(app: &App, who: &Who, campaign: i64, key: &str) -> ev::SelfEvaluation {
    app.selfs
        .clone()
        .list_self_evaluations(app.req(
            who,
            ev::ListSelfEvaluationsRequest {
                campaign_id: campaign,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .self_evaluations
        .into_iter()
        .find(|s| s.subject_key == key)
        .unwrap_or_else(|| panic!("{key} listed"))
}

pub(crate) async fn save(
    app: &App,
    who: &Who,
    sheet: &ev::SelfEvaluation,
    entries: Vec<ev::IndicatorEntry>,
    summary: &str,
) -> Result<ev::SelfEvaluation, tonic::Status> {
    Ok(app
        .selfs
        .clone()
        .save_self_evaluation(app.req(
            who,
            ev::SaveSelfEvaluationRequest {
                request_id: app.rid(),
                self_evaluation_id: sheet.id,
                expected_revision: sheet.revision,
                entries,
                execution_reason: String::new(),
                summary: summary.into(),
            },
        ))
        .await?
        .into_inner()
        .self_evaluation
        .unwrap())
}

async fn submit(
    app: &App,
    who: &Who,
    sheet: &ev::SelfEvaluation,
) -> Result<ev::SelfEvaluation, tonic::Status> {
    Ok(app
        .selfs
        .clone()
        .submit_self_evaluation(app.req(
            who,
            ev::SubmitSelfEvaluationRequest {
                request_id: app.rid(),
                self_evaluation_id: sheet.id,
                expected_revision: sheet.revision,
            },
        ))
        .await?
        .into_inner()
        .self_evaluation
        .unwrap())
}

async fn review(
    app: &App,
    sheet: &ev::SelfEvaluation,
    pass: bool,
    reason: &str,
) -> Result<ev::SelfEvaluation, tonic::Status> {
    Ok(app
        .selfs
        .clone()
        .review_self_evaluation(app.req(
            &department(),
            ev::ReviewSelfEvaluationRequest {
                request_id: app.rid(),
                self_evaluation_id: sheet.id,
                expected_revision: sheet.revision,
                pass,
                reason: reason.into(),
            },
        ))
        .await?
        .into_inner()
        .self_evaluation
        .unwrap())
}

async fn receive(
    app: &App,
    sheet: &ev::SelfEvaluation,
    accept: bool,
    reason: &str,
) -> Result<ev::SelfEvaluation, tonic::Status> {
    Ok(app
        .selfs
        .clone()
        .receive_self_evaluation(app.req(
            &finance(),
            ev::ReceiveSelfEvaluationRequest {
                request_id: app.rid(),
                self_evaluation_id: sheet.id,
                expected_revision: sheet.revision,
                accept,
                reason: reason.into(),
            },
        ))
        .await?
        .into_inner()
        .self_evaluation
        .unwrap())
}

/// Every indicator entered; 受益人口 half achieved (deviates) with its analysis.
pub(crate) fn complete_entries() -> Vec<ev::IndicatorEntry> {
    vec![
        entry(1, "12"),
        entry(2, "45"),
        ev::IndicatorEntry {
            deviation_causes: "汛期施工延误".into(),
            improvement_measures: "提前备料，分段施工".into(),
            ..entry(3, "16000")
        },
        entry(4, "95"),
    ]
}

fn status(s: &ev::SelfEvaluation) -> ev::SheetStatus {
    ev::SheetStatus::try_from(s.status).unwrap()
}

fn fields(status: &tonic::Status) -> Vec<String> {
    violations(status).into_iter().map(|(f, _)| f).collect()
}

async fn save_submit_review_receive(db: pbm_testkit::TestDatabase) {
    let (app, campaign) = opened(db).await;
    let sheet = listed(&app, &unit(), campaign.id, "P001").await;
    assert_eq!(status(&sheet), ev::SheetStatus::NotStarted);
    assert_eq!(sheet.deadline, DEADLINE);
    assert_eq!(
        ev::DeadlineStatus::try_from(sheet.deadline_status).unwrap(),
        ev::DeadlineStatus::Normal
    );

    // A partial draft is scored at once, with its explanation.
    let draft = save(
        &app,
        &unit(),
        &sheet,
        vec![entry(1, "12"), entry(3, "16000")],
        "",
    )
    .await
    .unwrap();
    assert_eq!(
        (status(&draft), draft.revision),
        (ev::SheetStatus::Draft, sheet.revision + 1)
    );
    let score = draft.score.clone().unwrap();
    assert_eq!(score.missing, [2, 4]);
    assert_eq!(score.execution_rate.unwrap().value, "95");
    let benefit = &draft.indicators[2];
    assert_eq!(benefit.entry.as_ref().unwrap().achieved_value, "16000");
    let scored = benefit.score.as_ref().unwrap();
    assert!(scored.deviates, "{scored:?}");
    assert!(
        scored.explanation.contains("16000"),
        "{}",
        scored.explanation
    );

    // Submitting with gaps: every gap at once.
    let refused = submit(&app, &unit(), &draft).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason(&refused), "SHEET_INCOMPLETE");
    assert_eq!(
        fields(&refused),
        [
            "entries[2].achieved_value",
            "entries[3].deviation_causes",
            "entries[3].improvement_measures",
            "entries[4].achieved_value",
            "summary"
        ]
    );

    // An entry replaces its indicator's earlier one; the others keep theirs.
    let full = save(
        &app,
        &unit(),
        &draft,
        complete_entries(),
        "总体完成年度目标",
    )
    .await
    .unwrap();
    assert!(full.score.as_ref().unwrap().missing.is_empty());
    let total = full.score.as_ref().unwrap().total.clone().unwrap().value;
    let submitted = submit(&app, &unit(), &full).await.unwrap();
    assert_eq!(status(&submitted), ev::SheetStatus::Submitted);
    assert!(!submitted.late);
    assert_eq!(submitted.submitted.as_ref().unwrap().actor, unit().sub);
    assert_eq!(
        ev::DeadlineStatus::try_from(submitted.deadline_status).unwrap(),
        ev::DeadlineStatus::Submitted
    );

    // The department returns it (a reason is required), the unit resubmits.
    let no_reason = review(&app, &submitted, false, " ").await.unwrap_err();
    assert_eq!(
        (no_reason.code(), reason(&no_reason).as_str()),
        (Code::InvalidArgument, "REASON_REQUIRED")
    );
    let returned = review(&app, &submitted, false, "偏差原因分析不充分")
        .await
        .unwrap();
    assert_eq!(status(&returned), ev::SheetStatus::Returned);
    assert_eq!(returned.return_reason, "偏差原因分析不充分");
    let resubmitted = submit(&app, &unit(), &returned).await.unwrap();
    // Finance before the department: not yet its step.
    let early = receive(&app, &resubmitted, true, "").await.unwrap_err();
    assert_eq!(
        (early.code(), reason(&early).as_str()),
        (Code::FailedPrecondition, "ILLEGAL_TRANSITION")
    );
    let reviewed = review(&app, &resubmitted, true, "").await.unwrap();
    assert_eq!(status(&reviewed), ev::SheetStatus::Reviewed);
    let received = receive(&app, &reviewed, true, "").await.unwrap();
    assert_eq!(status(&received), ev::SheetStatus::Received);
    assert_eq!(received.score.clone().unwrap().total.unwrap().value, total);

    // A received sheet is not saved again.
    let frozen = save(&app, &unit(), &received, vec![entry(1, "13")], "x")
        .await
        .unwrap_err();
    assert_eq!(
        (frozen.code(), reason(&frozen).as_str()),
        (Code::FailedPrecondition, "ILLEGAL_TRANSITION")
    );

    let history = app
        .selfs
        .clone()
        .get_self_evaluation_history(app.req(
            &department(),
            ev::GetSelfEvaluationHistoryRequest {
                self_evaluation_id: sheet.id,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .events;
    let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions[actions.len() - 7..],
        [
            "saved",
            "saved",
            "submitted",
            "returned",
            "submitted",
            "reviewed",
            "received"
        ]
    );
    let returned_event = history.iter().find(|e| e.action == "returned").unwrap();
    assert_eq!(returned_event.reason, "偏差原因分析不充分");
    assert_eq!(history.last().unwrap().revision, received.revision);
}

async fn entries_are_checked(db: pbm_testkit::TestDatabase) {
    let (app, campaign) = opened(db).await;
    let sheet = listed(&app, &unit(), campaign.id, "P001").await;
    let refused = save(
        &app,
        &unit(),
        &sheet,
        vec![
            entry(1, "十二处"),
            ev::IndicatorEntry {
                tier: ev::Tier::Achieved as i32,
                ..entry(2, "45")
            },
            entry(9, "1"),
        ],
        "",
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(fields(&refused), ["entries[2].tier", "entries[9].seq"]);
    let not_a_number = save(&app, &unit(), &sheet, vec![entry(1, "十二处")], "")
        .await
        .unwrap_err();
    assert_eq!(reason(&not_a_number), "ACHIEVED_VALUE_INVALID");
    assert_eq!(fields(&not_a_number), ["entries[1].achieved_value"]);
    let too_long = save(&app, &unit(), &sheet, vec![], &"论".repeat(4001))
        .await
        .unwrap_err();
    assert_eq!(
        (reason(&too_long).as_str(), fields(&too_long)),
        ("TEXT_TOO_LONG", vec!["summary".to_owned()])
    );
    // Not applicable with its reason: left out, the total re-normalised.
    let na = save(
        &app,
        &unit(),
        &sheet,
        vec![ev::IndicatorEntry {
            seq: 4,
            not_applicable: true,
            not_applicable_reason: "本年度未开展满意度调查".into(),
            ..Default::default()
        }],
        "",
    )
    .await
    .unwrap();
    let score = na.score.unwrap();
    assert_eq!(score.applicable_weight.unwrap().value, "90");
    assert!(!score.indicators[3].applicable);
    // Nothing refused was written.
    let got = app
        .selfs
        .clone()
        .get_self_evaluation(app.req(
            &unit(),
            ev::GetSelfEvaluationRequest {
                self_evaluation_id: sheet.id,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .self_evaluation
        .unwrap();
    assert_eq!(got.revision, sheet.revision + 1);
    assert_eq!(got.indicators[0].entry.as_ref().unwrap().achieved_value, "");
}

async fn who_sees_and_does_what(db: pbm_testkit::TestDatabase) {
    let (app, campaign) = opened(db).await;
    let mine = listed(&app, &unit(), campaign.id, "P001").await;
    let list = |who: Who| {
        let app = &app;
        async move {
            app.selfs
                .clone()
                .list_self_evaluations(app.req(
                    &who,
                    ev::ListSelfEvaluationsRequest {
                        campaign_id: campaign.id,
                        ..Default::default()
                    },
                ))
                .await
                .map(|r| {
                    let r = r.into_inner();
                    let mut keys: Vec<String> = r
                        .self_evaluations
                        .into_iter()
                        .map(|s| s.subject_key)
                        .collect();
                    keys.sort();
                    (keys, r.page.unwrap().total_size)
                })
        }
    };
    let (unit_keys, n) = list(unit()).await.unwrap();
    assert!(
        unit_keys.iter().all(|k| k == "P001") && n == 1,
        "{unit_keys:?}"
    );
    let (dept2_keys, _) = list(department2()).await.unwrap();
    assert!(!dept2_keys.contains(&"P001".to_owned()) && dept2_keys.contains(&"P002".to_owned()));
    let (all, _) = list(auditor()).await.unwrap();
    assert!(all.contains(&"P001".to_owned()) && all.contains(&"P002".to_owned()));
    assert_eq!(list(agency("91140500MA0000000X")).await.unwrap().1, 0);
    assert_eq!(
        list(province()).await.unwrap_err().code(),
        Code::PermissionDenied
    );

    // Another unit's sheet does not exist for it; nor for another department.
    for who in [unit2(), department2()] {
        let e = app
            .selfs
            .clone()
            .get_self_evaluation(app.req(
                &who,
                ev::GetSelfEvaluationRequest {
                    self_evaluation_id: mine.id,
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(
            (e.code(), reason(&e).as_str()),
            (Code::NotFound, "SHEET_NOT_FOUND")
        );
        let e = save(&app, &who, &mine, vec![entry(1, "1")], "")
            .await
            .unwrap_err();
        assert_eq!(
            (e.code(), reason(&e).as_str()),
            (Code::NotFound, "SHEET_NOT_FOUND")
        );
    }
    // Roles: finance and auditors do not fill sheets, nor does the department fill a unit's.
    for who in [finance(), auditor()] {
        let e = save(&app, &who, &mine, vec![], "").await.unwrap_err();
        assert_eq!(
            (e.code(), reason(&e).as_str()),
            (Code::PermissionDenied, "ROLE_NOT_ALLOWED")
        );
    }
    let e = save(&app, &department(), &mine, vec![], "")
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), reason(&e).as_str()),
        (Code::PermissionDenied, "ROLE_NOT_ALLOWED")
    );
    let e = review(&app, &mine, true, "").await.unwrap_err();
    assert_eq!(reason(&e), "ILLEGAL_TRANSITION");

    // A stale revision; a replay answers the first response and writes nothing more.
    let request = ev::SaveSelfEvaluationRequest {
        request_id: app.rid(),
        self_evaluation_id: mine.id,
        expected_revision: mine.revision,
        entries: vec![entry(1, "12")],
        execution_reason: String::new(),
        summary: "草稿".into(),
    };
    let first = app
        .selfs
        .clone()
        .save_self_evaluation(app.req(&unit(), request.clone()))
        .await
        .unwrap()
        .into_inner();
    let again = app
        .selfs
        .clone()
        .save_self_evaluation(app.req(&unit(), request.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, again);
    let stale = app
        .selfs
        .clone()
        .save_self_evaluation(app.req(
            &unit(),
            ev::SaveSelfEvaluationRequest {
                request_id: app.rid(),
                ..request
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (stale.code(), reason(&stale).as_str()),
        (Code::Aborted, "STALE_REVISION")
    );
    let history = app
        .selfs
        .clone()
        .get_self_evaluation_history(app.req(
            &unit(),
            ev::GetSelfEvaluationHistoryRequest {
                self_evaluation_id: mine.id,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(history.iter().filter(|e| e.action == "saved").count(), 1);

    // Filters: by status and by deadline status.
    let filtered = |status: ev::SheetStatus, deadline: ev::DeadlineStatus| {
        let app = &app;
        async move {
            app.selfs
                .clone()
                .list_self_evaluations(app.req(
                    &finance(),
                    ev::ListSelfEvaluationsRequest {
                        campaign_id: campaign.id,
                        status: status as i32,
                        deadline_status: deadline as i32,
                        ..Default::default()
                    },
                ))
                .await
                .unwrap()
                .into_inner()
                .self_evaluations
                .into_iter()
                .map(|s| s.subject_key)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        filtered(ev::SheetStatus::Draft, ev::DeadlineStatus::Unspecified).await,
        ["P001"]
    );
    assert_eq!(
        filtered(ev::SheetStatus::Draft, ev::DeadlineStatus::Overdue).await,
        Vec::<String>::new()
    );
    app.set_today(march(28));
    assert!(
        filtered(ev::SheetStatus::Unspecified, ev::DeadlineStatus::DueSoon)
            .await
            .contains(&"P001".to_owned())
    );
}

async fn locked_after_the_deadline_until_reopened(db: pbm_testkit::TestDatabase) {
    let (app, campaign) = opened(db).await;
    let sheet = listed(&app, &unit(), campaign.id, "P001").await;
    let full = save(&app, &unit(), &sheet, complete_entries(), "总体完成")
        .await
        .unwrap();
    app.set_today(chrono::NaiveDate::from_ymd_opt(FY + 1, 4, 2).unwrap());
    let overdue = listed(&app, &unit(), campaign.id, "P001").await;
    assert_eq!(
        ev::DeadlineStatus::try_from(overdue.deadline_status).unwrap(),
        ev::DeadlineStatus::Overdue
    );
    let locked = submit(&app, &unit(), &full).await.unwrap_err();
    assert_eq!(
        (locked.code(), reason(&locked).as_str()),
        (Code::FailedPrecondition, "CAMPAIGN_LOCKED")
    );
    let locked = save(&app, &unit(), &full, vec![], "改").await.unwrap_err();
    assert_eq!(reason(&locked), "CAMPAIGN_LOCKED");

    app.campaigns
        .clone()
        .reopen_unit(app.req(
            &finance(),
            ev::ReopenUnitRequest {
                request_id: app.rid(),
                campaign_id: campaign.id,
                agency_code: UNIT.into(),
                new_deadline: "2027-04-10".into(),
                reason: "单位因系统故障未能按时提交".into(),
            },
        ))
        .await
        .unwrap();
    let reopened = listed(&app, &unit(), campaign.id, "P001").await;
    assert_eq!(reopened.deadline, "2027-04-10");
    let late = submit(&app, &unit(), &reopened).await.unwrap();
    assert_eq!(status(&late), ev::SheetStatus::Submitted);
    assert!(late.late);
    // Another unit stays locked.
    let other = listed(&app, &unit2(), campaign.id, "P002").await;
    let e = save(&app, &unit2(), &other, vec![], "").await.unwrap_err();
    assert_eq!(reason(&e), "CAMPAIGN_LOCKED");
}

pbm_testkit::backend_tests! {
    workflow => save_submit_review_receive;
    entries => entries_are_checked;
    access => who_sees_and_does_what;
    lock => locked_after_the_deadline_until_reopened;
}
