//! Every mutation, done or refused, leaves an audit row.

use pbm_auth::Role;
use pbm_db::platform;
use pbm_proto::indicator::v1 as proto;
use pbm_testkit::TestDatabase;
use tonic::Code;

use crate::common::*;

async fn trail(app: &TestApp, entity_type: &'static str, id: &str) -> Vec<platform::AuditRecord> {
    let id = id.to_owned();
    app.state
        .db
        .read(move |c| platform::audit_of(c, entity_type, &id))
        .await
        .expect("audit trail")
}

async fn audit_records_done_and_refused(db: TestDatabase) {
    let app = spawn_app(db).await;
    let create = proto::CreateIndicatorRequest {
        request_id: "audit-create".into(),
        code: "AU1".into(),
        spec: Some(spec("受益人口")),
    };
    app.client()
        .create_indicator(app.fin(create))
        .await
        .unwrap();
    // Refused: a stale version, then a role that may not write.
    refused(
        app.update("AU1", 5, spec("过期")).await,
        Code::Aborted,
        "VERSION_MISMATCH",
    );
    let unit = of_role(Role::BudgetUnit);
    let r = proto::UpdateIndicatorRequest {
        request_id: "audit-unit".into(),
        code: "AU1".into(),
        expected_version: 1,
        spec: Some(spec("越权")),
        change_note: String::new(),
    };
    refused(
        app.client().update_indicator(app.req(&unit, r)).await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
    // A refused create of another code is audited against that code.
    refused(
        app.create(
            "AU2",
            proto::IndicatorSpec {
                unit: String::new(),
                ..spec("x")
            },
        )
        .await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );

    let rows = trail(&app, "indicator", "AU1").await;
    let summary: Vec<(&str, &str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r.method.as_str(),
                r.outcome.as_str(),
                r.subject.as_str(),
                r.role.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("CreateIndicator", "OK", "fin-1", "finance_admin"),
            (
                "UpdateIndicator",
                "VERSION_MISMATCH",
                "fin-1",
                "finance_admin"
            ),
            (
                "UpdateIndicator",
                "ROLE_NOT_ALLOWED",
                "budget_unit-1",
                "budget_unit"
            ),
        ]
    );
    let ok = &rows[0];
    assert_eq!(
        (
            ok.service.as_str(),
            ok.request_id.as_str(),
            ok.mof_div_code.as_str()
        ),
        ("pbm.indicator", "audit-create", REGION)
    );
    assert_eq!(ok.entity_type, "indicator");
    assert!(ok.detail.contains("version 1"), "{}", ok.detail);
    assert_eq!(rows[2].request_id, "audit-unit");
    assert!(rows[1].detail.contains("版本 5"), "{}", rows[1].detail);

    let refused_create = trail(&app, "indicator", "AU2").await;
    assert_eq!(refused_create.len(), 1);
    assert_eq!(refused_create[0].outcome, "VALIDATION_FAILED");

    // A replayed retry is not a second change.
    let create = proto::CreateIndicatorRequest {
        request_id: "audit-create".into(),
        code: "AU1".into(),
        spec: Some(spec("受益人口")),
    };
    app.client()
        .create_indicator(app.fin(create))
        .await
        .unwrap();
    assert_eq!(
        trail(&app, "indicator", "AU1")
            .await
            .iter()
            .filter(|r| r.outcome == "OK")
            .count(),
        1
    );

    // Frames and proposals are audited too.
    app.create_frame(2027, proto::FrameTemplate::CostFirstLevel)
        .await
        .unwrap();
    refused(
        app.create_frame(2027, proto::FrameTemplate::CostFirstLevel)
            .await,
        Code::AlreadyExists,
        "FRAME_EXISTS",
    );
    let outcomes: Vec<String> = trail(&app, "frame", "2027")
        .await
        .into_iter()
        .map(|r| r.outcome)
        .collect();
    assert_eq!(outcomes, ["OK", "FRAME_EXISTS"]);
}

pbm_testkit::backend_tests! {
    audit_trail => audit_records_done_and_refused;
}
