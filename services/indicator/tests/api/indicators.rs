//! Create, get and list current indicators.

use pbm_proto::common::v1::Decimal;
use pbm_proto::indicator::v1 as proto;
use pbm_testkit::TestDatabase;
use tonic::Code;

use crate::common::*;

async fn create_then_get(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mut s = spec("农村饮水安全工程受益人口");
    s.industry_tags = vec![" 水利 ".into(), "水利".into(), "农业".into()];
    s.field_tags = vec!["民生".into()];
    s.level_tags = vec!["县级".into()];
    s.formula = "受益人口之和".into();
    s.scoring_rule = "达到目标得满分".into();
    s.value_standard = proto::ValueStandard::Plan as i32;
    s.value_standard_note = "年度计划".into();
    s.last_year_value = Some(Decimal {
        value: "900.50".into(),
    });
    s.year_before_value = Some(Decimal {
        value: "800".into(),
    });
    s.fixed = true;
    s.enabled_from_year = 2025;
    let created = app.create("WAT-001", s.clone()).await.expect("create");
    assert_eq!(created.code, "WAT-001");
    assert_eq!(created.version, 1);
    assert_eq!(created.status, IndicatorStatus::Enabled as i32);
    assert_eq!(
        (
            created.level1_code.as_str(),
            created.level1_name.as_str(),
            created.level2_name.as_str()
        ),
        ("1", "产出指标", "数量指标")
    );
    assert_eq!(created.mof_div_code, REGION);
    assert_eq!(created.changed.as_ref().unwrap().actor, "fin-1");

    let got = app.get("WAT-001").await.expect("get");
    assert_eq!(got, created, "get returns what create answered");
    let g = got.spec.unwrap();
    assert_eq!(
        g.industry_tags,
        ["水利", "农业"],
        "tags trimmed and deduplicated"
    );
    assert_eq!(g.last_year_value.as_ref().unwrap().value, "900.5");
    let expected = proto::IndicatorSpec {
        industry_tags: g.industry_tags.clone(),
        last_year_value: Some(Decimal {
            value: "900.5".into(),
        }),
        year_before_value: Some(Decimal {
            value: "800".into(),
        }),
        ..s
    };
    assert_eq!(g, expected, "every attribute round-trips");

    // Also readable as version 1, and unknown codes are NOT_FOUND.
    assert_eq!(app.get_version("WAT-001", 1).await.unwrap().version, 1);
    refused(app.get("NOPE").await, Code::NotFound, "INDICATOR_NOT_FOUND");
    refused(
        app.get_version("WAT-001", 2).await,
        Code::NotFound,
        "INDICATOR_VERSION_NOT_FOUND",
    );
    refused(
        app.get_version("WAT-001", -1).await,
        Code::InvalidArgument,
        "VERSION_INVALID",
    );
}

fn filter() -> proto::IndicatorFilter {
    proto::IndicatorFilter::default()
}

async fn list_with_filters_and_pages(db: TestDatabase) {
    let app = spawn_app(db).await;
    app.create_frame(2027, proto::FrameTemplate::NationalDefault)
        .await
        .unwrap();
    app.create("A1", spec("受益人口")).await.unwrap();
    app.create(
        "A2",
        proto::IndicatorSpec {
            frame_node_code: "201".into(),
            industry_tags: vec!["教育".into()],
            ..spec("经济效益")
        },
    )
    .await
    .unwrap();
    app.create(
        "A3",
        proto::IndicatorSpec {
            frame_node_code: "301".into(),
            kind: IndicatorKind::Specific as i32,
            owner_department: "D01".into(),
            industry_tags: vec![],
            ..spec("群众满意度")
        },
    )
    .await
    .unwrap();
    app.create(
        "A4",
        proto::IndicatorSpec {
            fiscal_year: 2027,
            ..spec("受益人口")
        },
    )
    .await
    .unwrap();
    app.create(
        "A5",
        proto::IndicatorSpec {
            frame_node_code: "102".into(),
            industry_tags: vec!["水利工程".into()],
            fixed: true,
            ..spec("工程质量")
        },
    )
    .await
    .unwrap();

    assert_eq!(app.codes(filter()).await, ["A1", "A2", "A3", "A4", "A5"]);
    assert_eq!(
        app.codes(proto::IndicatorFilter {
            fiscal_year: FY,
            ..filter()
        })
        .await,
        ["A1", "A2", "A3", "A5"]
    );
    assert_eq!(
        app.codes(proto::IndicatorFilter {
            fiscal_year: 2027,
            ..filter()
        })
        .await,
        ["A4"]
    );
    assert_eq!(
        app.codes(proto::IndicatorFilter {
            frame_node_code: "201".into(),
            ..filter()
        })
        .await,
        ["A2"]
    );
    assert_eq!(
        app.codes(proto::IndicatorFilter {
            level1_code: "1".into(),
            ..filter()
        })
        .await,
        ["A1", "A4", "A5"]
    );
    assert_eq!(
        app.codes(proto::IndicatorFilter {
            level1_code: "3".into(),
            ..filter()
        })
        .await,
        ["A3"]
    );
    assert_eq!(
        app.codes(proto::IndicatorFilter {
            kind: IndicatorKind::Specific as i32,
            ..filter()
        })
        .await,
        ["A3"]
    );
    assert_eq!(
        app.codes(proto::IndicatorFilter {
            kind: IndicatorKind::Common as i32,
            fiscal_year: FY,
            ..filter()
        })
        .await,
        ["A1", "A2", "A5"]
    );
    // A tag matches whole: 水利 does not match 水利工程.
    assert_eq!(
        app.codes(proto::IndicatorFilter {
            industry_tag: "水利".into(),
            ..filter()
        })
        .await,
        ["A1", "A4"]
    );
    assert_eq!(
        app.codes(proto::IndicatorFilter {
            industry_tag: "水利工程".into(),
            ..filter()
        })
        .await,
        ["A5"]
    );
    assert_eq!(
        app.codes(proto::IndicatorFilter {
            owner_department: "D01".into(),
            ..filter()
        })
        .await,
        ["A3"]
    );
    // Only 固化 indicators (what the goal service asks for).
    assert_eq!(
        app.codes(proto::IndicatorFilter {
            fixed_only: true,
            ..filter()
        })
        .await,
        ["A5"]
    );
    assert!(
        app.codes(proto::IndicatorFilter {
            industry_tag: "交通".into(),
            ..filter()
        })
        .await
        .is_empty()
    );
    let s = refused(
        app.list(
            proto::IndicatorFilter {
                kind: 99,
                ..filter()
            },
            10,
            "",
        )
        .await,
        Code::InvalidArgument,
        "KIND_INVALID",
    );
    has_field(&s, "filter.kind");

    // Pages of two.
    let p1 = app.list(filter(), 2, "").await.unwrap();
    let page = p1.page.clone().unwrap();
    assert_eq!(page.total_size, 5);
    assert!(!page.next_page_token.is_empty());
    let p2 = app.list(filter(), 2, &page.next_page_token).await.unwrap();
    let page2 = p2.page.clone().unwrap();
    assert_eq!(page2.total_size, 5);
    let p3 = app.list(filter(), 2, &page2.next_page_token).await.unwrap();
    let page3 = p3.page.clone().unwrap();
    assert!(
        page3.next_page_token.is_empty(),
        "last page has no next token"
    );
    let all: Vec<String> = [p1, p2, p3]
        .into_iter()
        .flat_map(|p| p.indicators)
        .map(|i| i.code)
        .collect();
    assert_eq!(all, ["A1", "A2", "A3", "A4", "A5"]);
    refused(
        app.list(filter(), 501, "").await,
        Code::InvalidArgument,
        "PAGE_SIZE_INVALID",
    );
    refused(
        app.list(filter(), 2, "garbage").await,
        Code::InvalidArgument,
        "PAGE_TOKEN_INVALID",
    );
}

/// The level-1 filter must use the frame of the indicator's own year: a year whose frame puts
/// second-level code 101 under another first level must not leak into level1_code = 1.
async fn level1_filter_respects_the_year(db: TestDatabase) {
    let app = spawn_app(db).await;
    let node = |code: &str, name: &str, level: i32, parent: &str| proto::FrameNode {
        code: code.into(),
        name: name.into(),
        level,
        parent_code: parent.into(),
        sort_order: 1,
    };
    let custom = proto::CreateFrameRequest {
        request_id: app.rid(),
        fiscal_year: 2028,
        name: "自定义".into(),
        template: 0,
        nodes: vec![
            node("1", "效益指标", 1, ""),
            node("2", "产出指标", 1, ""),
            node("201", "社会效益指标", 2, "1"),
            node("101", "数量指标", 2, "2"),
        ],
    };
    app.client().create_frame(app.fin(custom)).await.unwrap();
    app.create("Y26", spec("受益人口")).await.unwrap();
    let y28 = app
        .create(
            "Y28",
            proto::IndicatorSpec {
                fiscal_year: 2028,
                ..spec("受益人口")
            },
        )
        .await
        .unwrap();
    assert_eq!(y28.level1_code, "2");
    assert_eq!(
        app.codes(proto::IndicatorFilter {
            level1_code: "1".into(),
            ..filter()
        })
        .await,
        ["Y26"]
    );
    assert_eq!(
        app.codes(proto::IndicatorFilter {
            level1_code: "2".into(),
            ..filter()
        })
        .await,
        ["Y28"]
    );
    // Search agrees with list.
    let r = proto::SearchIndicatorsRequest {
        query: "受益".into(),
        filter: Some(proto::IndicatorFilter {
            level1_code: "1".into(),
            ..filter()
        }),
        limit: 0,
    };
    let hits = app
        .client()
        .search_indicators(app.fin(r))
        .await
        .unwrap()
        .into_inner()
        .hits;
    assert_eq!(
        hits.iter()
            .map(|h| h.indicator.as_ref().unwrap().code.as_str())
            .collect::<Vec<_>>(),
        ["Y26"]
    );
}

pbm_testkit::backend_tests! {
    create_get => create_then_get;
    list_filters_paging => list_with_filters_and_pages;
    list_level1_filter_per_year => level1_filter_respects_the_year;
}
