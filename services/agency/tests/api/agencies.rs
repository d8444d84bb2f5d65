//! The agency registry: registration with validated credit codes, the status lifecycle with
//! history, qualification expiry with the admission batch, masked contacts in lists.

use pbm_proto::agency::v1 as pb;
use pbm_testkit::TestDatabase;
use tonic::Code;

use crate::common::*;

async fn registers_and_moves_through_the_lifecycle(db: TestDatabase) {
    let app = spawn(db, "2020-06-01").await;
    let batch = app.batch().await;
    let a = app.register(spec(batch.id)).await.unwrap();
    assert_eq!(
        (a.status, a.version),
        (pb::AgencyStatus::Admitted as i32, 1)
    );
    assert_eq!(
        (a.qualified_from.as_str(), a.qualified_to.as_str()),
        ("2019-01-01", "2022-12-31")
    );
    assert_eq!(
        a.spec.as_ref().unwrap().contacts[0].phone,
        "138****5678",
        "a mutation's response is stored for replay: phones masked (GetAgency shows them)"
    );

    refused(
        app.register(spec(batch.id)).await,
        Code::AlreadyExists,
        "AGENCY_EXISTS",
    );

    let warned = app
        .act(CODE_A, 1, pb::AgencyAction::Warn, "")
        .await
        .unwrap();
    assert_eq!(warned.status, pb::AgencyStatus::Warned as i32);
    refused(
        app.act(CODE_A, 1, pb::AgencyAction::Remove, "").await,
        Code::Aborted,
        "VERSION_MISMATCH",
    );
    let bad_until = app
        .act(CODE_A, 2, pb::AgencyAction::Suspend, "2020-05-01")
        .await
        .unwrap_err();
    assert_eq!(reason(&bad_until), "SUSPEND_UNTIL_INVALID");
    let suspended = app
        .act(CODE_A, 2, pb::AgencyAction::Suspend, "2020-12-31")
        .await
        .unwrap();
    assert_eq!(
        (suspended.status, suspended.suspended_until.as_str()),
        (pb::AgencyStatus::Suspended as i32, "2020-12-31")
    );
    let removed = app
        .act(CODE_A, 3, pb::AgencyAction::Remove, "")
        .await
        .unwrap();
    assert_eq!(removed.status, pb::AgencyStatus::Removed as i32);
    refused(
        app.act(CODE_A, 4, pb::AgencyAction::Reinstate, "").await,
        Code::FailedPrecondition,
        "AGENCY_REMOVED",
    );

    let history = app
        .registry
        .clone()
        .list_status_history(app.fin(pb::ListStatusHistoryRequest {
            credit_code: CODE_A.into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .changes;
    let steps: Vec<(&str, &str)> = history
        .iter()
        .map(|c| (c.from_status.as_str(), c.to_status.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            ("", "admitted"),
            ("admitted", "warned"),
            ("warned", "suspended"),
            ("suspended", "removed")
        ]
    );
    assert_eq!(history[2].until, "2020-12-31");
}

async fn qualification_expires_by_itself(db: TestDatabase) {
    let app = spawn(db, "2023-01-01").await;
    let batch = app.batch().await;
    let a = app.register(spec(batch.id)).await.unwrap();
    assert_eq!(
        a.status,
        pb::AgencyStatus::Expired as i32,
        "the 2019–2022 period is over on 2023-01-01"
    );
}

async fn bad_input_is_refused_and_writes_nothing(db: TestDatabase) {
    let app = spawn(db, "2020-06-01").await;
    let batch = app.batch().await;
    let mut bad = spec(batch.id);
    bad.credit_code = "91350100M000100Y44".into(); // wrong check digit
    bad.scopes.clear();
    bad.contacts[0].phone = "12345".into();
    let err = app.register(bad).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fields(&err), ["spec.credit_code"]);
    // The 统一社会信用代码's own reason, in ErrorInfo and on its field.
    assert_eq!(reason(&err), "CREDIT_CODE_INVALID");
    assert_eq!(
        violation_reasons(&err),
        [(
            "spec.credit_code".to_string(),
            "CREDIT_CODE_INVALID".to_string()
        )]
    );
    let mut bad = spec(batch.id);
    bad.scopes.clear();
    bad.contacts[0].phone = "12345".into();
    let err = app.register(bad).await.unwrap_err();
    assert_eq!(fields(&err), ["spec.scopes", "spec.contacts[0].phone"]);
    refused(
        app.register(spec(999)).await,
        Code::FailedPrecondition,
        "BATCH_NOT_FOUND",
    );
    let list = app
        .registry
        .clone()
        .list_agencies(app.fin(pb::ListAgenciesRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.page.unwrap().total_size, 0, "nothing was written");
    let audit = app
        .state
        .db
        .read(|c| pbm_db::platform::audit_of(c, "agency", CODE_A))
        .await
        .unwrap();
    assert!(audit.iter().all(|r| r.outcome != "OK"));
}

async fn lists_mask_contact_phones(db: TestDatabase) {
    let app = spawn(db, "2020-06-01").await;
    let batch = app.batch().await;
    app.register(spec(batch.id)).await.unwrap();
    let list = app
        .registry
        .clone()
        .list_agencies(app.fin(pb::ListAgenciesRequest {
            scope: pb::ServiceScope::Evaluation as i32,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.agencies.len(), 1);
    assert_eq!(
        list.agencies[0].spec.as_ref().unwrap().contacts[0].phone,
        "138****5678"
    );
    let none = app
        .registry
        .clone()
        .list_agencies(app.fin(pb::ListAgenciesRequest {
            scope: pb::ServiceScope::Research as i32,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(none.agencies.is_empty());
}

pbm_testkit::backend_tests! {
    lifecycle => registers_and_moves_through_the_lifecycle;
    expiry => qualification_expires_by_itself;
    bad_input => bad_input_is_refused_and_writes_nothing;
    masking => lists_mask_contact_phones;
}
