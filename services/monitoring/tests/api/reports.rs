//! The units' monitoring reports over real gRPC: saved, submitted, checked by the department,
//! accepted or returned by finance; completeness at submission (every gap at once); the lock
//! after the deadline and the reopening a late return carries; stale revisions, replays, and
//! who may see and write which report.

use pbm_proto::monitoring::v1 as mon;
use pbm_testkit::{TestDatabase, refused, violation_reasons};
use tonic::{Code, Status};

use crate::common::*;

/// The project of [`UNIT`] the report tests use (1,000,000 元, four indicators: 新建 12 处 ≥,
/// 单位成本 ≤ 50 万元, 受益 32,000 人 ≥, 满意度 ≥ 90 %; seq 1–4 in that order).
pub const P1: &str = "P-2026-101";
/// The project of [`UNIT2`] (department [`DEPT2`]).
pub const P2: &str = "P-2026-201";

/// One indicator's values.
pub fn ind(
    seq: i32,
    achieved: &str,
    forecast: &str,
    likelihood: mon::Likelihood,
    causes: &[mon::Cause],
) -> mon::IndicatorReport {
    mon::IndicatorReport {
        seq,
        achieved: achieved.into(),
        forecast: forecast.into(),
        likelihood: likelihood as i32,
        causes: causes.iter().map(|c| *c as i32).collect(),
        ..Default::default()
    }
}

/// A complete report on track: every indicator green or blue and 确定能.
pub fn on_track() -> Vec<mon::IndicatorReport> {
    use mon::Likelihood::Certain;
    vec![
        ind(1, "6", "12", Certain, &[]),
        ind(2, "40", "45", Certain, &[]),
        ind(3, "16000", "32000", Certain, &[]),
        ind(4, "95", "95", Certain, &[]),
    ]
}

/// A round over [`P1`] (approved, [`UNIT`]) and [`P2`] (approved, [`UNIT2`]); its id.
pub async fn report_round(app: &App) -> i64 {
    app.library().await;
    app.approved(P1, "1000000").await;
    app.approved_for(&unit2(), P2, DEPT2, UNIT2, "1000000")
        .await;
    app.open_round().await.unwrap().id
}

impl App {
    pub async fn save_report(
        &self,
        who: &Who,
        round_id: i64,
        key: &str,
        expected_revision: i64,
        indicators: Vec<mon::IndicatorReport>,
    ) -> Result<mon::Report, Status> {
        let r = mon::SaveReportRequest {
            request_id: self.rid(),
            round_id,
            subject_key: key.into(),
            expected_revision,
            indicators,
            ..Default::default()
        };
        Ok(self
            .reports
            .clone()
            .save_report(self.req(who, r))
            .await?
            .into_inner()
            .report
            .unwrap())
    }

    pub async fn submit_report(&self, who: &Who, r: &mon::Report) -> Result<mon::Report, Status> {
        let m = mon::SubmitReportRequest {
            request_id: self.rid(),
            report_id: r.id,
            expected_revision: r.revision,
        };
        Ok(self
            .reports
            .clone()
            .submit_report(self.req(who, m))
            .await?
            .into_inner()
            .report
            .unwrap())
    }

    pub async fn check_report(
        &self,
        who: &Who,
        r: &mon::Report,
        pass: bool,
        comments: &str,
    ) -> Result<mon::Report, Status> {
        let m = mon::CheckReportRequest {
            request_id: self.rid(),
            report_id: r.id,
            expected_revision: r.revision,
            pass,
            comments: comments.into(),
        };
        Ok(self
            .reports
            .clone()
            .check_report(self.req(who, m))
            .await?
            .into_inner()
            .report
            .unwrap())
    }

    pub async fn accept_report(&self, who: &Who, r: &mon::Report) -> Result<mon::Report, Status> {
        let m = mon::AcceptReportRequest {
            request_id: self.rid(),
            report_id: r.id,
            expected_revision: r.revision,
        };
        Ok(self
            .reports
            .clone()
            .accept_report(self.req(who, m))
            .await?
            .into_inner()
            .report
            .unwrap())
    }

    pub async fn return_report(
        &self,
        who: &Who,
        r: &mon::Report,
        comments: &str,
        resubmit_by: &str,
    ) -> Result<mon::Report, Status> {
        let m = mon::ReturnReportRequest {
            request_id: self.rid(),
            report_id: r.id,
            expected_revision: r.revision,
            comments: comments.into(),
            resubmit_by: resubmit_by.into(),
        };
        Ok(self
            .reports
            .clone()
            .return_report(self.req(who, m))
            .await?
            .into_inner()
            .report
            .unwrap())
    }

    pub async fn report_history(&self, who: &Who, id: i64) -> Result<Vec<String>, Status> {
        Ok(self
            .reports
            .clone()
            .get_report_history(self.req(who, mon::GetReportHistoryRequest { report_id: id }))
            .await?
            .into_inner()
            .events
            .into_iter()
            .map(|e| e.action)
            .collect())
    }

    pub async fn get_report(&self, who: &Who, id: i64) -> Result<mon::Report, Status> {
        Ok(self
            .reports
            .clone()
            .get_report(self.req(
                who,
                mon::GetReportRequest {
                    report_id: id,
                    ..Default::default()
                },
            ))
            .await?
            .into_inner()
            .report
            .unwrap())
    }

    pub async fn list_reports(
        &self,
        who: &Who,
        m: mon::ListReportsRequest,
    ) -> Result<mon::ListReportsResponse, Status> {
        Ok(self
            .reports
            .clone()
            .list_reports(self.req(who, m))
            .await?
            .into_inner())
    }
}

/// The 部门整体 goal of [`DEPT`], approved through the goal workflow (the indicators of
/// [`App::approved`]).
async fn department_overall(app: &App) {
    use pbm_proto::goal::v1 as pb;
    let lib = |c: &str, t: &str| pb::GoalIndicator {
        library_code: c.into(),
        target_value: t.into(),
        ..Default::default()
    };
    let declaration = pb::GoalDeclaration {
        department_code: DEPT.into(),
        fiscal_year: FY,
        year_goal: "保障部门履职，完成年度重点工作".into(),
        serves_people: true,
        department_budget: dec("50000000"),
        indicators: vec![
            lib("OUT-001", "12"),
            lib("COST-001", "50"),
            lib("BEN-001", "32000"),
            lib("SAT-001", "90"),
        ],
        ..Default::default()
    };
    let goals = app.goals.clone();
    let saved = goals
        .clone()
        .save_goal(app.req(
            &department(),
            pb::SaveGoalRequest {
                request_id: app.rid(),
                declaration: Some(declaration),
                expected_revision: 0,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .goal
        .unwrap();
    let submitted = goals
        .clone()
        .submit_goal(app.req(
            &department(),
            pb::SubmitGoalRequest {
                request_id: app.rid(),
                goal_id: saved.id,
                expected_revision: saved.revision,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .goal
        .unwrap();
    let reviewed = goals
        .clone()
        .review_goal(app.req(
            &finance(),
            pb::ReviewGoalRequest {
                request_id: app.rid(),
                goal_id: submitted.id,
                expected_revision: submitted.revision,
                outcome: pb::ReviewOutcome::Excellent as i32,
                comments: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .goal
        .unwrap();
    goals
        .clone()
        .approve_goal(app.req(
            &finance(),
            pb::ApproveGoalRequest {
                request_id: app.rid(),
                goal_id: reviewed.id,
                expected_revision: reviewed.revision,
            },
        ))
        .await
        .unwrap();
}

fn status(r: &mon::Report) -> mon::ReportStatus {
    mon::ReportStatus::try_from(r.status).unwrap()
}

async fn save_submit_check_accept_and_return(db: TestDatabase) {
    let app = spawn(db).await;
    let round = report_round(&app).await;

    // The first save creates the report (expected revision 0) with its fresh warnings.
    let draft = app
        .save_report(&unit(), round, P1, 0, on_track())
        .await
        .unwrap();
    assert_eq!(status(&draft), mon::ReportStatus::Draft);
    assert_eq!((draft.revision, draft.agency_code.as_str()), (1, UNIT));
    assert_eq!(draft.indicators.len(), 4);
    let indicator_1 = draft
        .warnings
        .iter()
        .find(|w| w.axis == mon::Axis::Indicator as i32 && w.seq == 1)
        .expect("the first indicator's warning");
    // 6 of 12 处 after 6 months: 100 %, green.
    assert_eq!(
        indicator_1.colour,
        mon::Colour::Green as i32,
        "{indicator_1:?}"
    );
    assert_eq!(draft.deadline_status, mon::DeadlineStatus::Normal as i32);

    let submitted = app.submit_report(&unit(), &draft).await.unwrap();
    assert_eq!(status(&submitted), mon::ReportStatus::Submitted);
    assert_eq!(submitted.submitted_on, "2026-07-05");
    assert_eq!(
        submitted.deadline_status,
        mon::DeadlineStatus::Submitted as i32
    );
    assert!(!submitted.late);

    // Finance may not accept what the department has not checked.
    let early = app.accept_report(&finance(), &submitted).await;
    refused(early, Code::FailedPrecondition, "ILLEGAL_TRANSITION");

    let checked = app
        .check_report(&department(), &submitted, true, "")
        .await
        .unwrap();
    assert_eq!(status(&checked), mon::ReportStatus::Checked);
    let accepted = app.accept_report(&finance(), &checked).await.unwrap();
    assert_eq!(status(&accepted), mon::ReportStatus::Accepted);

    // A return needs comments; before the deadline no resubmission date.
    let bare = app.return_report(&finance(), &accepted, " ", "").await;
    refused(bare, Code::InvalidArgument, "COMMENTS_REQUIRED");
    let returned = app
        .return_report(&finance(), &accepted, "满意度口径与统计局不一致", "")
        .await
        .unwrap();
    assert_eq!(status(&returned), mon::ReportStatus::Returned);

    // The unit saves again, submits; the department returns it with comments.
    let again = app
        .save_report(&unit(), round, P1, returned.revision, on_track())
        .await
        .unwrap();
    let resubmitted = app.submit_report(&unit(), &again).await.unwrap();
    let no_comments = app
        .check_report(&department(), &resubmitted, false, "")
        .await;
    refused(no_comments, Code::InvalidArgument, "COMMENTS_REQUIRED");
    let sent_back = app
        .check_report(
            &department(),
            &resubmitted,
            false,
            "请补充受益人口的统计口径",
        )
        .await
        .unwrap();
    assert_eq!(status(&sent_back), mon::ReportStatus::Returned);

    let history = app.report_history(&unit(), draft.id).await.unwrap();
    assert_eq!(
        history,
        [
            "save", "submit", "check", "accept", "return", "save", "submit", "check"
        ]
    );
    // The department reports for its unit's project too.
    let by_department = app
        .save_report(&department(), round, P1, sent_back.revision, on_track())
        .await
        .unwrap();
    assert_eq!(status(&by_department), mon::ReportStatus::Draft);
}

async fn every_gap_at_submission_at_once(db: TestDatabase) {
    use mon::Cause::{Funding, Other};
    use mon::Likelihood::{Certain, Possible};
    let app = spawn(db).await;
    let round = report_round(&app).await;
    let mut other = ind(3, "16000", "32000", Certain, &[Other]);
    other.other_text = String::new();
    let draft = app
        .save_report(
            &unit(),
            round,
            P1,
            0,
            vec![
                // 2 of 12 处 after 6 months: 33 %, red — no forecast, no cause.
                ind(1, "2", "", Certain, &[]),
                // 有可能 without a cause.
                ind(2, "40", "45", Possible, &[]),
                // 其他 without its text.
                other,
                // Indicator 4 not reported at all.
            ],
        )
        .await
        .unwrap();
    let red = draft
        .warnings
        .iter()
        .find(|w| w.axis == mon::Axis::Indicator as i32 && w.seq == 1)
        .unwrap();
    assert_eq!(red.colour, mon::Colour::Red as i32);
    let incomplete = app.submit_report(&unit(), &draft).await;
    let status = refused(incomplete, Code::InvalidArgument, "REPORT_INCOMPLETE");
    let mut found = violation_reasons(&status);
    found.sort();
    let expected = [
        ("indicators[0].causes", "CAUSE_REQUIRED"),
        ("indicators[0].forecast", "FORECAST_REQUIRED"),
        ("indicators[1].causes", "CAUSE_REQUIRED"),
        ("indicators[2].other_text", "CAUSE_OTHER_TEXT_REQUIRED"),
        ("indicators[3].achieved", "ACHIEVED_REQUIRED"),
        ("indicators[3].likelihood", "LIKELIHOOD_REQUIRED"),
    ];
    assert_eq!(
        found,
        expected
            .iter()
            .map(|(f, r)| (f.to_string(), r.to_string()))
            .collect::<Vec<_>>()
    );
    // Nothing changed: the same revision saves the fixes and submits.
    let mut fixed = on_track();
    fixed[0] = ind(1, "2", "10", Certain, &[Funding]);
    fixed[1] = ind(2, "40", "45", Possible, &[Funding]);
    fixed[2].causes = vec![Other as i32];
    fixed[2].other_text = "施工期受汛期影响".into();
    let saved = app
        .save_report(&unit(), round, P1, draft.revision, fixed)
        .await
        .unwrap();
    assert_eq!(saved.revision, draft.revision + 1);
    let submitted = app.submit_report(&unit(), &saved).await.unwrap();
    assert_eq!(submitted.status, mon::ReportStatus::Submitted as i32);

    // Values that do not fit their indicator, a seq not in the goal, all at once; nothing saved.
    let bad = app
        .save_report(
            &unit2(),
            round,
            P2,
            0,
            vec![
                ind(1, "12处", "", Certain, &[]),
                ind(9, "1", "", Certain, &[]),
            ],
        )
        .await;
    let status = refused(bad, Code::InvalidArgument, "VALIDATION_FAILED");
    let mut found = violation_reasons(&status);
    found.sort();
    assert_eq!(
        found,
        [
            (
                "indicators[0].achieved".to_string(),
                "VALUE_INVALID".to_string()
            ),
            (
                "indicators[1].seq".to_string(),
                "INDICATOR_NOT_FOUND".to_string()
            ),
        ]
    );
    let nothing = app.save_report(&unit2(), round, P2, 1, on_track()).await;
    refused(nothing, Code::Aborted, "STALE_REVISION");
}

async fn locked_after_the_deadline_and_reopened_by_a_return(db: TestDatabase) {
    let app = spawn(db).await;
    let round = report_round(&app).await;
    let draft = app
        .save_report(&unit(), round, P1, 0, on_track())
        .await
        .unwrap();
    let submitted = app.submit_report(&unit(), &draft).await.unwrap();
    let checked = app
        .check_report(&department(), &submitted, true, "")
        .await
        .unwrap();
    // P2's unit has not reported by the deadline (2026-07-15, inclusive).
    app.set_today(july(15));
    let last_day = app
        .save_report(&unit2(), round, P2, 0, on_track())
        .await
        .unwrap();
    app.set_today(july(16));
    let late = app
        .save_report(&unit2(), round, P2, last_day.revision, on_track())
        .await;
    refused(late, Code::FailedPrecondition, "ROUND_LOCKED");
    let late_submit = app.submit_report(&unit2(), &last_day).await;
    refused(late_submit, Code::FailedPrecondition, "ROUND_LOCKED");
    let overdue = app.get_report(&unit2(), last_day.id).await.unwrap();
    assert_eq!(overdue.deadline_status, mon::DeadlineStatus::Overdue as i32);

    // Finance still accepts and returns after the deadline; a return then needs resubmit_by.
    let without = app
        .return_report(&finance(), &checked, "请补充说明", "")
        .await;
    refused(without, Code::InvalidArgument, "RESUBMIT_BY_REQUIRED");
    let in_the_past = app
        .return_report(&finance(), &checked, "请补充说明", "2026-07-10")
        .await;
    refused(in_the_past, Code::InvalidArgument, "RESUBMIT_BY_INVALID");
    let returned = app
        .return_report(&finance(), &checked, "请补充说明", "2026-07-20")
        .await
        .unwrap();
    assert_eq!(status(&returned), mon::ReportStatus::Returned);
    // The unit is reopened until the 20th: it saves and submits again, on time.
    let resaved = app
        .save_report(&unit(), round, P1, returned.revision, on_track())
        .await
        .unwrap();
    let resubmitted = app.submit_report(&unit(), &resaved).await.unwrap();
    assert_eq!(status(&resubmitted), mon::ReportStatus::Submitted);
    assert!(!resubmitted.late);
    let history = app.report_history(&finance(), draft.id).await.unwrap();
    assert_eq!(
        history,
        [
            "save", "submit", "check", "return", "reopen", "save", "submit"
        ]
    );
    // The other unit is still locked, and after the 20th this one is too.
    let still = app
        .save_report(&unit2(), round, P2, last_day.revision, on_track())
        .await;
    refused(still, Code::FailedPrecondition, "ROUND_LOCKED");
    app.set_today(july(21));
    let checked = app
        .check_report(&department(), &resubmitted, true, "")
        .await
        .unwrap();
    assert_eq!(status(&checked), mon::ReportStatus::Checked);
}

async fn stale_revisions_and_replays(db: TestDatabase) {
    let app = spawn(db).await;
    let round = report_round(&app).await;
    let request = mon::SaveReportRequest {
        request_id: app.rid(),
        round_id: round,
        subject_key: P1.into(),
        expected_revision: 0,
        indicators: on_track(),
        ..Default::default()
    };
    let mut reports = app.reports.clone();
    let first = reports
        .save_report(app.req(&unit(), request.clone()))
        .await
        .unwrap()
        .into_inner();
    // The same request again: the first answer, no second save.
    let replay = reports
        .save_report(app.req(&unit(), request.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replay, first);
    let report = first.report.unwrap();
    assert_eq!(report.revision, 1);
    assert_eq!(
        app.report_history(&unit(), report.id).await.unwrap(),
        ["save"]
    );
    // The same request id with another request is refused.
    let mut changed = request.clone();
    changed.indicators.pop();
    let reused = reports.save_report(app.req(&unit(), changed)).await;
    refused(reused, Code::InvalidArgument, "REQUEST_ID_REUSED");
    // Another first save (revision 0) of the same subject, and a stale step.
    let second = app.save_report(&unit(), round, P1, 0, on_track()).await;
    refused(second, Code::Aborted, "STALE_REVISION");
    let mut stale = report.clone();
    stale.revision = 0;
    refused(
        app.submit_report(&unit(), &stale).await,
        Code::Aborted,
        "STALE_REVISION",
    );
    // A replayed submission answers the first submission.
    let submit = mon::SubmitReportRequest {
        request_id: app.rid(),
        report_id: report.id,
        expected_revision: report.revision,
    };
    let once = reports
        .submit_report(app.req(&unit(), submit.clone()))
        .await
        .unwrap()
        .into_inner();
    let twice = reports
        .submit_report(app.req(&unit(), submit))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(once, twice);
    assert_eq!(
        app.report_history(&unit(), report.id).await.unwrap(),
        ["save", "submit"]
    );
}

async fn who_sees_and_writes_which_report(db: TestDatabase) {
    let app = spawn(db).await;
    let round = report_round(&app).await;
    let own = app
        .save_report(&unit(), round, P1, 0, on_track())
        .await
        .unwrap();
    let other = app
        .save_report(&unit2(), round, P2, 0, on_track())
        .await
        .unwrap();

    // Another unit's or department's subject is not found, for writing and for reading.
    for who in [unit2(), department2()] {
        let write = app
            .save_report(&who, round, P1, own.revision, on_track())
            .await;
        refused(write, Code::NotFound, "SUBJECT_NOT_FOUND");
        refused(
            app.get_report(&who, own.id).await,
            Code::NotFound,
            "REPORT_NOT_FOUND",
        );
        refused(
            app.report_history(&who, own.id).await,
            Code::NotFound,
            "REPORT_NOT_FOUND",
        );
        refused(
            app.submit_report(&who, &own).await,
            Code::NotFound,
            "REPORT_NOT_FOUND",
        );
    }
    // Finance and auditors read everything and never save; the province reads no report.
    for who in [finance(), auditor()] {
        let write = app
            .save_report(&who, round, P1, own.revision, on_track())
            .await;
        refused(write, Code::PermissionDenied, "ROLE_NOT_ALLOWED");
        assert_eq!(app.get_report(&who, other.id).await.unwrap().id, other.id);
    }
    refused(
        app.get_report(&province(), own.id).await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
    // The department checks only its own units' reports.
    let submitted = app.submit_report(&unit2(), &other).await.unwrap();
    refused(
        app.check_report(&department(), &submitted, true, "").await,
        Code::NotFound,
        "REPORT_NOT_FOUND",
    );
    refused(
        app.check_report(&unit2(), &submitted, true, "").await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
    // A subject without an approved goal has no report.
    app.declared(&unit(), "P-2026-199", DEPT, UNIT, "500000")
        .await;
    let round2 = app.open_round().await.unwrap().id;
    let no_goal = app
        .save_report(&unit(), round2, "P-2026-199", 0, on_track())
        .await;
    refused(no_goal, Code::FailedPrecondition, "NO_APPROVED_GOAL");

    // Lists: narrowed to the caller, and totals counted after the scope.
    let list = |who: Who, m: mon::ListReportsRequest| {
        let app = &app;
        async move {
            let r = app.list_reports(&who, m).await.unwrap();
            let keys: Vec<String> = r.reports.iter().map(|r| r.subject_key.clone()).collect();
            (keys, r.page.unwrap().total_size)
        }
    };
    let all = mon::ListReportsRequest {
        round_id: round,
        ..Default::default()
    };
    assert_eq!(
        list(finance(), all.clone()).await,
        (vec![P1.into(), P2.into()], 2)
    );
    assert_eq!(
        list(auditor(), all.clone()).await,
        (vec![P1.into(), P2.into()], 2)
    );
    assert_eq!(list(unit(), all.clone()).await, (vec![P1.into()], 1));
    assert_eq!(list(department2(), all.clone()).await, (vec![P2.into()], 1));
    // Asking for another's department or unit shows nothing, not a count.
    let theirs = mon::ListReportsRequest {
        department_code: DEPT2.into(),
        ..all.clone()
    };
    assert_eq!(list(department(), theirs).await, (vec![], 0));
    let theirs = mon::ListReportsRequest {
        agency_code: UNIT2.into(),
        ..all.clone()
    };
    assert_eq!(list(unit(), theirs).await, (vec![], 0));
    let submitted_only = mon::ListReportsRequest {
        status: mon::ReportStatus::Submitted as i32,
        ..all.clone()
    };
    assert_eq!(list(finance(), submitted_only).await, (vec![P2.into()], 1));
    let paged = mon::ListReportsRequest {
        page: Some(pbm_proto::common::v1::PageRequest {
            page_size: 1,
            page_token: String::new(),
        }),
        ..all.clone()
    };
    let first = app.list_reports(&finance(), paged.clone()).await.unwrap();
    assert_eq!(first.reports.len(), 1);
    let token = first.page.unwrap().next_page_token;
    let second = app
        .list_reports(
            &finance(),
            mon::ListReportsRequest {
                page: Some(pbm_proto::common::v1::PageRequest {
                    page_size: 1,
                    page_token: token,
                }),
                ..all.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(second.reports[0].subject_key, P2);
    refused(
        app.list_reports(&province(), all).await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
}

async fn a_closed_round_freezes_its_reports(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    app.approved(P1, "1000000").await;
    let round = app.open_round().await.unwrap();
    let draft = app
        .save_report(&unit(), round.id, P1, 0, on_track())
        .await
        .unwrap();
    let submitted = app.submit_report(&unit(), &draft).await.unwrap();
    app.rounds
        .clone()
        .close_round(app.req(
            &finance(),
            mon::CloseRoundRequest {
                request_id: app.rid(),
                round_id: round.id,
                expected_revision: round.revision,
            },
        ))
        .await
        .unwrap();
    let save = app
        .save_report(&unit(), round.id, P1, submitted.revision, on_track())
        .await;
    refused(save, Code::FailedPrecondition, "ROUND_CLOSED");
    let check = app.check_report(&department(), &submitted, true, "").await;
    refused(check, Code::FailedPrecondition, "ROUND_CLOSED");
    // Still read as it was.
    let read = app.get_report(&department(), submitted.id).await.unwrap();
    assert_eq!(read.status, mon::ReportStatus::Submitted as i32);
}

async fn a_department_reports_its_own_overall_goal(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    department_overall(&app).await;
    let round = app.open_round().await.unwrap().id;
    let key = format!("D:{DEPT}");
    // Not its units' to write.
    let by_unit = app.save_report(&unit(), round, &key, 0, on_track()).await;
    refused(by_unit, Code::NotFound, "SUBJECT_NOT_FOUND");
    let draft = app
        .save_report(&department(), round, &key, 0, on_track())
        .await
        .unwrap();
    // Nobody above the department checks it but finance: straight to CHECKED.
    let submitted = app.submit_report(&department(), &draft).await.unwrap();
    assert_eq!(status(&submitted), mon::ReportStatus::Checked);
    let accepted = app.accept_report(&finance(), &submitted).await.unwrap();
    assert_eq!(status(&accepted), mon::ReportStatus::Accepted);
}

async fn texts_over_their_maxima(db: TestDatabase) {
    let app = spawn(db).await;
    let round = report_round(&app).await;
    let mut values = on_track();
    values[0].remark = "备".repeat(501);
    values[1].other_text = "其".repeat(501);
    let long = mon::SaveReportRequest {
        request_id: app.rid(),
        round_id: round,
        subject_key: P1.into(),
        expected_revision: 0,
        indicators: values,
        execution_narrative: "说".repeat(4001),
        ..Default::default()
    };
    let refused_long = app
        .reports
        .clone()
        .save_report(app.req(&unit(), long.clone()))
        .await;
    let status = refused(refused_long, Code::InvalidArgument, "TEXT_TOO_LONG");
    let mut fields = violation_reasons(&status);
    fields.sort();
    assert_eq!(
        fields.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
        [
            "execution_narrative",
            "indicators[0].remark",
            "indicators[1].other_text"
        ]
    );
    // The stricter rule on narratives: at most 2,000.
    let rule = mon::SaveReportRequest {
        request_id: app.rid(),
        indicators: on_track(),
        execution_narrative: "说".repeat(2001),
        ..long
    };
    let over_rule = app
        .reports
        .clone()
        .save_report(app.req(&unit(), rule))
        .await;
    let status = refused(over_rule, Code::InvalidArgument, "TEXT_TOO_LONG");
    assert_eq!(
        violation_reasons(&status),
        [(
            "execution_narrative".to_string(),
            "TEXT_TOO_LONG".to_string()
        )]
    );
    let draft = app
        .save_report(&unit(), round, P1, 0, on_track())
        .await
        .unwrap();
    let submitted = app.submit_report(&unit(), &draft).await.unwrap();
    let comments = app
        .check_report(&department(), &submitted, false, &"意".repeat(2001))
        .await;
    refused(comments, Code::InvalidArgument, "TEXT_TOO_LONG");
    // An agency reads only the key monitoring commissioned to it, and lists no reports.
    let agency = agency("91140500MA0000000X");
    refused(
        app.get_report(&agency, draft.id).await,
        Code::NotFound,
        "REPORT_NOT_FOUND",
    );
    let list = app
        .list_reports(
            &agency,
            mon::ListReportsRequest {
                round_id: round,
                ..Default::default()
            },
        )
        .await;
    refused(list, Code::PermissionDenied, "ROLE_NOT_ALLOWED");
}

pbm_testkit::backend_tests! {
    limits => texts_over_their_maxima;
    department_overall => a_department_reports_its_own_overall_goal;
    closed => a_closed_round_freezes_its_reports;
    workflow => save_submit_check_accept_and_return;
    completeness => every_gap_at_submission_at_once;
    lock_and_reopen => locked_after_the_deadline_and_reopened_by_a_return;
    revisions_and_replays => stale_revisions_and_replays;
    scope => who_sees_and_writes_which_report;
}
