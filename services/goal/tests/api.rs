//! The goal service over real gRPC, beside the indicator service it calls over gRPC (one
//! server, as `pbm serve` hosts them), on SQLite and PostgreSQL: projects, declarations checked
//! against the library, the 二上二下 workflow with history, adjustments, the funding gate, roles.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::NaiveDate;
use ed25519_dalek::SigningKey;
use pbm_auth::{AuthLayer, Claims, Ed25519Verifier, Role, TokenSigner};
use pbm_db::testing::TestDatabase;
use pbm_proto::common::v1::Decimal;
use pbm_proto::goal::v1 as pb;
use pbm_proto::goal::v1::goal_service_client::GoalServiceClient;
use pbm_proto::indicator::v1 as ind;
use pbm_proto::indicator::v1::indicator_service_client::IndicatorServiceClient;
use pbm_server::ServeOptions;
use pbm_types::{DivisionCode, FiscalYear};
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

const REGION: &str = "140500";
const FY: i32 = 2026;
const UNIT: &str = "140500101";
const DEPT: &str = "140500100";

struct App {
    channel: Channel,
    goals: GoalServiceClient<Channel>,
    library: IndicatorServiceClient<Channel>,
    registry:
        pbm_proto::agency::v1::agency_registry_service_client::AgencyRegistryServiceClient<Channel>,
    signer: TokenSigner,
    seq: AtomicU64,
    _dbs: (TestDatabase, TestDatabase, TestDatabase),
}

/// Serves the indicator and goal services on one port; the goal service reaches the library
/// at `library_url`, or at that same port when `None`.
async fn spawn_with(db: TestDatabase, library_url: Option<&str>) -> App {
    spawn_full(db, library_url, None).await
}

/// As [`spawn_with`], with the agency service in the same server too, or reached at
/// `pool_url`.
async fn spawn_full(db: TestDatabase, library_url: Option<&str>, pool_url: Option<&str>) -> App {
    let library_db = TestDatabase::sqlite();
    let indicator = pbm_indicator::AppState::open(
        library_db.connect(),
        DivisionCode::parse(REGION).unwrap(),
        FiscalYear::new(FY).unwrap(),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let url = library_url.map_or_else(|| format!("http://{addr}"), str::to_owned);
    let pool_url = pool_url.map_or_else(|| format!("http://{addr}"), str::to_owned);
    let pool_db = TestDatabase::sqlite();
    let mut agency = pbm_agency::AppState::open(
        pool_db.connect(),
        DivisionCode::parse(REGION).unwrap(),
        pbm_server::pii::PiiCipher::from_key(&[7u8; 32]),
    )
    .await
    .unwrap();
    let agency_today = NaiveDate::from_ymd_opt(FY, 1, 15).unwrap();
    agency.today = Arc::new(move || agency_today);
    let mut goal = pbm_goal::AppState::open(
        db.connect(),
        DivisionCode::parse(REGION).unwrap(),
        pbm_goal::Library::new(&url).unwrap(),
        pbm_goal::Pool::new(&pool_url).unwrap(),
    )
    .await
    .unwrap();
    let today = NaiveDate::from_ymd_opt(FY, 1, 15).unwrap();
    goal.today = Arc::new(move || today);
    let signer = TokenSigner::new("t", SigningKey::from_bytes(&[5u8; 32]));
    let options = ServeOptions {
        auth: AuthLayer::new(Ed25519Verifier::new().with_key("t", signer.verifying_key())),
        max_in_flight: 64,
        request_timeout: Duration::from_secs(10),
        health_services: vec![pbm_goal::HEALTH_NAME],
    };
    let routes = pbm_goal::add_to(
        pbm_agency::add_to(pbm_indicator::router(indicator), agency),
        goal,
    );
    tokio::spawn(pbm_server::serve(
        listener,
        routes,
        options,
        std::future::pending(),
    ));
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    App {
        channel: channel.clone(),
        goals: GoalServiceClient::new(channel.clone()),
        library: IndicatorServiceClient::new(channel.clone()),
        registry:
            pbm_proto::agency::v1::agency_registry_service_client::AgencyRegistryServiceClient::new(
                channel,
            ),
        signer,
        seq: AtomicU64::new(0),
        _dbs: (db, library_db, pool_db),
    }
}

async fn spawn(db: TestDatabase) -> App {
    spawn_with(db, None).await
}

fn reason(s: &tonic::Status) -> String {
    s.get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

fn violations(s: &tonic::Status) -> Vec<(String, String)> {
    s.get_details_bad_request()
        .map(|b| {
            b.field_violations
                .into_iter()
                .map(|v| (v.field, v.description))
                .collect()
        })
        .unwrap_or_default()
}

fn dec(v: &str) -> Option<Decimal> {
    Some(Decimal { value: v.into() })
}

impl App {
    fn token(&self, role: Role, region: &str, unit: Option<&str>, dept: Option<&str>) -> String {
        let sub = format!("{role}-{}", unit.or(dept).unwrap_or("user"));
        self.signer.sign(
            &Claims::new(sub, role, region, 600)
                .with_unit(unit)
                .with_department(dept),
        )
    }

    fn finance(&self) -> String {
        self.token(Role::FinanceAdmin, REGION, None, None)
    }

    fn unit(&self) -> String {
        self.token(Role::BudgetUnit, REGION, Some(UNIT), Some(DEPT))
    }

    fn req<T>(&self, token: &str, msg: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(msg);
        r.metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        r
    }

    fn rid(&self) -> String {
        format!("g-{}", self.seq.fetch_add(1, Ordering::SeqCst))
    }

    /// A goal's history, as finance reads it.
    async fn history(&self, goal_id: i64) -> Vec<pb::GoalEvent> {
        self.goals
            .clone()
            .get_goal_history(self.req(&self.finance(), pb::GetGoalHistoryRequest { goal_id }))
            .await
            .unwrap()
            .into_inner()
            .events
    }

    /// A library indicator of 2026 under a second-level node.
    async fn indicator(&self, code: &str, node: &str, name: &str, unit: &str, fixed: bool) {
        let r = ind::CreateIndicatorRequest {
            request_id: self.rid(),
            code: code.into(),
            spec: Some(ind::IndicatorSpec {
                fiscal_year: FY,
                frame_node_code: node.into(),
                name: name.into(),
                kind: ind::IndicatorKind::Common as i32,
                direction: ind::Direction::Ge as i32,
                unit: unit.into(),
                explanation: format!("{name}的说明"),
                reference_target: "90".into(),
                scoring_rule: format!("{name}达到目标值得满分，每低1%扣0.5分"),
                fixed,
                ..Default::default()
            }),
        };
        self.library
            .clone()
            .create_indicator(self.req(&self.finance(), r))
            .await
            .unwrap();
    }

    async fn library(&self) {
        self.indicator("OUT-001", "101", "新建农村饮水工程数量", "处", false)
            .await;
        self.indicator("BEN-001", "202", "受益人口", "人", false)
            .await;
        // 固化: the library's target (90) may not be changed.
        self.indicator("SAT-001", "301", "受益群众满意度", "%", true)
            .await;
    }

    async fn project(
        &self,
        code: &str,
        amount: &str,
        continuity: pb::Continuity,
    ) -> Result<pb::Project, tonic::Status> {
        self.project_with(code, amount, continuity, pb::SpecialField::None)
            .await
    }

    async fn project_with(
        &self,
        code: &str,
        amount: &str,
        continuity: pb::Continuity,
        field: pb::SpecialField,
    ) -> Result<pb::Project, tonic::Status> {
        let r = pb::DeclareProjectRequest {
            request_id: self.rid(),
            spec: Some(pb::ProjectSpec {
                pro_code: code.into(),
                name: format!("{code} 农村饮水安全巩固提升工程"),
                agency_code: UNIT.into(),
                department_code: DEPT.into(),
                fiscal_year: FY,
                fund_source: pb::FundSource::GeneralPublic as i32,
                special_field: field as i32,
                continuity: continuity as i32,
                nature: pb::Nature::Project as i32,
                requested_amount: dec(amount),
                mid_term_from: 0,
                mid_term_to: 0,
            }),
            expected_version: 0,
        };
        Ok(self
            .goals
            .clone()
            .declare_project(self.req(&self.unit(), r))
            .await?
            .into_inner()
            .project
            .unwrap())
    }

    async fn save(
        &self,
        token: &str,
        declaration: pb::GoalDeclaration,
        revision: i64,
    ) -> Result<pb::Goal, tonic::Status> {
        let r = pb::SaveGoalRequest {
            request_id: self.rid(),
            declaration: Some(declaration),
            expected_revision: revision,
        };
        Ok(self
            .goals
            .clone()
            .save_goal(self.req(token, r))
            .await?
            .into_inner()
            .goal
            .unwrap())
    }

    async fn submit(&self, goal: &pb::Goal) -> Result<pb::Goal, tonic::Status> {
        let r = pb::SubmitGoalRequest {
            request_id: self.rid(),
            goal_id: goal.id,
            expected_revision: goal.revision,
        };
        Ok(self
            .goals
            .clone()
            .submit_goal(self.req(&self.unit(), r))
            .await?
            .into_inner()
            .goal
            .unwrap())
    }

    async fn review(
        &self,
        goal: &pb::Goal,
        outcome: pb::ReviewOutcome,
        comments: &str,
    ) -> Result<pb::Goal, tonic::Status> {
        let r = pb::ReviewGoalRequest {
            request_id: self.rid(),
            goal_id: goal.id,
            expected_revision: goal.revision,
            outcome: outcome as i32,
            comments: comments.into(),
        };
        Ok(self
            .goals
            .clone()
            .review_goal(self.req(&self.finance(), r))
            .await?
            .into_inner()
            .goal
            .unwrap())
    }

    async fn approve(&self, goal: &pb::Goal) -> Result<pb::Goal, tonic::Status> {
        let r = pb::ApproveGoalRequest {
            request_id: self.rid(),
            goal_id: goal.id,
            expected_revision: goal.revision,
        };
        Ok(self
            .goals
            .clone()
            .approve_goal(self.req(&self.finance(), r))
            .await?
            .into_inner()
            .goal
            .unwrap())
    }

    async fn funding(&self, codes: &[&str]) -> Vec<pb::FundingEligibility> {
        let r = pb::CheckFundingEligibilityRequest {
            fiscal_year: FY,
            pro_codes: codes.iter().map(|c| (*c).to_owned()).collect(),
        };
        self.goals
            .clone()
            .check_funding_eligibility(self.req(&self.finance(), r))
            .await
            .unwrap()
            .into_inner()
            .results
    }
}

fn lib(code: &str, target: &str) -> pb::GoalIndicator {
    pb::GoalIndicator {
        library_code: code.into(),
        target_value: target.into(),
        ..Default::default()
    }
}

fn declaration(code: &str, indicators: Vec<pb::GoalIndicator>) -> pb::GoalDeclaration {
    pb::GoalDeclaration {
        pro_code: code.into(),
        fiscal_year: FY,
        year_goal: "完成12处农村饮水工程，巩固提升3.2万人饮水安全".into(),
        serves_people: true,
        indicators,
        ..Default::default()
    }
}

fn full(code: &str) -> pb::GoalDeclaration {
    declaration(
        code,
        vec![
            lib("OUT-001", "12"),
            lib("BEN-001", "32000"),
            lib("SAT-001", "90"),
        ],
    )
}

async fn goals_move_in_step_with_the_budget(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    app.project("P-2026-002", "800000", pb::Continuity::Continuing)
        .await
        .unwrap();

    // A declaration without benefit and satisfaction indicators is refused at 二上, all at once.
    let draft = app
        .save(
            &app.unit(),
            declaration("P-2026-002", vec![lib("OUT-001", "12")]),
            0,
        )
        .await
        .unwrap();
    assert_eq!(draft.status, pb::GoalStatus::Draft as i32);
    let d = draft.declaration.clone().unwrap();
    // The library filled in levels, name, unit and pinned the version.
    assert_eq!(
        (
            d.indicators[0].level2_name.as_str(),
            d.indicators[0].unit.as_str(),
            d.indicators[0].library_version
        ),
        ("数量指标", "处", 1)
    );
    let refused = app.submit(&draft).await.unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused).as_str()),
        (Code::InvalidArgument, "GOAL_QUALITY_FAILED")
    );
    let found = violations(&refused);
    assert!(
        found
            .iter()
            .any(|(_, m)| m.contains("MISSING_BENEFIT_INDICATOR"))
            && found
                .iter()
                .any(|(_, m)| m.contains("MISSING_SATISFACTION_INDICATOR")),
        "{found:?}"
    );
    // Nothing changed: the same revision submits after the fix.
    let fixed = app
        .save(&app.unit(), full("P-2026-002"), draft.revision)
        .await
        .unwrap();
    let submitted = app.submit(&fixed).await.unwrap();
    assert_eq!(submitted.status, pb::GoalStatus::Submitted as i32);
    // A stale revision is ABORTED; a retried request returns the first result.
    let stale = app.submit(&fixed).await.unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);

    // 良: finance must amend before approving; the amendment keeps its diff.
    let reviewed = app
        .review(
            &submitted,
            pb::ReviewOutcome::Good,
            "受益人口口径需与统计局一致",
        )
        .await
        .unwrap();
    assert_eq!(reviewed.status_text, "已审核（良）");
    let early = app.approve(&reviewed).await.unwrap_err();
    assert_eq!(early.code(), Code::FailedPrecondition);
    let mut amended_decl = full("P-2026-002");
    amended_decl.indicators[1].target_value = "31500".into();
    let amend = pb::AmendGoalRequest {
        request_id: app.rid(),
        goal_id: reviewed.id,
        expected_revision: reviewed.revision,
        declaration: Some(amended_decl),
        comments: "按统计口径修正".into(),
    };
    let amended = app
        .goals
        .clone()
        .amend_goal(app.req(&app.finance(), amend.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        amended
            .changes
            .iter()
            .map(|c| (c.field.as_str(), c.before.as_str(), c.after.as_str()))
            .collect::<Vec<_>>(),
        [("indicators[1].target_value", "32000", "31500")]
    );
    // The same request id replays the first answer.
    let replay = app
        .goals
        .clone()
        .amend_goal(app.req(&app.finance(), amend))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replay, amended);
    let goal = amended.goal.unwrap();
    // A unit may not approve (二下 is finance's).
    let r = pb::ApproveGoalRequest {
        request_id: app.rid(),
        goal_id: goal.id,
        expected_revision: goal.revision,
    };
    let denied = app
        .goals
        .clone()
        .approve_goal(app.req(&app.unit(), r))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let approved = app.approve(&goal).await.unwrap();
    assert_eq!(
        (approved.status, approved.approved_version),
        (pb::GoalStatus::Approved as i32, 1)
    );
    let r = pb::PublishGoalRequest {
        request_id: app.rid(),
        goal_id: approved.id,
        expected_revision: approved.revision,
    };
    let published = app
        .goals
        .clone()
        .publish_goal(app.req(&app.finance(), r))
        .await
        .unwrap()
        .into_inner()
        .goal
        .unwrap();
    assert_eq!(published.published_version, 1);

    // The approved goal exports with the national element names, one row per indicator.
    let export = |token: String| {
        let mut c = app.goals.clone();
        let r = app.req(
            &token,
            pb::ExportApprovedGoalsRequest {
                fiscal_year: FY,
                department_code: String::new(),
            },
        );
        async move {
            use tokio_stream::StreamExt;
            let chunks: Vec<pb::ExportApprovedGoalsChunk> = c
                .export_approved_goals(r)
                .await?
                .into_inner()
                .collect::<Result<_, _>>()
                .await?;
            Ok::<_, tonic::Status>(chunks)
        }
    };
    let chunks = export(app.finance()).await.unwrap();
    assert_eq!((chunks[0].goals, chunks[0].rows), (1, 3));
    let bytes: Vec<u8> = chunks.iter().flat_map(|c| c.data.clone()).collect();
    let table = pbm_xlsx::read_table(&bytes, &pbm_goal::EXPORT_COLUMNS).unwrap();
    let benefit = &table[1].cells;
    assert_eq!(
        (
            benefit[4].as_str(),
            benefit[8].as_str(),
            benefit[10].as_str()
        ),
        ("P-2026-002", "受益人口", "31500")
    );
    assert_eq!(benefit[13], "受益人口达到目标值得满分，每低1%扣0.5分");
    assert_eq!(
        export(app.token(Role::Public, REGION, None, None))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );

    // After approval the goal changes only through an adjustment with its reference.
    let mut adjust = pb::RequestAdjustmentRequest {
        request_id: app.rid(),
        goal_id: published.id,
        expected_revision: published.revision,
        budget_adjustment_ref: String::new(),
        reason: "追加资金".into(),
    };
    let missing_ref = app
        .goals
        .clone()
        .request_adjustment(app.req(&app.unit(), adjust.clone()))
        .await
        .unwrap_err();
    assert_eq!(missing_ref.code(), Code::InvalidArgument);
    adjust.request_id = app.rid();
    adjust.budget_adjustment_ref = "晋市财预〔2026〕15号".into();
    let adjusting = app
        .goals
        .clone()
        .request_adjustment(app.req(&app.unit(), adjust))
        .await
        .unwrap()
        .into_inner()
        .goal
        .unwrap();
    assert_eq!(
        (
            adjusting.status,
            adjusting.latest_version,
            adjusting.approved_version
        ),
        (pb::GoalStatus::Adjusting as i32, 2, 1)
    );
    // Both versions stay readable; the approved one stays in force for funding.
    let v1 = app
        .goals
        .clone()
        .get_goal(app.req(
            &app.unit(),
            pb::GetGoalRequest {
                goal_id: adjusting.id,
                version: 1,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .goal
        .unwrap();
    assert_eq!(v1.declaration.unwrap().indicators[1].target_value, "31500");
    let answers = app.funding(&["P-2026-002"]).await;
    assert!(answers[0].allowed, "{:?}", answers[0]);

    // Full history: who did what, with comments, diffs and the adjustment reference.
    let history = app.history(adjusting.id).await;
    let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "edit",
            "edit",
            "submit",
            "review",
            "amend",
            "approve",
            "publish",
            "request_adjustment"
        ]
    );
    assert_eq!(history[4].changes.len(), 1);
    assert_eq!(history[3].comments, "受益人口口径需与统计局一致");
    assert_eq!(history[7].budget_adjustment_ref, "晋市财预〔2026〕15号");
}

/// Many workflow steps at once, as a busy bureau sends them (on PostgreSQL they are read and
/// written in batches, `steps.rs`): every goal moves once; a retry answers what its first
/// attempt answered; of two different requests on the same revision one wins and the other
/// is ABORTED; a request id already used for another goal is refused and changes nothing,
/// while the steps beside it go through.
async fn concurrent_steps_on_many_goals(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    let mut drafts = Vec::new();
    for k in 0..10 {
        let code = format!("P-2026-1{k:02}");
        app.project(&code, "800000", pb::Continuity::Continuing)
            .await
            .unwrap();
        drafts.push(app.save(&app.unit(), full(&code), 0).await.unwrap());
    }
    let submit = |goal: &pb::Goal, request_id: &str| pb::SubmitGoalRequest {
        request_id: request_id.into(),
        goal_id: goal.id,
        expected_revision: goal.revision,
    };
    // Goal 9 is submitted first; its request id is then reused for goal 7.
    app.goals
        .clone()
        .submit_goal(app.req(&app.unit(), submit(&drafts[9], "many-early")))
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
        let (mut goals, r) = (app.goals.clone(), app.req(&app.unit(), request));
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
    let mut answers: Vec<Vec<(&str, Result<pb::Goal, tonic::Status>)>> =
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
    let draft = app.save(&app.unit(), full("P-2026-009"), 0).await.unwrap();
    let request = pb::SubmitGoalRequest {
        request_id: "submit-race-1".into(),
        goal_id: draft.id,
        expected_revision: draft.revision,
    };
    let mut racing = Vec::new();
    for _ in 0..8 {
        let (mut goals, r) = (app.goals.clone(), app.req(&app.unit(), request.clone()));
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
        .submit_goal(app.req(&app.unit(), other))
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
            &app.finance(),
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

/// SubmitGoal checks against the newest version of the year's rules, read with the goal.
async fn submission_checks_the_rules_in_force(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    app.project("P-2026-010", "800000", pb::Continuity::Continuing)
        .await
        .unwrap();
    for (version, total) in [(0, "100"), (1, "90")] {
        let r = pb::SetGoalRulesRequest {
            request_id: app.rid(),
            rules: Some(pb::GoalRules {
                fiscal_year: FY,
                weight_total: dec(total),
                ..Default::default()
            }),
            expected_version: version,
        };
        app.goals
            .clone()
            .set_goal_rules(app.req(&app.finance(), r))
            .await
            .unwrap();
    }
    let mut weighted = full("P-2026-010");
    for (i, w) in ["30", "30", "40"].into_iter().enumerate() {
        weighted.indicators[i].weight = dec(w);
    }
    let draft = app.save(&app.unit(), weighted.clone(), 0).await.unwrap();
    let refused = app.submit(&draft).await.unwrap_err();
    let found = violations(&refused);
    assert!(
        found.iter().any(|(f, m)| f == "declaration.indicators"
            && m.contains("应为90")
            && m.contains("WEIGHT_TOTAL_INVALID")),
        "{found:?}"
    );
    weighted.indicators[2].weight = dec("30");
    let fixed = app
        .save(&app.unit(), weighted, draft.revision)
        .await
        .unwrap();
    assert_eq!(
        app.submit(&fixed).await.unwrap().status,
        pb::GoalStatus::Submitted as i32
    );
}

async fn review_outcomes_route_and_the_gate_answers(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    // Rules of the year: new projects of 500万元 and above need an ex-ante assessment.
    let r = pb::SetGoalRulesRequest {
        request_id: app.rid(),
        rules: Some(pb::GoalRules {
            fiscal_year: FY,
            ex_ante_threshold: dec("5000000"),
            ..Default::default()
        }),
        expected_version: 0,
    };
    let rules = app
        .goals
        .clone()
        .set_goal_rules(app.req(&app.finance(), r))
        .await
        .unwrap()
        .into_inner()
        .rules
        .unwrap();
    assert_eq!(
        rules.label,
        "2026年度目标规则第1版（事前评估门槛 5000000 元）"
    );
    for (code, amount, c) in [
        ("P-A", "6000000", pb::Continuity::New),
        ("P-B", "300000", pb::Continuity::Continuing),
        ("P-C", "300000", pb::Continuity::Continuing),
    ] {
        app.project(code, amount, c).await.unwrap();
    }
    // 中 returns the goal to the unit with comments; it is resubmitted.
    let b = app.save(&app.unit(), full("P-B"), 0).await.unwrap();
    let b = app.submit(&b).await.unwrap();
    let no_comment = app
        .review(&b, pb::ReviewOutcome::Fair, "")
        .await
        .unwrap_err();
    assert_eq!(no_comment.code(), Code::InvalidArgument);
    let returned = app
        .review(&b, pb::ReviewOutcome::Fair, "产出指标应细化到乡镇")
        .await
        .unwrap();
    assert_eq!(returned.status, pb::GoalStatus::Returned as i32);
    let again = app
        .save(&app.unit(), full("P-B"), returned.revision)
        .await
        .unwrap();
    let again = app.submit(&again).await.unwrap();
    let passed = app
        .review(&again, pb::ReviewOutcome::Excellent, "")
        .await
        .unwrap();
    assert_eq!(passed.first_review, pb::ReviewOutcome::Fair as i32);
    app.approve(&passed).await.unwrap();
    // 差 blocks the goal for this cycle.
    let c = app.save(&app.unit(), full("P-C"), 0).await.unwrap();
    let c = app.submit(&c).await.unwrap();
    let blocked = app
        .review(&c, pb::ReviewOutcome::Poor, "项目必要性不足")
        .await
        .unwrap();
    assert_eq!(blocked.status, pb::GoalStatus::Blocked as i32);
    let stuck = app
        .save(&app.unit(), full("P-C"), blocked.revision)
        .await
        .unwrap_err();
    assert_eq!(stuck.code(), Code::FailedPrecondition);

    let answers = app.funding(&["P-A", "P-B", "P-C", "P-404"]).await;
    let codes = |i: usize| {
        answers[i]
            .reasons
            .iter()
            .map(|r| r.code.as_str())
            .collect::<Vec<_>>()
    };
    assert!(!answers[0].allowed);
    assert_eq!(codes(0), ["NO_GOAL", "EX_ANTE_MISSING"]);
    assert!(answers[1].allowed, "{:?}", answers[1]);
    assert_eq!(codes(2), ["GOAL_BLOCKED"]);
    assert_eq!(codes(3)[0], "PROJECT_NOT_FOUND");
    assert_eq!(answers[1].rules, rules.label);
    // Statistics for the province: counts and amounts, as the seeds report them.
    let r = pb::GetGoalStatisticsRequest {
        fiscal_year: FY,
        by_fund_source: true,
        ..Default::default()
    };
    let stats = app
        .goals
        .clone()
        .get_goal_statistics(app.req(&app.token(Role::Province, "140000", None, None), r))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stats.rows.len(), 1);
    let row = &stats.rows[0];
    assert_eq!(row.fund_source, pb::FundSource::GeneralPublic as i32);
    let t = |t: &Option<pb::Tally>| {
        let t = t.as_ref().unwrap();
        (t.count, t.amount.as_ref().unwrap().value.clone())
    };
    assert_eq!(t(&row.projects), (3, "6600000".into()));
    assert_eq!(t(&row.declared), (2, "600000".into()));
    assert_eq!(t(&row.passed_first_review), (0, "0".into()));
    assert_eq!(t(&row.returned), (1, "300000".into()));
    assert_eq!(t(&row.blocked), (1, "300000".into()));
    assert_eq!(t(&row.approved), (1, "300000".into()));
    let denied = app
        .goals
        .clone()
        .get_goal_statistics(app.req(&app.unit(), r))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    // A large batch (read as the whole year, filtered) answers the same.
    let many: Vec<String> = std::iter::once("P-B".to_owned())
        .chain((0..250).map(|i| format!("P-MISSING-{i}")))
        .collect();
    let big = app
        .funding(&many.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    assert_eq!(big.len(), 251);
    assert!(big[0].allowed);
    assert!(
        big[1..]
            .iter()
            .all(|a| !a.allowed && a.reasons[0].code == "PROJECT_NOT_FOUND")
    );
    // The gate is for finance, auditors and the province.
    let r = pb::CheckFundingEligibilityRequest {
        fiscal_year: FY,
        pro_codes: vec!["P-B".into()],
    };
    let denied = app
        .goals
        .clone()
        .check_funding_eligibility(app.req(&app.unit(), r))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}

async fn every_caller_sees_only_its_goals(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    app.project("P-1", "300000", pb::Continuity::Continuing)
        .await
        .unwrap();
    let goal = app.save(&app.unit(), full("P-1"), 0).await.unwrap();
    let get = |token: String| {
        let mut c = app.goals.clone();
        let r = app.req(
            &token,
            pb::GetGoalRequest {
                goal_id: goal.id,
                version: 0,
            },
        );
        async move { c.get_goal(r).await.map(|g| g.into_inner().goal.unwrap()) }
    };
    let list = |token: String| {
        let mut c = app.goals.clone();
        let r = app.req(&token, pb::ListGoalsRequest::default());
        async move { c.list_goals(r).await.map(|g| g.into_inner()) }
    };
    let other_unit = app.token(Role::BudgetUnit, REGION, Some("140500999"), Some(DEPT));
    let other_dept = app.token(Role::Department, REGION, None, Some("140500900"));
    let dept = app.token(Role::Department, REGION, None, Some(DEPT));
    let public = app.token(Role::Public, REGION, None, None);
    let auditor = app.token(Role::Auditor, REGION, None, None);
    // Owner, its department, finance and auditors read; others are told it does not exist.
    for t in [app.unit(), dept.clone(), app.finance(), auditor.clone()] {
        assert!(get(t).await.is_ok());
    }
    for t in [other_unit.clone(), other_dept.clone(), public.clone()] {
        assert_eq!(get(t).await.unwrap_err().code(), Code::NotFound);
    }
    // Lists leak nothing: neither rows nor counts.
    for t in [other_unit.clone(), other_dept, public.clone()] {
        let l = list(t).await.unwrap();
        assert!(l.goals.is_empty());
        assert_eq!(l.page.unwrap().total_size, 0);
    }
    assert_eq!(list(dept).await.unwrap().goals.len(), 1);
    // Another unit cannot edit it (and learns nothing); auditors never write.
    let err = app
        .save(&other_unit, full("P-1"), goal.revision)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = app
        .save(&auditor, full("P-1"), goal.revision)
        .await
        .unwrap_err();
    assert!(matches!(
        err.code(),
        Code::NotFound | Code::PermissionDenied
    ));
    // A unit cannot register another unit's project.
    let r = pb::DeclareProjectRequest {
        request_id: app.rid(),
        spec: Some(pb::ProjectSpec {
            pro_code: "P-X".into(),
            name: "他单位项目".into(),
            agency_code: "140500999".into(),
            department_code: DEPT.into(),
            fiscal_year: FY,
            fund_source: pb::FundSource::GeneralPublic as i32,
            special_field: pb::SpecialField::None as i32,
            continuity: pb::Continuity::New as i32,
            nature: pb::Nature::Project as i32,
            requested_amount: dec("1000"),
            ..Default::default()
        }),
        expected_version: 0,
    };
    let err = app
        .goals
        .clone()
        .declare_project(app.req(&app.unit(), r))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // Finance of another region is refused; the public sees a goal once it is published.
    let outsider = app.token(Role::FinanceAdmin, "140100", None, None);
    assert_eq!(
        get(outsider).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    let g = app.submit(&goal).await.unwrap();
    let g = app
        .review(&g, pb::ReviewOutcome::Excellent, "")
        .await
        .unwrap();
    let g = app.approve(&g).await.unwrap();
    let r = pb::PublishGoalRequest {
        request_id: app.rid(),
        goal_id: g.id,
        expected_revision: g.revision,
    };
    app.goals
        .clone()
        .publish_goal(app.req(&app.finance(), r))
        .await
        .unwrap();
    let seen = get(public.clone()).await.unwrap();
    assert_eq!(seen.version, 1);
    assert_eq!(list(public).await.unwrap().goals.len(), 1);
    // Unauthenticated callers are refused.
    let mut c = app.goals.clone();
    let anonymous = c
        .get_goal(tonic::Request::new(pb::GetGoalRequest {
            goal_id: goal.id,
            version: 0,
        }))
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
}

async fn the_library_is_consulted_and_its_absence_is_explicit(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    app.project("P-9", "300000", pb::Continuity::Continuing)
        .await
        .unwrap();
    // An unknown library code is refused at once, per indicator.
    let bad = app
        .save(
            &app.unit(),
            declaration("P-9", vec![lib("NOPE-1", "1"), lib("OUT-001", "3")]),
            0,
        )
        .await
        .unwrap_err();
    assert_eq!(violations(&bad)[0].0, "declaration.indicators[0]");
    let goal = app.save(&app.unit(), full("P-9"), 0).await.unwrap();
    // The library disables an indicator: the pinned version no longer passes 二上.
    let r = ind::SetIndicatorStatusRequest {
        request_id: app.rid(),
        code: "SAT-001".into(),
        expected_version: 1,
        status: ind::IndicatorStatus::Disabled as i32,
        reason: "指标合并".into(),
    };
    app.library
        .clone()
        .set_indicator_status(app.req(&app.finance(), r))
        .await
        .unwrap();
    let refused = app.submit(&goal).await.unwrap_err();
    let found = violations(&refused);
    assert!(
        found
            .iter()
            .any(|(f, m)| f == "declaration.indicators[2]" && m.contains("INDICATOR_NOT_ENABLED")),
        "{found:?}"
    );

    // With the indicator service unreachable, the answer says so and nothing is written.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let offline = spawn_with(TestDatabase::sqlite(), Some(&dead)).await;
    offline
        .project("P-9", "300000", pb::Continuity::Continuing)
        .await
        .unwrap();
    let err = offline
        .save(&offline.unit(), full("P-9"), 0)
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::Unavailable, "INDICATOR_SERVICE_UNAVAILABLE")
    );
    let listed = offline
        .goals
        .clone()
        .list_goals(offline.req(&offline.finance(), pb::ListGoalsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.goals.is_empty());
}

impl App {
    async fn ex_ante(
        &self,
        token: &str,
        report: pb::ExAnteReport,
        expected_version: i64,
    ) -> Result<pb::ExAnteReport, tonic::Status> {
        let r = pb::SubmitExAnteReportRequest {
            request_id: self.rid(),
            report: Some(report),
            expected_version,
        };
        Ok(self
            .goals
            .clone()
            .submit_ex_ante_report(self.req(token, r))
            .await?
            .into_inner()
            .report
            .unwrap())
    }

    async fn review_ex_ante(
        &self,
        report: &pb::ExAnteReport,
        sufficient: bool,
        opinion: &str,
    ) -> Result<pb::ExAnteReport, tonic::Status> {
        let r = pb::ReviewExAnteReportRequest {
            request_id: self.rid(),
            pro_code: report.pro_code.clone(),
            fiscal_year: report.fiscal_year,
            expected_version: report.version,
            sufficient,
            opinion: opinion.into(),
        };
        Ok(self
            .goals
            .clone()
            .review_ex_ante_report(self.req(&self.finance(), r))
            .await?
            .into_inner()
            .report
            .unwrap())
    }
}

fn report(code: &str, conclusion: &str, summary: &str) -> pb::ExAnteReport {
    pb::ExAnteReport {
        pro_code: code.into(),
        fiscal_year: FY,
        assessor: pb::Assessor::Agency as i32,
        assessor_agency_code: "91140500000000001X".into(),
        completed_on: "2025-11-20".into(),
        methods: vec!["cost_benefit".into(), "比较法".into()],
        scores: [
            ("necessity", "18"),
            ("input_economy", "16.5"),
            ("goal_reasonableness", "17"),
            ("plan_feasibility", "18"),
            ("financing_compliance", "19"),
        ]
        .into_iter()
        .map(|(d, s)| pb::DimensionScore {
            dimension: d.into(),
            score: dec(s),
        })
        .collect(),
        conclusion: conclusion.into(),
        summary: summary.into(),
        ..Default::default()
    }
}

async fn ex_ante_reports_gate_the_budget(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    let r = pb::SetGoalRulesRequest {
        request_id: app.rid(),
        rules: Some(pb::GoalRules {
            fiscal_year: FY,
            ex_ante_threshold: dec("5000000"),
            ..Default::default()
        }),
        expected_version: 0,
    };
    app.goals
        .clone()
        .set_goal_rules(app.req(&app.finance(), r))
        .await
        .unwrap();
    app.project("P-NEW", "6000000", pb::Continuity::New)
        .await
        .unwrap();
    let g = app.save(&app.unit(), full("P-NEW"), 0).await.unwrap();
    let g = app.submit(&g).await.unwrap();
    let g = app
        .review(&g, pb::ReviewOutcome::Excellent, "")
        .await
        .unwrap();
    app.approve(&g).await.unwrap();
    let reasons =
        |a: &pb::FundingEligibility| a.reasons.iter().map(|r| r.code.clone()).collect::<Vec<_>>();
    // Approved goal, no report: no budget.
    assert_eq!(
        reasons(&app.funding(&["P-NEW"]).await[0]),
        ["EX_ANTE_MISSING"]
    );

    // A report missing a dimension is refused with the field, and nothing is filed.
    let mut incomplete = report("P-NEW", "support", "");
    incomplete.scores.pop();
    let err = app.ex_ante(&app.unit(), incomplete, 0).await.unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::InvalidArgument, "EX_ANTE_REPORT_INVALID")
    );
    assert!(
        violations(&err)
            .iter()
            .any(|(_, m)| m.contains("DIMENSION_MISSING")),
        "{:?}",
        violations(&err)
    );
    // 不予支持 needs its reason.
    let err = app
        .ex_ante(&app.unit(), report("P-NEW", "不予支持", ""), 0)
        .await
        .unwrap_err();
    assert!(violations(&err).iter().any(|(f, _)| f == "report.summary"));

    let filed = app
        .ex_ante(&app.unit(), report("P-NEW", "support", ""), 0)
        .await
        .unwrap();
    assert_eq!((filed.review_state.as_str(), filed.version), ("pending", 1));
    assert_eq!(filed.total.as_ref().unwrap().value, "88.5");
    assert_eq!(
        reasons(&app.funding(&["P-NEW"]).await[0]),
        ["EX_ANTE_PENDING_REVIEW"]
    );
    // Insufficient needs a written opinion; then the report is returned.
    assert_eq!(
        app.review_ex_ante(&filed, false, "")
            .await
            .unwrap_err()
            .code(),
        Code::InvalidArgument
    );
    let returned = app
        .review_ex_ante(&filed, false, "成本测算依据不足")
        .await
        .unwrap();
    assert_eq!(returned.review_state, "insufficient");
    assert_eq!(
        reasons(&app.funding(&["P-NEW"]).await[0]),
        ["EX_ANTE_INSUFFICIENT"]
    );
    // Resubmitted as 不予支持: not fundable.
    let not_supported = app
        .ex_ante(
            &app.unit(),
            report("P-NEW", "not_supported", "同类项目已由省级资金覆盖"),
            returned.version,
        )
        .await
        .unwrap();
    assert_eq!(
        reasons(&app.funding(&["P-NEW"]).await[0]),
        ["EX_ANTE_NOT_SUPPORTED"]
    );
    // Resubmitted with support and found sufficient: fundable.
    let supported = app
        .ex_ante(
            &app.unit(),
            report("P-NEW", "support", ""),
            not_supported.version,
        )
        .await
        .unwrap();
    let reviewed = app.review_ex_ante(&supported, true, "").await.unwrap();
    assert_eq!(reviewed.gate, "事前绩效评估予以支持");
    assert!(app.funding(&["P-NEW"]).await[0].allowed);
    // Stale versions are ABORTED; other units and the public do not see or file reports.
    assert_eq!(
        app.ex_ante(&app.unit(), report("P-NEW", "support", ""), 1)
            .await
            .unwrap_err()
            .code(),
        Code::Aborted
    );
    let other = app.token(Role::BudgetUnit, REGION, Some("140500999"), Some(DEPT));
    assert_eq!(
        app.ex_ante(&other, report("P-NEW", "support", ""), reviewed.version)
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    let get = |token: String| {
        let mut c = app.goals.clone();
        let r = app.req(
            &token,
            pb::GetExAnteReportRequest {
                pro_code: "P-NEW".into(),
                fiscal_year: FY,
            },
        );
        async move { c.get_ex_ante_report(r).await }
    };
    assert!(get(app.unit()).await.is_ok());
    assert_eq!(get(other).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(
        get(app.token(Role::Public, REGION, None, None))
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
}

fn project_spec(code: &str) -> pb::ProjectSpec {
    pb::ProjectSpec {
        pro_code: code.into(),
        name: format!("{code} 乡村道路养护"),
        agency_code: UNIT.into(),
        department_code: DEPT.into(),
        fiscal_year: FY,
        fund_source: pb::FundSource::GeneralPublic as i32,
        special_field: pb::SpecialField::None as i32,
        continuity: pb::Continuity::Continuing as i32,
        nature: pb::Nature::Project as i32,
        requested_amount: dec("250000"),
        ..Default::default()
    }
}

impl App {
    async fn declare_many(
        &self,
        token: &str,
        items: Vec<pb::DeclareGoalsItem>,
    ) -> Result<Vec<pb::DeclareGoalsResult>, tonic::Status> {
        let mut c = self.goals.clone();
        let stream = c
            .declare_goals(self.req(token, tokio_stream::iter(items)))
            .await?
            .into_inner();
        use tokio_stream::StreamExt;
        stream.collect::<Result<Vec<_>, _>>().await
    }
}

async fn bulk_declaration_reports_every_item(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    let mut items: Vec<pb::DeclareGoalsItem> = (0..200)
        .map(|i| {
            let code = format!("PB-{i:04}");
            pb::DeclareGoalsItem {
                request_id: format!("bulk-{i}"),
                project: Some(project_spec(&code)),
                declaration: Some(full(&code)),
            }
        })
        .collect();
    // One item picks an unknown indicator; one declares for an unregistered project.
    items[7].declaration = Some(declaration("PB-0007", vec![lib("NOPE-9", "1")]));
    items[9].project = None;
    items[9].declaration = Some(full("PB-UNKNOWN"));
    let results = app.declare_many(&app.unit(), items.clone()).await.unwrap();
    assert_eq!(results.len(), 200);
    assert!(
        results
            .iter()
            .enumerate()
            .all(|(i, r)| r.index as usize == i)
    );
    assert_eq!(results.iter().filter(|r| r.ok).count(), 198);
    assert_eq!(
        (
            results[7].code.as_str(),
            results[7].violations[0].field.as_str()
        ),
        ("InvalidArgument", "declaration.indicators[0]")
    );
    assert_eq!(
        (results[9].code.as_str(), results[9].reason.as_str()),
        ("NotFound", "PROJECT_NOT_FOUND")
    );
    // Re-sending the stream creates nothing twice: the same goals come back.
    let again = app.declare_many(&app.unit(), items).await.unwrap();
    assert_eq!(
        again[0].goal.as_ref().unwrap().id,
        results[0].goal.as_ref().unwrap().id
    );
    assert_eq!(again.iter().filter(|r| r.ok).count(), 198);
    let listed = app
        .goals
        .clone()
        .list_goals(app.req(
            &app.finance(),
            pb::ListGoalsRequest {
                page: Some(pbm_proto::common::v1::PageRequest {
                    page_size: 1,
                    page_token: String::new(),
                }),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.page.unwrap().total_size, 198);
    // A changed project in the stream is refused for that item only.
    let mut changed = project_spec("PB-0001");
    changed.requested_amount = dec("999999");
    let r = app
        .declare_many(
            &app.unit(),
            vec![pb::DeclareGoalsItem {
                request_id: "bulk-x".into(),
                project: Some(changed),
                declaration: Some(full("PB-0001")),
            }],
        )
        .await
        .unwrap();
    assert_eq!(r[0].reason, "PROJECT_DIFFERS");
    // Only units and departments declare.
    for token in [app.finance(), app.token(Role::Public, REGION, None, None)] {
        let err = app.declare_many(&token, Vec::new()).await.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
    }
}

/// A valid 身份证号 (GB 11643 check digit).
fn id_number(birth: &str, seq: u32) -> String {
    let first17 = format!("140502{birth}{seq:03}");
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{first17}{check}")
}

impl App {
    fn expert(&self, id: i64) -> String {
        self.signer.sign(
            &Claims::new(format!("expert-{id}"), Role::Expert, REGION, 600)
                .with_expert(Some(&id.to_string())),
        )
    }

    async fn register_expert(&self, seq: u32) -> i64 {
        use pbm_proto::agency::v1 as ag;
        let r = ag::RegisterExpertRequest {
            request_id: self.rid(),
            spec: Some(ag::ExpertSpec {
                name: format!("专家{seq}"),
                id_number: id_number("19750505", seq),
                phone: "13900001111".into(),
                title: ag::TitleLevel::Senior as i32,
                years_in_field: 15,
                fields: vec!["LAW".into()],
                affiliation: "山西某大学".into(),
                ..Default::default()
            }),
        };
        self.registry
            .clone()
            .register_expert(self.req(&self.finance(), r))
            .await
            .unwrap()
            .into_inner()
            .expert
            .unwrap()
            .id
    }

    async fn assign(
        &self,
        goal: &pb::Goal,
        request_id: &str,
        experts: i32,
    ) -> Result<pb::AssignReviewersResponse, tonic::Status> {
        let r = pb::AssignReviewersRequest {
            request_id: request_id.into(),
            goal_id: goal.id,
            expected_revision: goal.revision,
            experts,
            field: "LAW".into(),
            ..Default::default()
        };
        Ok(self
            .goals
            .clone()
            .assign_reviewers(self.req(&self.finance(), r))
            .await?
            .into_inner())
    }
}

async fn reviews_are_assigned_from_the_pool(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    app.project("P-R", "300000", pb::Continuity::Continuing)
        .await
        .unwrap();
    let g = app.save(&app.unit(), full("P-R"), 0).await.unwrap();
    let g = app.submit(&g).await.unwrap();
    let mut experts = Vec::new();
    for seq in 0..3 {
        experts.push(app.register_expert(100 + seq).await);
    }
    // Too many asked: the pool's refusal comes back with its reason; nothing changes.
    let too_many = app.assign(&g, "assign-0", 5).await.unwrap_err();
    assert_eq!(
        (too_many.code(), reason(&too_many).as_str()),
        (Code::FailedPrecondition, "TOO_FEW_ELIGIBLE")
    );
    let assigned = app.assign(&g, "assign-1", 2).await.unwrap();
    assert_eq!(assigned.reviewers.len(), 2);
    assert!(assigned.draw_id > 0);
    // A retry replays the same draw and assignment.
    assert_eq!(app.assign(&g, "assign-1", 2).await.unwrap(), assigned);
    let goal = assigned.goal.unwrap();
    assert_eq!(goal.status, pb::GoalStatus::Submitted as i32);
    let drawn: i64 = assigned.reviewers[0].parse().unwrap();
    let other = *experts
        .iter()
        .find(|e| !assigned.reviewers.contains(&e.to_string()))
        .unwrap();
    // The drawn expert reads and reviews the goal; another expert does not see it.
    let get = |token: String| {
        let mut c = app.goals.clone();
        let r = app.req(
            &token,
            pb::GetGoalRequest {
                goal_id: goal.id,
                version: 0,
            },
        );
        async move { c.get_goal(r).await }
    };
    assert!(get(app.expert(drawn)).await.is_ok());
    assert_eq!(
        get(app.expert(other)).await.unwrap_err().code(),
        Code::NotFound
    );
    let review =
        |outcome: pb::ReviewOutcome, comments: &str, revision: i64| pb::ReviewGoalRequest {
            request_id: app.rid(),
            goal_id: goal.id,
            expected_revision: revision,
            outcome: outcome as i32,
            comments: comments.into(),
        };
    let poor = app
        .goals
        .clone()
        .review_goal(app.req(
            &app.expert(drawn),
            review(pb::ReviewOutcome::Poor, "不同意", goal.revision),
        ))
        .await
        .unwrap_err();
    assert_eq!(poor.code(), Code::PermissionDenied, "差 is finance's");
    let reviewed = app
        .goals
        .clone()
        .review_goal(app.req(
            &app.expert(drawn),
            review(pb::ReviewOutcome::Excellent, "", goal.revision),
        ))
        .await
        .unwrap()
        .into_inner()
        .goal
        .unwrap();
    assert_eq!(reviewed.status_text, "已审核（优）");

    // With the agency service unreachable, the answer says so and nothing changes.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let offline = spawn_full(TestDatabase::sqlite(), None, Some(&dead)).await;
    offline.library().await;
    offline
        .project("P-R", "300000", pb::Continuity::Continuing)
        .await
        .unwrap();
    let g = offline.save(&offline.unit(), full("P-R"), 0).await.unwrap();
    let g = offline.submit(&g).await.unwrap();
    let err = offline.assign(&g, "assign-x", 2).await.unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::Unavailable, "AGENCY_SERVICE_UNAVAILABLE")
    );
}

type Call<'a> = Box<
    dyn Fn(String) -> std::pin::Pin<Box<dyn std::future::Future<Output = Code> + Send + 'a>> + 'a,
>;

/// Every RPC of the goal service called by every role with an empty request: a role that may
/// never take the action is refused before the request is examined; callers of another region
/// and bad tokens are refused everywhere.
async fn every_rpc_authorises_its_caller(db: TestDatabase) {
    let app = spawn(db).await;
    macro_rules! rpc {
        ($method:ident, $req:ty) => {
            rpc!($method, $req, |_: &App| <$req>::default())
        };
        ($method:ident, $req:ty, id) => {
            rpc!($method, $req, |app: &App| {
                let mut m = <$req>::default();
                m.request_id = app.rid();
                m
            })
        };
        ($method:ident, $req:ty, $make:expr) => {{
            let app = &app;
            let call: Call<'_> = Box::new(move |token: String| {
                let mut c = app.goals.clone();
                let r = app.req(&token, ($make)(app));
                Box::pin(async move {
                    match c.$method(r).await {
                        Ok(_) => Code::Ok,
                        Err(e) => e.code(),
                    }
                })
            });
            (stringify!($method), call)
        }};
    }
    let roles = [
        ("unit", app.unit()),
        (
            "department",
            app.token(Role::Department, REGION, None, Some(DEPT)),
        ),
        ("finance", app.finance()),
        ("auditor", app.token(Role::Auditor, REGION, None, None)),
        ("province", app.token(Role::Province, "140000", None, None)),
        (
            "finance of the province",
            app.token(Role::FinanceAdmin, "140000", None, None),
        ),
        ("public", app.token(Role::Public, REGION, None, None)),
        // Not assigned to anything: they act only on what is assigned or commissioned to them.
        ("expert", app.expert(7)),
        ("agency", app.agency_token("91350100M000100Y43")),
    ];
    let calls: Vec<(&str, Call<'_>, &[&str])> = vec![
        {
            let (n, c) = rpc!(declare_project, pb::DeclareProjectRequest, id);
            (n, c, &["unit", "department", "finance"])
        },
        {
            let (n, c) = rpc!(save_goal, pb::SaveGoalRequest, id);
            (n, c, &["unit", "department"])
        },
        {
            let (n, c) = rpc!(submit_goal, pb::SubmitGoalRequest, id);
            (n, c, &["unit", "department"])
        },
        {
            let (n, c) = rpc!(assign_reviewers, pb::AssignReviewersRequest, id);
            (n, c, &["finance"])
        },
        {
            let (n, c) = rpc!(review_goal, pb::ReviewGoalRequest, id);
            (n, c, &["finance", "expert", "agency"])
        },
        {
            let (n, c) = rpc!(amend_goal, pb::AmendGoalRequest, id);
            (n, c, &["finance"])
        },
        {
            let (n, c) = rpc!(approve_goal, pb::ApproveGoalRequest, id);
            (n, c, &["finance"])
        },
        {
            let (n, c) = rpc!(publish_goal, pb::PublishGoalRequest, id);
            (n, c, &["finance", "department"])
        },
        {
            let (n, c) = rpc!(request_adjustment, pb::RequestAdjustmentRequest, id);
            (n, c, &["unit", "department"])
        },
        {
            let (n, c) = rpc!(cancel_adjustment, pb::CancelAdjustmentRequest, id);
            (n, c, &["unit", "department", "finance"])
        },
        {
            let (n, c) = rpc!(set_goal_rules, pb::SetGoalRulesRequest, id);
            (n, c, &["finance"])
        },
        {
            let (n, c) = rpc!(
                export_approved_goals,
                pb::ExportApprovedGoalsRequest,
                |_: &App| {
                    pb::ExportApprovedGoalsRequest {
                        fiscal_year: FY,
                        department_code: String::new(),
                    }
                }
            );
            (
                n,
                c,
                &[
                    "unit",
                    "department",
                    "finance",
                    "auditor",
                    "province",
                    "finance of the province",
                ],
            )
        },
        {
            let (n, c) = rpc!(get_goal_statistics, pb::GetGoalStatisticsRequest);
            (
                n,
                c,
                &["finance", "auditor", "province", "finance of the province"],
            )
        },
        {
            let (n, c) = rpc!(submit_ex_ante_report, pb::SubmitExAnteReportRequest, id);
            (n, c, &["unit", "department", "finance", "agency"])
        },
        {
            let (n, c) = rpc!(review_ex_ante_report, pb::ReviewExAnteReportRequest, id);
            (n, c, &["finance"])
        },
        {
            let (n, c) = rpc!(
                commission_ex_ante_assessment,
                pb::CommissionExAnteAssessmentRequest,
                id
            );
            (n, c, &["finance"])
        },
        {
            let (n, c) = rpc!(get_ex_ante_report, pb::GetExAnteReportRequest);
            (
                n,
                c,
                &[
                    "unit",
                    "department",
                    "finance",
                    "auditor",
                    "province",
                    "finance of the province",
                    "public",
                    "expert",
                    "agency",
                ],
            )
        },
        {
            let (n, c) = rpc!(
                check_funding_eligibility,
                pb::CheckFundingEligibilityRequest
            );
            (
                n,
                c,
                &["finance", "auditor", "province", "finance of the province"],
            )
        },
        {
            let (n, c) = rpc!(get_project, pb::GetProjectRequest);
            (
                n,
                c,
                &[
                    "unit",
                    "department",
                    "finance",
                    "auditor",
                    "province",
                    "finance of the province",
                    "public",
                    "expert",
                    "agency",
                ],
            )
        },
        {
            let (n, c) = rpc!(get_goal, pb::GetGoalRequest);
            (
                n,
                c,
                &[
                    "unit",
                    "department",
                    "finance",
                    "auditor",
                    "province",
                    "finance of the province",
                    "public",
                    "expert",
                    "agency",
                ],
            )
        },
        {
            let (n, c) = rpc!(list_goals, pb::ListGoalsRequest);
            (
                n,
                c,
                &[
                    "unit",
                    "department",
                    "finance",
                    "auditor",
                    "province",
                    "finance of the province",
                    "public",
                    "expert",
                    "agency",
                ],
            )
        },
        {
            let (n, c) = rpc!(get_goal_history, pb::GetGoalHistoryRequest);
            (
                n,
                c,
                &[
                    "unit",
                    "department",
                    "finance",
                    "auditor",
                    "province",
                    "finance of the province",
                    "public",
                    "expert",
                    "agency",
                ],
            )
        },
        {
            let (n, c) = rpc!(get_goal_rules, pb::GetGoalRulesRequest);
            (
                n,
                c,
                &[
                    "unit",
                    "department",
                    "finance",
                    "auditor",
                    "province",
                    "finance of the province",
                    "public",
                    "expert",
                    "agency",
                ],
            )
        },
    ];
    assert_eq!(
        calls.len(),
        23,
        "every unary and server-streaming RPC of the goal service"
    );
    let other_city = app.token(Role::FinanceAdmin, "140100", None, None);
    for (name, call, allowed) in &calls {
        for (who, token) in &roles {
            let code = call(token.clone()).await;
            if allowed.contains(who) {
                assert_ne!(code, Code::PermissionDenied, "{name} by {who}");
            } else {
                assert_eq!(code, Code::PermissionDenied, "{name} by {who}");
            }
        }
        assert_eq!(
            call(other_city.clone()).await,
            Code::PermissionDenied,
            "{name} by finance of another city"
        );
        assert_eq!(
            call("not-a-token".into()).await,
            Code::Unauthenticated,
            "{name} with a bad token"
        );
    }
}

impl App {
    /// A 固化 library indicator with tags; `owner` makes it a department's 个性 indicator.
    async fn fixed_indicator(&self, code: &str, field_tags: &[&str], owner: &str) {
        let r = ind::CreateIndicatorRequest {
            request_id: self.rid(),
            code: code.into(),
            spec: Some(ind::IndicatorSpec {
                fiscal_year: FY,
                frame_node_code: "102".into(),
                name: format!("{code} 固化质量指标"),
                kind: if owner.is_empty() {
                    ind::IndicatorKind::Common
                } else {
                    ind::IndicatorKind::Specific
                } as i32,
                field_tags: field_tags.iter().map(|t| (*t).to_owned()).collect(),
                direction: ind::Direction::Ge as i32,
                unit: "%".into(),
                explanation: "验收合格率".into(),
                fixed: true,
                owner_department: owner.into(),
                ..Default::default()
            }),
        };
        self.library
            .clone()
            .create_indicator(self.req(&self.finance(), r))
            .await
            .unwrap();
    }

    async fn project_in(&self, code: &str, field: pb::SpecialField) {
        self.project_with(code, "300000", pb::Continuity::Continuing, field)
            .await
            .unwrap();
    }
}

/// 固化 indicators the library marks for a field or a department must be kept in every
/// declaration they apply to (issue 4 "Quality checks"; domain::fixed for the tag rules).
async fn fixed_indicators_of_the_library_must_be_kept(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    // For every 政府采购 project; and a 个性 one of another department.
    app.fixed_indicator("PROC-001", &["政府采购"], "").await;
    app.fixed_indicator("OTHER-001", &[], "140500200").await;
    app.project_in("P-PROC", pb::SpecialField::GovernmentProcurement)
        .await;
    app.project_in("P-PLAIN", pb::SpecialField::None).await;

    // The procurement project's declaration without PROC-001 is refused at 二上, naming it.
    let goal = app.save(&app.unit(), full("P-PROC"), 0).await.unwrap();
    let refused = app.submit(&goal).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    let found = violations(&refused);
    assert!(
        found.iter().any(|(f, m)| f == "declaration.indicators"
            && m.contains("FIXED_INDICATOR_MISSING")
            && m.contains("PROC-001")),
        "{found:?}"
    );
    assert!(
        !found.iter().any(|(_, m)| m.contains("OTHER-001")),
        "another department's 固化 indicator does not apply: {found:?}"
    );
    let still = app
        .goals
        .clone()
        .get_goal(app.req(
            &app.unit(),
            pb::GetGoalRequest {
                goal_id: goal.id,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .goal
        .unwrap();
    assert_eq!(
        still.revision, goal.revision,
        "a refused submission changes nothing"
    );

    // Kept, the declaration passes.
    let mut with = full("P-PROC");
    with.indicators.push(lib("PROC-001", "98"));
    let goal = app.save(&app.unit(), with, goal.revision).await.unwrap();
    let submitted = app.submit(&goal).await.unwrap();
    assert_eq!(submitted.status, pb::GoalStatus::Submitted as i32);

    // An ordinary project owes only the untagged common 固化 indicator (SAT-001).
    let plain = app.save(&app.unit(), full("P-PLAIN"), 0).await.unwrap();
    app.submit(&plain).await.unwrap();
    app.project_in("P-PLAIN-2", pb::SpecialField::None).await;
    let mut without = full("P-PLAIN-2");
    without.indicators.retain(|i| i.library_code != "SAT-001");
    let g = app.save(&app.unit(), without, 0).await.unwrap();
    let refused = app.submit(&g).await.unwrap_err();
    assert!(
        violations(&refused)
            .iter()
            .any(|(_, m)| m.contains("FIXED_INDICATOR_MISSING") && m.contains("SAT-001")),
        "{:?}",
        violations(&refused)
    );
}

/// The goal service's memory of library answers: pinned versions and the 固化 list are reused
/// within the configured time (a burst of submissions costs no library call), current-version
/// references never are, and with the memory off every answer comes from the library.
#[tokio::test]
async fn library_answers_are_reused_within_the_cache_time() {
    let library_db = TestDatabase::sqlite();
    let indicator = pbm_indicator::AppState::open(
        library_db.connect(),
        DivisionCode::parse(REGION).unwrap(),
        FiscalYear::new(FY).unwrap(),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let signer = TokenSigner::new("t", SigningKey::from_bytes(&[5u8; 32]));
    let options = ServeOptions {
        auth: AuthLayer::new(Ed25519Verifier::new().with_key("t", signer.verifying_key())),
        max_in_flight: 64,
        request_timeout: Duration::from_secs(10),
        health_services: vec![],
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(pbm_server::serve(
        listener,
        pbm_indicator::router(indicator),
        options,
        async {
            let _ = stopped.await;
        },
    ));
    let finance = signer.sign(&Claims::new("finance", Role::FinanceAdmin, REGION, 600));
    let auth = format!("Bearer {finance}");
    let mut client = IndicatorServiceClient::connect(url.clone()).await.unwrap();
    let mut create = tonic::Request::new(ind::CreateIndicatorRequest {
        request_id: "c-1".into(),
        code: "FIX-1".into(),
        spec: Some(ind::IndicatorSpec {
            fiscal_year: FY,
            frame_node_code: "101".into(),
            name: "验收合格率".into(),
            kind: ind::IndicatorKind::Common as i32,
            direction: ind::Direction::Ge as i32,
            unit: "%".into(),
            fixed: true,
            ..Default::default()
        }),
    });
    create
        .metadata_mut()
        .insert("authorization", auth.parse().unwrap());
    client.create_indicator(create).await.unwrap();

    let remembering = pbm_goal::Library::new(&url)
        .unwrap()
        .with_cache_ttl(Duration::from_secs(600));
    let forgetting = pbm_goal::Library::new(&url)
        .unwrap()
        .with_cache_ttl(Duration::ZERO);
    let pinned = [("FIX-1".to_owned(), 1_i64)];
    let first = remembering.resolve(&auth, FY, &pinned).await.unwrap();
    assert_eq!(first.found[0].1.code, "FIX-1");
    assert_eq!(remembering.fixed(&auth).await.unwrap().len(), 1);
    forgetting.resolve(&auth, FY, &pinned).await.unwrap();

    // The library goes away.
    drop(client);
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .expect("the library stops")
        .unwrap()
        .unwrap();
    let again = remembering.resolve(&auth, FY, &pinned).await.unwrap();
    assert_eq!(
        again.found, first.found,
        "a pinned version is answered from memory"
    );
    assert_eq!(remembering.fixed(&auth).await.unwrap().len(), 1);
    let current = remembering
        .resolve(&auth, FY, &[("FIX-1".to_owned(), 0)])
        .await
        .unwrap_err();
    assert_eq!(
        current.reason, "INDICATOR_SERVICE_UNAVAILABLE",
        "version 0 is never reused"
    );
    let off = forgetting.resolve(&auth, FY, &pinned).await.unwrap_err();
    assert_eq!(off.reason, "INDICATOR_SERVICE_UNAVAILABLE");
    assert_eq!(
        forgetting.fixed(&auth).await.unwrap_err().reason,
        "INDICATOR_SERVICE_UNAVAILABLE"
    );
}

/// 统一社会信用代码 of the two agencies the commissioning test admits to the pool.
fn pool_agencies() -> [String; 2] {
    ["91350100M000100Y4", "91350100M000200Y4"].map(|first17| {
        let check = pbm_agency::domain::ids::CreditCode::check_char(first17).unwrap();
        format!("{first17}{check}")
    })
}

impl App {
    fn agency_token(&self, code: &str) -> String {
        self.signer.sign(
            &Claims::new(format!("agency-{code}"), Role::Agency, REGION, 600)
                .with_agency(Some(code)),
        )
    }

    /// Admits agencies for ex-ante assessment to the pool (procured for 2025–2027).
    async fn admit_agencies(&self, codes: &[String]) {
        use pbm_proto::agency::v1 as ag;
        let batch = self
            .registry
            .clone()
            .create_admission_batch(self.req(
                &self.finance(),
                ag::CreateAdmissionBatchRequest {
                    request_id: self.rid(),
                    name: "2025—2027年度预算绩效管理第三方机构库".into(),
                    procurement_ref: "JCZC-2024-031".into(),
                    qualified_from: "2025-01-01".into(),
                    qualified_to: "2027-12-31".into(),
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .batch
            .unwrap();
        for (k, code) in codes.iter().enumerate() {
            let spec = ag::AgencySpec {
                credit_code: code.clone(),
                name: format!("晋城某会计师事务所{k}有限公司"),
                r#type: ag::AgencyType::AccountingFirm as i32,
                legal_representative: "王某".into(),
                lead_evaluators: vec![ag::LeadEvaluator {
                    name: "赵某".into(),
                    qualifications: vec!["注册会计师".into()],
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
            };
            self.registry
                .clone()
                .register_agency(self.req(
                    &self.finance(),
                    ag::RegisterAgencyRequest {
                        request_id: self.rid(),
                        spec: Some(spec),
                    },
                ))
                .await
                .unwrap();
        }
    }

    async fn commission(
        &self,
        token: &str,
        request_id: &str,
        code: &str,
        due_on: &str,
    ) -> Result<pb::ExAnteCommission, tonic::Status> {
        let r = pb::CommissionExAnteAssessmentRequest {
            request_id: request_id.into(),
            pro_code: code.into(),
            fiscal_year: FY,
            weighted_by_rating: true,
            due_on: due_on.into(),
        };
        Ok(self
            .goals
            .clone()
            .commission_ex_ante_assessment(self.req(token, r))
            .await?
            .into_inner()
            .commission
            .unwrap())
    }
}

/// 事前绩效评估 commissioned to an agency drawn from the pool (issue 4 "May be commissioned to
/// an agency"): finance commissions, the agency service draws and records the engagement, the
/// commissioned agency reads the project and files the report; nobody else reports for it.
async fn ex_ante_assessment_is_commissioned_to_an_agency(db: TestDatabase) {
    let app = spawn(db).await;
    app.project("P-EXA", "6000000", pb::Continuity::New)
        .await
        .unwrap();
    let pool = pool_agencies();
    app.admit_agencies(&pool).await;

    // Only finance commissions; bad input is refused field by field, before the pool is asked.
    let denied = app
        .commission(&app.unit(), "c-unit", "P-EXA", "2026-03-31")
        .await
        .unwrap_err();
    assert_eq!(
        (denied.code(), reason(&denied).as_str()),
        (Code::PermissionDenied, "ROLE_NOT_ALLOWED")
    );
    let bad = app
        .commission(&app.finance(), "c-bad", "P-EXA", "2025-12-31")
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(violations(&bad)[0].0, "due_on");
    let missing = app
        .commission(&app.finance(), "c-missing", "P-NONE", "2026-03-31")
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    let c = app
        .commission(&app.finance(), "c-1", "P-EXA", "2026-03-31")
        .await
        .unwrap();
    let first = c.agency_credit_code.clone();
    let second = pool.iter().find(|a| **a != first).unwrap().clone();
    assert!(pool.contains(&first), "{c:?}");
    assert_eq!(c.due_on, "2026-03-31");
    assert!(c.draw_id > 0 && c.engagement_id > 0, "{c:?}");
    // A retry replays; another request is refused.
    let again = app
        .commission(&app.finance(), "c-1", "P-EXA", "2026-03-31")
        .await
        .unwrap();
    assert_eq!(again, c);
    let twice = app
        .commission(&app.finance(), "c-2", "P-EXA", "2026-04-30")
        .await
        .unwrap_err();
    assert_eq!(
        (twice.code(), reason(&twice).as_str()),
        (Code::FailedPrecondition, "EX_ANTE_ALREADY_COMMISSIONED")
    );

    // The engagement is recorded in the agency service, for its rating later.
    let engagements =
        pbm_proto::agency::v1::engagement_service_client::EngagementServiceClient::new(
            app.channel.clone(),
        );
    let engagement = |id: i64| {
        let mut client = engagements.clone();
        let r = app.req(
            &app.finance(),
            pbm_proto::agency::v1::GetEngagementRequest { engagement_id: id },
        );
        async move {
            client
                .get_engagement(r)
                .await
                .unwrap()
                .into_inner()
                .engagement
                .unwrap()
        }
    };
    let e = engagement(c.engagement_id).await;
    assert_eq!(
        (
            e.kind,
            e.agency_credit_code.as_str(),
            e.evaluated_party.as_str(),
            e.commissioner.as_str(),
            e.ended_on.as_str()
        ),
        (
            pbm_proto::agency::v1::EngagementKind::ExAnteAssessment as i32,
            first.as_str(),
            UNIT,
            REGION,
            "2026-03-31"
        )
    );

    // The commissioned agency sees the project; another agency does not.
    let get_project = |token: String| {
        let mut goals = app.goals.clone();
        let r = app.req(
            &token,
            pb::GetProjectRequest {
                pro_code: "P-EXA".into(),
                fiscal_year: FY,
            },
        );
        async move { goals.get_project(r).await }
    };
    get_project(app.agency_token(&first)).await.unwrap();
    let other = get_project(app.agency_token(&second)).await.unwrap_err();
    assert_eq!(other.code(), Code::NotFound);

    // The agency declines (finance records its answer in the pool, which draws a replacement
    // round); a new commissioning request moves the commission to the replacement.
    let app_ref = &app;
    let decline = move |draw_id: i64, agency: String| {
        let app = app_ref;
        let mut draws =
            pbm_proto::agency::v1::draw_service_client::DrawServiceClient::new(app.channel.clone());
        let finance = app.finance();
        let request_id = app.rid();
        async move {
            let draw = draws
                .get_draw(app.req(&finance, pbm_proto::agency::v1::GetDrawRequest { draw_id }))
                .await
                .unwrap()
                .into_inner()
                .draw
                .unwrap();
            draws
                .respond_to_draw(app.req(
                    &finance,
                    pbm_proto::agency::v1::RespondToDrawRequest {
                        request_id,
                        draw_id,
                        expected_version: draw.version,
                        agency_credit_code: agency,
                        accept: false,
                        reason: "与被评估单位存在业务往来".into(),
                        ..Default::default()
                    },
                ))
                .await
                .map(drop)
        }
    };
    decline(c.draw_id, first.clone()).await.unwrap();
    let moved = app
        .commission(&app.finance(), "c-3", "P-EXA", "2026-03-31")
        .await
        .unwrap();
    assert_eq!(
        (moved.agency_credit_code.as_str(), moved.draw_id),
        (second.as_str(), c.draw_id)
    );
    assert_ne!(moved.engagement_id, c.engagement_id);
    assert_eq!(
        engagement(moved.engagement_id).await.agency_credit_code,
        second
    );
    // The engagement of the agency that declined is withdrawn in the agency service.
    let withdrawn = engagement(c.engagement_id).await;
    assert!(withdrawn.cancelled && !withdrawn.rated, "{withdrawn:?}");
    assert!(
        withdrawn.cancel_reason.contains(&first) && withdrawn.cancel_reason.contains(&second),
        "{}",
        withdrawn.cancel_reason
    );
    assert!(!engagement(moved.engagement_id).await.cancelled);
    let again = app
        .commission(&app.finance(), "c-3", "P-EXA", "2026-03-31")
        .await
        .unwrap();
    assert_eq!(again, moved, "a retry of the move replays it");
    let settled = app
        .commission(&app.finance(), "c-4", "P-EXA", "2026-03-31")
        .await
        .unwrap_err();
    assert_eq!(reason(&settled), "EX_ANTE_ALREADY_COMMISSIONED");
    assert_eq!(
        get_project(app.agency_token(&first))
            .await
            .unwrap_err()
            .code(),
        Code::NotFound,
        "the agency that declined no longer sees the project"
    );
    get_project(app.agency_token(&second)).await.unwrap();

    // The pool refuses a decline it cannot replace (no candidate left): the commission stays.
    let refused = decline(c.draw_id, second.clone()).await.unwrap_err();
    assert_eq!(reason(&refused), "TOO_FEW_ELIGIBLE");
    let stays = app
        .commission(&app.finance(), "c-5", "P-EXA", "2026-03-31")
        .await
        .unwrap_err();
    assert_eq!(reason(&stays), "EX_ANTE_ALREADY_COMMISSIONED");
    let agency = app.agency_token(&second);
    get_project(agency.clone()).await.unwrap();

    // The unit may not report for a commissioned assessment; the commissioned agency does.
    let mut by_unit = report("P-EXA", "support", "项目必要性充分");
    by_unit.assessor = pb::Assessor::BudgetUnit as i32;
    by_unit.assessor_agency_code = String::new();
    let refused = app.ex_ante(&app.unit(), by_unit, 0).await.unwrap_err();
    assert_eq!(reason(&refused), "ASSESSOR_NOT_COMMISSIONED");
    let mut by_agency = report("P-EXA", "support", "项目必要性充分，投入经济");
    by_agency.assessor_agency_code = second.clone();
    let filed = app.ex_ante(&agency, by_agency.clone(), 0).await.unwrap();
    assert_eq!(filed.assessor_agency_code, second);
    // Another agency cannot file it even when it names the commissioned one.
    let stranger = app
        .ex_ante(&app.agency_token(&first), by_agency, 1)
        .await
        .unwrap_err();
    assert_eq!(stranger.code(), Code::NotFound);
    let shown = app
        .goals
        .clone()
        .get_ex_ante_report(app.req(
            &app.finance(),
            pb::GetExAnteReportRequest {
                pro_code: "P-EXA".into(),
                fiscal_year: FY,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(shown.commission, Some(moved));
    assert_eq!(shown.report.unwrap().version, 1);

    // With the agency service unreachable: UNAVAILABLE, and nothing is recorded (a second
    // request is not refused as already commissioned).
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let offline = spawn_full(TestDatabase::sqlite(), None, Some(&dead)).await;
    offline
        .project("P-EXA", "6000000", pb::Continuity::New)
        .await
        .unwrap();
    for request_id in ["o-1", "o-2"] {
        let err = offline
            .commission(&offline.finance(), request_id, "P-EXA", "2026-03-31")
            .await
            .unwrap_err();
        assert_eq!(
            (err.code(), reason(&err).as_str()),
            (Code::Unavailable, "AGENCY_SERVICE_UNAVAILABLE")
        );
    }
}

/// A refusal names the goal service's domain; a declaration's only defect answers its own
/// reason; a 定性 indicator carries no unit; a library pick's name and unit are the library's
/// (an edit is refused, never silently replaced).
async fn declaration_defects_name_their_reason(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    for code in ["P-2026-020", "P-2026-021"] {
        app.project(code, "800000", pb::Continuity::Continuing)
            .await
            .unwrap();
    }

    // A qualitative indicator with a unit: its one defect, with its own reason.
    let mut d = full("P-2026-020");
    d.indicators.push(pb::GoalIndicator {
        level2: pb::Level2::Sustainability as i32,
        name: "长效管护机制".into(),
        direction: ind::Direction::Qualitative as i32,
        target_value: "建立".into(),
        unit: "项".into(),
        ..Default::default()
    });
    let draft = app.save(&app.unit(), d.clone(), 0).await.unwrap();
    let refused = app.submit(&draft).await.unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused).as_str()),
        (Code::InvalidArgument, "UNIT_NOT_ALLOWED")
    );
    let info = refused.get_details_error_info().unwrap();
    assert_eq!(info.domain, "pbm.goal");
    let bad = refused.get_details_bad_request().unwrap().field_violations;
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(
        (bad[0].field.as_str(), bad[0].reason.as_str()),
        ("declaration.indicators[3].unit", "UNIT_NOT_ALLOWED")
    );
    assert!(bad[0].description.contains("定性指标"), "{bad:?}");
    // Without the unit it passes.
    d.indicators[3].unit.clear();
    let draft = app.save(&app.unit(), d, draft.revision).await.unwrap();
    app.submit(&draft).await.unwrap();

    // A library pick's unit edited: refused at once, not overwritten.
    let mut d = full("P-2026-021");
    d.indicators[0].unit = "个".into();
    let refused = app.save(&app.unit(), d.clone(), 0).await.unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused).as_str()),
        (Code::InvalidArgument, "LIBRARY_VALUE_CHANGED")
    );
    assert_eq!(refused.get_details_error_info().unwrap().domain, "pbm.goal");
    assert_eq!(violations(&refused)[0].0, "declaration.indicators[0].unit");
    // The library's own unit is no edit.
    d.indicators[0].unit = "处".into();
    // The 固化 indicator's name edited: refused as a change of a 固化 indicator.
    d.indicators[2].name = "群众满意度".into();
    let refused = app.save(&app.unit(), d.clone(), 0).await.unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused).as_str()),
        (Code::InvalidArgument, "FIXED_INDICATOR_CHANGED")
    );
    assert_eq!(violations(&refused)[0].0, "declaration.indicators[2].name");
    // Both at once: the declaration's defects together.
    d.indicators[0].unit = "个".into();
    let refused = app.save(&app.unit(), d.clone(), 0).await.unwrap_err();
    assert_eq!(reason(&refused), "GOAL_QUALITY_FAILED");
    assert_eq!(violations(&refused).len(), 2);
    // The library's own name and unit, sent back as shown, are accepted.
    d.indicators[0].unit = "处".into();
    d.indicators[2].name = "受益群众满意度".into();
    let goal = app.save(&app.unit(), d, 0).await.unwrap();
    let shown = goal.declaration.unwrap();
    assert_eq!(shown.indicators[0].unit, "处");
    assert_eq!(shown.indicators[2].name, "受益群众满意度");
}

pbm_db::backend_tests! {
    defects => declaration_defects_name_their_reason;
    commission => ex_ante_assessment_is_commissioned_to_an_agency;
    fixed => fixed_indicators_of_the_library_must_be_kept;
    reviewers => reviews_are_assigned_from_the_pool;
    bulk => bulk_declaration_reports_every_item;
    ex_ante => ex_ante_reports_gate_the_budget;
    rpc_roles => every_rpc_authorises_its_caller;
    lifecycle => goals_move_in_step_with_the_budget;
    racing_retries => racing_retries_submit_once;
    many_at_once => concurrent_steps_on_many_goals;
    rules_in_force => submission_checks_the_rules_in_force;
    outcomes_and_gate => review_outcomes_route_and_the_gate_answers;
    scopes => every_caller_sees_only_its_goals;
    library => the_library_is_consulted_and_its_absence_is_explicit;
}
