//! Bad input is refused with the field at fault, and nothing is written.

use pbm_proto::indicator::v1 as proto;
use pbm_testkit::TestDatabase;
use tonic::Code;
use tonic_types::StatusExt;

use crate::common::*;

/// Asserts that `code` was not created and the library still has `count` indicators.
async fn nothing_written(app: &TestApp, code: &str, count: i64) {
    refused(app.get(code).await, Code::NotFound, "INDICATOR_NOT_FOUND");
    assert!(app.versions(code).await.is_empty());
    assert_eq!(app.count().await, count);
}

async fn bad_input_writes_nothing(db: TestDatabase) {
    let app = spawn_app(db).await;
    app.create("OK1", spec("受益人口")).await.unwrap();

    let s = refused(
        app.create(
            "B1",
            proto::IndicatorSpec {
                frame_node_code: "999".into(),
                ..spec("x")
            },
        )
        .await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
    assert_eq!(fields(&s), ["spec.frame_node_code"]);
    nothing_written(&app, "B1", 1).await;

    // A first-level node is not a place for indicators.
    let s = refused(
        app.create(
            "B1",
            proto::IndicatorSpec {
                frame_node_code: "1".into(),
                ..spec("x")
            },
        )
        .await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
    assert_eq!(fields(&s), ["spec.frame_node_code"]);
    nothing_written(&app, "B1", 1).await;

    let s = refused(
        app.create(
            "B2",
            proto::IndicatorSpec {
                unit: "  ".into(),
                ..spec("x")
            },
        )
        .await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
    assert_eq!(fields(&s), ["spec.unit"]);
    nothing_written(&app, "B2", 1).await;

    let s = refused(
        app.create(
            "B3",
            proto::IndicatorSpec {
                reference_target: "很多".into(),
                ..spec("x")
            },
        )
        .await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
    assert_eq!(fields(&s), ["spec.reference_target"]);
    nothing_written(&app, "B3", 1).await;

    // Every violation at once.
    let s = refused(
        app.create(
            "B4",
            proto::IndicatorSpec {
                unit: String::new(),
                reference_target: "很多".into(),
                name: String::new(),
                ..spec("x")
            },
        )
        .await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
    assert_eq!(
        fields(&s),
        ["spec.name", "spec.unit", "spec.reference_target"]
    );
    nothing_written(&app, "B4", 1).await;

    // A qualitative indicator needs no unit and may have a text target.
    app.create(
        "Q1",
        proto::IndicatorSpec {
            direction: Direction::Qualitative as i32,
            unit: String::new(),
            reference_target: "明显改善".into(),
            ..spec("群众满意")
        },
    )
    .await
    .expect("qualitative");

    // Enum and decimal parsing.
    let s = refused(
        app.create(
            "B5",
            proto::IndicatorSpec {
                direction: 0,
                kind: 0,
                ..spec("x")
            },
        )
        .await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
    assert_eq!(fields(&s), ["spec.kind", "spec.direction"]);
    let s = refused(
        app.create(
            "B5",
            proto::IndicatorSpec {
                last_year_value: Some(pbm_proto::common::v1::Decimal {
                    value: "1e5".into(),
                }),
                ..spec("x")
            },
        )
        .await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
    assert_eq!(fields(&s), ["spec.last_year_value"]);
    let s = refused(
        app.create("有 中文", spec("x")).await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
    assert_eq!(fields(&s), ["code"]);
    let s = refused(
        app.create(
            "B5",
            proto::IndicatorSpec {
                kind: IndicatorKind::Specific as i32,
                ..spec("x")
            },
        )
        .await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
    assert_eq!(fields(&s), ["spec.owner_department"]);
    let r = proto::CreateIndicatorRequest {
        request_id: app.rid(),
        code: "B5".into(),
        spec: None,
    };
    let s = refused(
        app.client().create_indicator(app.fin(r)).await,
        Code::InvalidArgument,
        "SPEC_REQUIRED",
    );
    has_field(&s, "spec");
    nothing_written(&app, "B5", 2).await;

    // Duplicate code: the existing indicator is untouched.
    let s = refused(
        app.create("OK1", spec("另一个名称")).await,
        Code::AlreadyExists,
        "INDICATOR_CODE_EXISTS",
    );
    has_field(&s, "code");
    assert_eq!(app.versions("OK1").await, [1]);
    assert_eq!(app.get("OK1").await.unwrap().spec.unwrap().name, "受益人口");

    // Missing request id.
    for request_id in ["", "   ", "有中文"] {
        let r = proto::CreateIndicatorRequest {
            request_id: request_id.into(),
            code: "B6".into(),
            spec: Some(spec("x")),
        };
        let s = refused(
            app.client().create_indicator(app.fin(r)).await,
            Code::InvalidArgument,
            "REQUEST_ID_INVALID",
        );
        has_field(&s, "request_id");
    }
    nothing_written(&app, "B6", 2).await;

    // A fiscal year without a frame.
    let s = refused(
        app.create(
            "B7",
            proto::IndicatorSpec {
                fiscal_year: 2030,
                ..spec("x")
            },
        )
        .await,
        Code::FailedPrecondition,
        "FRAME_NOT_FOUND",
    );
    has_field(&s, "spec.fiscal_year");
    let s = refused(
        app.create(
            "B7",
            proto::IndicatorSpec {
                fiscal_year: 1900,
                ..spec("x")
            },
        )
        .await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
    has_field(&s, "spec.fiscal_year");
    nothing_written(&app, "B7", 2).await;

    // The same rules hold for updates.
    let s = refused(
        app.update(
            "OK1",
            1,
            proto::IndicatorSpec {
                unit: String::new(),
                ..spec("x")
            },
        )
        .await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
    assert_eq!(fields(&s), ["spec.unit"]);
    refused(
        app.update(
            "OK1",
            1,
            proto::IndicatorSpec {
                fiscal_year: 2030,
                ..spec("x")
            },
        )
        .await,
        Code::FailedPrecondition,
        "FRAME_NOT_FOUND",
    );
    assert_eq!(app.versions("OK1").await, [1]);
}

/// Every refusal names the service in `ErrorInfo.domain`, reads and writes alike.
async fn refusals_name_the_service(db: TestDatabase) {
    let app = spawn_app(db).await;
    let s = refused(app.get("NOPE").await, Code::NotFound, "INDICATOR_NOT_FOUND");
    assert_eq!(domain(&s), "pbm.indicator");
    let r = proto::CreateIndicatorRequest {
        request_id: app.rid(),
        code: "D1".into(),
        spec: Some(spec("x")),
    };
    let s = refused(
        app.client()
            .create_indicator(app.req(&department("D01"), r))
            .await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
    assert_eq!(domain(&s), "pbm.indicator");
}

/// A field violation carries its own reason code beside the field and the message.
async fn field_violations_carry_their_reason(db: TestDatabase) {
    let app = spawn_app(db).await;
    let r = proto::SearchIndicatorsRequest {
        query: "饮水".into(),
        filter: None,
        limit: 500,
    };
    let s = refused(
        app.client().search_indicators(app.fin(r)).await,
        Code::InvalidArgument,
        "LIMIT_INVALID",
    );
    let bad = s.get_details_bad_request().expect("bad request");
    assert_eq!(bad.field_violations.len(), 1, "{s:?}");
    assert_eq!(bad.field_violations[0].field, "limit");
    assert_eq!(bad.field_violations[0].reason, "LIMIT_INVALID");
    assert!(!bad.field_violations[0].description.is_empty());
    assert_eq!(
        violation_reasons(&s),
        [("limit".into(), "LIMIT_INVALID".into())]
    );
}

/// A 定性 spec carrying a unit of measure.
fn qualitative_with_unit(name: &str, unit: &str) -> IndicatorSpec {
    IndicatorSpec {
        frame_node_code: "301".into(),
        direction: Direction::Qualitative as i32,
        unit: unit.into(),
        reference_target: "明显提升".into(),
        ..spec(name)
    }
}

/// Asserts `s` refuses exactly a unit on a 定性 indicator, at `field`.
#[track_caller]
fn unit_not_allowed(s: &tonic::Status, field: &str) {
    assert_eq!(
        violation_reasons(s),
        [(field.into(), "UNIT_NOT_ALLOWED".into())]
    );
    let bad = s.get_details_bad_request().expect("bad request");
    assert!(
        bad.field_violations[0]
            .description
            .contains("定性指标没有计量单位"),
        "{s:?}"
    );
}

/// A 定性 indicator has no unit of measure: creating, changing or proposing one with a unit is
/// refused on `spec.unit`, and nothing is written.
async fn qualitative_indicators_have_no_unit(db: TestDatabase) {
    let app = spawn_app(db).await;
    let s = refused(
        app.create("Q1", qualitative_with_unit("群众满意度", "分"))
            .await,
        Code::InvalidArgument,
        "UNIT_NOT_ALLOWED",
    );
    unit_not_allowed(&s, "spec.unit");
    nothing_written(&app, "Q1", 0).await;
    // With other faults too, the reason is the generic one and each field keeps its own.
    let s = refused(
        app.create(
            "Q1",
            IndicatorSpec {
                name: String::new(),
                ..qualitative_with_unit("x", "分")
            },
        )
        .await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
    assert_eq!(
        violation_reasons(&s),
        [
            ("spec.name".into(), "VALIDATION_FAILED".into()),
            ("spec.unit".into(), "UNIT_NOT_ALLOWED".into())
        ]
    );
    nothing_written(&app, "Q1", 0).await;

    // Updates: a unit added to a 定性 indicator, or kept when a ≥ indicator becomes 定性.
    app.create("Q2", qualitative_with_unit("群众满意度", ""))
        .await
        .expect("qualitative without unit");
    let s = refused(
        app.update("Q2", 1, qualitative_with_unit("群众满意度", "分"))
            .await,
        Code::InvalidArgument,
        "UNIT_NOT_ALLOWED",
    );
    unit_not_allowed(&s, "spec.unit");
    app.create("N1", spec("受益人口")).await.unwrap();
    let s = refused(
        app.update(
            "N1",
            1,
            IndicatorSpec {
                direction: Direction::Qualitative as i32,
                reference_target: "明显提升".into(),
                ..spec("受益人口")
            },
        )
        .await,
        Code::InvalidArgument,
        "UNIT_NOT_ALLOWED",
    );
    unit_not_allowed(&s, "spec.unit");
    assert_eq!(app.versions("Q2").await, [1]);
    assert_eq!(app.versions("N1").await, [1]);
    assert_eq!(app.get("Q2").await.unwrap().spec.unwrap().unit, "");

    // Proposals.
    let r = proto::ProposeIndicatorRequest {
        request_id: app.rid(),
        code: "QP1".into(),
        spec: Some(qualitative_with_unit("部门满意度", "分")),
        reason: "本部门特有业务".into(),
    };
    let s = refused(
        app.client()
            .propose_indicator(app.req(&department("D01"), r))
            .await,
        Code::InvalidArgument,
        "UNIT_NOT_ALLOWED",
    );
    unit_not_allowed(&s, "spec.unit");
    let all = app
        .client()
        .list_proposals(app.fin(proto::ListProposalsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(all.proposals.is_empty());
}

/// A 定性 indicator stored with a unit before units were refused for it is still enabled and
/// disabled as it is; an update must drop the unit.
async fn stored_qualitative_unit_does_not_block_status(db: TestDatabase) {
    use pbm_indicator::domain::indicator::{self as domain, Indicator};

    let app = spawn_app(db).await;
    let legacy = Indicator {
        code: "L1".into(),
        version: 1,
        status: domain::Status::Enabled,
        spec: domain::Spec {
            fiscal_year: pbm_types::FiscalYear::new(FY).unwrap(),
            frame_node_code: "301".into(),
            name: "群众满意度".into(),
            kind: domain::Kind::Common,
            industry_tags: Vec::new(),
            field_tags: Vec::new(),
            level_tags: Vec::new(),
            direction: domain::Direction::Qualitative,
            unit: "分".into(),
            explanation: String::new(),
            formula: String::new(),
            scoring_rule: String::new(),
            value_standard: None,
            value_standard_note: String::new(),
            reference_target: "明显提升".into(),
            last_year_value: None,
            year_before_value: None,
            fixed: false,
            enabled_from_year: None,
            enabled_to_year: None,
            owner_department: String::new(),
        },
        change_note: "新建".into(),
        changed_by: "fin-1".into(),
        changed_at: pbm_db::now(),
        origin: None,
    };
    app.state
        .db
        .write(move |conn| pbm_indicator::store::insert_new(conn, &legacy))
        .await
        .expect("a stored legacy indicator");
    let disabled = app
        .set_status("L1", 1, IndicatorStatus::Disabled, "停用")
        .await
        .expect("status changes as stored");
    assert_eq!(disabled.version, 2);
    assert_eq!(disabled.spec.unwrap().unit, "分");
    app.set_status("L1", 2, IndicatorStatus::Enabled, "")
        .await
        .expect("enabled again");
    let s = refused(
        app.update("L1", 3, qualitative_with_unit("群众满意度（改）", "分"))
            .await,
        Code::InvalidArgument,
        "UNIT_NOT_ALLOWED",
    );
    unit_not_allowed(&s, "spec.unit");
    let changed = app
        .update("L1", 3, qualitative_with_unit("群众满意度（改）", ""))
        .await
        .expect("the unit dropped");
    assert_eq!(
        (changed.version, changed.spec.unwrap().unit.as_str()),
        (4, "")
    );
}

pbm_testkit::backend_tests! {
    bad_input => bad_input_writes_nothing;
    qualitative_unit => qualitative_indicators_have_no_unit;
    qualitative_unit_stored => stored_qualitative_unit_does_not_block_status;
    domain_of_refusals => refusals_name_the_service;
    violation_reasons => field_violations_carry_their_reason;
}
