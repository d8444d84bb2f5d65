//! The agency and expert registry over real gRPC, on SQLite and PostgreSQL: admission batches,
//! registration with validated credit codes, the status lifecycle with history, qualification
//! expiry, violations; experts with encrypted personal data, entry rules, audited reveals; roles
//! and regions.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use ed25519_dalek::SigningKey;
use pbm_agency::AppState;
use pbm_auth::{AuthLayer, Claims, Ed25519Verifier, Role, TokenSigner};
use pbm_db::testing::TestDatabase;
use pbm_proto::agency::v1 as pb;
use pbm_proto::agency::v1::agency_registry_service_client::AgencyRegistryServiceClient;
use pbm_proto::agency::v1::draw_service_client::DrawServiceClient;
use pbm_proto::agency::v1::engagement_service_client::EngagementServiceClient;
use pbm_server::ServeOptions;
use pbm_types::DivisionCode;
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

const REGION: &str = "140500";
/// A valid 统一社会信用代码 (check digit per GB 32100-2015).
const CODE_A: &str = "91350100M000100Y43";

struct App {
    client: AgencyRegistryServiceClient<Channel>,
    engagements: EngagementServiceClient<Channel>,
    draws: DrawServiceClient<Channel>,
    signer: TokenSigner,
    state: AppState,
    seq: std::sync::atomic::AtomicU64,
    _db: TestDatabase,
}

async fn spawn(test_db: TestDatabase, today: &'static str) -> App {
    let pii = pbm_server::pii::PiiCipher::from_key(&[7u8; 32]);
    let mut state = AppState::open(test_db.connect(), DivisionCode::parse(REGION).unwrap(), pii)
        .await
        .unwrap();
    let fixed = NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap();
    state.today = Arc::new(move || fixed);
    let signer = TokenSigner::new("t", SigningKey::from_bytes(&[9u8; 32]));
    let options = ServeOptions {
        auth: AuthLayer::new(Ed25519Verifier::new().with_key("t", signer.verifying_key())),
        max_in_flight: 64,
        request_timeout: Duration::from_secs(10),
        health_services: vec![pbm_agency::HEALTH_NAME],
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(pbm_server::serve(
        listener,
        pbm_agency::router(state.clone()),
        options,
        std::future::pending(),
    ));
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    App {
        client: AgencyRegistryServiceClient::new(channel.clone()),
        engagements: EngagementServiceClient::new(channel.clone()),
        draws: DrawServiceClient::new(channel),
        signer,
        state,
        seq: Default::default(),
        _db: test_db,
    }
}

impl App {
    fn token(&self, role: Role, region: &str, agency: Option<&str>) -> String {
        self.signer
            .sign(&Claims::new(format!("{role}-user"), role, region, 600).with_agency(agency))
    }

    fn req<T>(&self, token: &str, msg: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(msg);
        r.metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        r
    }

    fn finance(&self) -> String {
        self.token(Role::FinanceAdmin, REGION, None)
    }

    fn rid(&self) -> String {
        format!(
            "r-{}",
            self.seq.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        )
    }

    async fn batch(&self) -> pb::AdmissionBatch {
        let r = pb::CreateAdmissionBatchRequest {
            request_id: self.rid(),
            name: "2019—2022年度预算绩效管理中介机构库".into(),
            procurement_ref: "JCZC-2018-117".into(),
            qualified_from: "2019-01-01".into(),
            qualified_to: "2022-12-31".into(),
        };
        self.client
            .clone()
            .create_admission_batch(self.req(&self.finance(), r))
            .await
            .unwrap()
            .into_inner()
            .batch
            .unwrap()
    }

    async fn register(&self, spec: pb::AgencySpec) -> Result<pb::Agency, tonic::Status> {
        let r = pb::RegisterAgencyRequest {
            request_id: self.rid(),
            spec: Some(spec),
        };
        Ok(self
            .client
            .clone()
            .register_agency(self.req(&self.finance(), r))
            .await?
            .into_inner()
            .agency
            .unwrap())
    }

    async fn act(
        &self,
        code: &str,
        version: i64,
        action: pb::AgencyAction,
        until: &str,
    ) -> Result<pb::Agency, tonic::Status> {
        let r = pb::ChangeAgencyStatusRequest {
            request_id: self.rid(),
            credit_code: code.into(),
            expected_version: version,
            action: action as i32,
            reason: "年度考评".into(),
            until: until.into(),
        };
        Ok(self
            .client
            .clone()
            .change_agency_status(self.req(&self.finance(), r))
            .await?
            .into_inner()
            .agency
            .unwrap())
    }
}

fn spec(batch: i64) -> pb::AgencySpec {
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

fn reason(status: &tonic::Status) -> String {
    status
        .get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

fn fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

async fn registers_and_moves_through_the_lifecycle(db: TestDatabase) {
    let app = spawn(db, "2020-06-01").await;
    let batch = app.batch().await;
    let a = app.register(spec(batch.id)).await.unwrap();
    assert_eq!(
        (a.status, a.version),
        (pb::AgencyStatus::Admitted as i32, 1)
    );
    assert_eq!(
        (a.qualified_from.as_str(), a.qualified_to.as_str()),
        ("2019-01-01", "2022-12-31")
    );
    assert_eq!(
        a.spec.as_ref().unwrap().contacts[0].phone,
        "13812345678",
        "finance sees contacts in full"
    );

    let dup = app.register(spec(batch.id)).await.unwrap_err();
    assert_eq!(
        (dup.code(), reason(&dup).as_str()),
        (Code::AlreadyExists, "AGENCY_EXISTS")
    );

    let warned = app
        .act(CODE_A, 1, pb::AgencyAction::Warn, "")
        .await
        .unwrap();
    assert_eq!(warned.status, pb::AgencyStatus::Warned as i32);
    let stale = app
        .act(CODE_A, 1, pb::AgencyAction::Remove, "")
        .await
        .unwrap_err();
    assert_eq!(
        (stale.code(), reason(&stale).as_str()),
        (Code::Aborted, "VERSION_MISMATCH")
    );
    let bad_until = app
        .act(CODE_A, 2, pb::AgencyAction::Suspend, "2020-05-01")
        .await
        .unwrap_err();
    assert_eq!(reason(&bad_until), "SUSPEND_UNTIL_INVALID");
    let suspended = app
        .act(CODE_A, 2, pb::AgencyAction::Suspend, "2020-12-31")
        .await
        .unwrap();
    assert_eq!(
        (suspended.status, suspended.suspended_until.as_str()),
        (pb::AgencyStatus::Suspended as i32, "2020-12-31")
    );
    let removed = app
        .act(CODE_A, 3, pb::AgencyAction::Remove, "")
        .await
        .unwrap();
    assert_eq!(removed.status, pb::AgencyStatus::Removed as i32);
    let final_ = app
        .act(CODE_A, 4, pb::AgencyAction::Reinstate, "")
        .await
        .unwrap_err();
    assert_eq!(
        (final_.code(), reason(&final_).as_str()),
        (Code::FailedPrecondition, "AGENCY_REMOVED")
    );

    let history = app
        .client
        .clone()
        .list_status_history(app.req(
            &app.finance(),
            pb::ListStatusHistoryRequest {
                credit_code: CODE_A.into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .changes;
    let steps: Vec<(&str, &str)> = history
        .iter()
        .map(|c| (c.from_status.as_str(), c.to_status.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            ("", "admitted"),
            ("admitted", "warned"),
            ("warned", "suspended"),
            ("suspended", "removed")
        ]
    );
    assert_eq!(history[2].until, "2020-12-31");
}

async fn qualification_expires_by_itself(db: TestDatabase) {
    let app = spawn(db, "2023-01-01").await;
    let batch = app.batch().await;
    let a = app.register(spec(batch.id)).await.unwrap();
    assert_eq!(
        a.status,
        pb::AgencyStatus::Expired as i32,
        "the 2019–2022 period is over on 2023-01-01"
    );
}

async fn bad_input_is_refused_and_writes_nothing(db: TestDatabase) {
    let app = spawn(db, "2020-06-01").await;
    let batch = app.batch().await;
    let mut bad = spec(batch.id);
    bad.credit_code = "91350100M000100Y44".into(); // wrong check digit
    bad.scopes.clear();
    bad.contacts[0].phone = "12345".into();
    let err = app.register(bad).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fields(&err), ["spec.credit_code"]);
    // The 统一社会信用代码's own reason, in ErrorInfo and on its field.
    assert_eq!(reason(&err), "CREDIT_CODE_INVALID");
    let bad_request = err.get_details_bad_request().expect("bad request");
    assert_eq!(
        bad_request
            .field_violations
            .iter()
            .map(|v| (v.field.as_str(), v.reason.as_str()))
            .collect::<Vec<_>>(),
        [("spec.credit_code", "CREDIT_CODE_INVALID")]
    );
    let mut bad = spec(batch.id);
    bad.scopes.clear();
    bad.contacts[0].phone = "12345".into();
    let err = app.register(bad).await.unwrap_err();
    assert_eq!(fields(&err), ["spec.scopes", "spec.contacts[0].phone"]);
    let unknown_batch = app.register(spec(999)).await.unwrap_err();
    assert_eq!(
        (unknown_batch.code(), reason(&unknown_batch).as_str()),
        (Code::FailedPrecondition, "BATCH_NOT_FOUND")
    );
    let list = app
        .client
        .clone()
        .list_agencies(app.req(&app.finance(), pb::ListAgenciesRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.page.unwrap().total_size, 0, "nothing was written");
    let audit = app
        .state
        .db
        .read(|c| pbm_db::platform::audit_of(c, "agency", CODE_A))
        .await
        .unwrap();
    assert!(audit.iter().all(|r| r.outcome != "OK"));
}

async fn violations_are_recorded(db: TestDatabase) {
    let app = spawn(db, "2021-03-01").await;
    let batch = app.batch().await;
    app.register(spec(batch.id)).await.unwrap();
    let r = pb::RecordViolationRequest {
        request_id: app.rid(),
        credit_code: CODE_A.into(),
        occurred_on: "2021-02-10".into(),
        severity: pb::Severity::Major as i32,
        description: "评价报告数据失实".into(),
        ..Default::default()
    };
    let v = app
        .client
        .clone()
        .record_violation(app.req(&app.finance(), r))
        .await
        .unwrap()
        .into_inner()
        .violation
        .unwrap();
    assert_eq!(v.severity, pb::Severity::Major as i32);
    let future = pb::RecordViolationRequest {
        request_id: app.rid(),
        credit_code: CODE_A.into(),
        occurred_on: "2030-01-01".into(),
        severity: pb::Severity::Minor as i32,
        description: "x".into(),
        ..Default::default()
    };
    let err = app
        .client
        .clone()
        .record_violation(app.req(&app.finance(), future))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["occurred_on"]);
    let listed = app
        .client
        .clone()
        .list_violations(app.req(
            &app.token(Role::Auditor, REGION, None),
            pb::ListViolationsRequest {
                credit_code: CODE_A.into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .violations;
    assert_eq!(listed.len(), 1);
}

async fn roles_and_regions(db: TestDatabase) {
    let app = spawn(db, "2020-06-01").await;
    let batch = app.batch().await;
    app.register(spec(batch.id)).await.unwrap();
    let get = |token: String, code: &str| {
        let mut c = app.client.clone();
        let r = app.req(
            &token,
            pb::GetAgencyRequest {
                credit_code: code.into(),
            },
        );
        async move { c.get_agency(r).await }
    };
    // Readers: finance, auditor, province (of an enclosing region); the agency itself.
    for token in [
        app.finance(),
        app.token(Role::Auditor, REGION, None),
        app.token(Role::Province, "140000", None),
    ] {
        assert!(get(token, CODE_A).await.is_ok());
    }
    let own = get(app.token(Role::Agency, REGION, Some(CODE_A)), CODE_A)
        .await
        .unwrap()
        .into_inner()
        .agency
        .unwrap();
    assert_eq!(own.spec.unwrap().credit_code, CODE_A);
    // Another agency does not learn the record exists.
    let other = get(
        app.token(Role::Agency, REGION, Some("91110000100000000A")),
        CODE_A,
    )
    .await
    .unwrap_err();
    assert_eq!(other.code(), Code::NotFound);
    let listed = app
        .client
        .clone()
        .list_agencies(app.req(
            &app.token(Role::Agency, REGION, Some("91110000100000000A")),
            pb::ListAgenciesRequest::default(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.agencies.is_empty(), "an agency lists only itself");
    // Everyone else is denied.
    for role in [
        Role::Department,
        Role::BudgetUnit,
        Role::Expert,
        Role::Public,
    ] {
        let err = get(app.token(role, REGION, None), CODE_A)
            .await
            .unwrap_err();
        assert_eq!(
            (err.code(), reason(&err).as_str()),
            (Code::PermissionDenied, "ROLE_NOT_ALLOWED"),
            "{role}"
        );
    }
    let mut c = app.client.clone();
    let anonymous = c
        .get_agency(tonic::Request::new(pb::GetAgencyRequest {
            credit_code: CODE_A.into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    let other_city = get(app.token(Role::FinanceAdmin, "140600", None), CODE_A)
        .await
        .unwrap_err();
    assert_eq!(reason(&other_city), "REGION_MISMATCH");
    // Only local finance manages: the auditor, the agency itself and the province cannot.
    for token in [
        app.token(Role::Auditor, REGION, None),
        app.token(Role::Agency, REGION, Some(CODE_A)),
        app.token(Role::Province, "140000", None),
    ] {
        let r = pb::ChangeAgencyStatusRequest {
            request_id: app.rid(),
            credit_code: CODE_A.into(),
            expected_version: 1,
            action: pb::AgencyAction::Warn as i32,
            reason: "x".into(),
            until: String::new(),
        };
        let err = app
            .client
            .clone()
            .change_agency_status(app.req(&token, r))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
    }
    let batch_by_auditor = app
        .client
        .clone()
        .create_admission_batch(app.req(
            &app.token(Role::Auditor, REGION, None),
            pb::CreateAdmissionBatchRequest {
                request_id: app.rid(),
                name: "x".into(),
                procurement_ref: String::new(),
                qualified_from: "2020-01-01".into(),
                qualified_to: "2020-12-31".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(batch_by_auditor.code(), Code::PermissionDenied);
}

async fn lists_mask_contact_phones(db: TestDatabase) {
    let app = spawn(db, "2020-06-01").await;
    let batch = app.batch().await;
    app.register(spec(batch.id)).await.unwrap();
    let list = app
        .client
        .clone()
        .list_agencies(app.req(
            &app.finance(),
            pb::ListAgenciesRequest {
                scope: pb::ServiceScope::Evaluation as i32,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.agencies.len(), 1);
    assert_eq!(
        list.agencies[0].spec.as_ref().unwrap().contacts[0].phone,
        "138****5678"
    );
    let none = app
        .client
        .clone()
        .list_agencies(app.req(
            &app.finance(),
            pb::ListAgenciesRequest {
                scope: pb::ServiceScope::Research as i32,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(none.agencies.is_empty());
}

/// A valid 身份证号 for a birth date (GB 11643 check digit).
fn id_number(birth: &str, seq: &str) -> String {
    let first17 = format!("140502{birth}{seq}");
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{first17}{check}")
}

fn expert_spec(id: &str) -> pb::ExpertSpec {
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

impl App {
    async fn register_expert(&self, spec: pb::ExpertSpec) -> Result<pb::Expert, tonic::Status> {
        let r = pb::RegisterExpertRequest {
            request_id: self.rid(),
            spec: Some(spec),
        };
        Ok(self
            .client
            .clone()
            .register_expert(self.req(&self.finance(), r))
            .await?
            .into_inner()
            .expert
            .unwrap())
    }
}

async fn experts_keep_personal_data_encrypted_and_masked(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let taxonomy = app
        .client
        .clone()
        .get_field_taxonomy(app.req(&app.finance(), pb::GetFieldTaxonomyRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert!(taxonomy.fields.len() >= 20);
    let law = taxonomy
        .fields
        .iter()
        .find(|f| f.name == "法律")
        .expect("法律 in the taxonomy")
        .code
        .clone();
    let id = id_number("19700315", "123");
    let mut spec = expert_spec(&id);
    spec.fields = vec![law];
    let e = app.register_expert(spec.clone()).await.unwrap();
    let shown = e.spec.unwrap();
    assert_eq!(
        shown.id_number,
        format!("{}***********{}", &id[..3], &id[14..])
    );
    assert_eq!(shown.phone, "139****1111");
    assert_eq!(e.birth_date, "1970-03-15");
    assert_eq!(e.status, pb::ExpertStatus::Active as i32);

    // Nothing in clear at rest.
    let rows = app
        .state
        .db
        .read(|c| pbm_agency::store::experts::list_experts(c, &Default::default(), 0, 10))
        .await
        .unwrap()
        .0;
    assert!(!String::from_utf8_lossy(&rows[0].id_number_enc).contains(&id[..10]));
    // One person, one record.
    let dup = app.register_expert(spec).await.unwrap_err();
    assert_eq!(
        (dup.code(), reason(&dup).as_str()),
        (Code::AlreadyExists, "EXPERT_EXISTS")
    );

    // The full values: finance only, with a reason, each read audited.
    let reveal = |token: String, reason: &str| {
        let mut c = app.client.clone();
        let r = app.req(
            &token,
            pb::RevealExpertContactRequest {
                expert_id: e.id,
                reason: reason.into(),
            },
        );
        async move { c.reveal_expert_contact(r).await }
    };
    let full = reveal(app.finance(), "通知参加评审")
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (full.id_number.as_str(), full.phone.as_str()),
        (id.as_str(), "13900001111")
    );
    assert_eq!(
        reveal(app.finance(), " ").await.unwrap_err().code(),
        Code::InvalidArgument
    );
    assert_eq!(
        reveal(app.token(Role::Auditor, REGION, None), "核查")
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let audit = app
        .state
        .db
        .read(move |c| pbm_db::platform::audit_of(c, "expert", &e.id.to_string()))
        .await
        .unwrap();
    let reveals: Vec<&str> = audit
        .iter()
        .filter(|a| a.method == "RevealExpertContact")
        .map(|a| a.outcome.as_str())
        .collect();
    assert_eq!(reveals, ["OK", "REASON_REQUIRED", "ROLE_NOT_ALLOWED"]);
}

async fn experts_must_meet_the_entry_rules(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let mut junior = expert_spec(&id_number("19800101", "001"));
    junior.title = pb::TitleLevel::Intermediate as i32;
    junior.years_in_field = 7;
    let err = app.register_expert(junior).await.unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "ENTRY_RULES_NOT_MET")
    );
    assert_eq!(fields(&err), ["spec.years_in_field"]);
    let old = app
        .register_expert(expert_spec(&id_number("19500101", "002")))
        .await
        .unwrap_err();
    assert_eq!(fields(&old), ["spec.id_number"], "over the age cap of 70");
    let mut bad = expert_spec("110101199003071235");
    bad.fields = vec!["NOPE".into()];
    bad.phone = "123".into();
    let err = app.register_expert(bad).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fields(&err), ["spec.id_number", "spec.phone"]);
    let listed = app
        .client
        .clone()
        .list_experts(app.req(&app.finance(), pb::ListExpertsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.page.unwrap().total_size, 0, "nothing was written");
}

async fn expert_lifecycle_and_roles(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let e = app
        .register_expert(expert_spec(&id_number("19750505", "010")))
        .await
        .unwrap();
    let change = |to: pb::ExpertStatus, version: i64| {
        let mut c = app.client.clone();
        let r = app.req(
            &app.finance(),
            pb::ChangeExpertStatusRequest {
                request_id: app.rid(),
                expert_id: e.id,
                expected_version: version,
                status: to as i32,
                reason: "年度考评".into(),
            },
        );
        async move { c.change_expert_status(r).await }
    };
    assert_eq!(
        change(pb::ExpertStatus::UnderReview, 1)
            .await
            .unwrap()
            .into_inner()
            .expert
            .unwrap()
            .status,
        pb::ExpertStatus::UnderReview as i32
    );
    assert_eq!(
        change(pb::ExpertStatus::Exited, 1)
            .await
            .unwrap_err()
            .code(),
        Code::Aborted
    );
    change(pb::ExpertStatus::Exited, 2).await.unwrap();
    let after = change(pb::ExpertStatus::Active, 3).await.unwrap_err();
    assert_eq!(reason(&after), "EXPERT_EXITED");
    let history = app
        .client
        .clone()
        .list_expert_status_history(app.req(
            &app.finance(),
            pb::ListExpertStatusHistoryRequest { expert_id: e.id },
        ))
        .await
        .unwrap()
        .into_inner()
        .changes;
    assert_eq!(
        history
            .iter()
            .map(|c| c.to_status.as_str())
            .collect::<Vec<_>>(),
        ["active", "under_review", "exited"]
    );

    // An expert sees only themself; agencies and departments see no experts.
    let expert_token = app.signer.sign(
        &Claims::new("expert", Role::Expert, REGION, 600).with_expert(Some(&e.id.to_string())),
    );
    let get = |token: String, id: i64| {
        let mut c = app.client.clone();
        let r = app.req(&token, pb::GetExpertRequest { expert_id: id });
        async move { c.get_expert(r).await }
    };
    assert!(get(expert_token.clone(), e.id).await.is_ok());
    assert_eq!(
        get(expert_token, e.id + 1).await.unwrap_err().code(),
        Code::NotFound
    );
    for role in [
        Role::Agency,
        Role::Department,
        Role::BudgetUnit,
        Role::Public,
    ] {
        let err = get(app.token(role, REGION, Some(CODE_A)), e.id)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{role}");
    }
    assert!(
        get(app.token(Role::Auditor, REGION, None), e.id)
            .await
            .is_ok()
    );
}

async fn pool_rules_are_configuration_per_year(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let get = |token: String| {
        let mut c = app.client.clone();
        let r = app.req(&token, pb::GetPoolRulesRequest { fiscal_year: 2026 });
        async move {
            c.get_pool_rules(r)
                .await
                .map(|r| r.into_inner().rules.unwrap())
        }
    };
    let defaults = get(app.finance()).await.unwrap();
    assert_eq!(defaults.version, 0, "national defaults until set");
    let mut json: serde_json::Value = serde_json::from_str(&defaults.rules_json).unwrap();
    assert_eq!(json["expert_entry"]["age_cap"], 70);
    // One province caps experts' age at 68.
    json["expert_entry"]["age_cap"] = 68.into();
    let set = |expected: i64, rules: String, token: String| {
        let mut c = app.client.clone();
        let r = app.req(
            &token,
            pb::SetPoolRulesRequest {
                request_id: app.rid(),
                fiscal_year: 2026,
                expected_version: expected,
                rules_json: rules,
            },
        );
        async move {
            c.set_pool_rules(r)
                .await
                .map(|r| r.into_inner().rules.unwrap())
        }
    };
    assert_eq!(
        set(0, json.to_string(), app.token(Role::Auditor, REGION, None))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let v1 = set(0, json.to_string(), app.finance()).await.unwrap();
    assert_eq!(v1.version, 1);
    assert_eq!(
        set(0, json.to_string(), app.finance())
            .await
            .unwrap_err()
            .code(),
        Code::Aborted
    );
    let mut broken = json.clone();
    broken["rubric"][0]["weight"] = "10".into();
    let err = set(1, broken.to_string(), app.finance()).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        fields(&err).iter().all(|f| f.starts_with("rules_json.")),
        "{:?}",
        fields(&err)
    );
    assert_eq!(
        set(1, "{".into(), app.finance()).await.unwrap_err().code(),
        Code::InvalidArgument
    );
    // Readers of the pool see the rules in force.
    assert_eq!(
        get(app.token(Role::Agency, REGION, Some(CODE_A)))
            .await
            .unwrap()
            .version,
        1
    );

    // A 69-year-old senior expert: allowed by the national default (70), refused under 68.
    let err = app
        .register_expert(expert_spec(&id_number("19570101", "003")))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "ENTRY_RULES_NOT_MET");
    assert!(
        err.message().contains("2026年度规则第1版"),
        "{}",
        err.message()
    );
}

fn dec(v: &str) -> Option<pbm_proto::common::v1::Decimal> {
    Some(pbm_proto::common::v1::Decimal { value: v.into() })
}

impl App {
    /// A batch qualified for 2025–2027 (engagements in 2026).
    async fn current_batch(&self) -> pb::AdmissionBatch {
        let r = pb::CreateAdmissionBatchRequest {
            request_id: self.rid(),
            name: "2025—2027年度第三方机构库".into(),
            procurement_ref: "JCZC-2024-031".into(),
            qualified_from: "2025-01-01".into(),
            qualified_to: "2027-12-31".into(),
        };
        self.client
            .clone()
            .create_admission_batch(self.req(&self.finance(), r))
            .await
            .unwrap()
            .into_inner()
            .batch
            .unwrap()
    }

    async fn commission(
        &self,
        kind: pb::EngagementKind,
        commissioner: &str,
        party: &str,
        agency: &str,
    ) -> Result<pb::Engagement, tonic::Status> {
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
            .create_engagement(self.req(&self.finance(), r))
            .await?
            .into_inner()
            .engagement
            .unwrap())
    }

    async fn rate(
        &self,
        id: i64,
        version: i64,
        quality: &str,
        rest: &str,
    ) -> Result<pb::RateEngagementResponse, tonic::Status> {
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
            .rate_engagement(self.req(&self.finance(), r))
            .await?
            .into_inner())
    }
}

async fn engagements_follow_the_independence_rules(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let batch = app.current_batch().await;
    let mut tied = spec(batch.id);
    tied.relations = vec![pb::Relation {
        party_code: "D07".into(),
        kind: pb::RelationKind::WorkedFor as i32,
        from: "2025-01-01".into(),
        to: String::new(),
        note: "为该单位提供过审计服务".into(),
    }];
    app.register(tied).await.unwrap();
    let refused = |e: tonic::Status| (e.code(), reason(&e));
    assert_eq!(
        refused(
            app.commission(pb::EngagementKind::GoalSetting, "D01", "U0101", CODE_A)
                .await
                .unwrap_err()
        ),
        (Code::FailedPrecondition, "KIND_NOT_COMMISSIONABLE".into())
    );
    assert_eq!(
        refused(
            app.commission(pb::EngagementKind::Evaluation, "D01", "D01", CODE_A)
                .await
                .unwrap_err()
        )
        .1,
        "SELF_EVALUATION_COMMISSION"
    );
    assert_eq!(
        refused(
            app.commission(pb::EngagementKind::Evaluation, "D01", "D07", CODE_A)
                .await
                .unwrap_err()
        )
        .1,
        "NOT_INDEPENDENT"
    );
    let ok = app
        .commission(pb::EngagementKind::Evaluation, "FIN", "D01", CODE_A)
        .await
        .unwrap();
    assert!(!ok.rated);
    let listed = app
        .engagements
        .clone()
        .list_engagements(app.req(&app.finance(), pb::ListEngagementsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed.page.unwrap().total_size,
        1,
        "refused commissions wrote nothing"
    );
}

/// CancelEngagement (撤销委托): finance withdraws an unrated engagement with a reason; it stays
/// readable, is never rated, frees its experts' workload and leaves the statistics; bad
/// requests change nothing.
async fn engagements_can_be_withdrawn(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let batch = app.current_batch().await;
    app.register(spec(batch.id)).await.unwrap();
    let expert = app
        .register_expert(expert_spec(&id_number("19700315", "123")))
        .await
        .unwrap();
    let create = pb::CreateEngagementRequest {
        request_id: app.rid(),
        commissioner: "FIN".into(),
        evaluated_party: "D01".into(),
        kind: pb::EngagementKind::Evaluation as i32,
        agency_credit_code: CODE_A.into(),
        expert_ids: vec![expert.id],
        started_on: "2026-01-10".into(),
        ended_on: "2026-03-31".into(),
    };
    let e = app
        .engagements
        .clone()
        .create_engagement(app.req(&app.finance(), create))
        .await
        .unwrap()
        .into_inner()
        .engagement
        .unwrap();
    let workload = || {
        app.state
            .db
            .read(|c| pbm_agency::store::draws::workload(c, 2026))
    };
    assert_eq!(workload().await.unwrap(), [expert.id]);
    let cancel = |version: i64, reason: &str, token: String| {
        let r = pb::CancelEngagementRequest {
            request_id: app.rid(),
            engagement_id: e.id,
            expected_version: version,
            reason: reason.into(),
        };
        let mut c = app.engagements.clone();
        let r = app.req(&token, r);
        async move { c.cancel_engagement(r).await.map(|r| r.into_inner()) }
    };
    let refused = |s: tonic::Status| (s.code(), reason(&s));
    assert_eq!(
        refused(cancel(e.version, "  ", app.finance()).await.unwrap_err()),
        (Code::InvalidArgument, "CANCEL_REASON_INVALID".into())
    );
    assert_eq!(
        refused(
            cancel(e.version + 1, "机构谢绝", app.finance())
                .await
                .unwrap_err()
        )
        .0,
        Code::Aborted
    );
    let agency_token = app.token(Role::Agency, REGION, Some(CODE_A));
    assert_eq!(
        refused(
            cancel(e.version, "机构谢绝", agency_token)
                .await
                .unwrap_err()
        )
        .0,
        Code::PermissionDenied
    );
    let done = cancel(e.version, "机构谢绝委托，已由替补机构承接", app.finance())
        .await
        .unwrap()
        .engagement
        .unwrap();
    assert!(done.cancelled && !done.rated);
    assert_eq!(
        (done.cancel_reason.as_str(), done.version),
        ("机构谢绝委托，已由替补机构承接", e.version + 1)
    );
    assert!(done.cancelled_by.is_some());
    let shown = app
        .engagements
        .clone()
        .get_engagement(app.req(
            &app.finance(),
            pb::GetEngagementRequest {
                engagement_id: e.id,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .engagement
        .unwrap();
    assert_eq!(shown, done);
    assert!(
        workload().await.unwrap().is_empty(),
        "the expert is free again"
    );
    assert_eq!(
        refused(app.rate(e.id, done.version, "90", "90").await.unwrap_err()),
        (Code::FailedPrecondition, "ENGAGEMENT_CANCELLED".into())
    );
    assert_eq!(
        refused(
            cancel(done.version, "再次撤销", app.finance())
                .await
                .unwrap_err()
        ),
        (Code::FailedPrecondition, "ENGAGEMENT_CANCELLED".into())
    );
    let stats = app
        .client
        .clone()
        .get_pool_statistics(app.req(&app.finance(), pb::GetPoolStatisticsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        stats
            .engagements_by_year_and_kind
            .iter()
            .map(|c| c.count)
            .sum::<i64>(),
        0,
        "a withdrawn engagement is not counted: {stats:?}"
    );
}

async fn ratings_are_explainable_and_grades_act(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let batch = app.current_batch().await;
    app.register(spec(batch.id)).await.unwrap();
    let e = app
        .commission(pb::EngagementKind::Evaluation, "FIN", "D01", CODE_A)
        .await
        .unwrap();
    let incomplete = pb::RateEngagementRequest {
        request_id: app.rid(),
        engagement_id: e.id,
        expected_version: 1,
        scores: vec![pb::CriterionScore {
            criterion: "QUALITY".into(),
            score: dec("90"),
        }],
    };
    let err = app
        .engagements
        .clone()
        .rate_engagement(app.req(&app.finance(), incomplete))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        app.rate(e.id, 2, "30", "30").await.unwrap_err().code(),
        Code::Aborted
    );
    let rated = app.rate(e.id, 1, "20", "40").await.unwrap();
    let engagement = rated.engagement.unwrap();
    // 20×40% + 40×60% = 32
    assert_eq!(engagement.score.unwrap().value, "32");
    assert_eq!(engagement.rules, "2026年度全国默认规则");
    let rating = rated.agency_rating.unwrap();
    assert_eq!(rating.final_score.unwrap().value, "32");
    assert_eq!(
        (rating.grade.as_str(), rating.action.as_str()),
        ("D", "suspend")
    );
    assert_eq!(rating.contributions.len(), 1);
    assert_eq!(
        rating.contributions[0].decay_weight.as_ref().unwrap().value,
        "1"
    );
    assert!(!rating.selectable);
    // The grade acted by itself, and the history says why.
    let agency = app
        .client
        .clone()
        .get_agency(app.req(
            &app.finance(),
            pb::GetAgencyRequest {
                credit_code: CODE_A.into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .agency
        .unwrap();
    assert_eq!(
        (agency.status, agency.suspended_until.as_str()),
        (pb::AgencyStatus::Suspended as i32, "2026-12-01")
    );
    let history = app
        .client
        .clone()
        .list_status_history(app.req(
            &app.finance(),
            pb::ListStatusHistoryRequest {
                credit_code: CODE_A.into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .changes;
    assert!(
        history.last().unwrap().reason.contains("信用等级D"),
        "{:?}",
        history.last()
    );
    assert_eq!(
        app.rate(e.id, 2, "90", "90").await.unwrap_err().code(),
        Code::FailedPrecondition,
        "rated once"
    );

    // The agency sees its own rating, explained; another agency does not.
    let explain = |token: String| {
        let mut c = app.engagements.clone();
        let r = app.req(
            &token,
            pb::ExplainRatingRequest {
                agency_credit_code: CODE_A.into(),
                expert_id: 0,
                as_of: String::new(),
            },
        );
        async move { c.explain_rating(r).await }
    };
    let own = explain(app.token(Role::Agency, REGION, Some(CODE_A)))
        .await
        .unwrap()
        .into_inner()
        .rating
        .unwrap();
    assert_eq!(own.pool_mean.unwrap().value, "32");
    assert_eq!(
        explain(app.token(Role::Agency, REGION, Some("91110000100000000A")))
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    assert_eq!(
        explain(app.token(Role::Department, REGION, None))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
}

async fn statistics_for_the_province(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let batch = app.current_batch().await;
    app.register(spec(batch.id)).await.unwrap();
    app.register_expert(expert_spec(&id_number("19750505", "020")))
        .await
        .unwrap();
    let e = app
        .commission(pb::EngagementKind::Evaluation, "FIN", "D01", CODE_A)
        .await
        .unwrap();
    app.rate(e.id, 1, "20", "40").await.unwrap();
    let stats = |token: String| {
        let mut c = app.client.clone();
        let r = app.req(&token, pb::GetPoolStatisticsRequest {});
        async move { c.get_pool_statistics(r).await }
    };
    let s = stats(app.token(Role::Province, "140000", None))
        .await
        .unwrap()
        .into_inner();
    let pairs = |v: &[pb::CountByKey]| {
        v.iter()
            .map(|c| (c.key.clone(), c.count))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        pairs(&s.agencies_by_type),
        [("accounting_firm".to_string(), 1)]
    );
    assert_eq!(pairs(&s.agencies_by_status), [("suspended".to_string(), 1)]);
    assert_eq!(pairs(&s.agency_grades), [("D".to_string(), 1)]);
    assert_eq!(pairs(&s.experts_by_field), [("LAW".to_string(), 1)]);
    assert_eq!(
        pairs(&s.engagements_by_year_and_kind),
        [("2026/evaluation".to_string(), 1)]
    );
    assert_eq!(s.rules, "2026年度全国默认规则");
    let denied = stats(app.token(Role::Agency, REGION, Some(CODE_A)))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}

impl App {
    async fn draw(&self, task: &str, count: i32) -> Result<pb::Draw, tonic::Status> {
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
            .draw_experts(self.req(&self.finance(), r))
            .await?
            .into_inner()
            .draw
            .unwrap())
    }

    async fn respond(
        &self,
        draw: &pb::Draw,
        expert: i64,
        accept: bool,
    ) -> Result<pb::Draw, tonic::Status> {
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
            .respond_to_draw(self.req(&self.finance(), r))
            .await?
            .into_inner()
            .draw
            .unwrap())
    }

    fn expert_token(&self, id: i64) -> String {
        self.signer.sign(
            &Claims::new(format!("expert-{id}"), Role::Expert, REGION, 600)
                .with_expert(Some(&id.to_string())),
        )
    }
}

async fn draws_are_fair_explicit_and_replayable(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let mut spec = expert_spec(&id_number("19700101", &format!("{:03}", 100 + i)));
        if i == 0 {
            spec.relations = vec![pb::Relation {
                party_code: "U0101".into(),
                kind: pb::RelationKind::WorkedFor as i32,
                from: "2024-01-01".into(),
                to: String::new(),
                note: String::new(),
            }];
        }
        ids.push(app.register_expert(spec).await.unwrap().id);
    }
    let r = pb::ChangeExpertStatusRequest {
        request_id: app.rid(),
        expert_id: ids[1],
        expected_version: 1,
        status: pb::ExpertStatus::UnderReview as i32,
        reason: "考评".into(),
    };
    app.client
        .clone()
        .change_expert_status(app.req(&app.finance(), r))
        .await
        .unwrap();
    let eligible: Vec<i64> = ids[2..].to_vec();

    let d = app.draw("T1", 3).await.unwrap();
    assert_eq!(
        (d.eligible, d.candidates_fingerprint.len(), d.drawn.len()),
        (4, 64, 3)
    );
    assert!(
        d.drawn.iter().all(|m| eligible.contains(&m.expert_id)),
        "never an ineligible expert"
    );
    assert_eq!(d.rules, "2026年度全国默认规则");

    let too_few = app.draw("T2", 5).await.unwrap_err();
    assert_eq!(
        (too_few.code(), reason(&too_few).as_str()),
        (Code::FailedPrecondition, "TOO_FEW_ELIGIBLE")
    );
    assert!(
        too_few.message().contains("只有 4 人"),
        "{}",
        too_few.message()
    );
    // How many of the field were left out and why, in Chinese, counted by reason.
    assert!(
        too_few.message().contains("专业领域「法律（LAW）」")
            && too_few.message().contains("其余 2 人被排除")
            && too_few.message().contains("不在库 1人")
            && too_few.message().contains("与被评价对象有关联须回避 1人"),
        "{}",
        too_few.message()
    );
    assert!(
        !too_few.message().contains("RECUSAL") && !too_few.message().contains("NOT_ACTIVE"),
        "no raw codes in the message: {}",
        too_few.message()
    );

    // A decline draws a replacement in round 1: the one eligible expert left.
    let declined = d.drawn[0].expert_id;
    let d2 = app.respond(&d, declined, false).await.unwrap();
    let round1: Vec<i64> = d2
        .drawn
        .iter()
        .filter(|m| m.round == 1)
        .map(|m| m.expert_id)
        .collect();
    let left: Vec<i64> = eligible
        .iter()
        .copied()
        .filter(|e| !d.drawn.iter().any(|m| m.expert_id == *e))
        .collect();
    assert_eq!(round1, left);
    let pending: Vec<i64> = d2
        .drawn
        .iter()
        .filter(|m| m.answer == pb::DrawAnswer::Pending as i32 && m.round == 0)
        .map(|m| m.expert_id)
        .collect();
    let d3 = app.respond(&d2, pending[0], true).await.unwrap();
    assert_eq!(
        app.respond(&d2, pending[1], true).await.unwrap_err().code(),
        Code::Aborted,
        "stale version"
    );
    let no_more = app.respond(&d3, round1[0], false).await.unwrap_err();
    assert_eq!(reason(&no_more), "TOO_FEW_ELIGIBLE");

    // Replay from the record, by an auditor.
    let replay = app
        .draws
        .clone()
        .replay_draw(app.req(
            &app.token(Role::Auditor, REGION, None),
            pb::ReplayDrawRequest { draw_id: d.id },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(replay.matches);
    assert_eq!(replay.candidates_fingerprint, d.candidates_fingerprint);
    assert_eq!(replay.replayed.len(), 2);

    // The same task never draws the same expert twice.
    assert_eq!(
        reason(&app.draw("T1", 1).await.unwrap_err()),
        "TOO_FEW_ELIGIBLE"
    );

    // Experts see the draws they are in; an agency only agency draws it is in.
    let get = |token: String| {
        let mut c = app.draws.clone();
        let r = app.req(&token, pb::GetDrawRequest { draw_id: d.id });
        async move { c.get_draw(r).await }
    };
    assert!(get(app.expert_token(declined)).await.is_ok());
    assert_eq!(
        get(app.expert_token(ids[0])).await.unwrap_err().code(),
        Code::NotFound
    );
    assert_eq!(
        get(app.token(Role::Agency, REGION, Some(CODE_A)))
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
}

/// A valid 统一社会信用代码 from its first 17 characters.
fn credit(first17: &str) -> String {
    let check = pbm_agency::domain::ids::CreditCode::check_char(first17).unwrap();
    format!("{first17}{check}")
}

impl App {
    async fn draw_agencies(
        &self,
        task: &str,
        count: i32,
        kind: pb::EngagementKind,
        weighted: bool,
    ) -> Result<pb::Draw, tonic::Status> {
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
            .draw_agencies(self.req(&self.finance(), r))
            .await?
            .into_inner()
            .draw
            .unwrap())
    }

    async fn explain_agency(&self, code: &str) -> pb::RatingExplanation {
        let r = pb::ExplainRatingRequest {
            agency_credit_code: code.into(),
            ..Default::default()
        };
        self.engagements
            .clone()
            .explain_rating(self.req(&self.finance(), r))
            .await
            .unwrap()
            .into_inner()
            .rating
            .unwrap()
    }

    async fn recompute(
        &self,
        request_id: &str,
        token: &str,
    ) -> Result<pb::RecomputeRatingsResponse, tonic::Status> {
        let r = pb::RecomputeRatingsRequest {
            request_id: request_id.into(),
            as_of: String::new(),
        };
        Ok(self
            .engagements
            .clone()
            .recompute_ratings(self.req(token, r))
            .await?
            .into_inner())
    }
}

/// Five agencies for 2026: A and B rated, C tied to the evaluated party D07, D without a
/// 主评人, E with research scope only.
async fn agency_pool(app: &App) -> Vec<String> {
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
    codes
}

async fn agency_draws_are_weighted_by_rating_and_replayable(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let codes = agency_pool(&app).await;
    let eligible = [codes[0].clone(), codes[1].clone()];

    let d = app
        .draw_agencies("EV-2026-01", 1, pb::EngagementKind::Evaluation, true)
        .await
        .unwrap();
    assert_eq!(d.subject, pb::DrawSubject::Agencies as i32);
    assert!(d.weighted_by_rating);
    assert_eq!((d.eligible, d.drawn_agencies.len()), (2, 1));
    assert!(d.drawn.is_empty());
    let picked = &d.drawn_agencies[0];
    assert!(
        eligible.contains(&picked.credit_code),
        "never an ineligible agency"
    );
    // The weight is the agency's rating, as ExplainRating tells it.
    let rating = app.explain_agency(&picked.credit_code).await;
    assert_eq!(picked.weight, rating.final_score);
    assert_eq!(
        d.rounds[0].picked_agencies,
        std::slice::from_ref(&picked.credit_code)
    );

    // Too few: the message counts the eligible and names why the others were left out.
    let too_few = app
        .draw_agencies("EV-2026-02", 3, pb::EngagementKind::Evaluation, false)
        .await
        .unwrap_err();
    assert_eq!(
        (too_few.code(), reason(&too_few).as_str()),
        (Code::FailedPrecondition, "TOO_FEW_ELIGIBLE")
    );
    for why in [
        "只有 2 家",
        "与被评价对象有关联须回避 1家",
        "没有主评人 1家",
        "服务范围不符 1家",
    ] {
        assert!(
            too_few.message().contains(why),
            "{why}: {}",
            too_few.message()
        );
    }
    // Goal setting is never commissioned, so no agency is drawn for it.
    let not_commissionable = app
        .draw_agencies("GS-1", 1, pb::EngagementKind::GoalSetting, false)
        .await
        .unwrap_err();
    assert_eq!(reason(&not_commissionable), "KIND_NOT_COMMISSIONABLE");

    // The drawn agency declines: the other eligible agency is drawn in round 1.
    let mut answer = pb::RespondToDrawRequest {
        request_id: app.rid(),
        draw_id: d.id,
        expected_version: d.version,
        expert_id: 7,
        accept: false,
        reason: "人手不足".into(),
        agency_credit_code: String::new(),
    };
    let err = app
        .draws
        .clone()
        .respond_to_draw(app.req(&app.finance(), answer.clone()))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "AGENCY_REQUIRED");
    answer.agency_credit_code = picked.credit_code.clone();
    let d2 = app
        .draws
        .clone()
        .respond_to_draw(app.req(&app.finance(), answer))
        .await
        .unwrap()
        .into_inner()
        .draw
        .unwrap();
    let other = eligible.iter().find(|c| **c != picked.credit_code).unwrap();
    assert_eq!(d2.rounds.len(), 2);
    assert_eq!(d2.rounds[1].picked_agencies, std::slice::from_ref(other));
    // The same task does not draw an agency twice.
    assert_eq!(
        reason(
            &app.draw_agencies("EV-2026-01", 1, pb::EngagementKind::Evaluation, true)
                .await
                .unwrap_err()
        ),
        "TOO_FEW_ELIGIBLE"
    );

    // Replay recomputes both rounds from the record.
    let replay = |token: String| {
        let mut c = app.draws.clone();
        let r = app.req(&token, pb::ReplayDrawRequest { draw_id: d.id });
        async move { c.replay_draw(r).await }
    };
    let replayed = replay(app.token(Role::Auditor, REGION, None))
        .await
        .unwrap()
        .into_inner();
    assert!(replayed.matches);
    assert_eq!(replayed.candidates_fingerprint, d.candidates_fingerprint);
    assert_eq!(
        replayed.replayed[1].picked_agencies,
        std::slice::from_ref(other)
    );
    // A drawn agency sees the draw; an agency not drawn, an expert and a department do not.
    assert!(
        replay(app.token(Role::Agency, REGION, Some(other)))
            .await
            .is_ok()
    );
    assert_eq!(
        replay(app.token(Role::Agency, REGION, Some(&codes[2])))
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    assert_eq!(
        replay(app.expert_token(1)).await.unwrap_err().code(),
        Code::NotFound
    );
    assert_eq!(
        replay(app.token(Role::Department, REGION, None))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    // Only finance draws.
    let r = pb::DrawAgenciesRequest {
        request_id: app.rid(),
        task_ref: "EV-X".into(),
        count: 1,
        evaluated_party: "D07".into(),
        kind: pb::EngagementKind::Evaluation as i32,
        weighted_by_rating: false,
    };
    let denied = app
        .draws
        .clone()
        .draw_agencies(app.req(&app.token(Role::Auditor, REGION, None), r))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}

async fn expert_violations_bar_draws_and_lower_ratings(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let a = app
        .register_expert(expert_spec(&id_number("19700101", "301")))
        .await
        .unwrap()
        .id;
    let b = app
        .register_expert(expert_spec(&id_number("19700101", "302")))
        .await
        .unwrap()
        .id;
    let record = |expert_id: i64, code: &str, severity: pb::Severity, token: String| {
        let mut c = app.client.clone();
        let r = app.req(
            &token,
            pb::RecordViolationRequest {
                request_id: app.rid(),
                credit_code: code.into(),
                expert_id,
                occurred_on: "2026-02-01".into(),
                severity: severity as i32,
                description: "评审中泄露评审信息".into(),
            },
        );
        async move { c.record_violation(r).await }
    };
    // Exactly one of agency and expert.
    let both = record(a, CODE_A, pb::Severity::Major, app.finance())
        .await
        .unwrap_err();
    assert_eq!(
        (both.code(), reason(&both).as_str()),
        (Code::InvalidArgument, "PARTY_REQUIRED")
    );
    assert_eq!(
        record(
            a,
            "",
            pb::Severity::Major,
            app.token(Role::Auditor, REGION, None)
        )
        .await
        .unwrap_err()
        .code(),
        Code::PermissionDenied
    );
    assert_eq!(
        record(9999, "", pb::Severity::Major, app.finance())
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    let v = record(a, "", pb::Severity::Major, app.finance())
        .await
        .unwrap()
        .into_inner()
        .violation
        .unwrap();
    assert_eq!((v.expert_id, v.credit_code.as_str()), (a, ""));

    // Listed for finance and the expert itself; another expert is told it does not exist.
    let list = |token: String| {
        let mut c = app.client.clone();
        let r = app.req(
            &token,
            pb::ListViolationsRequest {
                credit_code: String::new(),
                expert_id: a,
            },
        );
        async move { c.list_violations(r).await }
    };
    assert_eq!(
        list(app.finance())
            .await
            .unwrap()
            .into_inner()
            .violations
            .len(),
        1
    );
    assert_eq!(
        list(app.expert_token(a))
            .await
            .unwrap()
            .into_inner()
            .violations
            .len(),
        1
    );
    assert_eq!(
        list(app.expert_token(b)).await.unwrap_err().code(),
        Code::NotFound
    );
    assert_eq!(
        list(app.token(Role::BudgetUnit, REGION, None))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );

    // A major violation bars the expert from draws: only B is eligible.
    let d = app.draw("VIOL-1", 1).await.unwrap();
    assert_eq!((d.eligible, d.drawn[0].expert_id), (1, b));
    let too_few = app.draw("VIOL-2", 2).await.unwrap_err();
    assert!(
        too_few.message().contains("有重大违规记录 1人")
            && !too_few.message().contains("MAJOR_VIOLATION"),
        "{}",
        too_few.message()
    );
    // And it lowers the expert's rating, explained.
    let r = pb::ExplainRatingRequest {
        expert_id: a,
        ..Default::default()
    };
    let rating = app
        .engagements
        .clone()
        .explain_rating(app.req(&app.expert_token(a), r))
        .await
        .unwrap()
        .into_inner()
        .rating
        .unwrap();
    assert_eq!(rating.penalties.len(), 1);
    assert_eq!(rating.penalties[0].severity, "major");
    assert!(!rating.selectable);
}

async fn recompute_ranks_every_rating_and_lets_grades_act(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let codes = agency_pool(&app).await;
    // B (70) was warned when rated; a major violation after its rating: recompute sees it.
    let r = pb::RecordViolationRequest {
        request_id: app.rid(),
        credit_code: codes[1].clone(),
        occurred_on: "2026-05-01".into(),
        severity: pb::Severity::Major as i32,
        description: "报告抄袭".into(),
        ..Default::default()
    };
    app.client
        .clone()
        .record_violation(app.req(&app.finance(), r))
        .await
        .unwrap();
    let denied = app
        .recompute("rc-0", &app.token(Role::Auditor, REGION, None))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let first = app.recompute("rc-1", &app.finance()).await.unwrap();
    assert_eq!((first.agencies_rated, first.experts_rated), (5, 0));
    assert_eq!(first.as_of, "2026-06-01");
    assert_eq!(first.rules, "2026年度全国默认规则");
    // Best first; those without engagements stand at the pool mean and no grade acts on them.
    assert_eq!(first.agencies[0].agency_credit_code, codes[0]);
    assert_eq!(first.agencies[0].engagements, 1);
    assert_eq!(first.agencies.last().unwrap().agency_credit_code, codes[1]);
    for s in &first.agencies[1..4] {
        assert_eq!((s.engagements, s.action.as_str()), (0, "none"), "{s:?}");
    }
    // B: a 70 and a major violation → a low grade, its action applied and recorded.
    let b = first.agencies.last().unwrap();
    assert_ne!(b.action, "none");
    assert!(!b.selectable);
    assert_eq!(
        (b.status_from.as_str(), b.status_to.as_str()),
        ("warned", "suspended")
    );
    assert_eq!(first.status_changes, 1);
    let explained = app.explain_agency(&codes[1]).await;
    assert_eq!(b.final_score, explained.final_score);
    // A retry returns the first result; a new recompute finds nothing more to change.
    let retry = app.recompute("rc-1", &app.finance()).await.unwrap();
    assert_eq!(retry, first);
    let again = app.recompute("rc-2", &app.finance()).await.unwrap();
    assert_eq!(again.status_changes, 0);
    assert_eq!(again.agencies, {
        let mut a = first.agencies.clone();
        for s in &mut a {
            s.status_from.clear();
            s.status_to.clear();
        }
        a
    });
    // A date in the future is refused and changes nothing.
    let r = pb::RecomputeRatingsRequest {
        request_id: app.rid(),
        as_of: "2027-01-01".into(),
    };
    let err = app
        .engagements
        .clone()
        .recompute_ratings(app.req(&app.finance(), r))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::InvalidArgument, "AS_OF_IN_FUTURE")
    );
}

/// Draws at the RPC level over random pools (a property test with a fixed seed list, so a
/// failure reproduces): every drawn expert satisfies an independent statement of the rules,
/// and every replay matches.
async fn draws_never_pick_the_ineligible(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let mut rng = 0x5eed_u64;
    let mut next = |n: u64| {
        // SplitMix64 step; independent of the service's own generator use.
        rng = rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    };
    let mut eligible = std::collections::HashSet::new();
    for i in 0..24 {
        let born = if next(5) == 0 { "19500101" } else { "19800101" };
        let mut s = expert_spec(&id_number(born, &format!("{:03}", 400 + i)));
        let law = next(3) != 0;
        s.fields = vec![if law { "LAW".into() } else { "IT".into() }];
        let related = next(4) == 0;
        if related {
            s.relations = vec![pb::Relation {
                party_code: "U0101".into(),
                kind: pb::RelationKind::WorkedFor as i32,
                from: "2020-01-01".into(),
                to: "2025-12-31".into(),
                note: String::new(),
            }];
        }
        // Over the age cap the expert cannot even be registered; count only those stored.
        let Ok(expert) = app.register_expert(s).await else {
            continue;
        };
        let exited = next(6) == 0;
        if exited {
            let r = pb::ChangeExpertStatusRequest {
                request_id: app.rid(),
                expert_id: expert.id,
                expected_version: expert.version,
                status: pb::ExpertStatus::Exited as i32,
                reason: "本人申请退出".into(),
            };
            app.client
                .clone()
                .change_expert_status(app.req(&app.finance(), r))
                .await
                .unwrap();
        }
        if law && !related && !exited {
            eligible.insert(expert.id);
        }
    }
    assert!(eligible.len() >= 4, "the seed gives a usable pool");
    for task in 0..6 {
        let count = i32::try_from(1 + next(3)).unwrap();
        let d = app.draw(&format!("P-{task}"), count).await.unwrap();
        assert_eq!(d.eligible as usize, eligible.len(), "task {task}");
        for m in &d.drawn {
            assert!(eligible.contains(&m.expert_id), "task {task}: {m:?}");
        }
        // Decline one, then replay both rounds.
        let d = app.respond(&d, d.drawn[0].expert_id, false).await.unwrap();
        for m in &d.drawn {
            assert!(eligible.contains(&m.expert_id), "task {task}: {m:?}");
        }
        let replay = app
            .draws
            .clone()
            .replay_draw(app.req(&app.finance(), pb::ReplayDrawRequest { draw_id: d.id }))
            .await
            .unwrap()
            .into_inner();
        assert!(replay.matches, "task {task}");
    }
}

type Call<'a> = Box<
    dyn Fn(String) -> std::pin::Pin<Box<dyn std::future::Future<Output = Code> + Send + 'a>> + 'a,
>;

/// Every RPC of the three services, called by every role with an empty request: authorisation
/// is decided before the request is examined, so the refusals below hold whatever the input.
async fn every_rpc_authorises_its_caller(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    // Mutations carry a request id (its absence is refused before anything else, as a
    // malformed envelope); everything else is empty.
    macro_rules! rpc {
        ($client:ident, $method:ident, $req:ty) => {
            rpc!($client, $method, $req, |_: &App| <$req>::default())
        };
        ($client:ident, $method:ident, $req:ty, id) => {
            rpc!($client, $method, $req, |app: &App| {
                let mut m = <$req>::default();
                m.request_id = app.rid();
                m
            })
        };
        ($client:ident, $method:ident, $req:ty, $make:expr) => {{
            let app = &app;
            let call: Call<'_> = Box::new(move |token: String| {
                let mut c = app.$client.clone();
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
    let mutations: Vec<(&str, Call<'_>)> = vec![
        rpc!(
            client,
            create_admission_batch,
            pb::CreateAdmissionBatchRequest,
            id
        ),
        rpc!(client, register_agency, pb::RegisterAgencyRequest, id),
        rpc!(client, update_agency, pb::UpdateAgencyRequest, id),
        rpc!(
            client,
            change_agency_status,
            pb::ChangeAgencyStatusRequest,
            id
        ),
        rpc!(client, register_expert, pb::RegisterExpertRequest, id),
        rpc!(client, update_expert, pb::UpdateExpertRequest, id),
        rpc!(
            client,
            change_expert_status,
            pb::ChangeExpertStatusRequest,
            id
        ),
        rpc!(
            client,
            reveal_expert_contact,
            pb::RevealExpertContactRequest
        ),
        rpc!(client, set_pool_rules, pb::SetPoolRulesRequest, id),
        rpc!(client, record_violation, pb::RecordViolationRequest, id),
        rpc!(
            engagements,
            create_engagement,
            pb::CreateEngagementRequest,
            id
        ),
        rpc!(engagements, rate_engagement, pb::RateEngagementRequest, id),
        rpc!(
            engagements,
            cancel_engagement,
            pb::CancelEngagementRequest,
            id
        ),
        rpc!(
            engagements,
            recompute_ratings,
            pb::RecomputeRatingsRequest,
            id
        ),
        rpc!(draws, draw_experts, pb::DrawExpertsRequest, id),
        rpc!(draws, draw_agencies, pb::DrawAgenciesRequest, id),
        rpc!(draws, respond_to_draw, pb::RespondToDrawRequest, id),
    ];
    let reads: Vec<(&str, Call<'_>)> = vec![
        rpc!(
            client,
            list_admission_batches,
            pb::ListAdmissionBatchesRequest
        ),
        rpc!(client, get_agency, pb::GetAgencyRequest),
        rpc!(client, list_agencies, pb::ListAgenciesRequest),
        rpc!(client, list_status_history, pb::ListStatusHistoryRequest),
        rpc!(client, list_violations, pb::ListViolationsRequest),
        rpc!(client, get_expert, pb::GetExpertRequest),
        rpc!(client, list_experts, pb::ListExpertsRequest),
        rpc!(
            client,
            list_expert_status_history,
            pb::ListExpertStatusHistoryRequest
        ),
        rpc!(client, get_field_taxonomy, pb::GetFieldTaxonomyRequest),
        rpc!(client, get_pool_rules, pb::GetPoolRulesRequest),
        rpc!(client, get_pool_statistics, pb::GetPoolStatisticsRequest),
        rpc!(engagements, get_engagement, pb::GetEngagementRequest),
        rpc!(engagements, list_engagements, pb::ListEngagementsRequest),
        rpc!(engagements, explain_rating, pb::ExplainRatingRequest),
        rpc!(draws, get_draw, pb::GetDrawRequest),
        rpc!(draws, replay_draw, pb::ReplayDrawRequest),
    ];
    assert_eq!(
        mutations.len() + reads.len(),
        33,
        "every RPC of the three services"
    );
    let outsiders = [
        ("department", app.token(Role::Department, REGION, None)),
        ("budget unit", app.token(Role::BudgetUnit, REGION, None)),
        ("public", app.token(Role::Public, REGION, None)),
        (
            "finance of another city",
            app.token(Role::FinanceAdmin, "140100", None),
        ),
    ];
    let readers = [
        ("auditor", app.token(Role::Auditor, REGION, None)),
        ("province", app.token(Role::Province, "140000", None)),
        ("agency", app.token(Role::Agency, REGION, Some(CODE_A))),
        ("expert", app.expert_token(1)),
    ];
    for (name, call) in mutations.iter().chain(reads.iter()) {
        for (who, token) in &outsiders {
            assert_eq!(
                call(token.clone()).await,
                Code::PermissionDenied,
                "{name} by {who}"
            );
        }
        assert_eq!(
            call("not-a-token".into()).await,
            Code::Unauthenticated,
            "{name} with a bad token"
        );
        // Finance is never refused for its role (the empty request may be invalid).
        assert_ne!(
            call(app.finance()).await,
            Code::PermissionDenied,
            "{name} by finance"
        );
    }
    for (name, call) in &mutations {
        for (who, token) in &readers {
            assert_eq!(
                call(token.clone()).await,
                Code::PermissionDenied,
                "{name} by {who}"
            );
        }
    }
    for (name, call) in &reads {
        for (who, token) in &readers[..2] {
            assert_ne!(
                call(token.clone()).await,
                Code::PermissionDenied,
                "{name} by {who}"
            );
        }
    }
}

/// Picks are recorded, read and replayed in the order they were drawn; a record whose order
/// differs from the replay does not match.
async fn draws_keep_their_order(db: TestDatabase) {
    use pbm_agency::domain::draw::{Candidate, Weighting, draw};
    let app = spawn(db, "2026-06-01").await;
    let mut ids = Vec::new();
    for i in 0..8 {
        let spec = expert_spec(&id_number("19700101", &format!("{:03}", 200 + i)));
        ids.push(app.register_expert(spec).await.unwrap().id);
    }
    // An expert of another field, not active: not part of the field's shortfall.
    let mut other = expert_spec(&id_number("19700101", "300"));
    other.fields = vec!["IT".into()];
    let other = app.register_expert(other).await.unwrap().id;
    app.client
        .clone()
        .change_expert_status(app.req(
            &app.finance(),
            pb::ChangeExpertStatusRequest {
                request_id: app.rid(),
                expert_id: other,
                expected_version: 1,
                status: pb::ExpertStatus::Exited as i32,
                reason: "退出".into(),
            },
        ))
        .await
        .unwrap();

    let d = app.draw("ORDER", 5).await.unwrap();
    // Every expert of the field is eligible: the candidates are their ids, sorted as text.
    let mut candidates: Vec<Candidate> = ids
        .iter()
        .map(|id| Candidate {
            id: id.to_string(),
            weight: pbm_types::Decimal::ONE,
        })
        .collect();
    candidates.sort_by(|a, b| a.id.cmp(&b.id));
    let expected: Vec<i64> = draw(&candidates, 5, d.seed.parse().unwrap(), Weighting::Uniform)
        .unwrap()
        .iter()
        .map(|id| id.parse().unwrap())
        .collect();
    assert_eq!(d.rounds[0].picked, expected, "round 0 in draw order");
    let drawn: Vec<i64> = d.drawn.iter().map(|m| m.expert_id).collect();
    assert_eq!(drawn, expected, "drawn members in draw order");

    let get = |id: i64| {
        let mut c = app.draws.clone();
        let r = app.req(&app.finance(), pb::GetDrawRequest { draw_id: id });
        async move { c.get_draw(r).await.unwrap().into_inner().draw.unwrap() }
    };
    let replay = |id: i64| {
        let mut c = app.draws.clone();
        let r = app.req(&app.finance(), pb::ReplayDrawRequest { draw_id: id });
        async move { c.replay_draw(r).await.unwrap().into_inner() }
    };
    assert_eq!(get(d.id).await.rounds[0].picked, expected);
    let again = replay(d.id).await;
    assert!(again.matches);
    assert_eq!(again.replayed[0].picked, expected);
    assert_eq!(again.draw.unwrap().rounds[0].picked, expected);

    // A decline's replacement round keeps its order too.
    let d2 = app.respond(&d, expected[0], false).await.unwrap();
    let again = replay(d2.id).await;
    assert!(again.matches);
    assert_eq!(again.replayed.len(), 2);
    assert_eq!(again.replayed[1].picked, d2.rounds[1].picked);

    // The stored order of round 0 tampered with: the record no longer matches its replay.
    let draw_id = d.id;
    app.state
        .db
        .write(move |c| {
            use pbm_db::diesel::RunQueryDsl;
            pbm_db::diesel::sql_query(format!(
                "UPDATE draw_members SET pick_order = CASE pick_order WHEN 0 THEN 1 WHEN 1 THEN 0 \
                 ELSE pick_order END WHERE draw_id = {draw_id} AND round = 0"
            ))
            .execute(c)
            .map_err(pbm_db::StoreError::from)
        })
        .await
        .unwrap();
    let tampered = get(d.id).await;
    let mut swapped = expected.clone();
    swapped.swap(0, 1);
    assert_eq!(tampered.rounds[0].picked, swapped);
    let again = replay(d.id).await;
    assert!(!again.matches, "another order is another draw");
    assert_eq!(again.replayed[0].picked, expected);

    // Too few: only the field's experts are counted, by reason.
    let too_few = app.draw("ORDER", 8).await.unwrap_err();
    assert_eq!(reason(&too_few), "TOO_FEW_ELIGIBLE");
    assert!(
        too_few.message().contains("只有 2 人")
            && too_few
                .message()
                .contains("其余 6 人被排除：已被抽取参加本任务 6人"),
        "{}",
        too_few.message()
    );
}

/// Every refusal of the three gRPC services names the one domain `pbm.agency`.
async fn every_service_answers_in_one_error_domain(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let registry = app
        .client
        .clone()
        .get_agency(app.req(
            &app.finance(),
            pb::GetAgencyRequest {
                credit_code: CODE_A.into(),
            },
        ))
        .await
        .unwrap_err();
    let engagement = app
        .engagements
        .clone()
        .get_engagement(app.req(
            &app.finance(),
            pb::GetEngagementRequest { engagement_id: 999 },
        ))
        .await
        .unwrap_err();
    let draw = app
        .draws
        .clone()
        .get_draw(app.req(&app.finance(), pb::GetDrawRequest { draw_id: 999 }))
        .await
        .unwrap_err();
    for (status, expected) in [
        (registry, "AGENCY_NOT_FOUND"),
        (engagement, "ENGAGEMENT_NOT_FOUND"),
        (draw, "DRAW_NOT_FOUND"),
    ] {
        assert_eq!(reason(&status), expected);
        let info = status.get_details_error_info().expect("error info");
        assert_eq!(info.domain, "pbm.agency", "{status:?}");
    }
}

pbm_db::backend_tests! {
    draw_order => draws_keep_their_order;
    error_domain => every_service_answers_in_one_error_domain;
    rpc_roles => every_rpc_authorises_its_caller;
    agency_draws => agency_draws_are_weighted_by_rating_and_replayable;
    expert_violations => expert_violations_bar_draws_and_lower_ratings;
    recompute => recompute_ranks_every_rating_and_lets_grades_act;
    draw_property => draws_never_pick_the_ineligible;
    draws => draws_are_fair_explicit_and_replayable;
    statistics => statistics_for_the_province;
    withdrawn => engagements_can_be_withdrawn;
    engagement_independence => engagements_follow_the_independence_rules;
    engagement_ratings => ratings_are_explainable_and_grades_act;
    pool_rules => pool_rules_are_configuration_per_year;
    experts_pii => experts_keep_personal_data_encrypted_and_masked;
    experts_entry => experts_must_meet_the_entry_rules;
    experts_lifecycle => expert_lifecycle_and_roles;
    lifecycle => registers_and_moves_through_the_lifecycle;
    expiry => qualification_expires_by_itself;
    bad_input => bad_input_is_refused_and_writes_nothing;
    violations => violations_are_recorded;
    roles => roles_and_regions;
    masking => lists_mask_contact_phones;
}
