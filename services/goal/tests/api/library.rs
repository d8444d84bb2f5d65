//! The indicator library as the goal service consults it over gRPC: unknown and disabled
//! indicators refused, the library's absence explicit, its answers remembered for a while.

use std::time::Duration;

use pbm_auth::Role;
use pbm_proto::goal::v1 as pb;
use pbm_proto::indicator::v1 as ind;
use pbm_proto::indicator::v1::indicator_service_client::IndicatorServiceClient;
use pbm_server::ServeOptions;
use pbm_testkit::{TestDatabase, Tokens};
use pbm_types::{DivisionCode, FiscalYear};
use tonic::Code;

use crate::common::*;

async fn the_library_is_consulted_and_its_absence_is_explicit(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    app.project("P-9", "300000", pb::Continuity::Continuing)
        .await
        .unwrap();
    // An unknown library code is refused at once, per indicator.
    let bad = app
        .save(
            &unit(),
            declaration("P-9", vec![lib("NOPE-1", "1"), lib("OUT-001", "3")]),
            0,
        )
        .await
        .unwrap_err();
    assert_eq!(violations(&bad)[0].0, "declaration.indicators[0]");
    let goal = app.save(&unit(), full("P-9"), 0).await.unwrap();
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
        .set_indicator_status(app.req(&finance(), r))
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
    let dead = dead_url().await;
    let offline = spawn_with(TestDatabase::sqlite(), Some(&dead)).await;
    offline
        .project("P-9", "300000", pb::Continuity::Continuing)
        .await
        .unwrap();
    let err = offline.save(&unit(), full("P-9"), 0).await.unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::Unavailable, "INDICATOR_SERVICE_UNAVAILABLE")
    );
    let listed = offline
        .goals
        .clone()
        .list_goals(offline.req(&finance(), pb::ListGoalsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.goals.is_empty());
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
    // Served by hand, not by `TestServer`: the test stops the library and waits until it is gone.
    let tokens = Tokens::default();
    let options = ServeOptions {
        auth: tokens.auth_layer(),
        max_in_flight: 64,
        request_timeout: Duration::from_secs(10),
        health_services: vec![],
        tls: None,
        health_listen: None,
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
    let finance = tokens.token(&who(Role::FinanceAdmin, REGION, None, None).with_sub("finance"));
    let auth = format!("Bearer {finance}");
    let mut client = IndicatorServiceClient::connect(url.clone()).await.unwrap();
    let create = ind::CreateIndicatorRequest {
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
    };
    client
        .create_indicator(bearer(&finance, create))
        .await
        .unwrap();

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

pbm_testkit::backend_tests! {
    library => the_library_is_consulted_and_its_absence_is_explicit;
}
