//! docs/MONITORING.md: the year's second question — is the money spent on time and are the goals
//! being reached? Across the services over real gRPC, assembled as `pbm serve` assembles them
//! (one port, one database URL, dev-key auth): goals approved in the goal service, execution
//! figures pushed by the budget system, a monitoring round that snapshots the approved goals
//! (monitoring → goal over gRPC), the unit's report, the traffic lights on both axes, the
//! deviation list, a corrective action to verification, and finance's decision as the budget
//! system reads it (payments on hold).

use pbm_auth::Role;
use pbm_e2e::{FY, REGION};
use pbm_proto::common::v1::Decimal;
use pbm_proto::goal::v1::goal_service_client::GoalServiceClient;
use pbm_proto::monitoring::v1 as mon;
use pbm_testkit::{TestDatabase, Who, bearer as req, reason};
use tonic::transport::Channel;

const DEPT: &str = "D01";
const UNIT: &str = "D01001";

fn dec(v: &str) -> Option<Decimal> {
    Some(Decimal { value: v.into() })
}

struct Cycle {
    deployment: pbm_e2e::Deployment,
    goals: GoalServiceClient<Channel>,
    rounds: mon::round_service_client::RoundServiceClient<Channel>,
    execution: mon::execution_service_client::ExecutionServiceClient<Channel>,
    reports: mon::report_service_client::ReportServiceClient<Channel>,
    deviations: mon::deviation_service_client::DeviationServiceClient<Channel>,
    finance: String,
    unit: String,
    department: String,
}

impl Cycle {
    async fn start(db: TestDatabase) -> Cycle {
        let deployment = pbm_e2e::Deployment::start(db, None).await;
        let channel = deployment.channel.clone();
        let finance = deployment.token(&Who::finance(REGION).with_sub("e2e-finance"));
        let unit = deployment.token(&Who::unit(REGION, DEPT, UNIT).with_sub("e2e-unit"));
        let department = deployment.token(&Who::department(REGION, DEPT).with_sub("e2e-dept"));
        Cycle {
            goals: GoalServiceClient::new(channel.clone()),
            rounds: mon::round_service_client::RoundServiceClient::new(channel.clone()),
            execution: mon::execution_service_client::ExecutionServiceClient::new(channel.clone()),
            reports: mon::report_service_client::ReportServiceClient::new(channel.clone()),
            deviations: mon::deviation_service_client::DeviationServiceClient::new(channel),
            deployment,
            finance,
            unit,
            department,
        }
    }

    /// Registers the unit's project `code` of 1,000,000 元.
    async fn project(&self, code: &str) {
        let request_id = format!("mon-project-{code}");
        pbm_e2e::declare_water_project(&self.goals, &self.unit, &request_id, code, UNIT, DEPT)
            .await;
    }

    /// Project `code` with a goal of 12 处 / 32,000 人 / 90 % approved by finance.
    async fn approved(&self, code: &str, library: &[String; 3]) {
        self.project(code).await;
        pbm_e2e::approve_goal(
            &self.goals,
            &self.unit,
            &self.finance,
            pbm_e2e::water_goal(code, library, "12"),
            0,
            &format!("mon-{code}"),
        )
        .await;
    }

    /// The budget system's figures for months 1–6: `executed` of 1,000,000 元 by June, spent
    /// evenly.
    fn months(code: &str, executed_by_june: i64) -> Vec<mon::ExecutionRow> {
        (1..=6)
            .map(|month| mon::ExecutionRow {
                pro_code: code.into(),
                month,
                initial_budget: dec("1000000"),
                adjusted_budget: dec("1000000"),
                allocated: dec("1000000"),
                executed: dec(&(executed_by_june * i64::from(month) / 6).to_string()),
                ..Default::default()
            })
            .collect()
    }

    async fn subject(&self, round: i64, key: &str) -> mon::RoundSubject {
        self.rounds
            .clone()
            .get_round_subject(req(
                &self.finance,
                mon::GetRoundSubjectRequest {
                    round_id: round,
                    subject_key: key.into(),
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .subject
            .unwrap()
    }
}

async fn a_deviating_project_is_found_reported_corrected_and_held(db: TestDatabase) {
    let c = Cycle::start(db).await;
    let library = pbm_e2e::seed_library(&c.deployment.channel, &c.finance, "MON").await;
    // Two projects with approved goals, one registered without a goal.
    c.approved("P-MON-1", &library).await;
    c.approved("P-MON-2", &library).await;
    c.project("P-MON-3").await;

    // The budget system pushes months 1–6: P-MON-1 spent 300,000 of 1,000,000 (60 % of the
    // half-year's pace: yellow), P-MON-2 500,000 (100 %: green).
    let mut rows = Cycle::months("P-MON-1", 300_000);
    rows.extend(Cycle::months("P-MON-2", 500_000));
    let pushed = c
        .execution
        .clone()
        .push_execution(req(
            &c.finance,
            mon::PushExecutionRequest {
                request_id: "mon-push-1".into(),
                fiscal_year: FY,
                rows,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((pushed.created, pushed.rejected), (12, 0));

    // Finance opens the round of months 1–6; today falls inside it.
    let today = pbm_monitoring::state::today_in_china();
    let round = pbm_e2e::open_half_year_round(&c.deployment.channel, &c.finance, "mon-round").await;
    assert_eq!(round.with_approved_goal, 2, "{round:?}");
    assert!(
        round.without_goal >= 1,
        "P-MON-3 is listed, not skipped: {round:?}"
    );
    let one = c.subject(round.id, "P-MON-1").await;
    assert_eq!(one.goal_state(), mon::GoalState::Approved);
    assert_eq!(one.budget_colour(), mon::Colour::Yellow);
    assert_eq!(
        c.subject(round.id, "P-MON-2").await.budget_colour(),
        mon::Colour::Green
    );
    assert_eq!(
        c.subject(round.id, "P-MON-3").await.goal_state(),
        mon::GoalState::NoGoal
    );

    // The unit reports P-MON-1: 3 of 12 works built by June (3 ÷ 6 = 50 % of the pace: red),
    // likely to be missed — first without a cause, which the completeness rules refuse.
    let indicator = |seq: i32, achieved: &str, causes: Vec<mon::Cause>| mon::IndicatorReport {
        seq,
        achieved: achieved.into(),
        forecast: if causes.is_empty() {
            String::new()
        } else {
            "9".into()
        },
        likelihood: if seq == 1 {
            mon::Likelihood::Possible as i32
        } else {
            mon::Likelihood::Certain as i32
        },
        causes: causes.into_iter().map(|c| c as i32).collect(),
        ..Default::default()
    };
    let mut reports = c.reports.clone();
    let saved = reports
        .save_report(req(
            &c.unit,
            mon::SaveReportRequest {
                request_id: "mon-save-1".into(),
                round_id: round.id,
                subject_key: "P-MON-1".into(),
                expected_revision: 0,
                indicators: vec![
                    indicator(1, "3", vec![]),
                    indicator(2, "16000", vec![]),
                    indicator(3, "92", vec![]),
                ],
                execution_narrative: "上半年资金拨付滞后".into(),
                expected_year_end_execution: dec("900000"),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    let refused = reports
        .submit_report(req(
            &c.unit,
            mon::SubmitReportRequest {
                request_id: "mon-submit-1".into(),
                report_id: saved.id,
                expected_revision: saved.revision,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&refused), "REPORT_INCOMPLETE");
    let saved = reports
        .save_report(req(
            &c.unit,
            mon::SaveReportRequest {
                request_id: "mon-save-2".into(),
                round_id: round.id,
                subject_key: "P-MON-1".into(),
                expected_revision: saved.revision,
                indicators: vec![
                    indicator(1, "3", vec![mon::Cause::Funding]),
                    indicator(2, "16000", vec![]),
                    indicator(3, "92", vec![]),
                ],
                execution_narrative: "上半年资金拨付滞后，施工队伍进场晚".into(),
                expected_year_end_execution: dec("900000"),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    let submitted = reports
        .submit_report(req(
            &c.unit,
            mon::SubmitReportRequest {
                request_id: "mon-submit-2".into(),
                report_id: saved.id,
                expected_revision: saved.revision,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    let checked = reports
        .check_report(req(
            &c.department,
            mon::CheckReportRequest {
                request_id: "mon-check".into(),
                report_id: submitted.id,
                expected_revision: submitted.revision,
                pass: true,
                comments: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    let accepted = reports
        .accept_report(req(
            &c.finance,
            mon::AcceptReportRequest {
                request_id: "mon-accept".into(),
                report_id: checked.id,
                expected_revision: checked.revision,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    assert_eq!(accepted.status(), mon::ReportStatus::Accepted);

    // The deviation list: P-MON-1 (budget yellow, goal red), not P-MON-2.
    let one = c.subject(round.id, "P-MON-1").await;
    assert_eq!(one.goal_colour(), mon::Colour::Red);
    assert!(one.deviated);
    let mut deviations = c.deviations.clone();
    let list = deviations
        .list_deviations(req(
            &c.finance,
            mon::ListDeviationsRequest {
                round_id: round.id,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .deviations;
    let keys: Vec<_> = list
        .iter()
        .map(|d| d.subject.as_ref().unwrap().subject_key.clone())
        .collect();
    assert_eq!(keys, ["P-MON-1"]);
    let red = &list[0].indicators;
    assert!(
        red.iter()
            .any(|i| i.seq == 1 && i.causes == [mon::Cause::Funding as i32]),
        "{red:?}"
    );
    // Every warning explains itself with the rules version it used.
    let goal_warning = list[0].goal.as_ref().unwrap();
    assert!(!goal_warning.explanation.is_empty());

    // A corrective action: finance opens it, the unit works on it, finance verifies it.
    let action = deviations
        .create_corrective_action(req(
            &c.finance,
            mon::CreateCorrectiveActionRequest {
                request_id: "mon-action".into(),
                round_id: round.id,
                subject_key: "P-MON-1".into(),
                seq: 1,
                description: "加快工程进度，8月底前完成6处".into(),
                contact: "王科长".into(),
                due_on: (today + chrono::Days::new(30)).to_string(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    let action = deviations
        .update_corrective_action(req(
            &c.unit,
            mon::UpdateCorrectiveActionRequest {
                request_id: "mon-action-start".into(),
                action_id: action.id,
                expected_revision: action.revision,
                status: mon::ActionStatus::InProgress as i32,
                completion_note: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    let action = deviations
        .update_corrective_action(req(
            &c.unit,
            mon::UpdateCorrectiveActionRequest {
                request_id: "mon-action-done".into(),
                action_id: action.id,
                expected_revision: action.revision,
                status: mon::ActionStatus::Done as i32,
                completion_note: "已新增施工队伍两支，完成7处".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    let action = deviations
        .verify_corrective_action(req(
            &c.finance,
            mon::VerifyCorrectiveActionRequest {
                request_id: "mon-action-verify".into(),
                action_id: action.id,
                expected_revision: action.revision,
                accept: true,
                comments: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    assert_eq!(action.status(), mon::ActionStatus::Verified);

    // Finance holds P-MON-1's payments; the budget system asks, as it asks the funding gate.
    let holds = |codes: &[&str]| mon::CheckPaymentHoldsRequest {
        fiscal_year: FY,
        pro_codes: codes.iter().map(|c| (*c).to_owned()).collect(),
    };
    deviations
        .record_decision(req(
            &c.finance,
            mon::RecordDecisionRequest {
                request_id: "mon-hold".into(),
                round_id: round.id,
                subject_key: "P-MON-1".into(),
                kind: mon::DecisionKind::HoldPayments as i32,
                amount: None,
                reason: "执行进度滞后，暂缓拨付下半年资金".into(),
            },
        ))
        .await
        .unwrap();
    let answer = deviations
        .check_payment_holds(req(&c.finance, holds(&["P-MON-1", "P-MON-2"])))
        .await
        .unwrap()
        .into_inner()
        .holds;
    let on_hold: Vec<_> = answer
        .iter()
        .map(|h| (h.pro_code.as_str(), h.on_hold))
        .collect();
    assert_eq!(on_hold, [("P-MON-1", true), ("P-MON-2", false)]);
    // A decision on a project that does not deviate is refused.
    let refused = deviations
        .record_decision(req(
            &c.finance,
            mon::RecordDecisionRequest {
                request_id: "mon-hold-2".into(),
                round_id: round.id,
                subject_key: "P-MON-2".into(),
                kind: mon::DecisionKind::HoldPayments as i32,
                amount: None,
                reason: "试图暂缓".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&refused), "NOT_DEVIATED");

    // The statistics finance and the province read.
    let stats = c
        .rounds
        .clone()
        .get_round_statistics(req(
            &c.finance,
            mon::GetRoundStatisticsRequest { round_id: round.id },
        ))
        .await
        .unwrap()
        .into_inner();
    let totals = stats.totals.unwrap();
    assert_eq!(
        (totals.matched, totals.deviated, totals.reported),
        (2, 1, 1)
    );
    assert_eq!((totals.actions_opened, totals.actions_verified), (1, 1));
    // The province reads the statistics, not the projects.
    let province = c
        .deployment
        .token(&Who::new(Role::Province, "140000").with_sub("e2e-province"));
    let provincial = c
        .rounds
        .clone()
        .get_round_statistics(req(
            &province,
            mon::GetRoundStatisticsRequest { round_id: round.id },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(provincial.totals.unwrap().deviated, 1);
    let denied = c
        .rounds
        .clone()
        .list_round_subjects(req(
            &province,
            mon::ListRoundSubjectsRequest {
                round_id: round.id,
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);

    // Nothing of D01001's leaks to another unit or another department: lists are empty and
    // count nothing, and the subject itself is not found.
    for who in [
        Who::unit(REGION, "D02", "D02001").with_sub("e2e-other-unit"),
        Who::department(REGION, "D02").with_sub("e2e-other-dept"),
    ] {
        let token = c.deployment.token(&who);
        let subjects = c
            .rounds
            .clone()
            .list_round_subjects(req(
                &token,
                mon::ListRoundSubjectsRequest {
                    round_id: round.id,
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(subjects.subjects.is_empty(), "{who:?}: {subjects:?}");
        assert_eq!(subjects.page.unwrap_or_default().total_size, 0);
        let hidden = c
            .rounds
            .clone()
            .get_round_subject(req(
                &token,
                mon::GetRoundSubjectRequest {
                    round_id: round.id,
                    subject_key: "P-MON-1".into(),
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(hidden.code(), tonic::Code::NotFound, "{who:?}");
        let listed = c
            .reports
            .clone()
            .list_reports(req(
                &token,
                mon::ListReportsRequest {
                    round_id: round.id,
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(listed.reports.is_empty(), "{who:?}");
        assert_eq!(listed.page.unwrap_or_default().total_size, 0);
        let mut deviations = c.deviations.clone();
        let deviating = deviations
            .list_deviations(req(
                &token,
                mon::ListDeviationsRequest {
                    round_id: round.id,
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(deviating.deviations.is_empty(), "{who:?}");
        let warnings = deviations
            .list_warnings(req(
                &token,
                mon::ListWarningsRequest {
                    round_id: round.id,
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(warnings.warnings.is_empty(), "{who:?}");
        let actions = deviations
            .list_corrective_actions(req(
                &token,
                mon::ListCorrectiveActionsRequest {
                    round_id: round.id,
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(actions.actions.is_empty(), "{who:?}");
        let decisions = deviations
            .list_decisions(req(
                &token,
                mon::ListDecisionsRequest {
                    round_id: round.id,
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(decisions.decisions.is_empty(), "{who:?}");
    }
    // The unit itself sees its own subject, report, deviation, action and decision.
    let own = c
        .deviations
        .clone()
        .list_decisions(req(
            &c.unit,
            mon::ListDecisionsRequest {
                round_id: round.id,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.decisions.len(), 1);
}

pbm_db::backend_tests! {
    monitoring_cycle => a_deviating_project_is_found_reported_corrected_and_held;
}
