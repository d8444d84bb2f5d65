//! One request is one trace across services (docs/ARCHITECTURE.md "Request path"): a client's
//! W3C `traceparent` flows through every service-to-service call the request makes — from the
//! handler (evaluation → goal and monitoring), from a blocking database closure and from the
//! goal service's batch lane (goal → indicator while deciding), from a draw (goal → agency), and
//! through the outbox to the event consumers (goal approved → monitoring and evaluation).
//! The spans are exported over OTLP/gRPC, as in production, to a collector inside this test,
//! and grouped by trace id. On SQLite, then on PostgreSQL (where the goal steps are batched).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use pbm_auth::Role;
use pbm_e2e::{Deployment, FY, REGION};
use pbm_proto::evaluation::v1 as ev;
use pbm_proto::evaluation::v1::campaign_service_client::CampaignServiceClient;
use pbm_proto::goal::v1 as pb;
use pbm_proto::goal::v1::goal_service_client::GoalServiceClient;
use pbm_testkit::{TestDatabase, Who};

/// The spans the collector received: (trace id in hex, span name).
#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<(String, String)>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for rs in request.into_inner().resource_spans {
            for ss in rs.scope_spans {
                for s in ss.spans {
                    let id: String = s.trace_id.iter().map(|b| format!("{b:02x}")).collect();
                    spans.push((id, s.name));
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

impl Collector {
    /// The span names of trace `id`, once they include every one of `want` (the batch exporter
    /// sends every few seconds); panics after 30 s with what did arrive.
    async fn trace(&self, id: &str, want: &[&str]) -> BTreeSet<String> {
        for _ in 0..300 {
            let names: BTreeSet<String> = {
                let spans = self.spans.lock().unwrap();
                spans
                    .iter()
                    .filter(|(t, _)| t == id)
                    .map(|(_, n)| n.clone())
                    .collect()
            };
            if want.iter().all(|w| names.contains(*w)) {
                return names;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let spans = self.spans.lock().unwrap();
        let traces: BTreeSet<_> = spans.iter().map(|(t, n)| format!("{t} {n}")).collect();
        panic!("trace {id} lacks some of {want:?}; received: {traces:#?}");
    }
}

/// A request as a traced client sends it: the caller's token and a `traceparent` starting
/// trace `trace` (32 hex digits).
fn traced<T>(token: &str, trace: &str, message: T) -> tonic::Request<T> {
    let mut request = pbm_testkit::bearer(token, message);
    let parent = format!("00-{trace}-00f067aa0ba902b7-01");
    request
        .metadata_mut()
        .insert("traceparent", parent.parse().unwrap());
    request
}

/// The trace ids of one backend's run: distinct per backend and per request.
fn trace_id(backend: u8, request: u8) -> String {
    format!("4bf92f3577b34da6a3ce929d0e0e{backend:02x}{request:02x}")
}

async fn scenario(db: TestDatabase, backend: u8, collector: &Collector) {
    let d = Deployment::start(db, None).await;
    let token = |role: Role, unit: Option<&str>| {
        let mut who = Who::new(role, REGION).with_sub(&format!("trace-{role}"));
        who.unit = unit.map(str::to_owned);
        who.department = Some("D01".into());
        d.token(&who)
    };
    let (finance, unit) = (
        token(Role::FinanceAdmin, None),
        token(Role::BudgetUnit, Some("D01001")),
    );
    let mut goals = GoalServiceClient::new(d.channel.clone());
    pbm_e2e::seed_library(&d.channel, &finance, "TR").await;
    let expert = pbm_e2e::register_expert(&d.channel, &finance, "trace-expert").await;
    goals
        .declare_project(pbm_testkit::bearer(
            &unit,
            pb::DeclareProjectRequest {
                request_id: "trace-project".into(),
                spec: Some(pbm_e2e::project_spec(
                    "P-TRACE",
                    "农村饮水安全巩固提升工程",
                    "D01001",
                    "D01",
                    "800000",
                )),
                expected_version: 0,
            },
        ))
        .await
        .unwrap();

    // SaveGoal resolves the pinned indicators in the library (goal → indicator).
    let lib = |code: &str, target: &str| pb::GoalIndicator {
        library_code: code.into(),
        target_value: target.into(),
        ..Default::default()
    };
    let save = trace_id(backend, 1);
    let goal = goals
        .save_goal(traced(
            &unit,
            &save,
            pb::SaveGoalRequest {
                request_id: "trace-goal".into(),
                declaration: Some(pb::GoalDeclaration {
                    pro_code: "P-TRACE".into(),
                    fiscal_year: FY,
                    year_goal: "完成12处农村饮水工程".into(),
                    serves_people: true,
                    indicators: vec![lib("TR-O", "12"), lib("TR-B", "32000"), lib("TR-S", "90")],
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
    let goal = goals
        .submit_goal(pbm_testkit::bearer(
            &unit,
            pb::SubmitGoalRequest {
                request_id: "trace-submit".into(),
                goal_id: goal.id,
                expected_revision: goal.revision,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .goal
        .unwrap();

    // AssignReviewers draws an expert from the pool (goal → agency), in its step's batch.
    let assign = trace_id(backend, 2);
    let assigned = goals
        .assign_reviewers(traced(
            &finance,
            &assign,
            pb::AssignReviewersRequest {
                request_id: "trace-assign".into(),
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

    // OpenCampaign reads the approved goals and the execution figures (evaluation → goal and
    // monitoring, streaming).
    let open = trace_id(backend, 3);
    let deadline = pbm_evaluation::state::today_in_china() + chrono::Days::new(30);
    CampaignServiceClient::new(d.channel.clone())
        .open_campaign(traced(
            &finance,
            &open,
            ev::OpenCampaignRequest {
                request_id: "trace-campaign".into(),
                fiscal_year: FY,
                name: "2026年度项目支出绩效自评".into(),
                deadline: deadline.to_string(),
                lead_days: 5,
            },
        ))
        .await
        .unwrap();

    // ApproveGoal writes `pbm.goal.approved` to the outbox; the monitoring and evaluation
    // consumers apply it in spans of the approval's trace (relay → bus → consumer).
    let reviewed = goals
        .review_goal(pbm_testkit::bearer(
            &finance,
            pb::ReviewGoalRequest {
                request_id: "trace-review".into(),
                goal_id: goal.id,
                expected_revision: assigned.goal.as_ref().unwrap().revision,
                outcome: pb::ReviewOutcome::Excellent as i32,
                comments: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .goal
        .unwrap();
    let approve = trace_id(backend, 4);
    goals
        .approve_goal(traced(
            &finance,
            &approve,
            pb::ApproveGoalRequest {
                request_id: "trace-approve".into(),
                goal_id: goal.id,
                expected_revision: reviewed.revision,
            },
        ))
        .await
        .unwrap();

    let names = collector
        .trace(
            &save,
            &[
                "/pbm.goal.v1.GoalService/SaveGoal",
                "/pbm.indicator.v1.IndicatorService/ResolveIndicators",
            ],
        )
        .await;
    assert!(names.iter().all(|n| !n.contains("Evaluation")), "{names:?}");
    collector
        .trace(
            &assign,
            &[
                "/pbm.goal.v1.GoalService/AssignReviewers",
                "/pbm.agency.v1.DrawService/DrawExperts",
            ],
        )
        .await;
    collector
        .trace(
            &open,
            &[
                "/pbm.evaluation.v1.CampaignService/OpenCampaign",
                "/pbm.goal.v1.GoalService/StreamApprovedGoals",
                "/pbm.monitoring.v1.ExecutionService/StreamExecutionSummary",
            ],
        )
        .await;
    collector
        .trace(
            &approve,
            &[
                "/pbm.goal.v1.GoalService/ApproveGoal",
                "consume pbm.goal.approved",
            ],
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_is_one_trace_across_services() {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    // As `pbm serve` with OTEL_EXPORTER_OTLP_ENDPOINT set (one subscriber for this process).
    let guard = pbm_telemetry::init("pbm-e2e", Some(&format!("http://{addr}"))).unwrap();

    scenario(TestDatabase::sqlite(), 1, &collector).await;
    if let Some(db) = TestDatabase::postgres() {
        scenario(db, 2, &collector).await;
    }
    tokio::task::spawn_blocking(move || drop(guard))
        .await
        .unwrap();
}
