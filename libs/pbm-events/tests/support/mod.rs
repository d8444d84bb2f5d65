//! What the event consumer tests share: a Redis server of their own (to kill and restart), a
//! producer's outbox, and a consumer whose effect is one counted row per event.

#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pbm_db::diesel::prelude::*;
use pbm_db::platform::{self, NewOutboxEvent};
use pbm_db::testing::TestDatabase;
use pbm_db::{AnyConnection, Backend, Db, StoreError};
use pbm_events::{Consumer, Event, HandlerError};

diesel::table! {
    test_effects (id) {
        id -> BigInt,
        event_id -> Text,
    }
}

/// A `redis-server` of the test's own on a free port, persisting every write (`appendonly yes`,
/// `appendfsync always`) in a directory that outlives its kills, so the streams, groups and
/// acknowledgements survive `kill -9`.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

/// The `redis-server` binary, found on PATH as scripts/test-all.sh does (`command -v`); `None`
/// (the test skips) when it is missing, unless `PBM_REQUIRE_REDIS=1`.
fn redis_binary() -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("redis-server"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var("PBM_REQUIRE_REDIS").is_ok_and(|v| v == "1") {
            panic!("redis-server not found on PATH and PBM_REQUIRE_REDIS=1");
        }
        eprintln!("note: redis-server not found; event consumer test not run");
    }
    found
}

impl RedisServer {
    pub fn start() -> Option<RedisServer> {
        redis_binary()?;
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = RedisServer {
            child: None,
            port,
            dir: tempfile::tempdir().unwrap(),
        };
        server.restart();
        Some(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Starts the server (again) on the same port and data directory; returns once it answers.
    pub fn restart(&mut self) {
        let binary = redis_binary().unwrap();
        let child = Command::new(binary)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(self.dir.path())
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .args(["--logfile", "redis.log"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if ping(self.port) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer PING"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let mut buf = [0u8; 16];
    s.write_all(b"PING\r\n").is_ok()
        && s.read(&mut buf)
            .is_ok_and(|n| buf[..n].starts_with(b"+PONG"))
}

/// A migrated database, with the effects table on the consumer's side.
pub async fn migrated(test_db: &TestDatabase, effects: bool) -> Db {
    let db = test_db.connect();
    db.migrate(&[&pbm_db::PLATFORM_MIGRATIONS]).await.unwrap();
    if effects {
        let ddl = match test_db.backend() {
            Backend::Postgres => {
                "CREATE TABLE test_effects (id BIGSERIAL PRIMARY KEY, event_id TEXT NOT NULL)"
            }
            Backend::Sqlite => {
                "CREATE TABLE test_effects (id INTEGER PRIMARY KEY AUTOINCREMENT, \
                 event_id TEXT NOT NULL)"
            }
        };
        db.write(move |c| -> Result<(), StoreError> {
            diesel::sql_query(ddl).execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    }
    db
}

/// Writes events `from..to` of `topic` to `db`'s outbox in one transaction.
pub async fn produce(db: &Db, topic: &str, from: usize, to: usize) {
    produce_as(db, "pbm.test", topic, from, to).await;
}

/// [`produce`] as service `service` (the first part of each event's id).
pub async fn produce_as(db: &Db, service: &str, topic: &str, from: usize, to: usize) {
    let (service, topic) = (service.to_owned(), topic.to_owned());
    db.write(move |c| -> Result<(), StoreError> {
        for i in from..to {
            platform::insert_outbox(
                c,
                &NewOutboxEvent {
                    occurred_at: pbm_db::now(),
                    service: service.clone(),
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
}

/// The effect: one row per application. A payload containing `poison` fails permanently and
/// one containing `flaky` fails for now, while `failing` is set.
pub fn consumer(name: &str, topic: &str, db: Db, failing: Arc<AtomicBool>) -> Consumer {
    Consumer::new(
        name,
        &[topic],
        db,
        move |c: &mut AnyConnection, e: &Event| -> Result<(), HandlerError> {
            if failing.load(Ordering::SeqCst) {
                if e.payload.contains("poison") {
                    return Err(HandlerError::permanent("poisoned"));
                }
                if e.payload.contains("flaky") {
                    return Err(HandlerError::retryable("not yet"));
                }
            }
            pbm_db::diesel::insert_into(test_effects::table)
                .values(test_effects::event_id.eq(&e.id))
                .execute(c)?;
            Ok(())
        },
    )
}

/// (rows, distinct event ids) of the effects table.
pub async fn effects(db: &Db) -> (i64, i64) {
    db.read(|c| -> Result<(i64, i64), StoreError> {
        let rows = test_effects::table.count().get_result(c)?;
        let ids: Vec<String> = test_effects::table.select(test_effects::event_id).load(c)?;
        let distinct = ids.iter().collect::<std::collections::HashSet<_>>().len() as i64;
        Ok((rows, distinct))
    })
    .await
    .unwrap()
}

/// Outbox rows not published yet.
pub async fn unpublished(db: &Db) -> usize {
    db.read(|c| platform::unpublished_outbox(c, 100_000))
        .await
        .unwrap()
        .len()
}

/// Entries pending in `group` of stream `key` (`XPENDING` summary), `None` if Redis is down.
pub async fn pending(url: &str, key: &str, group: &str) -> Option<i64> {
    let client = redis::Client::open(url).ok()?;
    let mut conn = client.get_multiplexed_async_connection().await.ok()?;
    let summary: redis::Value = redis::cmd("XPENDING")
        .arg(key)
        .arg(group)
        .query_async(&mut conn)
        .await
        .ok()?;
    match summary {
        redis::Value::Array(items) => match items.first() {
            Some(redis::Value::Int(n)) => Some(*n),
            _ => None,
        },
        _ => None,
    }
}

/// `XLEN`, `None` if Redis is down.
pub async fn stream_len(url: &str, key: &str) -> Option<i64> {
    let client = redis::Client::open(url).ok()?;
    let mut conn = client.get_multiplexed_async_connection().await.ok()?;
    redis::cmd("XLEN")
        .arg(key)
        .query_async(&mut conn)
        .await
        .ok()
}
