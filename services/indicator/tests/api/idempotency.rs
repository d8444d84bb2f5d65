//! Retries with the same request id have one effect; a reused id for another request is refused.

use pbm_proto::indicator::v1 as proto;
use pbm_testkit::TestDatabase;
use tonic::Code;

use crate::common::*;

async fn retries_are_idempotent(db: TestDatabase) {
    let app = spawn_app(db).await;
    let create = proto::CreateIndicatorRequest {
        request_id: "create-I1".into(),
        code: "I1".into(),
        spec: Some(spec("受益人口")),
    };
    let first = app
        .client()
        .create_indicator(app.fin(create.clone()))
        .await
        .expect("first")
        .into_inner();
    let again = app
        .client()
        .create_indicator(app.fin(create.clone()))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(
        first, again,
        "a retry answers the first response, byte for byte"
    );
    assert_eq!(app.versions("I1").await, [1]);
    assert_eq!(app.count().await, 1);

    // Updates too: one new version however often it is retried.
    let update = proto::UpdateIndicatorRequest {
        request_id: "update-I1".into(),
        code: "I1".into(),
        expected_version: 1,
        spec: Some(spec("受益人口数量")),
        change_note: String::new(),
    };
    let u1 = app
        .client()
        .update_indicator(app.fin(update.clone()))
        .await
        .expect("update")
        .into_inner();
    let u2 = app
        .client()
        .update_indicator(app.fin(update.clone()))
        .await
        .expect("retried update")
        .into_inner();
    assert_eq!(u1, u2);
    assert_eq!(u1.indicator.unwrap().version, 2);
    assert_eq!(app.versions("I1").await, [2, 1]);

    // The same id for a different request.
    let other = proto::CreateIndicatorRequest {
        code: "I2".into(),
        ..create.clone()
    };
    let s = refused(
        app.client().create_indicator(app.fin(other)).await,
        Code::InvalidArgument,
        "REQUEST_ID_REUSED",
    );
    has_field(&s, "request_id");
    refused(app.get("I2").await, Code::NotFound, "INDICATOR_NOT_FOUND");
    // … or for another method, or by another caller.
    let status = proto::SetIndicatorStatusRequest {
        request_id: "create-I1".into(),
        code: "I1".into(),
        expected_version: 2,
        status: IndicatorStatus::Disabled as i32,
        reason: "x".into(),
    };
    refused(
        app.client().set_indicator_status(app.fin(status)).await,
        Code::InvalidArgument,
        "REQUEST_ID_REUSED",
    );
    let colleague = Who {
        sub: "fin-2".into(),
        ..finance()
    };
    refused(
        app.client()
            .create_indicator(app.req(&colleague, create))
            .await,
        Code::InvalidArgument,
        "REQUEST_ID_REUSED",
    );
    assert_eq!(app.versions("I1").await, [2, 1]);
    assert_eq!(app.count().await, 1);
}

/// Duplicates in flight at the same time (a client retrying after a timeout while the first
/// attempt is still running) must also have one effect and all get the first response.
async fn concurrent_retries_are_idempotent(db: TestDatabase) {
    let app = spawn_app(db).await;
    let req = proto::CreateIndicatorRequest {
        request_id: "create-I3".into(),
        code: "I3".into(),
        spec: Some(spec("并发")),
    };
    let calls = (0..4).map(|_| {
        let mut c = app.client();
        let r = app.fin(req.clone());
        tokio::spawn(async move { c.create_indicator(r).await.map(|r| r.into_inner()) })
    });
    let mut answers = Vec::new();
    for call in calls.collect::<Vec<_>>() {
        answers.push(call.await.unwrap().expect("every duplicate succeeds"));
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    assert_eq!(app.versions("I3").await, [1]);

    let update = proto::UpdateIndicatorRequest {
        request_id: "update-I3".into(),
        code: "I3".into(),
        expected_version: 1,
        spec: Some(spec("并发修改")),
        change_note: String::new(),
    };
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let mut c = app.client();
            let r = app.fin(update.clone());
            tokio::spawn(async move { c.update_indicator(r).await.map(|r| r.into_inner()) })
        })
        .collect();
    let mut answers = Vec::new();
    for call in calls {
        answers.push(
            call.await
                .unwrap()
                .expect("every duplicate update succeeds"),
        );
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    assert_eq!(app.versions("I3").await, [2, 1]);
}

pbm_testkit::backend_tests! {
    idempotent_retries => retries_are_idempotent;
    idempotent_concurrent_retries => concurrent_retries_are_idempotent;
}
