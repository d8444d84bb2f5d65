//! Goals approved or adjusted after the year's monitoring round and self-evaluation campaign
//! opened join them through the event consumers (docs/ARCHITECTURE.md "Events"), over real
//! gRPC as `pbm serve` assembles the services: the goal service writes `pbm.goal.approved` /
//! `pbm.goal.adjusted` with the approval, the relay publishes it, and the monitoring and
//! evaluation consumers add the goal to the open round's and campaign's scopes as opening would
//! have — an adjusted goal's new version replacing the old one while nothing was submitted.

use pbm_e2e::{FY, REGION, eventually};
use pbm_proto::evaluation::v1 as ev;
use pbm_proto::goal::v1 as pb;
use pbm_proto::goal::v1::goal_service_client::GoalServiceClient;
use pbm_proto::monitoring::v1 as mon;
use pbm_testkit::{TestDatabase, Who, bearer as req};
use tonic::transport::Channel;

const DEPT: &str = "D01";
const UNIT: &str = "D01001";

struct Flow {
    deployment: pbm_e2e::Deployment,
    goals: GoalServiceClient<Channel>,
    rounds: mon::round_service_client::RoundServiceClient<Channel>,
    campaigns: ev::campaign_service_client::CampaignServiceClient<Channel>,
    selfs: ev::self_evaluation_service_client::SelfEvaluationServiceClient<Channel>,
    finance: String,
    unit: String,
}

impl Flow {
    async fn start(db: TestDatabase) -> Flow {
        let deployment = pbm_e2e::Deployment::start(db, None).await;
        let channel = deployment.channel.clone();
        Flow {
            goals: GoalServiceClient::new(channel.clone()),
            rounds: mon::round_service_client::RoundServiceClient::new(channel.clone()),
            campaigns: ev::campaign_service_client::CampaignServiceClient::new(channel.clone()),
            selfs: ev::self_evaluation_service_client::SelfEvaluationServiceClient::new(channel),
            finance: deployment.token(&Who::finance(REGION).with_sub("ge-finance")),
            unit: deployment.token(&Who::unit(REGION, DEPT, UNIT).with_sub("ge-unit")),
            deployment,
        }
    }

    async fn project(&self, code: &str) {
        let request_id = format!("ge-project-{code}");
        pbm_e2e::declare_water_project(&self.goals, &self.unit, &request_id, code, UNIT, DEPT)
            .await;
    }

    /// Saves, submits, reviews and approves the goal of `code` with `works` 处 as its first
    /// target (`step` keeps the request ids apart); returns the approved goal.
    async fn declare_and_approve(
        &self,
        code: &str,
        library: &[String; 3],
        works: &str,
        expected_revision: i64,
        step: &str,
    ) -> pb::Goal {
        pbm_e2e::approve_goal(
            &self.goals,
            &self.unit,
            &self.finance,
            pbm_e2e::water_goal(code, library, works),
            expected_revision,
            &format!("ge-{code}-{step}"),
        )
        .await
    }

    async fn subject(&self, round: i64, key: &str) -> Option<mon::GetRoundSubjectResponse> {
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
            .ok()
            .map(|r| r.into_inner())
    }

    async fn sheet(&self, campaign: i64, key: &str) -> Option<ev::SelfEvaluation> {
        let list = self
            .selfs
            .clone()
            .list_self_evaluations(req(
                &self.finance,
                ev::ListSelfEvaluationsRequest {
                    campaign_id: campaign,
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        let id = list
            .self_evaluations
            .iter()
            .find(|s| s.subject_key == key)?
            .id;
        self.selfs
            .clone()
            .get_self_evaluation(req(
                &self.finance,
                ev::GetSelfEvaluationRequest {
                    self_evaluation_id: id,
                },
            ))
            .await
            .ok()?
            .into_inner()
            .self_evaluation
    }
}

async fn goals_approved_or_adjusted_later_join_the_open_round_and_campaign(db: TestDatabase) {
    let f = Flow::start(db).await;
    let library = pbm_e2e::seed_library(&f.deployment.channel, &f.finance, "GE").await;
    f.project("P-GE-1").await;
    f.project("P-GE-2").await;
    f.declare_and_approve("P-GE-1", &library, "12", 0, "v1")
        .await;

    // Finance opens the round of months 1–6 and the year's self-evaluation: P-GE-1 only.
    let today = pbm_monitoring::state::today_in_china();
    let round = pbm_e2e::open_half_year_round(&f.deployment.channel, &f.finance, "ge-round").await;
    assert_eq!(round.with_approved_goal, 1, "{round:?}");
    assert_eq!(
        f.subject(round.id, "P-GE-2")
            .await
            .unwrap()
            .subject
            .unwrap()
            .goal_state(),
        mon::GoalState::NoGoal
    );
    let campaign = f
        .campaigns
        .clone()
        .open_campaign(req(
            &f.finance,
            ev::OpenCampaignRequest {
                request_id: "ge-campaign".into(),
                fiscal_year: FY,
                name: "2026年度项目支出绩效自评".into(),
                deadline: (today + chrono::Days::new(30)).to_string(),
                lead_days: 5,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .campaign
        .unwrap();
    assert_eq!(campaign.sheets, 1, "{campaign:?}");

    // P-GE-2's goal is approved afterwards: it joins both, with its three indicators.
    let goal = f
        .declare_and_approve("P-GE-2", &library, "12", 0, "v1")
        .await;
    let subject = eventually("P-GE-2 approved in the round", || async {
        f.subject(round.id, "P-GE-2")
            .await
            .filter(|s| s.subject.as_ref().unwrap().goal_state() == mon::GoalState::Approved)
    })
    .await;
    assert_eq!(subject.subject.as_ref().unwrap().goal_id, goal.id);
    assert_eq!(subject.indicators.len(), 3, "{subject:?}");
    let sheet = eventually("P-GE-2's sheet in the campaign", || async {
        f.sheet(campaign.id, "P-GE-2").await
    })
    .await;
    assert_eq!(sheet.indicators.len(), 3, "{sheet:?}");
    assert_eq!(sheet.status(), ev::SheetStatus::NotStarted);

    // An adjustment of P-GE-2 (15 处 instead of 12), approved: the new version replaces the old
    // one in both, nothing having been submitted.
    let adjusting = f
        .goals
        .clone()
        .request_adjustment(req(
            &f.unit,
            pb::RequestAdjustmentRequest {
                request_id: "ge-adjust-P-GE-2".into(),
                goal_id: goal.id,
                expected_revision: goal.revision,
                budget_adjustment_ref: "晋财预〔2026〕12号".into(),
                reason: "年中预算调整".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .goal
        .unwrap();
    let adjusted = f
        .declare_and_approve("P-GE-2", &library, "15", adjusting.revision, "v2")
        .await;
    let subject = eventually("P-GE-2's new version in the round", || async {
        f.subject(round.id, "P-GE-2")
            .await
            .filter(|s| s.indicators.iter().any(|i| i.target_value == "15"))
    })
    .await;
    assert_eq!(
        subject.subject.unwrap().goal_state(),
        mon::GoalState::Approved
    );
    let sheet = eventually("P-GE-2's new version in the campaign", || async {
        f.sheet(campaign.id, "P-GE-2")
            .await
            .filter(|s| s.indicators.iter().any(|i| i.target_value == "15"))
    })
    .await;
    assert_eq!(sheet.indicators.len(), 3, "{sheet:?}");
    assert!(adjusted.revision > adjusting.revision);

    // Each once: the round counts two approved goals, the campaign two sheets.
    let round = f
        .rounds
        .clone()
        .get_round(req(&f.finance, mon::GetRoundRequest { round_id: round.id }))
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    assert_eq!(round.with_approved_goal, 2, "{round:?}");
    let campaign = f
        .campaigns
        .clone()
        .get_campaign(req(
            &f.finance,
            ev::GetCampaignRequest {
                campaign_id: campaign.id,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .campaign
        .unwrap();
    assert_eq!(campaign.sheets, 2, "{campaign:?}");
}

pbm_db::backend_tests! {
    goals_approved_or_adjusted_later_join_open_scopes =>
        goals_approved_or_adjusted_later_join_the_open_round_and_campaign;
}
