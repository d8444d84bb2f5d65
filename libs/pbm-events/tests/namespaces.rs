//! Two deployments (regions) on one Redis: stream keys carry the region
//! (`pbm:<region>:events:<topic>`), so each deployment's consumer group reads its own region's
//! events only, although both groups have the same name (the consumer's). And a key from before
//! namespaces where a group left entries is reported, not read (docs/OPERATIONS.md "Events and
//! dead letters"). The consumers' databases run on both backends; Redis is
//! `PBM_TEST_REDIS_URL`'s.

mod support;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use pbm_db::diesel::prelude::*;
use pbm_db::testing::TestDatabase;
use pbm_db::{Backend, Db, StoreError};
use pbm_events::streams::{self, StreamOptions};
use pbm_events::{RedisStreams, Relay, legacy_stream_key, stream_key};
use support::{migrated, pending, produce_as, test_effects};

const GROUP: &str = "pbm.test.namespaced";
const EVENTS: usize = 20;

fn redis_url() -> Option<String> {
    match std::env::var("PBM_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("PBM_REQUIRE_REDIS").is_ok_and(|v| v == "1") {
                panic!("PBM_TEST_REDIS_URL must be set when PBM_REQUIRE_REDIS=1");
            }
            eprintln!("note: PBM_TEST_REDIS_URL not set; namespace test not run");
            None
        }
    }
}

fn options() -> StreamOptions {
    StreamOptions {
        block: Duration::from_millis(200),
        reclaim_every: Duration::from_millis(300),
        ..StreamOptions::default()
    }
}

/// The ids of the events applied in `db`.
async fn applied(db: &Db) -> Vec<String> {
    db.read(|c| -> Result<Vec<String>, StoreError> {
        Ok(test_effects::table
            .select(test_effects::event_id)
            .order(test_effects::id)
            .load(c)?)
    })
    .await
    .unwrap()
}

/// One deployment: a producer's outbox relayed to the streams of `region`, and a consumer of
/// its own (group [`GROUP`]) reading them.
struct Region {
    streams: RedisStreams,
    producer: Db,
    consumer_db: Db,
    service: String,
    _databases: [TestDatabase; 2],
}

impl Region {
    async fn start(url: &str, region: &str, consumer: TestDatabase, topic: &str) -> Region {
        let streams = RedisStreams::connect(url, region).await.unwrap();
        assert_eq!(streams.namespace(), region);
        let producer_db = TestDatabase::sqlite();
        let producer = migrated(&producer_db, false).await;
        let consumer_db = migrated(&consumer, true).await;
        let service = format!("pbm.test.{region}");
        produce_as(&producer, &service, topic, 0, EVENTS).await;
        Region {
            streams,
            producer,
            consumer_db,
            service,
            _databases: [producer_db, consumer],
        }
    }
}

/// Another database of `db`'s backend.
fn another(db: &TestDatabase) -> TestDatabase {
    match db.backend() {
        Backend::Sqlite => TestDatabase::sqlite(),
        Backend::Postgres => TestDatabase::postgres().expect("PostgreSQL configured"),
    }
}

async fn delete(url: &str, keys: &[String]) {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg(keys)
        .query_async(&mut conn)
        .await
        .unwrap();
}

/// Before namespaces this consumer's group read `pbm:events:<topic>`: it left one entry pending
/// (delivered, not acknowledged) and one unread there. Returns the first entry's id.
async fn leave_legacy_entries(url: &str, topic: &str) -> String {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = legacy_stream_key(topic);
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&key)
        .arg(GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for n in 0..2 {
        let id: String = redis::cmd("XADD")
            .arg(&key)
            .arg("*")
            .arg("id")
            .arg(format!("pbm.test.old:{n}"))
            .arg("service")
            .arg("pbm.test.old")
            .arg("entity_id")
            .arg("E")
            .arg("payload")
            .arg("{}")
            .arg("occurred_at")
            .arg("2026-12-01T00:00:00Z")
            .query_async(&mut conn)
            .await
            .unwrap();
        ids.push(id);
    }
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(GROUP)
        .arg("old-pod")
        .arg("COUNT")
        .arg(1)
        .arg("STREAMS")
        .arg(&key)
        .arg(">")
        .query_async(&mut conn)
        .await
        .unwrap();
    ids.swap_remove(0)
}

async fn each_region_consumes_its_own_events(consumer_db: TestDatabase) {
    let Some(url) = redis_url() else { return };
    let topic = format!(
        "test.namespaces.{}.{}",
        consumer_db.backend().name(),
        std::process::id()
    );
    let (a, b) = ("140525", "140581");
    let keys = vec![
        stream_key(a, &topic),
        stream_key(b, &topic),
        legacy_stream_key(&topic),
    ];
    delete(&url, &keys).await;
    let first_legacy = leave_legacy_entries(&url, &topic).await;

    let other_db = another(&consumer_db);
    let regions = [
        Region::start(&url, a, consumer_db, &topic).await,
        Region::start(&url, b, other_db, &topic).await,
    ];
    let mut tasks = Vec::new();
    for region in &regions {
        let consumer = support::consumer(
            GROUP,
            &topic,
            region.consumer_db.clone(),
            Arc::new(AtomicBool::new(false)),
        );
        tasks.push(region.streams.spawn_consumer(consumer, options()));
        let relay = Relay::new(region.producer.clone(), region.streams.clone());
        tasks.push(relay.spawn(Duration::from_millis(20)));
    }

    let deadline = Instant::now() + Duration::from_secs(20);
    for region in &regions {
        loop {
            let seen = applied(&region.consumer_db).await;
            if seen.len() >= EVENTS {
                break;
            }
            assert!(Instant::now() < deadline, "{}: {seen:?}", region.service);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // Time for a stray delivery to the other region's group to show.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (region, key) in regions.iter().zip(&keys) {
        let seen = applied(&region.consumer_db).await;
        let expected: Vec<String> = (1..=EVENTS)
            .map(|n| format!("{}:{n}", region.service))
            .collect();
        assert_eq!(seen, expected, "{key}: its own events, each once, in order");
        assert_eq!(pending(&url, key, GROUP).await, Some(0), "{key}");
    }

    // The entries left in the key from before namespaces are reported, and not read.
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let left = streams::legacy_backlog(&mut conn, GROUP, std::slice::from_ref(&topic))
        .await
        .unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].key, keys[2]);
    assert_eq!(left[0].pending, 1);
    assert_eq!(left[0].unread, Some(1));
    let millis: i64 = first_legacy.split_once('-').unwrap().0.parse().unwrap();
    assert_eq!(left[0].since.timestamp_millis(), millis);
    // Another group left nothing there.
    let other = streams::legacy_backlog(&mut conn, "pbm.test.other", std::slice::from_ref(&topic))
        .await
        .unwrap();
    assert!(other.is_empty(), "{other:?}");

    for task in tasks {
        task.abort();
    }
    delete(&url, &keys).await;
}

pbm_db::backend_tests! {
    namespaced_streams => each_region_consumes_its_own_events;
}
