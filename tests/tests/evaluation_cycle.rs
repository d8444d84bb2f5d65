//! docs/EVALUATION.md: the year's third question — was the money well spent? Across the services
//! over real gRPC, assembled as `pbm serve` assembles them (one port, one database URL, dev-key
//! auth): goals approved in the goal service, execution figures pushed by the budget system, a
//! monitoring round whose budget warning turns red, then finance opens the year's
//! self-evaluation (evaluation → goal and monitoring over gRPC); the unit fills its sheet (scored
//! by the engine on every save, with its explanation), is refused while the sheet is incomplete,
//! submits it complete; the department reviews and finance receives it; nothing of it leaks to
//! another unit or department; statistics; finance ranks the submitted sheets by risk, selects
//! the riskiest for review, re-scores it with a problem recorded; the unit sees the findings; the
//! spot-check statistics show the grade that fell.

use pbm_auth::Role;
use pbm_e2e::{FY, REGION};
use pbm_proto::common::v1::Decimal;
use pbm_proto::evaluation::v1 as ev;
use pbm_proto::goal::v1::goal_service_client::GoalServiceClient;
use pbm_proto::monitoring::v1 as mon;
use pbm_testkit::{TestDatabase, Who, bearer as req, reason, violations};
use tonic::transport::Channel;

const DEPT: &str = "D01";
const UNIT: &str = "D01001";
const DEPT2: &str = "D02";
const UNIT2: &str = "D02001";

fn dec(v: &str) -> Option<Decimal> {
    Some(Decimal { value: v.into() })
}

fn value(d: &Option<Decimal>) -> rust_decimal::Decimal {
    d.as_ref()
        .map_or("0", |d| d.value.as_str())
        .parse()
        .unwrap()
}

struct Cycle {
    deployment: pbm_e2e::Deployment,
    goals: GoalServiceClient<Channel>,
    campaigns: ev::campaign_service_client::CampaignServiceClient<Channel>,
    selfs: ev::self_evaluation_service_client::SelfEvaluationServiceClient<Channel>,
    spots: ev::spot_check_service_client::SpotCheckServiceClient<Channel>,
    finance: String,
    unit: String,
    department: String,
    unit2: String,
    department2: String,
}

impl Cycle {
    async fn start(db: TestDatabase) -> Cycle {
        let deployment = pbm_e2e::Deployment::start(db, None).await;
        let channel = deployment.channel.clone();
        let token = |who: Who| deployment.token(&who);
        Cycle {
            finance: token(Who::finance(REGION).with_sub("ev-finance")),
            unit: token(Who::unit(REGION, DEPT, UNIT).with_sub("ev-unit")),
            department: token(Who::department(REGION, DEPT).with_sub("ev-dept")),
            unit2: token(Who::unit(REGION, DEPT2, UNIT2).with_sub("ev-unit2")),
            department2: token(Who::department(REGION, DEPT2).with_sub("ev-dept2")),
            goals: GoalServiceClient::new(channel.clone()),
            campaigns: ev::campaign_service_client::CampaignServiceClient::new(channel.clone()),
            selfs: ev::self_evaluation_service_client::SelfEvaluationServiceClient::new(
                channel.clone(),
            ),
            spots: ev::spot_check_service_client::SpotCheckServiceClient::new(channel),
            deployment,
        }
    }

    /// Project `code` of `unit` (department `dept`), 1,000,000 元, with a goal of 12 处 /
    /// 32,000 人 / 90 % approved by finance.
    async fn approved(&self, code: &str, unit: (&str, &str, &str), library: &[String; 3]) {
        let (token, dept, agency) = unit;
        let request_id = format!("ev-project-{code}");
        pbm_e2e::declare_water_project(&self.goals, token, &request_id, code, agency, dept).await;
        pbm_e2e::approve_goal(
            &self.goals,
            token,
            &self.finance,
            pbm_e2e::water_goal(code, library, "12"),
            0,
            &format!("ev-{code}"),
        )
        .await;
    }

    /// The sheet of `key` as `token` sees it.
    async fn sheet(&self, token: &str, id: i64) -> Result<ev::SelfEvaluation, tonic::Status> {
        Ok(self
            .selfs
            .clone()
            .get_self_evaluation(req(
                token,
                ev::GetSelfEvaluationRequest {
                    self_evaluation_id: id,
                },
            ))
            .await?
            .into_inner()
            .self_evaluation
            .unwrap())
    }

    /// The sheets of the campaign `token` may see.
    async fn list(&self, token: &str, campaign_id: i64) -> ev::ListSelfEvaluationsResponse {
        self.selfs
            .clone()
            .list_self_evaluations(req(
                token,
                ev::ListSelfEvaluationsRequest {
                    campaign_id,
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner()
    }

    async fn save(
        &self,
        token: &str,
        sheet: &ev::SelfEvaluation,
        request_id: &str,
        entries: Vec<ev::IndicatorEntry>,
        execution_reason: &str,
        summary: &str,
    ) -> ev::SelfEvaluation {
        self.selfs
            .clone()
            .save_self_evaluation(req(
                token,
                ev::SaveSelfEvaluationRequest {
                    request_id: request_id.into(),
                    self_evaluation_id: sheet.id,
                    expected_revision: sheet.revision,
                    entries,
                    execution_reason: execution_reason.into(),
                    summary: summary.into(),
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .self_evaluation
            .unwrap()
    }

    async fn submit(
        &self,
        token: &str,
        sheet: &ev::SelfEvaluation,
        request_id: &str,
    ) -> Result<ev::SelfEvaluation, tonic::Status> {
        Ok(self
            .selfs
            .clone()
            .submit_self_evaluation(req(
                token,
                ev::SubmitSelfEvaluationRequest {
                    request_id: request_id.into(),
                    self_evaluation_id: sheet.id,
                    expected_revision: sheet.revision,
                },
            ))
            .await?
            .into_inner()
            .self_evaluation
            .unwrap())
    }
}

/// The entry of indicator `seq` (of the goal's three: 12 处, 32,000 人, 90 %) achieved at
/// `achieved`.
fn entry(seq: i32, achieved: &str) -> ev::IndicatorEntry {
    ev::IndicatorEntry {
        seq,
        achieved_value: achieved.into(),
        ..Default::default()
    }
}

/// The seq of the sheet's indicator whose target is `target`.
fn seq_of(sheet: &ev::SelfEvaluation, target: &str) -> i32 {
    sheet
        .indicators
        .iter()
        .find(|i| i.target_value == target)
        .unwrap_or_else(|| panic!("no indicator with target {target}: {sheet:?}"))
        .seq
}

async fn a_year_is_self_evaluated_reviewed_and_spot_checked(db: TestDatabase) {
    let c = Cycle::start(db).await;
    let library = pbm_e2e::seed_library(&c.deployment.channel, &c.finance, "EV").await;
    // D01001 has two projects, D02001 one.
    c.approved("P-EV-1", (&c.unit, DEPT, UNIT), &library).await;
    c.approved("P-EV-2", (&c.unit, DEPT, UNIT), &library).await;
    c.approved("P-EV-3", (&c.unit2, DEPT2, UNIT2), &library)
        .await;

    // The budget system's figures: by June P-EV-1 spent 200,000 of 1,000,000 (40 % of the
    // half-year's pace: red), the others 500,000; by December P-EV-1 800,000 (80 %: below the
    // 90 % that needs a reason, and below the 85 % that bars 优), the others 980,000.
    let mut execution =
        mon::execution_service_client::ExecutionServiceClient::new(c.deployment.channel.clone());
    let row = |code: &str, month: i32, executed: &str| mon::ExecutionRow {
        pro_code: code.into(),
        month,
        initial_budget: dec("1000000"),
        executed: dec(executed),
        ..Default::default()
    };
    let june = vec![
        row("P-EV-1", 6, "200000"),
        row("P-EV-2", 6, "500000"),
        row("P-EV-3", 6, "500000"),
    ];
    let pushed = execution
        .push_execution(req(
            &c.finance,
            mon::PushExecutionRequest {
                request_id: "ev-push-june".into(),
                fiscal_year: FY,
                rows: june,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pushed.rejected, 0, "{:?}", pushed.results);

    // The monitoring round of months 1–6: P-EV-1's budget warning is red.
    let today = pbm_evaluation::state::today_in_china();
    let round = pbm_e2e::open_half_year_round(&c.deployment.channel, &c.finance, "ev-round").await;
    assert_eq!(round.with_approved_goal, 3, "{round:?}");
    let december = vec![
        row("P-EV-1", 12, "800000"),
        row("P-EV-2", 12, "980000"),
        row("P-EV-3", 12, "980000"),
    ];
    let pushed = execution
        .push_execution(req(
            &c.finance,
            mon::PushExecutionRequest {
                request_id: "ev-push-december".into(),
                fiscal_year: FY,
                rows: december,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pushed.rejected, 0, "{:?}", pushed.results);

    // Finance opens the year's self-evaluation: one sheet per approved goal, each with its
    // figures, scored at once (no entries yet: the execution points only).
    let deadline = today + chrono::Days::new(30);
    let campaign = c
        .campaigns
        .clone()
        .open_campaign(req(
            &c.finance,
            ev::OpenCampaignRequest {
                request_id: "ev-campaign".into(),
                fiscal_year: FY,
                name: "2026年度项目支出绩效自评".into(),
                deadline: deadline.to_string(),
                lead_days: 5,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .campaign
        .unwrap();
    assert_eq!(campaign.sheets, 3, "{campaign:?}");
    assert_eq!(campaign.status(), ev::CampaignStatus::Open);
    assert!(!campaign.rules_label.is_empty(), "{campaign:?}");

    // The unit sees its two sheets, not D02001's.
    let own = c.list(&c.unit, campaign.id).await;
    let mut keys: Vec<_> = own
        .self_evaluations
        .iter()
        .map(|s| s.subject_key.clone())
        .collect();
    keys.sort();
    assert_eq!(keys, ["P-EV-1", "P-EV-2"]);
    let id_of = |key: &str| {
        own.self_evaluations
            .iter()
            .find(|s| s.subject_key == key)
            .unwrap()
            .id
    };
    let sheet = c.sheet(&c.unit, id_of("P-EV-1")).await.unwrap();
    assert_eq!(value(&sheet.budget), rust_decimal::Decimal::from(1_000_000));
    assert_eq!(value(&sheet.executed), rust_decimal::Decimal::from(800_000));
    assert_eq!(sheet.execution_month, 12);
    assert!(sheet.red_warnings >= 1, "the red budget warning: {sheet:?}");
    assert_eq!(sheet.status(), ev::SheetStatus::NotStarted);
    assert_eq!(sheet.indicators.len(), 3);
    let opened = sheet.score.clone().unwrap();
    assert_eq!(opened.missing.len(), 3, "{opened:?}");
    assert!(opened.needs_execution_reason, "80 % < 90 %: {opened:?}");

    // The unit saves what it achieved: 10 of 12 处 (below target: the indicator deviates), all
    // the 32,000 people, 95 % satisfied. Scored at once, with its explanation.
    let (works, people, satisfied) = (
        seq_of(&sheet, "12"),
        seq_of(&sheet, "32000"),
        seq_of(&sheet, "90"),
    );
    let entries = vec![
        entry(works, "10"),
        entry(people, "32000"),
        entry(satisfied, "95"),
    ];
    let saved = c
        .save(&c.unit, &sheet, "ev-save-1", entries.clone(), "", "")
        .await;
    assert_eq!(saved.status(), ev::SheetStatus::Draft);
    let score = saved.score.clone().unwrap();
    assert!(score.missing.is_empty(), "{score:?}");
    assert!(
        value(&score.total) > rust_decimal::Decimal::from(80),
        "{score:?}"
    );
    assert!(
        !score.explanation.is_empty(),
        "the total explains itself: {score:?}"
    );
    assert!(
        score.indicators.iter().all(|i| !i.explanation.is_empty()),
        "every indicator explains its points: {score:?}"
    );
    let deviating = score.indicators.iter().find(|i| i.seq == works).unwrap();
    assert!(deviating.deviates, "10 of 12 deviates: {deviating:?}");
    // 预算执行率 80 % < 85 %: not 优 whatever the points.
    assert_ne!(score.grade(), ev::Grade::Excellent, "{score:?}");

    // Submitting now is refused with every gap named: the execution reason, the deviating
    // indicator's analysis, the summary.
    let refused = c
        .submit(&c.unit, &saved, "ev-submit-early")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert_eq!(reason(&refused), "SHEET_INCOMPLETE");
    let gaps = violations(&refused);
    assert!(gaps.len() >= 3, "{gaps:?}");
    assert!(
        gaps.iter()
            .any(|(field, _)| field.contains("execution_reason")),
        "{gaps:?}"
    );
    assert!(
        gaps.iter().any(|(field, _)| field.contains("summary")),
        "{gaps:?}"
    );
    assert!(
        gaps.iter()
            .any(|(field, _)| field.contains("deviation_causes")),
        "{gaps:?}"
    );

    // Completed and submitted; the department reviews it, finance receives it.
    let mut works_entry = entry(works, "10");
    works_entry.deviation_causes = "两处工程因征地纠纷未能开工".into();
    works_entry.improvement_measures = "协调乡镇政府解决征地问题，次年一季度开工".into();
    let saved = c
        .save(
            &c.unit,
            &saved,
            "ev-save-2",
            vec![works_entry],
            "两处工程未开工，对应资金未支付",
            "完成10处农村饮水工程，3.2万人饮水安全得到巩固提升，群众满意度95%",
        )
        .await;
    let submitted = c.submit(&c.unit, &saved, "ev-submit").await.unwrap();
    assert_eq!(submitted.status(), ev::SheetStatus::Submitted);
    assert_eq!(submitted.deadline_status(), ev::DeadlineStatus::Submitted);
    let self_score = submitted.score.clone().unwrap();
    let reviewed = c
        .selfs
        .clone()
        .review_self_evaluation(req(
            &c.department,
            ev::ReviewSelfEvaluationRequest {
                request_id: "ev-review".into(),
                self_evaluation_id: submitted.id,
                expected_revision: submitted.revision,
                pass: true,
                reason: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .self_evaluation
        .unwrap();
    assert_eq!(reviewed.status(), ev::SheetStatus::Reviewed);
    let received = c
        .selfs
        .clone()
        .receive_self_evaluation(req(
            &c.finance,
            ev::ReceiveSelfEvaluationRequest {
                request_id: "ev-receive".into(),
                self_evaluation_id: reviewed.id,
                expected_revision: reviewed.revision,
                accept: true,
                reason: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .self_evaluation
        .unwrap();
    assert_eq!(received.status(), ev::SheetStatus::Received);
    let history = c
        .selfs
        .clone()
        .get_self_evaluation_history(req(
            &c.unit,
            ev::GetSelfEvaluationHistoryRequest {
                self_evaluation_id: received.id,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .events;
    let steps: Vec<_> = history.iter().map(|e| e.to()).collect();
    assert!(
        steps.ends_with(&[
            ev::SheetStatus::Submitted,
            ev::SheetStatus::Reviewed,
            ev::SheetStatus::Received
        ]),
        "{history:?}"
    );

    // P-EV-2 is submitted complete too: every target met, executed 98 %.
    let two = c.sheet(&c.unit, id_of("P-EV-2")).await.unwrap();
    let two = c
        .save(
            &c.unit,
            &two,
            "ev-save-two",
            vec![
                entry(seq_of(&two, "12"), "12"),
                entry(seq_of(&two, "32000"), "32000"),
                entry(seq_of(&two, "90"), "92"),
            ],
            "",
            "全部完成年度目标",
        )
        .await;
    c.submit(&c.unit, &two, "ev-submit-two").await.unwrap();

    // Nothing of D01001's leaks to another unit or department: the sheet is not found, lists
    // hold only their own and count nothing else.
    for token in [&c.unit2, &c.department2] {
        let hidden = c.sheet(token, received.id).await.unwrap_err();
        assert_eq!(hidden.code(), tonic::Code::NotFound);
        let listed = c.list(token, campaign.id).await;
        let keys: Vec<_> = listed
            .self_evaluations
            .iter()
            .map(|s| s.subject_key.as_str())
            .collect();
        assert_eq!(keys, ["P-EV-3"]);
        assert_eq!(listed.page.unwrap_or_default().total_size, 1);
        let history = c
            .selfs
            .clone()
            .get_self_evaluation_history(req(
                token,
                ev::GetSelfEvaluationHistoryRequest {
                    self_evaluation_id: received.id,
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(history.code(), tonic::Code::NotFound);
    }
    // The department sees its unit's two sheets.
    assert_eq!(
        c.list(&c.department, campaign.id)
            .await
            .self_evaluations
            .len(),
        2
    );

    // Statistics for finance and the province: three covered, two submitted (one received).
    let stats = |token: String| {
        let mut campaigns = c.campaigns.clone();
        async move {
            campaigns
                .get_self_evaluation_statistics(req(
                    &token,
                    ev::GetSelfEvaluationStatisticsRequest {
                        campaign_id: campaign.id,
                        by_department: true,
                        ..Default::default()
                    },
                ))
                .await
                .unwrap()
                .into_inner()
        }
    };
    let finance_stats = stats(c.finance.clone()).await;
    let totals = finance_stats.totals.clone().unwrap();
    assert_eq!(
        (totals.covered, totals.submitted, totals.overdue),
        (3, 2, 0)
    );
    let d01 = finance_stats
        .rows
        .iter()
        .find(|r| r.department_code == DEPT)
        .unwrap();
    assert_eq!((d01.covered, d01.submitted), (2, 2));
    let province = c
        .deployment
        .token(&Who::new(Role::Province, "140000").with_sub("ev-province"));
    assert_eq!(stats(province.clone()).await.totals, Some(totals));
    let denied = c.sheet(&province, received.id).await.unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);

    // Finance ranks the submitted sheets by risk: P-EV-1 (a red warning, 80 % executed, a high
    // self-score) first, each factor's contribution shown.
    let mut spots = c.spots.clone();
    let ranked = spots
        .rank_risk(req(
            &c.finance,
            ev::RankRiskRequest {
                campaign_id: campaign.id,
                limit: 50,
                weights: None,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ranked.candidates, 2, "{ranked:?}");
    let top = &ranked.entries[0];
    assert_eq!(top.subject_key, "P-EV-1", "{ranked:?}");
    assert!(
        top.factors
            .iter()
            .any(|f| f.factor == "red_warnings"
                && value(&f.contribution) > rust_decimal::Decimal::ZERO),
        "{top:?}"
    );

    // It is selected by risk and reviewed by finance itself: the people reached were 20,000,
    // not 32,000 (a problem: the data do not match the records), and the score corrected.
    let check = spots
        .select_spot_check(req(
            &c.finance,
            ev::SelectSpotCheckRequest {
                request_id: "ev-select".into(),
                campaign_id: campaign.id,
                name: "2026年度自评抽查复核".into(),
                method: ev::SampleMethod::Risk as i32,
                size: 1,
                reviewer: ev::Reviewer::Finance as i32,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .spot_check
        .unwrap();
    let picked: Vec<_> = check.items.iter().map(|i| i.subject_key.as_str()).collect();
    assert_eq!(picked, ["P-EV-1"]);
    let review = spots
        .save_review(req(
            &c.finance,
            ev::SaveReviewRequest {
                request_id: "ev-review-save".into(),
                spot_check_id: check.id,
                self_evaluation_id: received.id,
                // A sampled sheet's review exists from the selection on, at revision 1.
                expected_revision: 1,
                entries: vec![entry(people, "20000")],
                problems: vec![ev::Problem {
                    category: ev::ProblemCategory::DataInconsistent as i32,
                    indicator_seq: people,
                    description: "受益人口按户籍人口填报，实际通水受益约2万人".into(),
                    evidence: "供水站用水户台账、乡镇通水验收单".into(),
                }],
                opinion: "受益人口填报不实，核减相应得分".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .review
        .unwrap();
    let review = spots
        .finish_review(req(
            &c.finance,
            ev::FinishReviewRequest {
                request_id: "ev-review-finish".into(),
                spot_check_id: check.id,
                self_evaluation_id: received.id,
                expected_revision: review.revision,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .review
        .unwrap();
    assert_eq!(review.status(), ev::ReviewStatus::Finished);
    let corrected = review.corrected.clone().unwrap();
    assert!(
        value(&corrected.total) < value(&self_score.total),
        "corrected {corrected:?} against {self_score:?}"
    );
    assert_eq!(
        value(&review.difference),
        value(&corrected.total) - value(&self_score.total)
    );
    assert!(review.flagged, "{review:?}");
    assert_ne!(
        corrected.grade(),
        self_score.grade(),
        "the grade fell: {review:?}"
    );

    // The unit sees the findings on its sheet; the other unit does not.
    let findings = spots
        .list_findings(req(
            &c.unit,
            ev::ListFindingsRequest {
                self_evaluation_id: received.id,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .reviews;
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].problems.len(), 1);
    assert_eq!(
        findings[0].problems[0].category(),
        ev::ProblemCategory::DataInconsistent
    );
    let hidden = spots
        .list_findings(req(
            &c.unit2,
            ev::ListFindingsRequest {
                self_evaluation_id: received.id,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), tonic::Code::NotFound);

    // The spot-check statistics: one sampled, finished, one problem, the grade fell for D01001.
    let stats = spots
        .get_spot_check_statistics(req(
            &province,
            ev::GetSpotCheckStatisticsRequest {
                campaign_id: campaign.id,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            stats.spot_checks,
            stats.sampled,
            stats.finished,
            stats.problems
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(
        (stats.corrected, stats.flagged, stats.grades_fallen),
        (1, 1, 1)
    );
    assert_eq!(stats.units_grade_fell, [UNIT]);
    assert_eq!(value(&stats.total_correction), value(&review.difference));
}

pbm_db::backend_tests! {
    evaluation_cycle => a_year_is_self_evaluated_reviewed_and_spot_checked;
}
