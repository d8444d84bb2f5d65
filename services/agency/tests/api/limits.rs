//! Every text of a request within its stated maximum (docs/AGENCY.md "Limits"): refused field by
//! field with `TEXT_TOO_LONG` before anything is kept — no agency, no idempotency record, a
//! bounded audit line.

use diesel::prelude::*;
use pbm_proto::agency::v1 as pb;
use pbm_testkit::{TestDatabase, violation_reasons};
use tonic::Code;

use crate::common::*;

async fn overlong_texts_are_refused_and_nothing_kept(db: TestDatabase) {
    let app = spawn(db, "2021-03-01").await;
    let batch = app.batch().await;
    let mut s = spec(batch.id);
    s.name = "所".repeat((1 << 20) / 3);
    s.contacts[0].email = "e".repeat(201);
    let status = refused(
        app.register(s).await,
        Code::InvalidArgument,
        "TEXT_TOO_LONG",
    );
    assert_eq!(
        violation_reasons(&status),
        [
            ("spec.name".into(), "TEXT_TOO_LONG".into()),
            ("spec.contacts[0].email".into(), "TEXT_TOO_LONG".into()),
        ]
    );
    assert_eq!(domain(&status), "pbm.agency");
    // Nothing was registered, and nothing of the mebibyte was kept anywhere.
    let (agencies, kept) = app
        .state
        .db
        .read(|c| -> Result<(i64, i64), pbm_db::StoreError> {
            use pbm_agency::store::schema::agencies;
            use pbm_db::platform::schema::{pbm_audit_log, pbm_idempotency};
            let n = agencies::table.count().get_result(c)?;
            let stored: i64 = pbm_idempotency::table.count().get_result(c)?;
            let audit: Vec<String> = pbm_audit_log::table.select(pbm_audit_log::detail).load(c)?;
            assert!(
                audit.iter().all(|d| d.len() <= 256),
                "audit lines are bounded"
            );
            Ok((n, stored))
        })
        .await
        .unwrap();
    assert_eq!(agencies, 0);
    assert_eq!(kept, 1, "only the admission batch's record");
    // A draw's task reference, an engagement's reason, a violation's description.
    let draw = app
        .draws
        .clone()
        .draw_experts(app.fin(pb::DrawExpertsRequest {
            request_id: app.rid(),
            task_ref: "T".repeat(65),
            field: "F".repeat(65),
            count: 1,
            ..Default::default()
        }))
        .await;
    let status = refused(draw, Code::InvalidArgument, "TEXT_TOO_LONG");
    assert_eq!(
        violation_reasons(&status),
        [
            ("task_ref".into(), "TEXT_TOO_LONG".into()),
            ("field".into(), "TEXT_TOO_LONG".into()),
        ]
    );
    let violation = app
        .registry
        .clone()
        .record_violation(app.fin(pb::RecordViolationRequest {
            request_id: app.rid(),
            credit_code: CODE_A.into(),
            occurred_on: "2021-02-10".into(),
            severity: pb::Severity::Minor as i32,
            description: "失".repeat(4001),
            ..Default::default()
        }))
        .await;
    let status = refused(violation, Code::InvalidArgument, "TEXT_TOO_LONG");
    assert_eq!(
        violation_reasons(&status),
        [("description".into(), "TEXT_TOO_LONG".into())]
    );
    // At their maxima the texts are accepted.
    let mut s = spec(batch.id);
    s.name = "所".repeat(200);
    app.register(s).await.unwrap();
}

pbm_testkit::backend_tests! {
    overlong => overlong_texts_are_refused_and_nothing_kept;
}
