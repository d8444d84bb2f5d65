//! 指标框架: the seeded national default, a second template in another year, immutability.

use pbm_proto::indicator::v1 as proto;
use pbm_testkit::TestDatabase;
use tonic::Code;

use crate::common::*;

fn level(frame: &proto::Frame, level: i32) -> Vec<&str> {
    frame
        .nodes
        .iter()
        .filter(|n| n.level == level)
        .map(|n| n.code.as_str())
        .collect()
}

fn children<'a>(frame: &'a proto::Frame, parent: &str) -> Vec<&'a str> {
    frame
        .nodes
        .iter()
        .filter(|n| n.level == 2 && n.parent_code == parent)
        .map(|n| n.code.as_str())
        .collect()
}

async fn seeded_national_default(db: TestDatabase) {
    let app = spawn_app(db).await;
    let frame = app.get_frame(FY).await.expect("seeded frame");
    assert_eq!(frame.fiscal_year, FY);
    assert_eq!(frame.mof_div_code, REGION);
    assert_eq!(level(&frame, 1), ["1", "2", "3"]);
    assert_eq!(level(&frame, 2).len(), 9, "{:?}", frame.nodes);
    assert_eq!(children(&frame, "1"), ["101", "102", "103", "104"]);
    assert_eq!(children(&frame, "2"), ["201", "202", "203", "204"]);
    assert_eq!(children(&frame, "3"), ["301"]);
    let names: Vec<&str> = frame
        .nodes
        .iter()
        .filter(|n| n.level == 1)
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(names, ["产出指标", "效益指标", "满意度指标"]);
    assert_eq!(frame.created.expect("stamp").actor, "system");
    // No frame for a year nobody created.
    refused(app.get_frame(2030).await, Code::NotFound, "FRAME_NOT_FOUND");
}

async fn cost_first_level_frame_coexists(db: TestDatabase) {
    let app = spawn_app(db).await;
    let created = app
        .create_frame(2027, proto::FrameTemplate::CostFirstLevel)
        .await
        .expect("create 2027");
    assert_eq!(created.fiscal_year, 2027);
    assert_eq!(created.created.as_ref().expect("stamp").actor, "fin-1");
    let f2027 = app.get_frame(2027).await.expect("2027");
    let cost = f2027
        .nodes
        .iter()
        .find(|n| n.name == "成本指标")
        .expect("成本指标");
    assert_eq!(cost.level, 1);
    assert_eq!(children(&f2027, &cost.code), ["401", "402", "403"]);
    assert!(
        !f2027.nodes.iter().any(|n| n.code == "104"),
        "成本指标 is no longer under 产出指标"
    );
    assert_eq!(level(&f2027, 1).len(), 4);
    // 2026 keeps the national default.
    let f2026 = app.get_frame(FY).await.unwrap();
    assert_eq!(level(&f2026, 2).len(), 9);
    assert!(
        f2026
            .nodes
            .iter()
            .any(|n| n.code == "104" && n.parent_code == "1")
    );
    let listed = app
        .client()
        .list_frames(app.fin(proto::ListFramesRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed
            .frames
            .iter()
            .map(|f| f.fiscal_year)
            .collect::<Vec<_>>(),
        [2026, 2027]
    );

    // Indicators follow the frame of their year.
    let i = app
        .create(
            "C1",
            proto::IndicatorSpec {
                fiscal_year: 2027,
                frame_node_code: "401".into(),
                ..spec("经济成本")
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            i.level1_name.as_str(),
            i.level2_name.as_str(),
            i.level1_code.as_str()
        ),
        ("成本指标", "经济成本指标", "4")
    );
    let s = refused(
        app.create(
            "C2",
            proto::IndicatorSpec {
                fiscal_year: 2027,
                frame_node_code: "104".into(),
                ..spec("成本")
            },
        )
        .await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
    has_field(&s, "spec.frame_node_code");
    app.create(
        "C3",
        proto::IndicatorSpec {
            frame_node_code: "104".into(),
            ..spec("成本")
        },
    )
    .await
    .expect("104 exists in 2026");
}

async fn frame_is_created_once(db: TestDatabase) {
    let app = spawn_app(db).await;
    let first = app
        .create_frame(2027, proto::FrameTemplate::CostFirstLevel)
        .await
        .unwrap();
    let s = refused(
        app.create_frame(2027, proto::FrameTemplate::NationalDefault)
            .await,
        Code::AlreadyExists,
        "FRAME_EXISTS",
    );
    has_field(&s, "fiscal_year");
    // The first frame is untouched.
    let now = app.get_frame(2027).await.unwrap();
    let sorted = |f: &proto::Frame| {
        let mut n = f.nodes.clone();
        n.sort_by(|a, b| a.code.cmp(&b.code));
        n
    };
    assert_eq!(sorted(&now), sorted(&first));
    assert_eq!(now.name, first.name);
    // The seeded year cannot be recreated either.
    refused(
        app.create_frame(FY, proto::FrameTemplate::CostFirstLevel)
            .await,
        Code::AlreadyExists,
        "FRAME_EXISTS",
    );
}

fn node(code: &str, name: &str, level: i32, parent: &str) -> proto::FrameNode {
    proto::FrameNode {
        code: code.into(),
        name: name.into(),
        level,
        parent_code: parent.into(),
        sort_order: 1,
    }
}

async fn malformed_frames_are_refused(db: TestDatabase) {
    let app = spawn_app(db).await;
    let orphan = proto::CreateFrameRequest {
        request_id: app.rid(),
        fiscal_year: 2028,
        name: "自定义框架".into(),
        template: 0,
        nodes: vec![
            node("1", "产出指标", 1, ""),
            node("101", "数量指标", 2, "1"),
            node("901", "孤儿", 2, "9"),
        ],
    };
    let s = refused(
        app.client().create_frame(app.fin(orphan)).await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
    assert_eq!(fields(&s), ["nodes[2].parent_code"]);
    refused(app.get_frame(2028).await, Code::NotFound, "FRAME_NOT_FOUND");

    // Template and nodes together: one or the other.
    let both = proto::CreateFrameRequest {
        request_id: app.rid(),
        fiscal_year: 2028,
        name: String::new(),
        template: proto::FrameTemplate::NationalDefault as i32,
        nodes: vec![
            node("1", "产出指标", 1, ""),
            node("101", "数量指标", 2, "1"),
        ],
    };
    let s = refused(
        app.client().create_frame(app.fin(both)).await,
        Code::InvalidArgument,
        "FRAME_SOURCE_INVALID",
    );
    has_field(&s, "template");
    refused(app.get_frame(2028).await, Code::NotFound, "FRAME_NOT_FOUND");

    // A well-formed explicit frame is accepted.
    let ok = proto::CreateFrameRequest {
        request_id: app.rid(),
        fiscal_year: 2028,
        name: "自定义框架".into(),
        template: 0,
        nodes: vec![
            node("1", "产出指标", 1, ""),
            node("101", "数量指标", 2, "1"),
        ],
    };
    let f = app
        .client()
        .create_frame(app.fin(ok))
        .await
        .unwrap()
        .into_inner()
        .frame
        .unwrap();
    assert_eq!(f.nodes.len(), 2);
}

pbm_testkit::backend_tests! {
    get_frame_seeded_default => seeded_national_default;
    create_frame_cost_first_level => cost_first_level_frame_coexists;
    create_frame_twice => frame_is_created_once;
    create_frame_malformed => malformed_frames_are_refused;
}
