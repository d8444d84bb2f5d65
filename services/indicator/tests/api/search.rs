//! SearchIndicators: Chinese text search over current names and explanations.

use pbm_proto::indicator::v1 as proto;
use pbm_testkit::TestDatabase;
use tonic::Code;

use crate::common::*;

async fn search(
    app: &TestApp,
    query: &str,
    filter: proto::IndicatorFilter,
    limit: i32,
) -> Result<proto::SearchIndicatorsResponse, tonic::Status> {
    let r = proto::SearchIndicatorsRequest {
        query: query.into(),
        filter: Some(filter),
        limit,
    };
    Ok(app
        .client()
        .search_indicators(app.fin(r))
        .await?
        .into_inner())
}

fn ranked(resp: &proto::SearchIndicatorsResponse) -> Vec<(&str, proto::MatchKind)> {
    resp.hits
        .iter()
        .map(|h| {
            (
                h.indicator.as_ref().unwrap().code.as_str(),
                proto::MatchKind::try_from(h.r#match).unwrap(),
            )
        })
        .collect()
}

fn explained(name: &str, explanation: &str) -> proto::IndicatorSpec {
    proto::IndicatorSpec {
        explanation: explanation.into(),
        ..spec(name)
    }
}

async fn search_ranks_and_follows_updates(db: TestDatabase) {
    let app = spawn_app(db).await;
    app.create_frame(2027, proto::FrameTemplate::NationalDefault)
        .await
        .unwrap();
    // Codes in the reverse of the expected rank, so ranking is not code order.
    app.create("S1", explained("农村供水人口", "保障饮水安全"))
        .await
        .unwrap();
    app.create("S2", explained("安全饮水覆盖率", ""))
        .await
        .unwrap();
    app.create("S3", explained("饮水工程受益人口", ""))
        .await
        .unwrap();
    app.create("S4", explained("饮水", "")).await.unwrap();
    app.create("S5", explained("道路里程", "新建道路"))
        .await
        .unwrap();
    app.create(
        "S6",
        proto::IndicatorSpec {
            fiscal_year: 2027,
            ..explained("饮水设施数量", "")
        },
    )
    .await
    .unwrap();

    let all = search(
        &app,
        "饮水",
        proto::IndicatorFilter {
            fiscal_year: FY,
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap();
    use proto::MatchKind::*;
    assert_eq!(
        ranked(&all),
        [
            ("S4", NameExact),
            ("S3", NamePrefix),
            ("S2", NameContains),
            ("S1", Explanation)
        ]
    );
    assert_eq!(all.total_matches, 4);
    let hit = all.hits[0].indicator.as_ref().unwrap();
    assert_eq!((hit.version, hit.level2_name.as_str()), (1, "数量指标"));

    // Without the year filter the 2027 indicator is found too; with 2027 only it.
    let any_year = search(&app, "饮水", Default::default(), 0).await.unwrap();
    assert_eq!(any_year.total_matches, 5);
    let y2027 = search(
        &app,
        "饮水",
        proto::IndicatorFilter {
            fiscal_year: 2027,
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap();
    assert_eq!(ranked(&y2027), [("S6", NamePrefix)]);

    // limit keeps the best, total counts all.
    let top2 = search(
        &app,
        "饮水",
        proto::IndicatorFilter {
            fiscal_year: FY,
            ..Default::default()
        },
        2,
    )
    .await
    .unwrap();
    assert_eq!(ranked(&top2), [("S4", NameExact), ("S3", NamePrefix)]);
    assert_eq!(top2.total_matches, 4);

    let by_name = search(&app, "受益人口", Default::default(), 0)
        .await
        .unwrap();
    assert_eq!(ranked(&by_name), [("S3", NameContains)]);
    assert_eq!(
        search(&app, "人口受益", Default::default(), 0)
            .await
            .unwrap()
            .total_matches,
        0
    );
    assert_eq!(
        search(&app, "航空", Default::default(), 0)
            .await
            .unwrap()
            .total_matches,
        0
    );

    // A rename is reflected at once: found by the new name, no longer by the old.
    app.update("S5", 1, explained("饮水管网长度", "新建管网"))
        .await
        .unwrap();
    let after = search(
        &app,
        "饮水",
        proto::IndicatorFilter {
            fiscal_year: FY,
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap();
    assert_eq!(after.total_matches, 5);
    assert!(
        ranked(&after).contains(&("S5", NamePrefix)),
        "{:?}",
        ranked(&after)
    );
    let s5 = after
        .hits
        .iter()
        .find(|h| h.indicator.as_ref().unwrap().code == "S5")
        .unwrap();
    assert_eq!(s5.indicator.as_ref().unwrap().version, 2);
    assert_eq!(
        search(&app, "道路", Default::default(), 0)
            .await
            .unwrap()
            .total_matches,
        0
    );

    // Status filter: a disabled indicator is still found unless filtered out.
    app.set_status("S4", 1, IndicatorStatus::Disabled, "合并")
        .await
        .unwrap();
    let enabled = search(
        &app,
        "饮水",
        proto::IndicatorFilter {
            fiscal_year: FY,
            status: IndicatorStatus::Enabled as i32,
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap();
    assert!(
        !ranked(&enabled).iter().any(|(c, _)| *c == "S4"),
        "{:?}",
        ranked(&enabled)
    );

    // Bad queries.
    let s = refused(
        search(&app, "", Default::default(), 0).await,
        Code::InvalidArgument,
        "QUERY_EMPTY",
    );
    has_field(&s, "query");
    refused(
        search(&app, "   ", Default::default(), 0).await,
        Code::InvalidArgument,
        "QUERY_EMPTY",
    );
    refused(
        search(&app, &"饮".repeat(51), Default::default(), 0).await,
        Code::InvalidArgument,
        "QUERY_TOO_LONG",
    );
    refused(
        search(&app, "饮水", Default::default(), 201).await,
        Code::InvalidArgument,
        "LIMIT_INVALID",
    );
}

/// The index is rebuilt from the database when a process starts.
async fn search_index_survives_restart(db: TestDatabase) {
    let app = spawn_app(db).await;
    app.create("S1", explained("饮水工程受益人口", ""))
        .await
        .unwrap();
    let fresh = pbm_indicator::AppState::open(
        app.state.db.clone(),
        pbm_types::DivisionCode::parse(REGION).unwrap(),
        pbm_types::FiscalYear::new(FY).unwrap(),
    )
    .await
    .unwrap();
    let (hits, total) = fresh.index.search("受益", &Default::default(), 10);
    assert_eq!(total, 1);
    assert_eq!(hits[0].indicator.code, "S1");
}

pbm_testkit::backend_tests! {
    search_ranking => search_ranks_and_follows_updates;
    search_rebuilt_on_open => search_index_survives_restart;
}
