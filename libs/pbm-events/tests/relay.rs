//! The relay publishes committed outbox rows exactly once per pass, to real Redis Streams and to
//! the in-process bus, on both database backends.

use pbm_db::platform::{self, NewOutboxEvent};
use pbm_db::testing::TestDatabase;
use pbm_db::{Db, StoreError};
use pbm_events::{InProcessBus, RedisStreams, Relay, stream_key};

async fn db_with_events(test_db: &TestDatabase, topic: &str, n: usize) -> Db {
    let db = test_db.connect();
    db.migrate(&[&pbm_db::PLATFORM_MIGRATIONS]).await.unwrap();
    let topic = topic.to_owned();
    db.write(move |c| -> Result<(), StoreError> {
        for i in 0..n {
            platform::insert_outbox(
                c,
                &NewOutboxEvent {
                    occurred_at: pbm_db::now(),
                    service: "pbm.test".into(),
                    topic: topic.clone(),
                    entity_id: format!("E{i}"),
                    payload: format!("{{\"n\":{i}}}"),
                },
            )?;
        }
        Ok(())
    })
    .await
    .unwrap();
    db
}

fn redis_url() -> Option<String> {
    match std::env::var("PBM_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("PBM_REQUIRE_REDIS").is_ok_and(|v| v == "1") {
                panic!("PBM_TEST_REDIS_URL must be set when PBM_REQUIRE_REDIS=1");
            }
            eprintln!(
                "note: PBM_TEST_REDIS_URL not set; Redis relay test not run (scripts/test-all.sh runs it)"
            );
            None
        }
    }
}

async fn publishes_to_redis_streams_once(test_db: TestDatabase) {
    let Some(url) = redis_url() else { return };
    let topic = format!("test.{}.{}", test_db.backend().name(), std::process::id());
    let db = db_with_events(&test_db, &topic, 3).await;
    let relay = Relay::new(
        db.clone(),
        RedisStreams::connect(&url, "140525").await.unwrap(),
    );
    assert_eq!(relay.run_once().await.unwrap(), 3);
    assert_eq!(
        relay.run_once().await.unwrap(),
        0,
        "published rows are not sent again"
    );

    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let entries: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(stream_key("140525", &topic))
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(entries.ids.len(), 3);
    let first = &entries.ids[0];
    let entity: String = first.get("entity_id").unwrap();
    let id: String = first.get("id").unwrap();
    assert_eq!(entity, "E0");
    assert!(id.starts_with("pbm.test:"));
    let _: () = redis::cmd("DEL")
        .arg(stream_key("140525", &topic))
        .query_async(&mut conn)
        .await
        .unwrap();
    let pending = db
        .read(|c| platform::unpublished_outbox(c, 10))
        .await
        .unwrap();
    assert!(pending.is_empty());
}

async fn publishes_to_the_in_process_bus(test_db: TestDatabase) {
    let db = db_with_events(&test_db, "test.bus", 2).await;
    let bus = InProcessBus::default();
    let mut rx = bus.subscribe();
    let relay = Relay::new(db, bus);
    assert_eq!(relay.run_once().await.unwrap(), 2);
    assert_eq!(rx.recv().await.unwrap().entity_id, "E0");
    assert_eq!(rx.recv().await.unwrap().entity_id, "E1");
}

pbm_db::backend_tests! {
    redis_streams => publishes_to_redis_streams_once;
    in_process_bus => publishes_to_the_in_process_bus;
}
