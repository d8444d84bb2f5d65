//! The harness on `pbm-testkit`: the agency service (its three gRPC services) on a real server
//! over a fresh database with a fixed calendar, its clients, the callers these tests use, spec
//! builders and finance shortcuts.

use std::sync::Arc;

use chrono::NaiveDate;
use pbm_agency::AppState;
use pbm_auth::Role;
use pbm_proto::agency::v1 as pb;
use pbm_proto::agency::v1::agency_registry_service_client::AgencyRegistryServiceClient;
use pbm_proto::agency::v1::draw_service_client::DrawServiceClient;
use pbm_proto::agency::v1::engagement_service_client::EngagementServiceClient;
use pbm_testkit::{TestDatabase, TestServer};
use pbm_types::DivisionCode;
use tonic::transport::Channel;
use tonic::{Request, Status};

pub use pbm_testkit::{Who, bearer, domain, fields, reason, refused, violation_reasons};

/// The region the app under test serves (a city).
pub const REGION: &str = "140500";
/// The province above it.
pub const PROVINCE: &str = "140000";
/// A valid 统一社会信用代码 (check digit per GB 32100-2015).
pub const CODE_A: &str = "91350100M000100Y43";
/// The 统一社会信用代码 of an agency not in the registry.
pub const OTHER_AGENCY: &str = "91110000100000000A";

// -- callers -------------------------------------------------------------------------------------

/// The local finance bureau (manages the pool).
pub fn finance() -> Who {
    Who::finance(REGION)
}

/// A caller of `role` in this region, with no unit, department, agency or expert.
pub fn of_role(role: Role) -> Who {
    Who::new(role, REGION)
}

/// The local auditor.
pub fn auditor() -> Who {
    of_role(Role::Auditor)
}

/// The province above this region.
pub fn province() -> Who {
    Who::new(Role::Province, PROVINCE)
}

/// Agency `credit_code` of this region.
pub fn as_agency(credit_code: &str) -> Who {
    of_role(Role::Agency).with_agency(credit_code)
}

/// Expert `id` of this region.
pub fn as_expert(id: i64) -> Who {
    of_role(Role::Expert).with_expert(&id.to_string())
}

// -- the app -------------------------------------------------------------------------------------

pub struct App {
    pub registry: AgencyRegistryServiceClient<Channel>,
    pub engagements: EngagementServiceClient<Channel>,
    pub draws: DrawServiceClient<Channel>,
    /// A clone of the server's state (database), to look behind the API.
    pub state: AppState,
    /// Stops the server when dropped.
    pub server: TestServer,
    /// Last: dropping it drops the PostgreSQL database.
    _db: TestDatabase,
}

/// The key the app under test encrypts personal data with.
pub fn pii() -> pbm_server::pii::PiiCipher {
    pbm_server::pii::PiiCipher::from_key(&[7u8; 32])
}

/// Serves the agency service on a free port of 127.0.0.1 over `test_db`, its calendar fixed at
/// `today` (`YYYY-MM-DD`).
pub async fn spawn(test_db: TestDatabase, today: &'static str) -> App {
    spawn_with(test_db, today, pii()).await
}

/// [`spawn`] with personal data encrypted by `pii`.
pub async fn spawn_with(
    test_db: TestDatabase,
    today: &'static str,
    pii: pbm_server::pii::PiiCipher,
) -> App {
    let mut state = AppState::open(test_db.connect(), DivisionCode::parse(REGION).unwrap(), pii)
        .await
        .expect("open the agency state");
    let fixed = NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap();
    state.today = Arc::new(move || fixed);
    let server = TestServer::start(
        pbm_agency::router(state.clone()),
        vec![
            pbm_agency::HEALTH_NAME,
            pbm_agency::ENGAGEMENT_HEALTH_NAME,
            pbm_agency::DRAW_HEALTH_NAME,
        ],
    )
    .await;
    let channel = server.channel.clone();
    App {
        registry: AgencyRegistryServiceClient::new(channel.clone()),
        engagements: EngagementServiceClient::new(channel.clone()),
        draws: DrawServiceClient::new(channel),
        state,
        server,
        _db: test_db,
    }
}

impl App {
    /// Stops this server and serves the same database again with personal data encrypted by
    /// `pii` (a restart with another key or cipher).
    pub async fn restart_with(self, today: &'static str, pii: pbm_server::pii::PiiCipher) -> App {
        let App { server, _db, .. } = self;
        // The new server's request ids continue after the old one's (its idempotency records
        // stay in the database).
        let used: u64 = server.rid().trim_start_matches("req-").parse().unwrap_or(0);
        drop(server);
        let app = spawn_with(_db, today, pii).await;
        for _ in 0..=used {
            app.rid();
        }
        app
    }

    /// A signed token for `who`, valid for an hour.
    pub fn token(&self, who: &Who) -> String {
        self.server.tokens.token(who)
    }

    /// A request from `who`.
    pub fn req<T>(&self, who: &Who, message: T) -> Request<T> {
        self.server.req(who, message)
    }

    /// A request from the local finance bureau.
    pub fn fin<T>(&self, message: T) -> Request<T> {
        self.req(&finance(), message)
    }

    /// A fresh client request id.
    pub fn rid(&self) -> String {
        self.server.rid()
    }

    // -- events --------------------------------------------------------------------------------

    /// Delivers every event this service wrote to its consumers (`pbm_agency::consumers`), as
    /// the relay and the consumers do in the background: the grade actions of rated
    /// engagements, the replacement rounds of declines. An event delivered before is skipped
    /// (`Applied::Duplicate`). Returns what became of each delivery.
    pub async fn settle(&self) -> Vec<pbm_events::Applied> {
        let rows = self
            .state
            .db
            .read(|c| pbm_db::platform::unpublished_outbox(c, 10_000))
            .await
            .unwrap();
        let mut out = Vec::new();
        for consumer in pbm_agency::consumers(&self.state) {
            for row in &rows {
                if consumer.topics().contains(&row.topic) {
                    let event = pbm_events::Event::from(row);
                    out.push(consumer.apply_one(event, None).await);
                }
            }
        }
        out
    }

    /// [`App::settle`], every delivery applied or skipped (none to retry, none dead-lettered).
    pub async fn settled(&self) {
        for applied in self.settle().await {
            assert!(
                matches!(
                    applied,
                    pbm_events::Applied::Done | pbm_events::Applied::Duplicate
                ),
                "{applied:?}"
            );
        }
    }

    // -- finance shortcuts: the registry --------------------------------------------------------

    /// A batch qualified for 2019–2022.
    pub async fn batch(&self) -> pb::AdmissionBatch {
        let r = pb::CreateAdmissionBatchRequest {
            request_id: self.rid(),
            name: "2019—2022年度预算绩效管理中介机构库".into(),
            procurement_ref: "JCZC-2018-117".into(),
            qualified_from: "2019-01-01".into(),
            qualified_to: "2022-12-31".into(),
        };
        self.registry
            .clone()
            .create_admission_batch(self.fin(r))
            .await
            .unwrap()
            .into_inner()
            .batch
            .unwrap()
    }

    /// A batch qualified for 2025–2027 (engagements in 2026).
    pub async fn current_batch(&self) -> pb::AdmissionBatch {
        let r = pb::CreateAdmissionBatchRequest {
            request_id: self.rid(),
            name: "2025—2027年度第三方机构库".into(),
            procurement_ref: "JCZC-2024-031".into(),
            qualified_from: "2025-01-01".into(),
            qualified_to: "2027-12-31".into(),
        };
        self.registry
            .clone()
            .create_admission_batch(self.fin(r))
            .await
            .unwrap()
            .into_inner()
            .batch
            .unwrap()
    }

    pub async fn register(&self, spec: pb::AgencySpec) -> Result<pb::Agency, Status> {
        let r = pb::RegisterAgencyRequest {
            request_id: self.rid(),
            spec: Some(spec),
        };
        Ok(self
            .registry
            .clone()
            .register_agency(self.fin(r))
            .await?
            .into_inner()
            .agency
            .unwrap())
    }

    pub async fn act(
        &self,
        code: &str,
        version: i64,
        action: pb::AgencyAction,
        until: &str,
    ) -> Result<pb::Agency, Status> {
        let r = pb::ChangeAgencyStatusRequest {
            request_id: self.rid(),
            credit_code: code.into(),
            expected_version: version,
            action: action as i32,
            reason: "年度考评".into(),
            until: until.into(),
        };
        Ok(self
            .registry
            .clone()
            .change_agency_status(self.fin(r))
            .await?
            .into_inner()
            .agency
            .unwrap())
    }

    pub async fn register_expert(&self, spec: pb::ExpertSpec) -> Result<pb::Expert, Status> {
        let r = pb::RegisterExpertRequest {
            request_id: self.rid(),
            spec: Some(spec),
        };
        Ok(self
            .registry
            .clone()
            .register_expert(self.fin(r))
            .await?
            .into_inner()
            .expert
            .unwrap())
    }

    // -- finance shortcuts: engagements and ratings ---------------------------------------------

    pub async fn commission(
        &self,
        kind: pb::EngagementKind,
        commissioner: &str,
        party: &str,
        agency: &str,
    ) -> Result<pb::Engagement, Status> {
        let r = pb::CreateEngagementRequest {
            request_id: self.rid(),
            commissioner: commissioner.into(),
            evaluated_party: party.into(),
            kind: kind as i32,
            agency_credit_code: agency.into(),
            expert_ids: vec![],
            started_on: "2026-01-10".into(),
            ended_on: "2026-03-31".into(),
        };
        Ok(self
            .engagements
            .clone()
            .create_engagement(self.fin(r))
            .await?
            .into_inner()
            .engagement
            .unwrap())
    }

    /// Rates engagement `id`: QUALITY `quality`, every other criterion `rest`.
    pub async fn rate(
        &self,
        id: i64,
        version: i64,
        quality: &str,
        rest: &str,
    ) -> Result<pb::RateEngagementResponse, Status> {
        let scores = [
            ("QUALITY", quality),
            ("TIMELINESS", rest),
            ("CONDUCT", rest),
            ("SATISFACTION", rest),
        ]
        .into_iter()
        .map(|(c, s)| pb::CriterionScore {
            criterion: c.into(),
            score: dec(s),
        })
        .collect();
        let r = pb::RateEngagementRequest {
            request_id: self.rid(),
            engagement_id: id,
            expected_version: version,
            scores,
        };
        Ok(self
            .engagements
            .clone()
            .rate_engagement(self.fin(r))
            .await?
            .into_inner())
    }

    /// The rating of agency `code`, explained to finance.
    pub async fn explain_agency(&self, code: &str) -> pb::RatingExplanation {
        let r = pb::ExplainRatingRequest {
            agency_credit_code: code.into(),
            ..Default::default()
        };
        self.engagements
            .clone()
            .explain_rating(self.fin(r))
            .await
            .unwrap()
            .into_inner()
            .rating
            .unwrap()
    }

    pub async fn recompute(
        &self,
        request_id: &str,
        who: &Who,
    ) -> Result<pb::RecomputeRatingsResponse, Status> {
        let r = pb::RecomputeRatingsRequest {
            request_id: request_id.into(),
            as_of: String::new(),
        };
        Ok(self
            .engagements
            .clone()
            .recompute_ratings(self.req(who, r))
            .await?
            .into_inner())
    }

    // -- finance shortcuts: draws ---------------------------------------------------------------

    /// Draws `count` LAW experts for `task` to review U0101's goals.
    pub async fn draw(&self, task: &str, count: i32) -> Result<pb::Draw, Status> {
        let r = pb::DrawExpertsRequest {
            request_id: self.rid(),
            task_ref: task.into(),
            field: "LAW".into(),
            count,
            evaluated_party: "U0101".into(),
            kind: pb::EngagementKind::GoalReview as i32,
        };
        Ok(self
            .draws
            .clone()
            .draw_experts(self.fin(r))
            .await?
            .into_inner()
            .draw
            .unwrap())
    }

    /// Answers for drawn `expert` (a decline gives a reason).
    pub async fn respond(
        &self,
        draw: &pb::Draw,
        expert: i64,
        accept: bool,
    ) -> Result<pb::Draw, Status> {
        let r = pb::RespondToDrawRequest {
            request_id: self.rid(),
            draw_id: draw.id,
            expected_version: draw.version,
            expert_id: expert,
            accept,
            reason: if accept {
                String::new()
            } else {
                "时间冲突".into()
            },
            ..Default::default()
        };
        Ok(self
            .draws
            .clone()
            .respond_to_draw(self.fin(r))
            .await?
            .into_inner()
            .draw
            .unwrap())
    }

    /// Declines for drawn `expert`, lets the consumer draw the replacement ([`App::settled`])
    /// and returns the draw as GetDraw shows it then.
    pub async fn decline(&self, draw: &pb::Draw, expert: i64) -> Result<pb::Draw, Status> {
        let answered = self.respond(draw, expert, false).await?;
        self.settled().await;
        let after = self.get_draw(draw.id).await;
        assert_eq!(
            after.version, answered.version,
            "a replacement keeps the version"
        );
        Ok(after)
    }

    /// Draw `id` as finance reads it.
    pub async fn get_draw(&self, id: i64) -> pb::Draw {
        self.draws
            .clone()
            .get_draw(self.fin(pb::GetDrawRequest { draw_id: id }))
            .await
            .unwrap()
            .into_inner()
            .draw
            .unwrap()
    }

    /// Draws `count` agencies for `task` to work on D07.
    pub async fn draw_agencies(
        &self,
        task: &str,
        count: i32,
        kind: pb::EngagementKind,
        weighted: bool,
    ) -> Result<pb::Draw, Status> {
        let r = pb::DrawAgenciesRequest {
            request_id: self.rid(),
            task_ref: task.into(),
            count,
            evaluated_party: "D07".into(),
            kind: kind as i32,
            weighted_by_rating: weighted,
        };
        Ok(self
            .draws
            .clone()
            .draw_agencies(self.fin(r))
            .await?
            .into_inner()
            .draw
            .unwrap())
    }
}

// -- builders ------------------------------------------------------------------------------------

/// Agency [`CODE_A`], an accounting firm of evaluation and ex-ante scope, in batch `batch`.
pub fn spec(batch: i64) -> pb::AgencySpec {
    pb::AgencySpec {
        credit_code: CODE_A.into(),
        name: "晋城某会计师事务所有限公司".into(),
        r#type: pb::AgencyType::AccountingFirm as i32,
        legal_representative: "王某".into(),
        lead_evaluators: vec![pb::LeadEvaluator {
            name: "赵某".into(),
            qualifications: vec!["注册会计师".into()],
        }],
        contacts: vec![pb::Person {
            name: "李某".into(),
            role: "项目经理".into(),
            phone: "13812345678".into(),
            email: String::new(),
        }],
        scopes: vec![
            pb::ServiceScope::Evaluation as i32,
            pb::ServiceScope::ExAnteAndGoalReview as i32,
        ],
        admission_batch_id: batch,
        ..Default::default()
    }
}

/// A valid 统一社会信用代码 from its first 17 characters.
pub fn credit(first17: &str) -> String {
    let check = pbm_agency::domain::ids::CreditCode::check_char(first17).unwrap();
    format!("{first17}{check}")
}

/// A valid 身份证号 for a birth date (GB 11643 check digit).
pub fn id_number(birth: &str, seq: &str) -> String {
    let first17 = format!("140502{birth}{seq}");
    let check = pbm_agency::domain::ids::IdNumber::check_char(&first17).expect("17 digits");
    format!("{first17}{check}")
}

/// A senior LAW expert of 15 years with 身份证号 `id`.
pub fn expert_spec(id: &str) -> pb::ExpertSpec {
    pb::ExpertSpec {
        name: "张专家".into(),
        id_number: id.into(),
        phone: "13900001111".into(),
        title: pb::TitleLevel::Senior as i32,
        years_in_field: 15,
        fields: vec!["LAW".into()],
        affiliation: "山西某大学".into(),
        ..Default::default()
    }
}

pub fn dec(v: &str) -> Option<pbm_proto::common::v1::Decimal> {
    Some(pbm_proto::common::v1::Decimal { value: v.into() })
}

/// Five agencies for 2026: A and B rated, C tied to the evaluated party D07, D without a
/// 主评人, E with research scope only.
pub async fn agency_pool(app: &App) -> Vec<String> {
    let batch = app.current_batch().await;
    let codes: Vec<String> = (1..=5)
        .map(|i| credit(&format!("9114050000000{i:03}X")))
        .collect();
    for (i, code) in codes.iter().enumerate() {
        let mut s = spec(batch.id);
        s.credit_code = code.clone();
        s.name = format!("第{i}号评价机构");
        if i == 2 {
            s.relations = vec![pb::Relation {
                party_code: "D07".into(),
                kind: pb::RelationKind::OtherInterest as i32,
                from: "2025-01-01".into(),
                to: String::new(),
                note: "为该部门提供咨询".into(),
            }];
        }
        if i == 3 {
            s.lead_evaluators.clear();
        }
        if i == 4 {
            s.scopes = vec![pb::ServiceScope::Research as i32];
        }
        app.register(s).await.unwrap();
    }
    for (code, score) in [(&codes[0], "95"), (&codes[1], "70")] {
        let e = app
            .commission(pb::EngagementKind::Evaluation, "FIN", "D01", code)
            .await
            .unwrap();
        app.rate(e.id, 1, score, score).await.unwrap();
    }
    // Their grades act through the consumer of the ratings' events.
    app.settled().await;
    codes
}

/// The `details` column of agency [`CODE_A`] as stored.
pub async fn stored_details(app: &App) -> String {
    use diesel::prelude::*;
    use pbm_agency::store::schema::agencies;
    app.state
        .db
        .read(|c| -> Result<String, pbm_db::StoreError> {
            Ok(agencies::table
                .filter(agencies::credit_code.eq(CODE_A))
                .select(agencies::details)
                .first::<String>(c)?)
        })
        .await
        .unwrap()
}

/// Overwrites the stored `details` of agency [`CODE_A`] (a record as an older version stored it).
pub async fn set_stored_details(app: &App, details: impl Into<String>) {
    use diesel::prelude::*;
    use pbm_agency::store::schema::agencies;
    let details = details.into();
    app.state
        .db
        .write(move |c| -> Result<usize, pbm_db::StoreError> {
            Ok(
                diesel::update(agencies::table.filter(agencies::credit_code.eq(CODE_A)))
                    .set(agencies::details.eq(details))
                    .execute(c)?,
            )
        })
        .await
        .unwrap();
}
