//! The harness on `pbm-testkit`: the indicator, agency, goal and monitoring services on one real
//! server, as `pbm serve` hosts them, over fresh databases (the monitoring service's on the
//! backend under test). The monitoring service calls the goal and agency services at that very
//! address. Then the callers these tests use, and the approved goals a round snapshots, made
//! through the goal service's real workflow.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use pbm_auth::Role;
use pbm_proto::common::v1::Decimal;
use pbm_proto::goal::v1 as pb;
use pbm_proto::goal::v1::goal_service_client::GoalServiceClient;
use pbm_proto::indicator::v1 as ind;
use pbm_proto::indicator::v1::indicator_service_client::IndicatorServiceClient;
use pbm_proto::monitoring::v1 as mon;
use pbm_testkit::{TestDatabase, TestServer};
use pbm_types::{DivisionCode, FiscalYear};
use tonic::transport::Channel;
use tonic::{Request, Status};

pub use pbm_testkit::{Who, reason, violations};

/// The region the services under test serve (a city).
pub const REGION: &str = "140500";
/// The fiscal year of the projects, goals and rounds.
pub const FY: i32 = 2026;
/// Two departments with a unit each.
pub const DEPT: &str = "140500100";
pub const UNIT: &str = "140500101";
pub const DEPT2: &str = "140500200";
pub const UNIT2: &str = "140500201";

// -- callers -------------------------------------------------------------------------------------

pub fn finance() -> Who {
    Who::finance(REGION)
}

/// The budget unit [`UNIT`] of department [`DEPT`].
pub fn unit() -> Who {
    Who::unit(REGION, DEPT, UNIT)
}

/// The budget unit [`UNIT2`] of department [`DEPT2`].
pub fn unit2() -> Who {
    Who::unit(REGION, DEPT2, UNIT2)
}

pub fn department() -> Who {
    Who::department(REGION, DEPT)
}

pub fn department2() -> Who {
    Who::department(REGION, DEPT2)
}

pub fn auditor() -> Who {
    Who::new(Role::Auditor, REGION)
}

pub fn province() -> Who {
    Who::new(Role::Province, "140000")
}

/// The third-party agency of credit code `code`.
pub fn agency(code: &str) -> Who {
    Who::new(Role::Agency, REGION).with_agency(code)
}

pub fn dec(v: &str) -> Option<Decimal> {
    Some(Decimal { value: v.into() })
}

// -- the app -------------------------------------------------------------------------------------

pub struct App {
    /// Stops the server when dropped.
    pub server: TestServer,
    pub goals: GoalServiceClient<Channel>,
    pub library: IndicatorServiceClient<Channel>,
    pub rounds: mon::round_service_client::RoundServiceClient<Channel>,
    pub execution: mon::execution_service_client::ExecutionServiceClient<Channel>,
    pub reports: mon::report_service_client::ReportServiceClient<Channel>,
    pub deviations: mon::deviation_service_client::DeviationServiceClient<Channel>,
    pub key: mon::key_monitoring_service_client::KeyMonitoringServiceClient<Channel>,
    /// The monitoring service's calendar (China Standard Time), which a test may move.
    pub today: Arc<Mutex<NaiveDate>>,
    /// Last: dropping them drops the PostgreSQL database (monitoring, goal, library, pool).
    dbs: (TestDatabase, TestDatabase, TestDatabase, TestDatabase),
}

/// The day the monitoring service believes it is, unless a test moves it: 2026-07-05, inside
/// a round of months 1–6 reported in July.
pub fn july(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(FY, 7, day).unwrap()
}

/// Serves the four services on one port; the monitoring service on `db`.
pub async fn spawn(db: TestDatabase) -> App {
    let region = DivisionCode::parse(REGION).unwrap();
    let library_db = TestDatabase::sqlite();
    let indicator = pbm_indicator::AppState::open(
        library_db.connect(),
        region.clone(),
        FiscalYear::new(FY).unwrap(),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let pool_db = TestDatabase::sqlite();
    let mut agency = pbm_agency::AppState::open(
        pool_db.connect(),
        region.clone(),
        pbm_server::pii::PiiCipher::from_key(&[7u8; 32]),
    )
    .await
    .unwrap();
    let goal_today = NaiveDate::from_ymd_opt(FY, 1, 15).unwrap();
    agency.today = Arc::new(move || goal_today);
    let goal_db = TestDatabase::sqlite();
    let mut goal = pbm_goal::AppState::open(
        goal_db.connect(),
        region.clone(),
        pbm_goal::Library::new(&url).unwrap(),
        pbm_goal::Pool::new(&url).unwrap(),
    )
    .await
    .unwrap();
    goal.today = Arc::new(move || goal_today);
    let tls = pbm_proto::tls::ClientTlsFiles::default();
    let mut monitoring = pbm_monitoring::AppState::open(
        db.connect(),
        region,
        pbm_monitoring::clients::Goals::over_tls(&url, &tls).unwrap(),
        pbm_monitoring::clients::Pool::over_tls(&url, &tls).unwrap(),
    )
    .await
    .unwrap();
    let today = Arc::new(Mutex::new(july(5)));
    let calendar = today.clone();
    monitoring.today = Arc::new(move || *calendar.lock().unwrap());
    let routes = pbm_monitoring::add_to(
        pbm_goal::add_to(
            pbm_agency::add_to(pbm_indicator::router(indicator), agency),
            goal,
        ),
        monitoring,
    );
    let server = TestServer::start_on(listener, routes, vec![pbm_monitoring::HEALTH_NAME]).await;
    let channel = server.channel.clone();
    App {
        goals: GoalServiceClient::new(channel.clone()),
        library: IndicatorServiceClient::new(channel.clone()),
        rounds: mon::round_service_client::RoundServiceClient::new(channel.clone()),
        execution: mon::execution_service_client::ExecutionServiceClient::new(channel.clone()),
        reports: mon::report_service_client::ReportServiceClient::new(channel.clone()),
        deviations: mon::deviation_service_client::DeviationServiceClient::new(channel.clone()),
        key: mon::key_monitoring_service_client::KeyMonitoringServiceClient::new(channel),
        server,
        today,
        dbs: (db, goal_db, library_db, pool_db),
    }
}

impl App {
    /// A request from `who`.
    pub fn req<T>(&self, who: &Who, msg: T) -> Request<T> {
        self.server.req(who, msg)
    }

    /// A fresh client request id.
    pub fn rid(&self) -> String {
        self.server.rid()
    }

    /// Another pool on the monitoring service's database (to read rows through its store).
    pub fn db(&self) -> pbm_db::Db {
        self.dbs.0.connect()
    }

    /// Moves the monitoring service's calendar.
    pub fn set_today(&self, day: NaiveDate) {
        *self.today.lock().unwrap() = day;
    }

    /// The library's indicators the goals pick: a count (≥, 处), a beneficiary count (≥, 人),
    /// a cost (≤, 万元) and satisfaction (≥, %).
    pub async fn library(&self) {
        for (code, node, name, unit, direction) in [
            (
                "OUT-001",
                "101",
                "新建农村饮水工程数量",
                "处",
                ind::Direction::Ge,
            ),
            (
                "COST-001",
                "104",
                "单位工程成本",
                "万元",
                ind::Direction::Le,
            ),
            ("BEN-001", "202", "受益人口", "人", ind::Direction::Ge),
            ("SAT-001", "301", "受益群众满意度", "%", ind::Direction::Ge),
        ] {
            let r = ind::CreateIndicatorRequest {
                request_id: self.rid(),
                code: code.into(),
                spec: Some(ind::IndicatorSpec {
                    fiscal_year: FY,
                    frame_node_code: node.into(),
                    name: name.into(),
                    kind: ind::IndicatorKind::Common as i32,
                    direction: direction as i32,
                    unit: unit.into(),
                    explanation: format!("{name}的说明"),
                    reference_target: "90".into(),
                    scoring_rule: format!("{name}达到目标值得满分"),
                    fixed: false,
                    ..Default::default()
                }),
            };
            self.library
                .clone()
                .create_indicator(self.req(&finance(), r))
                .await
                .unwrap();
        }
    }

    /// Registers project `code` of `unit` (department `dept`) for `amount` 元.
    pub async fn project(&self, who: &Who, code: &str, dept: &str, unit: &str, amount: &str) {
        let r = pb::DeclareProjectRequest {
            request_id: self.rid(),
            spec: Some(pb::ProjectSpec {
                pro_code: code.into(),
                name: format!("{code} 农村饮水安全巩固提升工程"),
                agency_code: unit.into(),
                department_code: dept.into(),
                fiscal_year: FY,
                fund_source: pb::FundSource::GeneralPublic as i32,
                special_field: pb::SpecialField::None as i32,
                continuity: pb::Continuity::Continuing as i32,
                nature: pb::Nature::Project as i32,
                requested_amount: dec(amount),
                mid_term_from: 0,
                mid_term_to: 0,
            }),
            expected_version: 0,
        };
        self.goals
            .clone()
            .declare_project(self.req(who, r))
            .await
            .unwrap();
    }

    /// Project `code` of [`UNIT`] with an approved goal: 新建 12 处 (≥), 单位成本 ≤ 50 万元,
    /// 受益 32,000 人 (≥), 满意度 ≥ 90 %. Needs [`App::library`] first.
    pub async fn approved(&self, code: &str, amount: &str) -> pb::Goal {
        self.approved_for(&unit(), code, DEPT, UNIT, amount).await
    }

    /// As [`App::approved`], for `who` of unit `unit_code` under `dept`.
    pub async fn approved_for(
        &self,
        who: &Who,
        code: &str,
        dept: &str,
        unit_code: &str,
        amount: &str,
    ) -> pb::Goal {
        self.declared(who, code, dept, unit_code, amount).await;
        self.approve_declared(who, code).await
    }

    /// Registers the project and saves its draft goal (not submitted: no approved goal).
    pub async fn declared(
        &self,
        who: &Who,
        code: &str,
        dept: &str,
        unit_code: &str,
        amount: &str,
    ) -> pb::Goal {
        self.project(who, code, dept, unit_code, amount).await;
        let lib = |c: &str, t: &str| pb::GoalIndicator {
            library_code: c.into(),
            target_value: t.into(),
            ..Default::default()
        };
        let declaration = pb::GoalDeclaration {
            pro_code: code.into(),
            fiscal_year: FY,
            year_goal: "完成12处农村饮水工程，巩固提升3.2万人饮水安全".into(),
            serves_people: true,
            indicators: vec![
                lib("OUT-001", "12"),
                lib("COST-001", "50"),
                lib("BEN-001", "32000"),
                lib("SAT-001", "90"),
            ],
            ..Default::default()
        };
        let r = pb::SaveGoalRequest {
            request_id: self.rid(),
            declaration: Some(declaration),
            expected_revision: 0,
        };
        self.goals
            .clone()
            .save_goal(self.req(who, r))
            .await
            .unwrap()
            .into_inner()
            .goal
            .unwrap()
    }

    /// Submits, reviews 优 and approves the saved goal of `code` (as `who`, then finance).
    pub async fn approve_declared(&self, who: &Who, code: &str) -> pb::Goal {
        let mut goals = self.goals.clone();
        let goal = goals
            .list_goals(self.req(
                &finance(),
                pb::ListGoalsRequest {
                    fiscal_year: FY,
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .goals
            .into_iter()
            .find(|g| g.declaration.as_ref().is_some_and(|d| d.pro_code == code))
            .expect("the saved goal");
        let goal = goals
            .submit_goal(self.req(
                who,
                pb::SubmitGoalRequest {
                    request_id: self.rid(),
                    goal_id: goal.id,
                    expected_revision: goal.revision,
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .goal
            .unwrap();
        let goal = goals
            .review_goal(self.req(
                &finance(),
                pb::ReviewGoalRequest {
                    request_id: self.rid(),
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
        goals
            .approve_goal(self.req(
                &finance(),
                pb::ApproveGoalRequest {
                    request_id: self.rid(),
                    goal_id: goal.id,
                    expected_revision: goal.revision,
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .goal
            .unwrap()
    }

    /// Opens a round of months 1–6 from 2026-07-01 to 2026-07-15 (lead 3 days) over the whole
    /// region, as finance.
    pub async fn open_round(&self) -> Result<mon::Round, Status> {
        self.open_round_with(mon::RoundScope::default()).await
    }

    pub async fn open_round_with(&self, scope: mon::RoundScope) -> Result<mon::Round, Status> {
        let r = mon::OpenRoundRequest {
            request_id: self.rid(),
            fiscal_year: FY,
            name: "2026年1-6月绩效运行监控".into(),
            months_to: 6,
            starts_on: "2026-07-01".into(),
            deadline: "2026-07-15".into(),
            lead_days: 3,
            scope: Some(scope),
        };
        Ok(self
            .rounds
            .clone()
            .open_round(self.req(&finance(), r))
            .await?
            .into_inner()
            .round
            .unwrap())
    }
}
