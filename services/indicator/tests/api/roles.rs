//! Who may call what: every RPC's denial paths (and that the allowed reads succeed).

use pbm_auth::Role;
use pbm_proto::indicator::v1 as proto;
use pbm_testkit::TestDatabase;
use tonic::{Code, Request, Status};

use crate::common::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rpc {
    CreateFrame,
    GetFrame,
    ListFrames,
    CreateIndicator,
    UpdateIndicator,
    SetIndicatorStatus,
    GetIndicator,
    ListIndicators,
    ListIndicatorVersions,
    SearchIndicators,
    ResolveIndicators,
    ProposeIndicator,
    DecideProposal,
    GetProposal,
    ListProposals,
    ImportIndicators,
    ExportIndicators,
}

use Rpc::*;

/// Reads of the library (proposals aside: they have their own scope).
const LIBRARY_READS: [Rpc; 8] = [
    GetFrame,
    ListFrames,
    GetIndicator,
    ListIndicators,
    ListIndicatorVersions,
    SearchIndicators,
    ResolveIndicators,
    ExportIndicators,
];
/// Writes reserved to the local finance bureau.
const FINANCE_WRITES: [Rpc; 6] = [
    CreateIndicator,
    UpdateIndicator,
    SetIndicatorStatus,
    CreateFrame,
    DecideProposal,
    ImportIndicators,
];
const ALL: [Rpc; 17] = [
    CreateFrame,
    GetFrame,
    ListFrames,
    CreateIndicator,
    UpdateIndicator,
    SetIndicatorStatus,
    GetIndicator,
    ListIndicators,
    ListIndicatorVersions,
    SearchIndicators,
    ResolveIndicators,
    ProposeIndicator,
    DecideProposal,
    GetProposal,
    ListProposals,
    ImportIndicators,
    ExportIndicators,
];

/// What the calls refer to.
struct Fixture {
    proposal_id: i64,
    workbook: Vec<u8>,
}

/// Calls `rpc` with valid arguments (a write that is allowed would succeed) as `token`
/// (`None`: no authorization header).
async fn call(app: &TestApp, fx: &Fixture, rpc: Rpc, token: Option<&str>) -> Result<(), Status> {
    fn wrap<T>(token: Option<&str>, m: T) -> Request<T> {
        match token {
            Some(t) => bearer(t, m),
            None => Request::new(m),
        }
    }
    let mut c = app.client();
    let rid = app.rid();
    match rpc {
        CreateFrame => {
            let r = proto::CreateFrameRequest {
                request_id: rid,
                fiscal_year: 2029,
                template: proto::FrameTemplate::NationalDefault as i32,
                ..Default::default()
            };
            c.create_frame(wrap(token, r)).await.map(drop)
        }
        GetFrame => c
            .get_frame(wrap(token, proto::GetFrameRequest { fiscal_year: FY }))
            .await
            .map(drop),
        ListFrames => c
            .list_frames(wrap(token, proto::ListFramesRequest {}))
            .await
            .map(drop),
        CreateIndicator => {
            let r = proto::CreateIndicatorRequest {
                request_id: rid,
                code: "NEW".into(),
                spec: Some(spec("新指标")),
            };
            c.create_indicator(wrap(token, r)).await.map(drop)
        }
        UpdateIndicator => {
            let r = proto::UpdateIndicatorRequest {
                request_id: rid,
                code: "R1".into(),
                expected_version: 1,
                spec: Some(spec("改名")),
                change_note: String::new(),
            };
            c.update_indicator(wrap(token, r)).await.map(drop)
        }
        SetIndicatorStatus => {
            let r = proto::SetIndicatorStatusRequest {
                request_id: rid,
                code: "R2".into(),
                expected_version: 1,
                status: IndicatorStatus::Disabled as i32,
                reason: "停用".into(),
            };
            c.set_indicator_status(wrap(token, r)).await.map(drop)
        }
        GetIndicator => c
            .get_indicator(wrap(
                token,
                proto::GetIndicatorRequest {
                    code: "R1".into(),
                    version: 0,
                },
            ))
            .await
            .map(drop),
        ListIndicators => c
            .list_indicators(wrap(token, proto::ListIndicatorsRequest::default()))
            .await
            .map(drop),
        ListIndicatorVersions => c
            .list_indicator_versions(wrap(
                token,
                proto::ListIndicatorVersionsRequest { code: "R1".into() },
            ))
            .await
            .map(drop),
        SearchIndicators => {
            let r = proto::SearchIndicatorsRequest {
                query: "饮水".into(),
                filter: None,
                limit: 0,
            };
            c.search_indicators(wrap(token, r)).await.map(drop)
        }
        ResolveIndicators => {
            let r = proto::ResolveIndicatorsRequest {
                fiscal_year: FY,
                refs: vec![proto::IndicatorRef {
                    code: "R1".into(),
                    version: 0,
                }],
            };
            c.resolve_indicators(wrap(token, r)).await.map(drop)
        }
        ProposeIndicator => {
            let r = proto::ProposeIndicatorRequest {
                request_id: rid,
                code: "PNEW".into(),
                spec: Some(spec("申请")),
                reason: "理由".into(),
            };
            c.propose_indicator(wrap(token, r)).await.map(drop)
        }
        DecideProposal => {
            let r = proto::DecideProposalRequest {
                request_id: rid,
                proposal_id: fx.proposal_id,
                expected_version: 1,
                approve: true,
                comment: String::new(),
            };
            c.decide_proposal(wrap(token, r)).await.map(drop)
        }
        GetProposal => c
            .get_proposal(wrap(
                token,
                proto::GetProposalRequest {
                    proposal_id: fx.proposal_id,
                },
            ))
            .await
            .map(drop),
        ListProposals => c
            .list_proposals(wrap(token, proto::ListProposalsRequest::default()))
            .await
            .map(drop),
        ImportIndicators => {
            let r = proto::ImportIndicatorsRequest {
                request_id: rid,
                workbook: fx.workbook.clone(),
                validate_only: false,
            };
            c.import_indicators(wrap(token, r)).await.map(drop)
        }
        ExportIndicators => {
            let mut stream = c
                .export_indicators(wrap(token, proto::ExportIndicatorsRequest::default()))
                .await?
                .into_inner();
            while stream.message().await?.is_some() {}
            Ok(())
        }
    }
}

async fn expect_refused(
    app: &TestApp,
    fx: &Fixture,
    rpc: Rpc,
    who: Option<&Who>,
    code: Code,
    reason_code: &str,
) {
    let token = who.map(|w| app.token(w));
    match call(app, fx, rpc, token.as_deref()).await {
        Ok(()) => panic!("{rpc:?} as {who:?}: expected {code:?} {reason_code}, got OK"),
        Err(s) => {
            assert_eq!(s.code(), code, "{rpc:?} as {who:?}: {s:?}");
            assert_eq!(reason(&s), reason_code, "{rpc:?} as {who:?}: {s:?}");
        }
    }
}

async fn expect_ok(app: &TestApp, fx: &Fixture, rpc: Rpc, who: &Who) {
    let token = app.token(who);
    if let Err(s) = call(app, fx, rpc, Some(&token)).await {
        panic!("{rpc:?} as {who:?} should succeed: {s:?}");
    }
}

async fn setup(app: &TestApp) -> Fixture {
    app.create("R1", spec("饮水工程受益人口")).await.unwrap();
    app.create("R2", spec("安全饮水覆盖率")).await.unwrap();
    let r = proto::ProposeIndicatorRequest {
        request_id: app.rid(),
        code: "P1".into(),
        spec: Some(spec("部门指标")),
        reason: "理由".into(),
    };
    let p = app
        .client()
        .propose_indicator(app.req(&department("D01"), r))
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap();
    let mut row = vec![String::new(); pbm_indicator::excel::COLUMNS.len()];
    for (i, v) in [
        (0, "X1"),
        (1, "2026"),
        (2, "产出指标"),
        (3, "数量指标"),
        (4, "导入指标"),
        (5, "共性"),
        (10, "≥"),
        (11, "人"),
    ] {
        row[i] = v.into();
    }
    let workbook = pbm_xlsx::write_table("s", &pbm_indicator::excel::COLUMNS, &[row]).unwrap();
    Fixture {
        proposal_id: p.id,
        workbook,
    }
}

/// Nothing the refused callers tried has changed the library.
async fn untouched(app: &TestApp, fx: &Fixture) {
    assert_eq!(app.versions("R1").await, [1]);
    assert_eq!(app.versions("R2").await, [1]);
    assert_eq!(
        app.get("R2").await.unwrap().status,
        IndicatorStatus::Enabled as i32
    );
    assert_eq!(app.count().await, 2);
    refused(app.get_frame(2029).await, Code::NotFound, "FRAME_NOT_FOUND");
    let p = app
        .client()
        .get_proposal(app.fin(proto::GetProposalRequest {
            proposal_id: fx.proposal_id,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        p.proposal.unwrap().status,
        proto::ProposalStatus::Pending as i32
    );
    let all = app
        .client()
        .list_proposals(app.fin(proto::ListProposalsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.proposals.len(), 1, "no proposal added");
}

async fn anonymous_and_public_are_refused(db: TestDatabase) {
    let app = spawn_app(db).await;
    let fx = setup(&app).await;
    for rpc in ALL {
        expect_refused(
            &app,
            &fx,
            rpc,
            None,
            Code::Unauthenticated,
            "UNAUTHENTICATED",
        )
        .await;
    }
    let public = of_role(Role::Public);
    for rpc in ALL {
        expect_refused(
            &app,
            &fx,
            rpc,
            Some(&public),
            Code::PermissionDenied,
            "ROLE_NOT_ALLOWED",
        )
        .await;
    }
    // A forged or garbage token is refused before any handler runs.
    let s = call(&app, &fx, GetIndicator, Some("not-a-token"))
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::Unauthenticated);
    let other_key =
        pbm_auth::TokenSigner::new("test", ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]));
    let forged = other_key.sign(&pbm_auth::Claims::new(
        "mallory",
        Role::FinanceAdmin,
        REGION,
        60,
    ));
    for rpc in [GetIndicator, CreateIndicator] {
        let s = call(&app, &fx, rpc, Some(&forged)).await.unwrap_err();
        assert_eq!(s.code(), Code::Unauthenticated, "{rpc:?}");
    }
    untouched(&app, &fx).await;
}

async fn readers_cannot_write(db: TestDatabase) {
    let app = spawn_app(db).await;
    let fx = setup(&app).await;
    for role in [
        Role::BudgetUnit,
        Role::Auditor,
        Role::Province,
        Role::Department,
        Role::Agency,
        Role::Expert,
    ] {
        let who = of_role(role);
        for rpc in LIBRARY_READS {
            expect_ok(&app, &fx, rpc, &who).await;
        }
        for rpc in FINANCE_WRITES {
            expect_refused(
                &app,
                &fx,
                rpc,
                Some(&who),
                Code::PermissionDenied,
                "ROLE_NOT_ALLOWED",
            )
            .await;
        }
        if role != Role::Department {
            expect_refused(
                &app,
                &fx,
                ProposeIndicator,
                Some(&who),
                Code::PermissionDenied,
                "ROLE_NOT_ALLOWED",
            )
            .await;
        }
    }
    // Proposals: auditors and the province read all; units, agencies and experts none.
    for role in [Role::Auditor, Role::Province] {
        expect_ok(&app, &fx, GetProposal, &of_role(role)).await;
        expect_ok(&app, &fx, ListProposals, &of_role(role)).await;
    }
    for role in [Role::BudgetUnit, Role::Agency, Role::Expert] {
        expect_refused(
            &app,
            &fx,
            GetProposal,
            Some(&of_role(role)),
            Code::PermissionDenied,
            "ROLE_NOT_ALLOWED",
        )
        .await;
        expect_refused(
            &app,
            &fx,
            ListProposals,
            Some(&of_role(role)),
            Code::PermissionDenied,
            "ROLE_NOT_ALLOWED",
        )
        .await;
    }
    // Finance writes, but does not propose.
    expect_refused(
        &app,
        &fx,
        ProposeIndicator,
        Some(&finance()),
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    )
    .await;
    untouched(&app, &fx).await;
}

async fn other_regions_are_refused(db: TestDatabase) {
    let app = spawn_app(db).await;
    let fx = setup(&app).await;
    // A neighbouring city's finance bureau: neither reads nor writes.
    let neighbour = finance().in_region("140600");
    for rpc in ALL {
        if rpc == ProposeIndicator {
            continue;
        }
        expect_refused(
            &app,
            &fx,
            rpc,
            Some(&neighbour),
            Code::PermissionDenied,
            "REGION_MISMATCH",
        )
        .await;
    }
    // Another county of the same city, and another province.
    for region in ["140581", "150525"] {
        let who = finance().in_region(region);
        expect_refused(
            &app,
            &fx,
            GetIndicator,
            Some(&who),
            Code::PermissionDenied,
            "REGION_MISMATCH",
        )
        .await;
        expect_refused(
            &app,
            &fx,
            CreateIndicator,
            Some(&who),
            Code::PermissionDenied,
            "REGION_MISMATCH",
        )
        .await;
    }
    let foreign_department = department("D01").in_region("140600");
    expect_refused(
        &app,
        &fx,
        ProposeIndicator,
        Some(&foreign_department),
        Code::PermissionDenied,
        "REGION_MISMATCH",
    )
    .await;
    expect_refused(
        &app,
        &fx,
        ListProposals,
        Some(&foreign_department),
        Code::PermissionDenied,
        "REGION_MISMATCH",
    )
    .await;

    // The city above (市县联动) and the province read the county's library but do not write it.
    for who in [finance().in_region("140500"), finance().in_region("140000")] {
        for rpc in LIBRARY_READS {
            expect_ok(&app, &fx, rpc, &who).await;
        }
        expect_ok(&app, &fx, ListProposals, &who).await;
        for rpc in FINANCE_WRITES {
            expect_refused(
                &app,
                &fx,
                rpc,
                Some(&who),
                Code::PermissionDenied,
                "REGION_MISMATCH",
            )
            .await;
        }
    }
    let city_department = department("D01").in_region("140500");
    expect_refused(
        &app,
        &fx,
        ProposeIndicator,
        Some(&city_department),
        Code::PermissionDenied,
        "REGION_MISMATCH",
    )
    .await;
    untouched(&app, &fx).await;
}

/// The same calls succeed for the local finance bureau (so the refusals above are about the
/// caller, not the arguments).
async fn local_finance_may_do_everything(db: TestDatabase) {
    let app = spawn_app(db).await;
    let fx = setup(&app).await;
    let fin = finance();
    for rpc in ALL {
        if rpc == ProposeIndicator {
            expect_ok(&app, &fx, rpc, &department("D02")).await;
        } else {
            expect_ok(&app, &fx, rpc, &fin).await;
        }
    }
    assert_eq!(app.versions("R1").await, [2, 1], "updated");
    assert_eq!(app.versions("R2").await, [2, 1], "disabled");
    assert!(app.get_frame(2029).await.is_ok());
    // R1, R2, NEW, P1 (approved) and X1 (imported).
    assert_eq!(
        app.codes(Default::default()).await,
        ["NEW", "P1", "R1", "R2", "X1"]
    );
}

pbm_testkit::backend_tests! {
    roles_anonymous_public => anonymous_and_public_are_refused;
    roles_readers => readers_cannot_write;
    roles_regions => other_regions_are_refused;
    roles_local_finance => local_finance_may_do_everything;
}
