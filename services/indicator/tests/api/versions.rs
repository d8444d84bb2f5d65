//! Every change is a new version; old versions stay readable; optimistic concurrency.

use pbm_testkit::TestDatabase;
use tonic::Code;

use crate::common::*;

async fn versions_and_status(db: TestDatabase) {
    let app = spawn_app(db).await;
    app.create("V1", spec("受益人口")).await.unwrap();

    let v2 = app
        .update("V1", 1, spec("受益人口数量"))
        .await
        .expect("update");
    assert_eq!(v2.version, 2);
    assert_eq!(v2.spec.as_ref().unwrap().name, "受益人口数量");
    assert_eq!(v2.change_note, "测试修改");
    assert_eq!(app.get("V1").await.unwrap().version, 2);
    let v1 = app
        .get_version("V1", 1)
        .await
        .expect("version 1 stays readable");
    assert_eq!(
        (v1.version, v1.spec.unwrap().name.as_str()),
        (1, "受益人口")
    );
    assert_eq!(app.versions("V1").await, [2, 1]);

    // A stale expected_version writes nothing.
    let s = refused(
        app.update("V1", 1, spec("过期的修改")).await,
        Code::Aborted,
        "VERSION_MISMATCH",
    );
    has_field(&s, "expected_version");
    assert_eq!(app.versions("V1").await, [2, 1]);
    assert_eq!(
        app.get("V1").await.unwrap().spec.unwrap().name,
        "受益人口数量"
    );
    refused(
        app.update("V1", 7, spec("未来的修改")).await,
        Code::Aborted,
        "VERSION_MISMATCH",
    );

    // An update that changes nothing is not a version.
    refused(
        app.update("V1", 2, spec("受益人口数量")).await,
        Code::FailedPrecondition,
        "NO_CHANGE",
    );
    assert_eq!(app.versions("V1").await, [2, 1]);

    // Disabling needs a reason.
    let s = refused(
        app.set_status("V1", 2, IndicatorStatus::Disabled, " ")
            .await,
        Code::InvalidArgument,
        "REASON_REQUIRED",
    );
    has_field(&s, "reason");
    refused(
        app.set_status("V1", 2, IndicatorStatus::Enabled, "").await,
        Code::FailedPrecondition,
        "STATUS_UNCHANGED",
    );
    refused(
        app.set_status("V1", 2, IndicatorStatus::Unspecified, "x")
            .await,
        Code::InvalidArgument,
        "STATUS_INVALID",
    );
    assert_eq!(app.versions("V1").await, [2, 1]);

    let v3 = app
        .set_status("V1", 2, IndicatorStatus::Disabled, "口径调整")
        .await
        .expect("disable");
    assert_eq!(v3.version, 3);
    assert_eq!(v3.status, IndicatorStatus::Disabled as i32);
    assert!(v3.change_note.contains("口径调整"), "{}", v3.change_note);
    assert_eq!(v3.spec, v2.spec, "disabling keeps the attributes");
    assert_eq!(
        app.get("V1").await.unwrap().status,
        IndicatorStatus::Disabled as i32
    );

    // A disabled indicator cannot be edited.
    refused(
        app.update("V1", 3, spec("停用后修改")).await,
        Code::FailedPrecondition,
        "INDICATOR_DISABLED",
    );
    assert_eq!(app.versions("V1").await, [3, 2, 1]);

    // Re-enabling makes it editable again.
    let v4 = app
        .set_status("V1", 3, IndicatorStatus::Enabled, "")
        .await
        .expect("enable");
    assert_eq!(
        (v4.version, v4.status),
        (4, IndicatorStatus::Enabled as i32)
    );
    assert_eq!(
        app.update("V1", 4, spec("重新启用后修改"))
            .await
            .unwrap()
            .version,
        5
    );
    assert_eq!(app.versions("V1").await, [5, 4, 3, 2, 1]);

    // Unknown indicators.
    refused(
        app.update("NOPE", 1, spec("x")).await,
        Code::NotFound,
        "INDICATOR_NOT_FOUND",
    );
    refused(
        app.set_status("NOPE", 1, IndicatorStatus::Disabled, "x")
            .await,
        Code::NotFound,
        "INDICATOR_NOT_FOUND",
    );
    assert!(app.versions("NOPE").await.is_empty());
}

pbm_testkit::backend_tests! {
    versions_status => versions_and_status;
}
