//! The harness on `pbm-testkit`: the indicator, agency and goal services on one real server, as
//! `pbm serve` hosts them, over fresh databases. The goal service calls the other two at that very
//! address, so the listener is bound before the states open (`TestServer::start_on`); either may
//! be pointed elsewhere (a dead port) instead. Then the callers these tests use, as `Who`, with
//! the subjects they always had, and the projects, declarations and reports they send.

use std::sync::Arc;

use chrono::NaiveDate;
use pbm_auth::Role;
use pbm_proto::agency::v1::agency_registry_service_client::AgencyRegistryServiceClient;
use pbm_proto::common::v1::Decimal;
use pbm_proto::goal::v1 as pb;
use pbm_proto::goal::v1::goal_service_client::GoalServiceClient;
use pbm_proto::indicator::v1 as ind;
use pbm_proto::indicator::v1::indicator_service_client::IndicatorServiceClient;
use pbm_testkit::{TestDatabase, TestServer};
use pbm_types::{DivisionCode, FiscalYear};
use tonic::transport::Channel;
use tonic::{Request, Status};

pub use pbm_testkit::{Who, bearer, reason, violations};

/// The region the services under test serve (a city).
pub const REGION: &str = "140500";
/// The fiscal year of the projects and the library.
pub const FY: i32 = 2026;
/// The budget unit that declares, and its department.
pub const UNIT: &str = "140500101";
pub const DEPT: &str = "140500100";

// -- callers -------------------------------------------------------------------------------------

/// A caller of `role` in `region` with an optional unit and department, subject
/// `<role>-<unit, else department, else "user">`.
pub fn who(role: Role, region: &str, unit: Option<&str>, dept: Option<&str>) -> Who {
    Who {
        sub: format!("{role}-{}", unit.or(dept).unwrap_or("user")),
        role,
        region: region.into(),
        department: dept.map(str::to_owned),
        unit: unit.map(str::to_owned),
        agency: None,
        expert: None,
    }
}

/// The city's finance bureau.
pub fn finance() -> Who {
    who(Role::FinanceAdmin, REGION, None, None)
}

/// The budget unit [`UNIT`] of department [`DEPT`].
pub fn unit() -> Who {
    who(Role::BudgetUnit, REGION, Some(UNIT), Some(DEPT))
}

/// Expert `id` of the pool, subject `expert-<id>`.
pub fn expert(id: i64) -> Who {
    Who {
        sub: format!("expert-{id}"),
        expert: Some(id.to_string()),
        ..Who::new(Role::Expert, REGION)
    }
}

/// The third-party agency of credit code `code`, subject `agency-<code>`.
pub fn agency(code: &str) -> Who {
    Who {
        sub: format!("agency-{code}"),
        agency: Some(code.into()),
        ..Who::new(Role::Agency, REGION)
    }
}

// -- the app -------------------------------------------------------------------------------------

pub struct App {
    /// Stops the server when dropped.
    pub server: TestServer,
    pub goals: GoalServiceClient<Channel>,
    pub library: IndicatorServiceClient<Channel>,
    pub registry: AgencyRegistryServiceClient<Channel>,
    /// The agency service's state (the pool's database), to deliver its events.
    pub pool: pbm_agency::AppState,
    /// Last: dropping them drops the PostgreSQL database (goal, library, pool).
    _dbs: (TestDatabase, TestDatabase, TestDatabase),
}

/// Serves the indicator, agency and goal services on one port over `db` (the goal service's;
/// the library and the pool have SQLite databases of their own).
pub async fn spawn(db: TestDatabase) -> App {
    spawn_with(db, None).await
}

/// As [`spawn`]; the goal service reaches the library at `library_url`, or at that same port
/// when `None`.
pub async fn spawn_with(db: TestDatabase, library_url: Option<&str>) -> App {
    spawn_full(db, library_url, None).await
}

/// As [`spawn_with`]; the goal service reaches the agency service at `pool_url`, or at that
/// same port when `None`.
pub async fn spawn_full(
    db: TestDatabase,
    library_url: Option<&str>,
    pool_url: Option<&str>,
) -> App {
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
    let pool = agency.clone();
    let routes = pbm_goal::add_to(
        pbm_agency::add_to(pbm_indicator::router(indicator), agency),
        goal,
    );
    let server = TestServer::start_on(listener, routes, vec![pbm_goal::HEALTH_NAME]).await;
    let channel = server.channel.clone();
    App {
        goals: GoalServiceClient::new(channel.clone()),
        library: IndicatorServiceClient::new(channel.clone()),
        registry: AgencyRegistryServiceClient::new(channel),
        pool,
        server,
        _dbs: (db, library_db, pool_db),
    }
}

/// The address of a loopback port nobody listens on (a service that is down).
pub async fn dead_url() -> String {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    dead
}

pub fn dec(v: &str) -> Option<Decimal> {
    Some(Decimal { value: v.into() })
}

impl App {
    /// The channel to the server, for clients of the other services.
    pub fn channel(&self) -> Channel {
        self.server.channel.clone()
    }

    /// Another pool on the goal service's database (to seed rows through its store).
    pub fn goal_db(&self) -> pbm_db::Db {
        self._dbs.0.connect()
    }

    /// A signed token for `who`.
    pub fn token(&self, who: &Who) -> String {
        self.server.tokens.token(who)
    }

    /// A request from `who`.
    pub fn req<T>(&self, who: &Who, msg: T) -> Request<T> {
        self.server.req(who, msg)
    }

    /// A fresh client request id.
    pub fn rid(&self) -> String {
        self.server.rid()
    }

    /// Delivers the agency service's events to its consumers (`pbm_agency::consumers`), as
    /// `pbm serve` does in the background: e.g. the replacement round of a declined draw.
    pub async fn settle_pool(&self) {
        let rows = self
            .pool
            .db
            .read(|c| pbm_db::platform::unpublished_outbox(c, 10_000))
            .await
            .unwrap();
        for consumer in pbm_agency::consumers(&self.pool) {
            for row in rows.iter().filter(|r| consumer.topics().contains(&r.topic)) {
                let applied = consumer.apply_one(pbm_events::Event::from(row), None).await;
                assert!(applied.settled(), "{applied:?}");
            }
        }
    }

    /// A goal's history, as finance reads it.
    pub async fn history(&self, goal_id: i64) -> Vec<pb::GoalEvent> {
        self.goals
            .clone()
            .get_goal_history(self.req(&finance(), pb::GetGoalHistoryRequest { goal_id }))
            .await
            .unwrap()
            .into_inner()
            .events
    }

    /// A library indicator of 2026 under a second-level node.
    pub async fn indicator(&self, code: &str, node: &str, name: &str, unit: &str, fixed: bool) {
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
            .create_indicator(self.req(&finance(), r))
            .await
            .unwrap();
    }

    pub async fn library(&self) {
        self.indicator("OUT-001", "101", "新建农村饮水工程数量", "处", false)
            .await;
        self.indicator("BEN-001", "202", "受益人口", "人", false)
            .await;
        // 固化: the library's target (90) may not be changed.
        self.indicator("SAT-001", "301", "受益群众满意度", "%", true)
            .await;
    }

    pub async fn project(
        &self,
        code: &str,
        amount: &str,
        continuity: pb::Continuity,
    ) -> Result<pb::Project, Status> {
        self.project_with(code, amount, continuity, pb::SpecialField::None)
            .await
    }

    pub async fn project_with(
        &self,
        code: &str,
        amount: &str,
        continuity: pb::Continuity,
        field: pb::SpecialField,
    ) -> Result<pb::Project, Status> {
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
            .declare_project(self.req(&unit(), r))
            .await?
            .into_inner()
            .project
            .unwrap())
    }

    pub async fn save(
        &self,
        who: &Who,
        declaration: pb::GoalDeclaration,
        revision: i64,
    ) -> Result<pb::Goal, Status> {
        let r = pb::SaveGoalRequest {
            request_id: self.rid(),
            declaration: Some(declaration),
            expected_revision: revision,
        };
        Ok(self
            .goals
            .clone()
            .save_goal(self.req(who, r))
            .await?
            .into_inner()
            .goal
            .unwrap())
    }

    pub async fn submit(&self, goal: &pb::Goal) -> Result<pb::Goal, Status> {
        let r = pb::SubmitGoalRequest {
            request_id: self.rid(),
            goal_id: goal.id,
            expected_revision: goal.revision,
        };
        Ok(self
            .goals
            .clone()
            .submit_goal(self.req(&unit(), r))
            .await?
            .into_inner()
            .goal
            .unwrap())
    }

    pub async fn review(
        &self,
        goal: &pb::Goal,
        outcome: pb::ReviewOutcome,
        comments: &str,
    ) -> Result<pb::Goal, Status> {
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
            .review_goal(self.req(&finance(), r))
            .await?
            .into_inner()
            .goal
            .unwrap())
    }

    pub async fn approve(&self, goal: &pb::Goal) -> Result<pb::Goal, Status> {
        let r = pb::ApproveGoalRequest {
            request_id: self.rid(),
            goal_id: goal.id,
            expected_revision: goal.revision,
        };
        Ok(self
            .goals
            .clone()
            .approve_goal(self.req(&finance(), r))
            .await?
            .into_inner()
            .goal
            .unwrap())
    }

    pub async fn funding(&self, codes: &[&str]) -> Vec<pb::FundingEligibility> {
        let r = pb::CheckFundingEligibilityRequest {
            fiscal_year: FY,
            pro_codes: codes.iter().map(|c| (*c).to_owned()).collect(),
        };
        self.goals
            .clone()
            .check_funding_eligibility(self.req(&finance(), r))
            .await
            .unwrap()
            .into_inner()
            .results
    }
}

pub fn lib(code: &str, target: &str) -> pb::GoalIndicator {
    pb::GoalIndicator {
        library_code: code.into(),
        target_value: target.into(),
        ..Default::default()
    }
}

pub fn declaration(code: &str, indicators: Vec<pb::GoalIndicator>) -> pb::GoalDeclaration {
    pb::GoalDeclaration {
        pro_code: code.into(),
        fiscal_year: FY,
        year_goal: "完成12处农村饮水工程，巩固提升3.2万人饮水安全".into(),
        serves_people: true,
        indicators,
        ..Default::default()
    }
}

pub fn full(code: &str) -> pb::GoalDeclaration {
    declaration(
        code,
        vec![
            lib("OUT-001", "12"),
            lib("BEN-001", "32000"),
            lib("SAT-001", "90"),
        ],
    )
}

impl App {
    pub async fn ex_ante(
        &self,
        who: &Who,
        report: pb::ExAnteReport,
        expected_version: i64,
    ) -> Result<pb::ExAnteReport, Status> {
        let r = pb::SubmitExAnteReportRequest {
            request_id: self.rid(),
            report: Some(report),
            expected_version,
        };
        Ok(self
            .goals
            .clone()
            .submit_ex_ante_report(self.req(who, r))
            .await?
            .into_inner()
            .report
            .unwrap())
    }

    pub async fn review_ex_ante(
        &self,
        report: &pb::ExAnteReport,
        sufficient: bool,
        opinion: &str,
    ) -> Result<pb::ExAnteReport, Status> {
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
            .review_ex_ante_report(self.req(&finance(), r))
            .await?
            .into_inner()
            .report
            .unwrap())
    }
}

pub fn report(code: &str, conclusion: &str, summary: &str) -> pb::ExAnteReport {
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
