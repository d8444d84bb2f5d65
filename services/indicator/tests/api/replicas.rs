//! Two replicas over one database (distributed deployment): each serves reads from its own view
//! of the library, and follows the other's writes through the refresher.

use std::time::Duration;

use pbm_indicator::AppState;
use pbm_testkit::TestDatabase;
use pbm_types::{DivisionCode, FiscalYear};

use crate::common::{FY, REGION, spawn_app, spec};

async fn wait_for_version(replica: &AppState, code: &str, version: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while replica.index.version_of(code) != Some(version) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "replica never saw {code} v{version}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn replicas_follow_each_others_writes(test_db: TestDatabase) {
    let a = spawn_app(test_db).await;
    let db = pbm_db::Db::connect(
        a.database_url(),
        &pbm_db::DbOptions::for_backend(a.state.db.backend()),
    )
    .unwrap();
    let b = AppState::open(
        db,
        DivisionCode::parse(REGION).unwrap(),
        FiscalYear::new(FY).unwrap(),
    )
    .await
    .unwrap();
    b.spawn_index_refresher(Duration::from_millis(100));

    a.create("R1", spec("跨副本同步指标")).await.unwrap();
    wait_for_version(&b, "R1", 1).await;
    assert_eq!(b.index.search("跨副本", &Default::default(), 10).1, 1);

    let mut renamed = spec("改名后的指标");
    renamed.explanation = "副本应看到新名称".into();
    a.update("R1", 1, renamed).await.unwrap();
    wait_for_version(&b, "R1", 2).await;
    assert_eq!(b.index.search("改名后", &Default::default(), 10).1, 1);
    assert_eq!(b.index.search("跨副本", &Default::default(), 10).1, 0);
}

pbm_testkit::backend_tests! {
    replicas_follow => replicas_follow_each_others_writes;
}
