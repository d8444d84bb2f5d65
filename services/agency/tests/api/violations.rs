//! Violations (违规记录): recorded against an agency or an expert, listed to finance, auditors
//! and the expert itself; a major one bars an expert from draws and lowers its rating.

use pbm_auth::Role;
use pbm_proto::agency::v1 as pb;
use pbm_testkit::TestDatabase;
use tonic::Code;

use crate::common::*;

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
        .registry
        .clone()
        .record_violation(app.fin(r))
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
        .registry
        .clone()
        .record_violation(app.fin(future))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["occurred_on"]);
    let listed = app
        .registry
        .clone()
        .list_violations(app.req(
            &auditor(),
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
    let record = |expert_id: i64, code: &str, severity: pb::Severity, who: Who| {
        let mut c = app.registry.clone();
        let r = app.req(
            &who,
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
    refused(
        record(a, CODE_A, pb::Severity::Major, finance()).await,
        Code::InvalidArgument,
        "PARTY_REQUIRED",
    );
    assert_eq!(
        record(a, "", pb::Severity::Major, auditor())
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    assert_eq!(
        record(9999, "", pb::Severity::Major, finance())
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    let v = record(a, "", pb::Severity::Major, finance())
        .await
        .unwrap()
        .into_inner()
        .violation
        .unwrap();
    assert_eq!((v.expert_id, v.credit_code.as_str()), (a, ""));

    // Listed for finance and the expert itself; another expert is told it does not exist.
    let list = |who: Who| {
        let mut c = app.registry.clone();
        let r = app.req(
            &who,
            pb::ListViolationsRequest {
                credit_code: String::new(),
                expert_id: a,
            },
        );
        async move { c.list_violations(r).await }
    };
    assert_eq!(
        list(finance()).await.unwrap().into_inner().violations.len(),
        1
    );
    assert_eq!(
        list(as_expert(a))
            .await
            .unwrap()
            .into_inner()
            .violations
            .len(),
        1
    );
    assert_eq!(list(as_expert(b)).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(
        list(of_role(Role::BudgetUnit)).await.unwrap_err().code(),
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
        .explain_rating(app.req(&as_expert(a), r))
        .await
        .unwrap()
        .into_inner()
        .rating
        .unwrap();
    assert_eq!(rating.penalties.len(), 1);
    assert_eq!(rating.penalties[0].severity, "major");
    assert!(!rating.selectable);
}

pbm_testkit::backend_tests! {
    violations => violations_are_recorded;
    expert_violations => expert_violations_bar_draws_and_lower_ratings;
}
