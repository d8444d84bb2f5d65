//! The agency service's own flows made event-driven (docs/AGENCY.md, docs/ARCHITECTURE.md
//! "Events"), over real gRPC as `pbm serve` assembles the services: RateEngagement answers with
//! the agency's new rating and writes `pbm.agency.engagement_rated`, whose consumer applies the
//! grade's action (here a suspension); RespondToDraw records a decline and writes
//! `pbm.agency.draw_declined`, whose consumer draws the replacement round that GetDraw then
//! shows — or, with nobody eligible left, the shortfall.

use chrono::Days;
use pbm_e2e::{REGION, eventually};
use pbm_proto::agency::v1 as ag;
use pbm_proto::agency::v1::agency_registry_service_client::AgencyRegistryServiceClient;
use pbm_proto::agency::v1::draw_service_client::DrawServiceClient;
use pbm_proto::agency::v1::engagement_service_client::EngagementServiceClient;
use pbm_proto::common::v1::Decimal;
use pbm_testkit::{TestDatabase, Who, bearer as req};
use tonic::transport::Channel;

/// A valid 统一社会信用代码 (check digit per GB 32100-2015).
const AGENCY: &str = "91350100M000100Y43";

struct Flow {
    deployment: pbm_e2e::Deployment,
    registry: AgencyRegistryServiceClient<Channel>,
    engagements: EngagementServiceClient<Channel>,
    draws: DrawServiceClient<Channel>,
    finance: String,
}

impl Flow {
    async fn start(db: TestDatabase) -> Flow {
        let deployment = pbm_e2e::Deployment::start(db, None).await;
        let channel = deployment.channel.clone();
        Flow {
            registry: AgencyRegistryServiceClient::new(channel.clone()),
            engagements: EngagementServiceClient::new(channel.clone()),
            draws: DrawServiceClient::new(channel),
            finance: deployment.token(&Who::finance(REGION).with_sub("ae-finance")),
            deployment,
        }
    }

    async fn agency(&self) -> ag::Agency {
        self.registry
            .clone()
            .get_agency(req(
                &self.finance,
                ag::GetAgencyRequest {
                    credit_code: AGENCY.into(),
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .agency
            .unwrap()
    }

    async fn draw(&self, id: i64) -> ag::Draw {
        self.draws
            .clone()
            .get_draw(req(&self.finance, ag::GetDrawRequest { draw_id: id }))
            .await
            .unwrap()
            .into_inner()
            .draw
            .unwrap()
    }

    /// Records `expert`'s decline of draw `draw`; the draw as committed.
    async fn decline(&self, draw: &ag::Draw, expert: i64, request_id: &str) -> ag::Draw {
        self.draws
            .clone()
            .respond_to_draw(req(
                &self.finance,
                ag::RespondToDrawRequest {
                    request_id: request_id.into(),
                    draw_id: draw.id,
                    expected_version: draw.version,
                    expert_id: expert,
                    accept: false,
                    reason: "时间冲突".into(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .draw
            .unwrap()
    }
}

fn dec(v: &str) -> Option<Decimal> {
    Some(Decimal { value: v.into() })
}

async fn a_low_rating_suspends_the_agency_through_its_consumer(db: TestDatabase) {
    let f = Flow::start(db).await;
    let today = pbm_agency::state::today_in_china();
    let batch = f
        .registry
        .clone()
        .create_admission_batch(req(
            &f.finance,
            ag::CreateAdmissionBatchRequest {
                request_id: "ae-batch".into(),
                name: "第三方机构库".into(),
                procurement_ref: "JCZC-2025-031".into(),
                qualified_from: (today - Days::new(365)).to_string(),
                qualified_to: (today + Days::new(365)).to_string(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .batch
        .unwrap();
    f.registry
        .clone()
        .register_agency(req(
            &f.finance,
            ag::RegisterAgencyRequest {
                request_id: "ae-agency".into(),
                spec: Some(ag::AgencySpec {
                    credit_code: AGENCY.into(),
                    name: "晋城某会计师事务所有限公司".into(),
                    r#type: ag::AgencyType::AccountingFirm as i32,
                    legal_representative: "王某".into(),
                    lead_evaluators: vec![ag::LeadEvaluator {
                        name: "赵某".into(),
                        qualifications: vec!["注册会计师".into()],
                    }],
                    scopes: vec![ag::ServiceScope::Evaluation as i32],
                    admission_batch_id: batch.id,
                    ..Default::default()
                }),
            },
        ))
        .await
        .unwrap();
    let engagement = f
        .engagements
        .clone()
        .create_engagement(req(
            &f.finance,
            ag::CreateEngagementRequest {
                request_id: "ae-engagement".into(),
                commissioner: "FIN".into(),
                evaluated_party: "D01".into(),
                kind: ag::EngagementKind::Evaluation as i32,
                agency_credit_code: AGENCY.into(),
                expert_ids: vec![],
                started_on: (today - Days::new(60)).to_string(),
                ended_on: (today - Days::new(1)).to_string(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .engagement
        .unwrap();

    // 20×40% + 40×60% = 32: grade D, whose action is a suspension.
    let scores = [
        ("QUALITY", "20"),
        ("TIMELINESS", "40"),
        ("CONDUCT", "40"),
        ("SATISFACTION", "40"),
    ]
    .into_iter()
    .map(|(c, s)| ag::CriterionScore {
        criterion: c.into(),
        score: dec(s),
    })
    .collect();
    let rated = f
        .engagements
        .clone()
        .rate_engagement(req(
            &f.finance,
            ag::RateEngagementRequest {
                request_id: "ae-rate".into(),
                engagement_id: engagement.id,
                expected_version: engagement.version,
                scores,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let rating = rated.agency_rating.unwrap();
    assert_eq!(
        (rating.grade.as_str(), rating.action.as_str()),
        ("D", "suspend")
    );
    let suspended = eventually("the agency suspended by the consumer", || async {
        Some(f.agency().await).filter(|a| a.status == ag::AgencyStatus::Suspended as i32)
    })
    .await;
    assert!(!suspended.suspended_until.is_empty(), "{suspended:?}");
    let history = f
        .registry
        .clone()
        .list_status_history(req(
            &f.finance,
            ag::ListStatusHistoryRequest {
                credit_code: AGENCY.into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .changes;
    let suspensions: Vec<_> = history
        .iter()
        .filter(|c| c.to_status == "suspended")
        .collect();
    assert_eq!(suspensions.len(), 1, "{history:?}");
    assert!(suspensions[0].reason.contains("信用等级D"), "{history:?}");
}

async fn a_decline_is_replaced_through_its_consumer(db: TestDatabase) {
    let f = Flow::start(db).await;
    for i in 0..3 {
        let request_id = format!("ae-expert-{i}");
        pbm_e2e::register_expert_numbered(&f.deployment.channel, &f.finance, &request_id, i).await;
    }
    let drawn = f
        .draws
        .clone()
        .draw_experts(req(
            &f.finance,
            ag::DrawExpertsRequest {
                request_id: "ae-draw".into(),
                task_ref: "AE-T1".into(),
                field: "LAW".into(),
                count: 2,
                evaluated_party: "U0101".into(),
                kind: ag::EngagementKind::GoalReview as i32,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .draw
        .unwrap();
    assert_eq!((drawn.eligible, drawn.drawn.len()), (3, 2));

    // The decline is recorded at once; the replacement round follows on GetDraw.
    let declined = drawn.drawn[0].expert_id;
    let answered = f.decline(&drawn, declined, "ae-decline-1").await;
    assert_eq!(answered.rounds.len(), 1, "{answered:?}");
    let replaced = eventually("the replacement round drawn", || async {
        Some(f.draw(drawn.id).await).filter(|d| d.rounds.len() == 2)
    })
    .await;
    let third: Vec<i64> = replaced
        .drawn
        .iter()
        .filter(|m| m.round == 1)
        .map(|m| m.expert_id)
        .collect();
    assert_eq!(third.len(), 1, "{replaced:?}");
    assert!(!drawn.drawn.iter().any(|m| m.expert_id == third[0]));
    assert_eq!(replaced.version, answered.version);

    // The replacement declines too: nobody is left, the draw says so.
    let answered = f.decline(&replaced, third[0], "ae-decline-2").await;
    let short = eventually("the shortfall recorded", || async {
        Some(f.draw(drawn.id).await).filter(|d| !d.replacement_shortfalls.is_empty())
    })
    .await;
    assert_eq!(short.rounds.len(), 2);
    assert_eq!(short.version, answered.version);
    assert_eq!(
        (
            short.replacement_shortfalls[0].round,
            short.replacement_shortfalls[0].declined.clone()
        ),
        (2, third[0].to_string())
    );
}

pbm_db::backend_tests! {
    rating_suspends => a_low_rating_suspends_the_agency_through_its_consumer;
    decline_replaced => a_decline_is_replaced_through_its_consumer;
}
