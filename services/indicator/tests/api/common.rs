//! The harness on `pbm-testkit`: the indicator service on a real server over a fresh database,
//! a gRPC client, the callers these tests use, spec builders and finance shortcuts.

use pbm_auth::Role;
use pbm_indicator::AppState;
use pbm_proto::indicator::v1 as proto;
use pbm_proto::indicator::v1::indicator_service_client::IndicatorServiceClient;
use pbm_testkit::{TestDatabase, TestServer};
use pbm_types::{DivisionCode, FiscalYear};
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

pub use pbm_testkit::{Who, bearer, domain, fields, has_field, reason, refused, violation_reasons};
pub use proto::{Direction, IndicatorKind, IndicatorSpec, IndicatorStatus};

/// The region the app under test serves (a county).
pub const REGION: &str = "140525";
/// The seeded fiscal year.
pub const FY: i32 = 2026;

pub type Client = IndicatorServiceClient<Channel>;

// -- callers -------------------------------------------------------------------------------------

/// The local finance bureau (writes the library).
pub fn finance() -> Who {
    Who::finance(REGION).with_sub("fin-1")
}

/// A caller of `role` in this region (the province: the province above it), with the
/// department / unit a real token of that role would carry.
pub fn of_role(role: Role) -> Who {
    let region = if role == Role::Province {
        "140000"
    } else {
        REGION
    };
    let who = match role {
        Role::Department => Who::department(region, "D01"),
        Role::BudgetUnit => Who::unit(region, "D01", "U0101"),
        _ => Who::new(role, region),
    };
    who.with_sub(&format!("{}-1", role.as_str()))
}

/// A department of this region.
pub fn department(code: &str) -> Who {
    Who::department(REGION, code).with_sub(&format!("dept-{code}"))
}

// -- the app -------------------------------------------------------------------------------------

pub struct TestApp {
    /// Stops the server when dropped.
    pub server: TestServer,
    /// A clone of the server's state (database, search index), to look behind the API.
    pub state: AppState,
    /// The region it serves.
    pub region: String,
    client: Client,
    /// Last: dropping it drops the PostgreSQL database.
    _db: TestDatabase,
}

/// Serves the indicator service on a free port of 127.0.0.1 over `test_db`.
pub async fn spawn_app(test_db: TestDatabase) -> TestApp {
    spawn_app_in(test_db, REGION).await
}

/// Serves the indicator library of `region` (a province or city above the county).
pub async fn spawn_app_in(test_db: TestDatabase, region: &str) -> TestApp {
    let db = test_db.connect();
    let state = AppState::open(
        db,
        DivisionCode::parse(region).unwrap(),
        FiscalYear::new(FY).unwrap(),
    )
    .await
    .expect("open the indicator state");
    let server = TestServer::start(
        pbm_indicator::router(state.clone()),
        vec![pbm_indicator::HEALTH_NAME],
    )
    .await;
    let client = IndicatorServiceClient::new(server.channel.clone());
    TestApp {
        server,
        state,
        region: region.to_owned(),
        client,
        _db: test_db,
    }
}

impl TestApp {
    /// The database the app serves (to open a second replica on it).
    pub fn database_url(&self) -> &str {
        self._db.url()
    }

    pub fn client(&self) -> Client {
        self.client.clone()
    }

    pub fn url(&self) -> String {
        self.server.url()
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
        self.req(&Who::finance(&self.region).with_sub("fin-1"), message)
    }

    /// A fresh client request id.
    pub fn rid(&self) -> String {
        self.server.rid()
    }

    // -- finance shortcuts ----------------------------------------------------------------------

    pub async fn create(
        &self,
        code: &str,
        spec: IndicatorSpec,
    ) -> Result<proto::Indicator, Status> {
        let r = proto::CreateIndicatorRequest {
            request_id: self.rid(),
            code: code.into(),
            spec: Some(spec),
        };
        let resp = self.client().create_indicator(self.fin(r)).await?;
        Ok(resp.into_inner().indicator.expect("indicator"))
    }

    pub async fn update(
        &self,
        code: &str,
        expected_version: i64,
        spec: IndicatorSpec,
    ) -> Result<proto::Indicator, Status> {
        let r = proto::UpdateIndicatorRequest {
            request_id: self.rid(),
            code: code.into(),
            expected_version,
            spec: Some(spec),
            change_note: "测试修改".into(),
        };
        let resp = self.client().update_indicator(self.fin(r)).await?;
        Ok(resp.into_inner().indicator.expect("indicator"))
    }

    pub async fn set_status(
        &self,
        code: &str,
        expected_version: i64,
        status: IndicatorStatus,
        reason: &str,
    ) -> Result<proto::Indicator, Status> {
        let r = proto::SetIndicatorStatusRequest {
            request_id: self.rid(),
            code: code.into(),
            expected_version,
            status: status as i32,
            reason: reason.into(),
        };
        let resp = self.client().set_indicator_status(self.fin(r)).await?;
        Ok(resp.into_inner().indicator.expect("indicator"))
    }

    /// The current version (`version` 0) or a given one.
    pub async fn get_version(&self, code: &str, version: i64) -> Result<proto::Indicator, Status> {
        let resp = self
            .client()
            .get_indicator(self.fin(proto::GetIndicatorRequest {
                code: code.into(),
                version,
            }))
            .await?;
        Ok(resp.into_inner().indicator.expect("indicator"))
    }

    pub async fn get(&self, code: &str) -> Result<proto::Indicator, Status> {
        self.get_version(code, 0).await
    }

    /// Version numbers of an indicator, newest first; empty when it does not exist.
    pub async fn versions(&self, code: &str) -> Vec<i64> {
        let r = proto::ListIndicatorVersionsRequest { code: code.into() };
        match self.client().list_indicator_versions(self.fin(r)).await {
            Ok(resp) => resp
                .into_inner()
                .versions
                .iter()
                .map(|i| i.version)
                .collect(),
            Err(s) if s.code() == Code::NotFound => Vec::new(),
            Err(s) => panic!("ListIndicatorVersions({code}) failed: {s:?}"),
        }
    }

    pub async fn list(
        &self,
        filter: proto::IndicatorFilter,
        page_size: i32,
        page_token: &str,
    ) -> Result<proto::ListIndicatorsResponse, Status> {
        let r = proto::ListIndicatorsRequest {
            filter: Some(filter),
            page: Some(pbm_proto::common::v1::PageRequest {
                page_size,
                page_token: page_token.into(),
            }),
        };
        Ok(self
            .client()
            .list_indicators(self.fin(r))
            .await?
            .into_inner())
    }

    /// Codes of the current indicators matching `filter` (first page of 500).
    pub async fn codes(&self, filter: proto::IndicatorFilter) -> Vec<String> {
        let resp = self.list(filter, 500, "").await.expect("list");
        resp.indicators.into_iter().map(|i| i.code).collect()
    }

    /// Number of current indicators in the library.
    pub async fn count(&self) -> i64 {
        self.list(proto::IndicatorFilter::default(), 1, "")
            .await
            .expect("list")
            .page
            .expect("page")
            .total_size
    }

    pub async fn create_frame(
        &self,
        year: i32,
        template: proto::FrameTemplate,
    ) -> Result<proto::Frame, Status> {
        let r = proto::CreateFrameRequest {
            request_id: self.rid(),
            fiscal_year: year,
            template: template as i32,
            ..Default::default()
        };
        Ok(self
            .client()
            .create_frame(self.fin(r))
            .await?
            .into_inner()
            .frame
            .expect("frame"))
    }

    pub async fn get_frame(&self, year: i32) -> Result<proto::Frame, Status> {
        let r = proto::GetFrameRequest { fiscal_year: year };
        Ok(self
            .client()
            .get_frame(self.fin(r))
            .await?
            .into_inner()
            .frame
            .expect("frame"))
    }

    /// Exports with `filter` as `who`; returns the workbook bytes and the row count.
    pub async fn export_as(
        &self,
        who: &Who,
        filter: proto::IndicatorFilter,
    ) -> Result<(Vec<u8>, i32), Status> {
        let r = proto::ExportIndicatorsRequest {
            filter: Some(filter),
        };
        let mut stream = self
            .client()
            .export_indicators(self.req(who, r))
            .await?
            .into_inner();
        let (mut bytes, mut rows) = (Vec::new(), 0);
        while let Some(chunk) = stream.message().await? {
            bytes.extend_from_slice(&chunk.data);
            rows += chunk.rows;
        }
        Ok((bytes, rows))
    }

    pub async fn import(
        &self,
        workbook: Vec<u8>,
        validate_only: bool,
    ) -> Result<proto::ImportIndicatorsResponse, Status> {
        let r = proto::ImportIndicatorsRequest {
            request_id: self.rid(),
            workbook,
            validate_only,
        };
        Ok(self
            .client()
            .import_indicators(self.fin(r))
            .await?
            .into_inner())
    }
}

// -- builders ------------------------------------------------------------------------------------

/// A valid common ≥ indicator of 2026 under 产出指标 / 数量指标.
pub fn spec(name: &str) -> IndicatorSpec {
    IndicatorSpec {
        fiscal_year: FY,
        frame_node_code: "101".into(),
        name: name.into(),
        kind: IndicatorKind::Common as i32,
        industry_tags: vec!["水利".into()],
        direction: Direction::Ge as i32,
        unit: "人".into(),
        explanation: format!("{name}的说明"),
        reference_target: "1000".into(),
        ..Default::default()
    }
}
