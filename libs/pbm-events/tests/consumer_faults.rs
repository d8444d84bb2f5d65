//! Exactly-once effects under faults (issue 17, "Events, consumed exactly once"): 10,000 events
//! through the real relay into Redis Streams and a consumer group, while the relay, Redis
//! (`kill -9`, restarted on its append-only file) and consumers are each killed several times
//! mid-stream; then every effect is applied exactly once (counted in the consumer's database),
//! nothing is left pending and nothing was dead-lettered. The embedded variant restarts its
//! consumer (and relay) several times. Poison events land in the dead letters and are replayed.
//! The consumer's database runs on both backends.

mod support;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use pbm_db::Db;
use pbm_db::platform::events as store;
use pbm_db::testing::TestDatabase;
use pbm_events::embedded::{self, EmbeddedOptions, Source};
use pbm_events::streams::{self, StreamOptions};
use pbm_events::{Consumer, InProcessBus, RedisStreams, Relay, dead_letters, stream_key};
use support::{RedisServer, effects, migrated, pending, produce, stream_len, unpublished};

const EVENTS: usize = 10_000;
const BATCHES: usize = 40;
const TOPIC: &str = "test.fault";
const GROUP: &str = "pbm.test.counter";
/// The deployment's region: the streams' namespace.
const NS: &str = "140525";

fn stream_options() -> StreamOptions {
    StreamOptions {
        batch: 100,
        block: Duration::from_millis(200),
        min_idle: Duration::from_millis(1000),
        reclaim_every: Duration::from_millis(300),
        max_deliveries: 10,
        max_backoff: Duration::from_millis(200),
    }
}

/// The producer: `EVENTS` events in `BATCHES` transactions over a few seconds.
fn spawn_producer(db: Db) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let per = EVENTS / BATCHES;
        for b in 0..BATCHES {
            produce(&db, TOPIC, b * per, (b + 1) * per).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

async fn redis_relay(db: &Db, url: &str) -> tokio::task::JoinHandle<()> {
    loop {
        if let Ok(publisher) = RedisStreams::connect(url, NS).await {
            return Relay::new(db.clone(), publisher).spawn(Duration::from_millis(20));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn stream_consumer(url: &str, consumer: &Consumer, n: usize) -> tokio::task::JoinHandle<()> {
    let client = redis::Client::open(url).unwrap();
    tokio::spawn(streams::run(
        client,
        NS.into(),
        consumer.clone(),
        stream_options(),
        format!("worker-{n}"),
    ))
}

/// Entries pending for one member of the group.
async fn pending_of(url: &str, member: &str) -> usize {
    let Ok(client) = redis::Client::open(url) else {
        return 0;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return 0;
    };
    redis::cmd("XPENDING")
        .arg(stream_key(NS, TOPIC))
        .arg(GROUP)
        .arg("-")
        .arg("+")
        .arg(100_000)
        .arg(member)
        .query_async::<redis::streams::StreamPendingCountReply>(&mut conn)
        .await
        .map_or(0, |r| r.ids.len())
}

async fn dead_letter_count(consumer: &Consumer) -> usize {
    dead_letters::list(consumer, true).await.unwrap().len()
}

async fn distributed_faults(consumer_db: TestDatabase) {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let url = redis.url();
    let started = Instant::now();
    let producer_db = TestDatabase::sqlite();
    let producer = migrated(&producer_db, false).await;
    let db = migrated(&consumer_db, true).await;
    let consumer = support::consumer(GROUP, TOPIC, db.clone(), Arc::default());

    let mut relay = redis_relay(&producer, &url).await;
    let mut workers = vec![
        stream_consumer(&url, &consumer, 0),
        stream_consumer(&url, &consumer, 1),
    ];
    let mut names = ["worker-0".to_owned(), "worker-1".to_owned()];
    let writing = spawn_producer(producer.clone());
    let (mut relay_kills, mut redis_kills, mut consumer_kills) = (0, 0, 0);
    let mut stranded = Vec::new();
    for (round, next_worker) in (0..4).zip(2..) {
        tokio::time::sleep(Duration::from_millis(350)).await;
        relay.abort();
        relay = redis_relay(&producer, &url).await;
        relay_kills += 1;

        tokio::time::sleep(Duration::from_millis(350)).await;
        tokio::task::block_in_place(|| {
            redis.kill();
            std::thread::sleep(Duration::from_millis(200));
            redis.restart();
        });
        redis_kills += 1;

        tokio::time::sleep(Duration::from_millis(350)).await;
        let victim = round % workers.len();
        workers[victim].abort();
        // What the killed member held, to be reclaimed by another.
        stranded.push(pending_of(&url, &names[victim]).await);
        workers[victim] = stream_consumer(&url, &consumer, next_worker);
        names[victim] = format!("worker-{next_worker}");
        consumer_kills += 1;
    }
    writing.await.unwrap();
    let produced_at = started.elapsed();

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (rows, _) = effects(&db).await;
        let waiting = pending(&url, &stream_key(NS, TOPIC), GROUP).await;
        if rows as usize >= EVENTS && waiting == Some(0) && unpublished(&producer).await == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not settled: {rows} effects, {waiting:?} pending"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A moment more: nothing applies twice late.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (rows, distinct) = effects(&db).await;
    let stream = stream_len(&url, &stream_key(NS, TOPIC)).await.unwrap();
    let processed = db.read(|c| store::processed_count(c, GROUP)).await.unwrap();
    eprintln!(
        "distributed ({}): {EVENTS} events, {stream} stream entries (relay republished {}), \
         {rows} effects ({distinct} distinct), killed relay {relay_kills}x, redis {redis_kills}x, \
         consumers {consumer_kills}x (pending entries stranded by each: {stranded:?}); \
         produced in {:.1}s, settled in {:.1}s",
        consumer_db.backend().name(),
        stream - EVENTS as i64,
        produced_at.as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    assert_eq!(rows, EVENTS as i64, "every effect once, none twice");
    assert_eq!(distinct, EVENTS as i64);
    assert_eq!(processed, EVENTS as i64);
    assert_eq!(pending(&url, &stream_key(NS, TOPIC), GROUP).await, Some(0));
    assert_eq!(dead_letter_count(&consumer).await, 0, "no dead letters");
    relay.abort();
    for w in workers {
        w.abort();
    }
}

async fn embedded_restarts(consumer_db: TestDatabase) {
    let started = Instant::now();
    let producer_db = TestDatabase::sqlite();
    let producer = migrated(&producer_db, false).await;
    let db = migrated(&consumer_db, true).await;
    let consumer = support::consumer(GROUP, TOPIC, db.clone(), Arc::default());
    let bus = InProcessBus::default();
    let source = || {
        vec![Source {
            name: "producer".into(),
            db: producer.clone(),
        }]
    };
    let options = EmbeddedOptions {
        poll_every: Duration::from_millis(200),
        ..EmbeddedOptions::default()
    };
    let mut relay = Relay::new(producer.clone(), bus.clone()).spawn(Duration::from_millis(20));
    // Rows of a topic the consumer does not read, before and among its own: passed over.
    produce(&producer, "test.other", 0, 300).await;
    let mut worker = embedded::spawn(consumer.clone(), source(), &bus, options.clone());
    let writing = spawn_producer(producer.clone());
    produce(&producer, "test.other", 300, 600).await;
    let mut restarts = 0;
    for round in 0..6 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        worker.abort();
        if round % 2 == 1 {
            relay.abort();
            relay = Relay::new(producer.clone(), bus.clone()).spawn(Duration::from_millis(20));
        }
        // Down for a while: what is published meanwhile goes by on the bus unheard.
        tokio::time::sleep(Duration::from_millis(100)).await;
        worker = embedded::spawn(consumer.clone(), source(), &bus, options.clone());
        restarts += 1;
    }
    writing.await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while effects(&db).await.0 < EVENTS as i64 || unpublished(&producer).await > 0 {
        assert!(
            Instant::now() < deadline,
            "not settled: {:?}",
            effects(&db).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (rows, distinct) = effects(&db).await;
    eprintln!(
        "embedded ({}): {EVENTS} events, {rows} effects ({distinct} distinct), consumer \
         restarted {restarts}x, relay 3x; settled in {:.1}s",
        consumer_db.backend().name(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(rows, EVENTS as i64, "every effect once, none twice");
    assert_eq!(distinct, EVENTS as i64);
    assert_eq!(dead_letter_count(&consumer).await, 0, "no dead letters");
    relay.abort();
    worker.abort();
}

/// Events 0..5 with a poisoned one (fails permanently) and a flaky one (fails every time
/// until fixed): both end in the dead letters, the rest apply; once fixed, a replay applies
/// them, once.
async fn produce_poison(db: &Db) {
    let payloads = ["ok", "ok", "poison", "flaky", "ok"];
    db.write(move |c| -> Result<(), pbm_db::StoreError> {
        for (i, p) in payloads.iter().enumerate() {
            pbm_db::platform::insert_outbox(
                c,
                &pbm_db::platform::NewOutboxEvent {
                    occurred_at: pbm_db::now(),
                    service: "pbm.test".into(),
                    topic: TOPIC.into(),
                    entity_id: format!("E{i}"),
                    payload: format!("{{\"kind\":\"{p}\"}}"),
                },
            )?;
        }
        Ok(())
    })
    .await
    .unwrap();
}

async fn replays_dead_letters(consumer: &Consumer, failing: &AtomicBool, db: &Db) {
    let letters = dead_letters::list(consumer, false).await.unwrap();
    assert_eq!(letters.len(), 2, "{letters:?}");
    assert!(
        letters
            .iter()
            .any(|l| l.reason == "poisoned" && l.attempts == 1)
    );
    assert!(
        letters
            .iter()
            .any(|l| l.reason == "not yet" || l.reason.contains("delivered"))
    );
    // Still broken: the replay fails and the letter stays.
    let poisoned = letters.iter().find(|l| l.reason == "poisoned").unwrap().id;
    assert!(dead_letters::replay(consumer, poisoned).await.is_err());
    assert_eq!(dead_letters::list(consumer, false).await.unwrap().len(), 2);

    failing.store(false, std::sync::atomic::Ordering::SeqCst);
    let (applied, failed) = dead_letters::replay_all(consumer).await.unwrap();
    assert_eq!((applied, failed.len()), (2, 0), "{failed:?}");
    assert_eq!(effects(db).await, (5, 5));
    assert!(
        dead_letters::list(consumer, false)
            .await
            .unwrap()
            .is_empty()
    );
    let all = dead_letters::list(consumer, true).await.unwrap();
    assert!(all.iter().all(|l| l.replayed_at.is_some()));
    // A second replay changes nothing.
    dead_letters::replay(consumer, all[0].id).await.unwrap();
    assert_eq!(effects(db).await, (5, 5));
}

async fn distributed_dead_letters(consumer_db: TestDatabase) {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let url = redis.url();
    let producer_db = TestDatabase::sqlite();
    let producer = migrated(&producer_db, false).await;
    let db = migrated(&consumer_db, true).await;
    let failing = Arc::new(AtomicBool::new(true));
    let consumer = support::consumer(GROUP, TOPIC, db.clone(), failing.clone());
    produce_poison(&producer).await;
    let relay = redis_relay(&producer, &url).await;
    let options = StreamOptions {
        min_idle: Duration::from_millis(100),
        reclaim_every: Duration::from_millis(100),
        max_deliveries: 2,
        ..stream_options()
    };
    let client = redis::Client::open(url.as_str()).unwrap();
    let worker = tokio::spawn(streams::run(
        client,
        NS.into(),
        consumer.clone(),
        options,
        "w".into(),
    ));
    let deadline = Instant::now() + Duration::from_secs(20);
    while dead_letter_count(&consumer).await < 2
        || pending(&url, &stream_key(NS, TOPIC), GROUP).await != Some(0)
    {
        assert!(Instant::now() < deadline, "{:?}", effects(&db).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(effects(&db).await, (3, 3));
    worker.abort();
    relay.abort();
    replays_dead_letters(&consumer, &failing, &db).await;
}

async fn embedded_dead_letters(consumer_db: TestDatabase) {
    let producer_db = TestDatabase::sqlite();
    let producer = migrated(&producer_db, false).await;
    let db = migrated(&consumer_db, true).await;
    let failing = Arc::new(AtomicBool::new(true));
    let consumer = support::consumer(GROUP, TOPIC, db.clone(), failing.clone());
    produce_poison(&producer).await;
    let bus = InProcessBus::default();
    let relay = Relay::new(producer.clone(), bus.clone()).spawn(Duration::from_millis(20));
    let options = EmbeddedOptions {
        poll_every: Duration::from_millis(50),
        max_attempts: 3,
        retry_after: Duration::from_millis(20),
        ..EmbeddedOptions::default()
    };
    let source = vec![Source {
        name: "producer".into(),
        db: producer.clone(),
    }];
    let worker = embedded::spawn(consumer.clone(), source, &bus, options);
    let deadline = Instant::now() + Duration::from_secs(20);
    while dead_letter_count(&consumer).await < 2 || effects(&db).await.0 < 3 {
        assert!(Instant::now() < deadline, "{:?}", effects(&db).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(effects(&db).await, (3, 3));
    worker.abort();
    relay.abort();
    replays_dead_letters(&consumer, &failing, &db).await;
}

pbm_db::backend_tests! {
    distributed_exactly_once_under_faults => distributed_faults;
    embedded_exactly_once_across_restarts => embedded_restarts;
    distributed_poison_to_dead_letters_and_replay => distributed_dead_letters;
    embedded_poison_to_dead_letters_and_replay => embedded_dead_letters;
}
