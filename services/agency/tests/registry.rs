//! The agency registry over real gRPC, on SQLite and PostgreSQL: admission batches, registration
//! with validated credit codes, the status lifecycle with history, qualification expiry,
//! violations, roles and regions.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use ed25519_dalek::SigningKey;
use pbm_agency::AppState;
use pbm_auth::{AuthLayer, Claims, Ed25519Verifier, Role, TokenSigner};
use pbm_db::testing::TestDatabase;
use pbm_proto::agency::v1 as pb;
use pbm_proto::agency::v1::agency_registry_service_client::AgencyRegistryServiceClient;
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
    signer: TokenSigner,
    state: AppState,
    seq: std::sync::atomic::AtomicU64,
    _db: TestDatabase,
}

async fn spawn(test_db: TestDatabase, today: &'static str) -> App {
    let mut state = AppState::open(test_db.connect(), DivisionCode::parse(REGION).unwrap())
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
        client: AgencyRegistryServiceClient::new(channel),
        signer,
        state,
        seq: Default::default(),
        _db: test_db,
    }
}

impl App {
    fn token(&self, role: Role, region: &str, agency: Option<&str>) -> String {
        let now = chrono::Utc::now().timestamp();
        self.signer.sign(&Claims {
            sub: format!("{role}-user"),
            role,
            mof_div_code: region.into(),
            unit: None,
            department: None,
            agency: agency.map(Into::into),
            expert: None,
            iat: now,
            exp: now + 600,
        })
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

pbm_db::backend_tests! {
    lifecycle => registers_and_moves_through_the_lifecycle;
    expiry => qualification_expires_by_itself;
    bad_input => bad_input_is_refused_and_writes_nothing;
    violations => violations_are_recorded;
    roles => roles_and_regions;
    masking => lists_mask_contact_phones;
}
