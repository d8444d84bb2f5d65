//! Cross-service scenarios over real gRPC, the server assembled exactly as `pbm serve`
//! assembles it (configuration, development-key auth, every service on one port, the event
//! relays), on SQLite and PostgreSQL. The shared part of every scenario: [`Deployment`].

use std::net::SocketAddr;

use pbm_proto::tls::ClientTlsFiles;
use pbm_server::audit::Trail;
use pbm_server::config::ServerArgs;
use pbm_server::run::Service;
use pbm_testkit::{TestDatabase, Who};
use tonic::transport::Channel;

/// The region every scenario's deployment serves (a county of 晋城市).
pub const REGION: &str = "140525";
/// The fiscal year whose national frame is seeded.
pub const FY: i32 = 2026;

/// One deployment as `pbm serve` runs it, on a free loopback port.
pub struct Deployment {
    pub addr: SocketAddr,
    pub channel: Channel,
    /// The in-process bus the relays publish to (without Redis).
    pub bus: pbm_events::InProcessBus,
    pub args: ServerArgs,
    pub data_dir: tempfile::TempDir,
    pub db: TestDatabase,
    /// The server task: it ends when the shutdown given to [`Deployment::start_until`] resolves
    /// and the server has drained.
    pub server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Deployment {
    /// Starts every service on `db` (and Redis Streams at `redis_url` when given).
    pub async fn start(db: TestDatabase, redis_url: Option<String>) -> Deployment {
        Self::start_until(db, redis_url, std::future::pending()).await
    }

    /// As [`Deployment::start`], shutting down (as on SIGTERM) when `shutdown` resolves.
    pub async fn start_until(
        db: TestDatabase,
        redis_url: Option<String>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Deployment {
        Self::start_with(db, redis_url, shutdown, |_| {}, &ClientTlsFiles::default()).await
    }

    /// As [`Deployment::start_until`], `configure` changing the flags first (TLS, …), and
    /// [`Deployment::channel`] connecting over TLS as `client` says when the deployment serves
    /// TLS.
    pub async fn start_with(
        db: TestDatabase,
        redis_url: Option<String>,
        shutdown: impl Future<Output = ()> + Send + 'static,
        configure: impl FnOnce(&mut ServerArgs),
        client: &ClientTlsFiles,
    ) -> Deployment {
        let data_dir = tempfile::tempdir().expect("data dir");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut args = pbm_testkit::server_args(data_dir.path(), db.url(), REGION, FY);
        args.listen = addr;
        args.redis_url = redis_url;
        configure(&mut args);
        // As `pbm serve`: every service on one port, the goal service calling the others there.
        let indicator = pbm_indicator::open(&args).await.expect("indicator");
        let agency = pbm_agency::open(&args).await.expect("agency");
        let goal = pbm_goal::open(
            &args,
            &args.indicator_url_or_self(),
            &args.agency_url_or_self(),
        )
        .await
        .expect("goal");
        let monitoring =
            pbm_monitoring::open(&args, &args.goal_url_or_self(), &args.agency_url_or_self())
                .await
                .expect("monitoring");
        let evaluation = pbm_evaluation::open(
            &args,
            &args.goal_url_or_self(),
            &args.monitoring_url_or_self(),
            &args.agency_url_or_self(),
        )
        .await
        .expect("evaluation");
        // As `pbm serve` (`pbm_server::run::host`): one relay per database (here every service
        // shares `db`), the sweeper and the audit sealer, and the audit trails served.
        assert!(args.shares_one_database());
        let outboxes = [indicator.db.clone()];
        // As `pbm serve`: the event consumers, reading the one shared outbox when embedded.
        let consumers = [
            pbm_agency::consumers(&agency),
            pbm_monitoring::consumers(&monitoring),
            pbm_evaluation::consumers(&evaluation),
        ]
        .concat();
        let sources = vec![pbm_events::embedded::Source {
            name: "shared".into(),
            db: indicator.db.clone(),
        }];
        let trails = vec![
            Trail::of(pbm_indicator::HEALTH_NAME, indicator.db.clone()),
            Trail::of(pbm_agency::HEALTH_NAME, agency.db.clone()),
            Trail::of(pbm_goal::HEALTH_NAME, goal.db.clone()),
            Trail::of(pbm_monitoring::HEALTH_NAME, monitoring.db.clone()),
            Trail::of(pbm_evaluation::HEALTH_NAME, evaluation.db.clone()),
        ];
        let routes = pbm_evaluation::add_to(
            pbm_monitoring::add_to(
                pbm_goal::add_to(
                    pbm_agency::add_to(pbm_indicator::router(indicator), agency),
                    goal,
                ),
                monitoring,
            ),
            evaluation,
        );
        let health = [
            pbm_indicator::Indicator::health_names(),
            pbm_agency::Agency::health_names(),
            pbm_goal::Goal::health_names(),
            pbm_monitoring::Monitoring::health_names(),
            pbm_evaluation::Evaluation::health_names(),
        ]
        .concat();
        let bus = pbm_events::InProcessBus::default();
        let (routes, health) =
            pbm_server::run::host(&args, routes, health, &outboxes, trails, &bus)
                .await
                .expect("host");
        pbm_server::run::spawn_consumers(&args, consumers, sources, &bus)
            .await
            .expect("consumers");
        let options = args.serve_options(health).expect("serve options");
        let server = tokio::spawn(pbm_server::serve(listener, routes, options, shutdown));
        let scheme = if args.tls.serves_tls() {
            "https"
        } else {
            "http"
        };
        let channel = client
            .endpoint(&format!("{scheme}://{addr}"))
            .expect("url")
            .connect()
            .await
            .expect("connect");
        Deployment {
            addr,
            channel,
            bus,
            args,
            data_dir,
            db,
            server,
        }
    }

    /// A token for `who` as `pbm token` would print it.
    pub fn token(&self, who: &Who) -> String {
        pbm_testkit::dev_token(self.data_dir.path(), who)
    }
}

/// A continuing project of the general budget, as the budget system registers it: `code` of
/// unit `agency` in department `department`, `amount` 元 requested for [`FY`].
pub fn project_spec(
    code: &str,
    name: &str,
    agency: &str,
    department: &str,
    amount: &str,
) -> pbm_proto::goal::v1::ProjectSpec {
    use pbm_proto::goal::v1 as pb;
    pb::ProjectSpec {
        pro_code: code.into(),
        name: name.into(),
        agency_code: agency.into(),
        department_code: department.into(),
        fiscal_year: FY,
        fund_source: pb::FundSource::GeneralPublic as i32,
        special_field: pb::SpecialField::None as i32,
        continuity: pb::Continuity::Continuing as i32,
        nature: pb::Nature::Project as i32,
        requested_amount: Some(pbm_proto::common::v1::Decimal {
            value: amount.into(),
        }),
        ..Default::default()
    }
}

/// Creates one 共性 indicator of the library under each first level (产出 101, 效益 202, 满意度
/// 301) as `finance` (a token of the region's finance bureau), codes `{prefix}-O`, `-B`, `-S`:
/// what a goal of the scenarios picks from.
pub async fn seed_library(channel: &Channel, finance: &str, prefix: &str) -> [String; 3] {
    use pbm_proto::indicator::v1 as ind;
    let mut library = ind::indicator_service_client::IndicatorServiceClient::new(channel.clone());
    let codes = ["O", "B", "S"].map(|level| format!("{prefix}-{level}"));
    for (code, (node, name, unit)) in codes.iter().zip([
        ("101", "新建农村饮水工程数量", "处"),
        ("202", "受益人口", "人"),
        ("301", "受益群众满意度", "%"),
    ]) {
        library
            .create_indicator(pbm_testkit::bearer(
                finance,
                ind::CreateIndicatorRequest {
                    request_id: format!("lib-{code}"),
                    code: code.clone(),
                    spec: Some(ind::IndicatorSpec {
                        fiscal_year: FY,
                        frame_node_code: node.into(),
                        name: name.into(),
                        kind: ind::IndicatorKind::Common as i32,
                        direction: ind::Direction::Ge as i32,
                        unit: unit.into(),
                        explanation: format!("{name}的说明"),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("library indicator");
    }
    codes
}

/// The scenarios' project goal for [`FY`]: `works` 处 of rural water works (`library[0]`),
/// 32,000 people served (`library[1]`), 90 % of them satisfied (`library[2]`).
pub fn water_goal(
    code: &str,
    library: &[String; 3],
    works: &str,
) -> pbm_proto::goal::v1::GoalDeclaration {
    use pbm_proto::goal::v1 as pb;
    let pick = |c: &str, t: &str| pb::GoalIndicator {
        library_code: c.into(),
        target_value: t.into(),
        ..Default::default()
    };
    pb::GoalDeclaration {
        pro_code: code.into(),
        fiscal_year: FY,
        year_goal: format!("完成{works}处农村饮水工程，巩固提升3.2万人饮水安全"),
        serves_people: true,
        indicators: vec![
            pick(&library[0], works),
            pick(&library[1], "32000"),
            pick(&library[2], "90"),
        ],
        ..Default::default()
    }
}

/// Declares project `code` (「<code> 农村饮水安全巩固提升工程」, 1,000,000 元) of unit `unit` in
/// department `dept` as `token` (the unit), with request id `request_id`.
pub async fn declare_water_project(
    goals: &pbm_proto::goal::v1::goal_service_client::GoalServiceClient<Channel>,
    token: &str,
    request_id: &str,
    code: &str,
    unit: &str,
    dept: &str,
) {
    let name = format!("{code} 农村饮水安全巩固提升工程");
    goals
        .clone()
        .declare_project(pbm_testkit::bearer(
            token,
            pbm_proto::goal::v1::DeclareProjectRequest {
                request_id: request_id.into(),
                spec: Some(project_spec(code, &name, unit, dept, "1000000")),
                expected_version: 0,
            },
        ))
        .await
        .expect("declare the project");
}

/// Finance (`finance`) opens the monitoring round of months 1–6 of `FY` over every department,
/// started yesterday, due in ten days (today falls inside it); the round opened.
pub async fn open_half_year_round(
    channel: &Channel,
    finance: &str,
    request_id: &str,
) -> pbm_proto::monitoring::v1::Round {
    use pbm_proto::monitoring::v1 as mon;
    let today = pbm_monitoring::state::today_in_china();
    mon::round_service_client::RoundServiceClient::new(channel.clone())
        .open_round(pbm_testkit::bearer(
            finance,
            mon::OpenRoundRequest {
                request_id: request_id.into(),
                fiscal_year: FY,
                name: "2026年1-6月绩效运行监控".into(),
                months_to: 6,
                starts_on: (today - chrono::Days::new(1)).to_string(),
                deadline: (today + chrono::Days::new(10)).to_string(),
                lead_days: 3,
                scope: Some(mon::RoundScope::default()),
            },
        ))
        .await
        .expect("open the round")
        .into_inner()
        .round
        .expect("the opened round")
}

/// Takes `declaration` from the unit's draft to finance's approval over gRPC: the unit saves it
/// (on `expected_revision`) and submits it (二上), finance reviews it 优 and approves it (二下).
/// Request ids are `{id}-goal`, `-submit`, `-review`, `-approve`. Returns the approved goal.
pub async fn approve_goal(
    goals: &pbm_proto::goal::v1::goal_service_client::GoalServiceClient<Channel>,
    unit: &str,
    finance: &str,
    declaration: pbm_proto::goal::v1::GoalDeclaration,
    expected_revision: i64,
    id: &str,
) -> pbm_proto::goal::v1::Goal {
    use pbm_proto::goal::v1 as pb;
    use pbm_testkit::bearer;
    let mut goals = goals.clone();
    let goal = goals
        .save_goal(bearer(
            unit,
            pb::SaveGoalRequest {
                request_id: format!("{id}-goal"),
                declaration: Some(declaration),
                expected_revision,
            },
        ))
        .await
        .expect("save the goal")
        .into_inner()
        .goal
        .expect("the saved goal");
    let goal = goals
        .submit_goal(bearer(
            unit,
            pb::SubmitGoalRequest {
                request_id: format!("{id}-submit"),
                goal_id: goal.id,
                expected_revision: goal.revision,
            },
        ))
        .await
        .expect("submit the goal")
        .into_inner()
        .goal
        .expect("the submitted goal");
    let goal = goals
        .review_goal(bearer(
            finance,
            pb::ReviewGoalRequest {
                request_id: format!("{id}-review"),
                goal_id: goal.id,
                expected_revision: goal.revision,
                outcome: pb::ReviewOutcome::Excellent as i32,
                comments: String::new(),
            },
        ))
        .await
        .expect("review the goal")
        .into_inner()
        .goal
        .expect("the reviewed goal");
    goals
        .approve_goal(bearer(
            finance,
            pb::ApproveGoalRequest {
                request_id: format!("{id}-approve"),
                goal_id: goal.id,
                expected_revision: goal.revision,
            },
        ))
        .await
        .expect("approve the goal")
        .into_inner()
        .goal
        .expect("the approved goal")
}

/// Polls `check` until it holds (event consumers run in the background), for at most 20 s.
pub async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Registers the scenarios' expert (张专家, senior, field LAW) in the pool as `finance`; its id.
pub async fn register_expert(channel: &Channel, finance: &str, request_id: &str) -> i64 {
    register_expert_numbered(channel, finance, request_id, 1).await
}

/// The same expert profile with the 身份证号 numbered `n` (0–9), so several can be registered.
pub async fn register_expert_numbered(
    channel: &Channel,
    finance: &str,
    request_id: &str,
    n: u8,
) -> i64 {
    use pbm_proto::agency::v1 as ag;
    let first17 = format!("1405021975050500{}", n % 10);
    let check = pbm_agency::domain::ids::IdNumber::check_char(&first17).expect("17 digits");
    ag::agency_registry_service_client::AgencyRegistryServiceClient::new(channel.clone())
        .register_expert(pbm_testkit::bearer(
            finance,
            ag::RegisterExpertRequest {
                request_id: request_id.into(),
                spec: Some(ag::ExpertSpec {
                    name: "张专家".into(),
                    id_number: format!("{first17}{check}"),
                    phone: "13900001111".into(),
                    title: ag::TitleLevel::Senior as i32,
                    years_in_field: 15,
                    fields: vec!["LAW".into()],
                    affiliation: "山西某大学".into(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("expert")
        .into_inner()
        .expert
        .expect("expert")
        .id
}
