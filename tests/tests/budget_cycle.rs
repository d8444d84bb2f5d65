//! docs/DOMAIN.md "The funding gate": a project without an approved performance goal gets no
//! budget. Across three services over real gRPC, assembled as `pbm serve` assembles them (one
//! port, one database URL, dev-key auth): the library (indicator service) defines indicators,
//! the unit declares a goal that pins them (goal → indicator over gRPC), finance has it reviewed
//! by an expert drawn from the pool (goal → agency over gRPC), approves it, and the budget
//! system's question is answered — before and after the library changes; and a new project's
//! ex-ante assessment is commissioned to an agency drawn from the pool (goal → agency).

use pbm_auth::Role;
use pbm_e2e::{FY, REGION};
use pbm_proto::agency::v1 as ag;
use pbm_proto::agency::v1::agency_registry_service_client::AgencyRegistryServiceClient;
use pbm_proto::common::v1::Decimal;
use pbm_proto::goal::v1 as pb;
use pbm_proto::goal::v1::goal_service_client::GoalServiceClient;
use pbm_proto::indicator::v1 as ind;
use pbm_proto::indicator::v1::indicator_service_client::IndicatorServiceClient;
use pbm_testkit::{TestDatabase, Who, bearer as req};
use tonic::transport::Channel;

struct Deployment {
    library: IndicatorServiceClient<Channel>,
    registry: AgencyRegistryServiceClient<Channel>,
    goals: GoalServiceClient<Channel>,
    deployment: pbm_e2e::Deployment,
}

async fn deploy(db: TestDatabase) -> Deployment {
    let deployment = pbm_e2e::Deployment::start(db, None).await;
    let channel = deployment.channel.clone();
    Deployment {
        library: IndicatorServiceClient::new(channel.clone()),
        registry: AgencyRegistryServiceClient::new(channel.clone()),
        goals: GoalServiceClient::new(channel),
        deployment,
    }
}

impl Deployment {
    /// A token as `pbm token` would print it.
    fn token(&self, role: Role, unit: Option<&str>, expert: Option<i64>) -> String {
        let mut who = Who::new(role, REGION).with_sub(&format!("e2e-{role}"));
        who.unit = unit.map(str::to_owned);
        who.department = Some("D01".into());
        who.expert = expert.map(|e| e.to_string());
        self.deployment.token(&who)
    }
}

impl Deployment {
    /// The unit D01001's project `code` of 800,000 元, as the budget system registers it.
    async fn project(&self, token: &str, code: &str, name: &str, continuity: pb::Continuity) {
        self.goals
            .clone()
            .declare_project(req(
                token,
                pb::DeclareProjectRequest {
                    request_id: format!("e2e-project-{code}"),
                    spec: Some(pb::ProjectSpec {
                        pro_code: code.into(),
                        name: name.into(),
                        agency_code: "D01001".into(),
                        department_code: "D01".into(),
                        fiscal_year: FY,
                        fund_source: pb::FundSource::GeneralPublic as i32,
                        special_field: pb::SpecialField::None as i32,
                        continuity: continuity as i32,
                        nature: pb::Nature::Project as i32,
                        requested_amount: dec("800000"),
                        ..Default::default()
                    }),
                    expected_version: 0,
                },
            ))
            .await
            .unwrap();
    }

    /// The budget system's question at 二下 for one project.
    async fn funding(&self, token: &str, code: &str) -> pb::FundingEligibility {
        self.goals
            .clone()
            .check_funding_eligibility(req(
                token,
                pb::CheckFundingEligibilityRequest {
                    fiscal_year: FY,
                    pro_codes: vec![code.into()],
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .results
            .remove(0)
    }

    /// The reason codes of [`Deployment::funding`].
    async fn reasons(&self, token: &str, code: &str) -> Vec<String> {
        self.funding(token, code)
            .await
            .reasons
            .into_iter()
            .map(|r| r.code)
            .collect()
    }
}

fn dec(v: &str) -> Option<Decimal> {
    Some(Decimal { value: v.into() })
}

async fn a_goal_goes_from_the_library_to_the_budget(db: TestDatabase) {
    let d = deploy(db).await;
    let finance = d.token(Role::FinanceAdmin, None, None);
    let unit = d.token(Role::BudgetUnit, Some("D01001"), None);

    // The library: one indicator under each first level.
    pbm_e2e::seed_library(&d.deployment.channel, &finance, "E2E").await;
    // The unit's project and its goal, pinned to the library.
    d.project(
        &unit,
        "P-E2E-1",
        "农村饮水安全巩固提升工程",
        pb::Continuity::Continuing,
    )
    .await;
    assert_eq!(
        d.funding(&finance, "P-E2E-1").await.reasons[0].code,
        "NO_GOAL"
    );
    let lib = |code: &str, target: &str| pb::GoalIndicator {
        library_code: code.into(),
        target_value: target.into(),
        ..Default::default()
    };
    let goal = d
        .goals
        .clone()
        .save_goal(req(
            &unit,
            pb::SaveGoalRequest {
                request_id: "e2e-goal".into(),
                declaration: Some(pb::GoalDeclaration {
                    pro_code: "P-E2E-1".into(),
                    fiscal_year: FY,
                    year_goal: "完成12处农村饮水工程".into(),
                    serves_people: true,
                    indicators: vec![
                        lib("E2E-O", "12"),
                        lib("E2E-B", "32000"),
                        lib("E2E-S", "90"),
                    ],
                    ..Default::default()
                }),
                expected_revision: 0,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .goal
        .unwrap();
    let goal = d
        .goals
        .clone()
        .submit_goal(req(
            &unit,
            pb::SubmitGoalRequest {
                request_id: "e2e-submit".into(),
                goal_id: goal.id,
                expected_revision: goal.revision,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .goal
        .unwrap();
    assert_eq!(
        d.funding(&finance, "P-E2E-1").await.reasons[0].code,
        "GOAL_NOT_APPROVED"
    );

    // An expert of the pool reviews it.
    let expert = pbm_e2e::register_expert(&d.deployment.channel, &finance, "e2e-expert").await;
    let assigned = d
        .goals
        .clone()
        .assign_reviewers(req(
            &finance,
            pb::AssignReviewersRequest {
                request_id: "e2e-assign".into(),
                goal_id: goal.id,
                expected_revision: goal.revision,
                experts: 1,
                field: "LAW".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(assigned.reviewers, [expert.to_string()]);
    let goal = assigned.goal.unwrap();
    let reviewed = d
        .goals
        .clone()
        .review_goal(req(
            &d.token(Role::Expert, None, Some(expert)),
            pb::ReviewGoalRequest {
                request_id: "e2e-review".into(),
                goal_id: goal.id,
                expected_revision: goal.revision,
                outcome: pb::ReviewOutcome::Excellent as i32,
                comments: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .goal
        .unwrap();
    d.goals
        .clone()
        .approve_goal(req(
            &finance,
            pb::ApproveGoalRequest {
                request_id: "e2e-approve".into(),
                goal_id: reviewed.id,
                expected_revision: reviewed.revision,
            },
        ))
        .await
        .unwrap();
    assert!(d.funding(&finance, "P-E2E-1").await.allowed);

    // The library disables an indicator: the approved goal keeps its pinned version, and the
    // project stays fundable.
    d.library
        .clone()
        .set_indicator_status(req(
            &finance,
            ind::SetIndicatorStatusRequest {
                request_id: "e2e-disable".into(),
                code: "E2E-S".into(),
                expected_version: 1,
                status: ind::IndicatorStatus::Disabled as i32,
                reason: "指标合并".into(),
            },
        ))
        .await
        .unwrap();
    let kept = d
        .goals
        .clone()
        .get_goal(req(
            &unit,
            pb::GetGoalRequest {
                goal_id: goal.id,
                version: 0,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .goal
        .unwrap();
    let pinned = &kept.declaration.unwrap().indicators[2];
    assert_eq!(
        (pinned.library_code.as_str(), pinned.library_version),
        ("E2E-S", 1)
    );
    assert!(d.funding(&finance, "P-E2E-1").await.allowed);
}

/// docs/DOMAIN.md "Ex-ante assessment (事前绩效评估)": a new project above the region's threshold
/// is not fundable without an assessment; finance commissions it to an agency drawn from the
/// pool (goal → agency over gRPC: the draw and the engagement), the agency files the report,
/// finance finds it sufficient, and the gate no longer names the assessment.
async fn an_ex_ante_assessment_is_commissioned_through_the_pool(db: TestDatabase) {
    let d = deploy(db).await;
    let finance = d.token(Role::FinanceAdmin, None, None);
    let unit = d.token(Role::BudgetUnit, Some("D01001"), None);
    const AGENCY: &str = "91350100M000100Y43";

    // 埇桥: new projects from 50万元 need an assessment.
    d.goals
        .clone()
        .set_goal_rules(req(
            &finance,
            pb::SetGoalRulesRequest {
                request_id: "e2e-rules".into(),
                rules: Some(pb::GoalRules {
                    fiscal_year: FY,
                    ex_ante_threshold: dec("500000"),
                    ..Default::default()
                }),
                expected_version: 0,
            },
        ))
        .await
        .unwrap();
    d.project(
        &unit,
        "P-E2E-NEW",
        "乡镇污水处理站新建工程",
        pb::Continuity::New,
    )
    .await;
    assert!(
        d.reasons(&finance, "P-E2E-NEW")
            .await
            .contains(&"EX_ANTE_MISSING".to_owned())
    );

    // An agency of the pool, admitted for ex-ante work.
    let batch = d
        .registry
        .clone()
        .create_admission_batch(req(
            &finance,
            ag::CreateAdmissionBatchRequest {
                request_id: "e2e-batch".into(),
                name: "第三方机构库".into(),
                procurement_ref: "E2E-2025".into(),
                qualified_from: "2025-01-01".into(),
                qualified_to: "2030-12-31".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .batch
        .unwrap();
    d.registry
        .clone()
        .register_agency(req(
            &finance,
            ag::RegisterAgencyRequest {
                request_id: "e2e-agency".into(),
                spec: Some(ag::AgencySpec {
                    credit_code: AGENCY.into(),
                    name: "某工程咨询有限公司".into(),
                    r#type: ag::AgencyType::Consulting as i32,
                    legal_representative: "王某".into(),
                    lead_evaluators: vec![ag::LeadEvaluator {
                        name: "赵某".into(),
                        qualifications: vec!["咨询工程师".into()],
                    }],
                    contacts: vec![ag::Person {
                        name: "李某".into(),
                        role: "项目经理".into(),
                        phone: "13812345678".into(),
                        email: String::new(),
                    }],
                    scopes: vec![ag::ServiceScope::ExAnteAndGoalReview as i32],
                    admission_batch_id: batch.id,
                    ..Default::default()
                }),
            },
        ))
        .await
        .unwrap();

    // Finance commissions the assessment: the agency service draws the agency and records the
    // engagement.
    let due = (chrono::Utc::now().date_naive() + chrono::Days::new(60)).to_string();
    let commission = d
        .goals
        .clone()
        .commission_ex_ante_assessment(req(
            &finance,
            pb::CommissionExAnteAssessmentRequest {
                request_id: "e2e-commission".into(),
                pro_code: "P-E2E-NEW".into(),
                fiscal_year: FY,
                weighted_by_rating: false,
                due_on: due,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .commission
        .unwrap();
    assert_eq!(commission.agency_credit_code, AGENCY);

    // The agency files its report; finance finds it sufficient.
    let agency = d.deployment.token(&Who {
        sub: "e2e-agency".into(),
        agency: Some(AGENCY.into()),
        ..Who::new(Role::Agency, REGION)
    });
    let report = d
        .goals
        .clone()
        .submit_ex_ante_report(req(
            &agency,
            pb::SubmitExAnteReportRequest {
                request_id: "e2e-report".into(),
                report: Some(pb::ExAnteReport {
                    pro_code: "P-E2E-NEW".into(),
                    fiscal_year: FY,
                    assessor: pb::Assessor::Agency as i32,
                    assessor_agency_code: AGENCY.into(),
                    completed_on: "2025-12-20".into(),
                    methods: vec!["cost_benefit".into()],
                    scores: [
                        ("necessity", "18"),
                        ("input_economy", "16"),
                        ("goal_reasonableness", "17"),
                        ("plan_feasibility", "18"),
                        ("financing_compliance", "19"),
                    ]
                    .into_iter()
                    .map(|(dimension, score)| pb::DimensionScore {
                        dimension: dimension.into(),
                        score: dec(score),
                    })
                    .collect(),
                    conclusion: "support".into(),
                    summary: "立项必要，投入经济，予以支持".into(),
                    ..Default::default()
                }),
                expected_version: 0,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    assert!(
        d.reasons(&finance, "P-E2E-NEW")
            .await
            .contains(&"EX_ANTE_PENDING_REVIEW".to_owned())
    );
    d.goals
        .clone()
        .review_ex_ante_report(req(
            &finance,
            pb::ReviewExAnteReportRequest {
                request_id: "e2e-review".into(),
                pro_code: "P-E2E-NEW".into(),
                fiscal_year: FY,
                expected_version: report.version,
                sufficient: true,
                opinion: String::new(),
            },
        ))
        .await
        .unwrap();
    let left = d.reasons(&finance, "P-E2E-NEW").await;
    assert!(left.iter().all(|r| !r.starts_with("EX_ANTE")), "{left:?}");
    assert!(left.contains(&"NO_GOAL".to_owned()), "{left:?}");
}

pbm_db::backend_tests! {
    budget_cycle => a_goal_goes_from_the_library_to_the_budget;
    ex_ante_commission => an_ex_ante_assessment_is_commissioned_through_the_pool;
}
