//! The exact decimal column and the platform tables behave the same on both backends.

use diesel::prelude::*;
use pbm_db::platform::{self, AuditEntry, IdempotencyRecord};
use pbm_db::testing::TestDatabase;
use pbm_db::{AnyConnection, Money, StoreError};
use rust_decimal_macros::dec;

diesel::table! {
    use diesel::sql_types::*;
    use pbm_db::sql_types::Amount;
    ledger (id) {
        id -> Integer,
        amount -> Amount,
    }
}

fn create_ledger(conn: &mut AnyConnection) -> Result<(), StoreError> {
    diesel::sql_query("CREATE TABLE ledger (id INTEGER PRIMARY KEY, amount NUMERIC(20,4))")
        .execute(conn)?;
    Ok(())
}

async fn decimals_round_trip_exactly(test_db: TestDatabase) {
    let db = test_db.connect();
    db.migrate(&[&pbm_db::PLATFORM_MIGRATIONS]).await.unwrap();
    let values = [
        dec!(0.1),
        dec!(0.2),
        dec!(12345678901234.5678),
        dec!(-0.0001),
    ];
    db.write(move |c| -> Result<(), StoreError> {
        if matches!(c, AnyConnection::Sqlite(_)) {
            diesel::sql_query("CREATE TABLE ledger (id INTEGER PRIMARY KEY, amount TEXT)")
                .execute(c)?;
        } else {
            create_ledger(c)?;
        }
        for (i, v) in values.iter().enumerate() {
            diesel::insert_into(ledger::table)
                .values((ledger::id.eq(i as i32), ledger::amount.eq(Money(*v))))
                .execute(c)?;
        }
        Ok(())
    })
    .await
    .unwrap();
    let read: Vec<Money> = db
        .read(|c| {
            ledger::table
                .order(ledger::id)
                .select(ledger::amount)
                .load(c)
                .map_err(StoreError::from)
        })
        .await
        .unwrap();
    let sum: rust_decimal::Decimal = read.iter().map(|m| m.0).sum();
    assert_eq!(read.iter().map(|m| m.0).collect::<Vec<_>>(), values);
    assert_eq!(sum, dec!(12345678901234.8677));
}

async fn failed_transaction_writes_nothing(test_db: TestDatabase) {
    let db = test_db.connect();
    db.migrate(&[&pbm_db::PLATFORM_MIGRATIONS]).await.unwrap();
    let entry = AuditEntry {
        occurred_at: pbm_db::now(),
        service: "test".into(),
        method: "M".into(),
        request_id: "r1".into(),
        subject: "s".into(),
        role: "finance_admin".into(),
        mof_div_code: "140500".into(),
        entity_type: "thing".into(),
        entity_id: "1".into(),
        outcome: "OK".into(),
        detail: String::new(),
    };
    let e2 = entry.clone();
    let result = db
        .write(move |c| -> Result<(), StoreError> {
            platform::insert_audit(c, &e2)?;
            let rec = IdempotencyRecord {
                service: "test".into(),
                request_id: "r1".into(),
                subject: "s".into(),
                method: "M".into(),
                request_hash: "h".into(),
                response: vec![1, 2, 3],
                created_at: pbm_db::now(),
            };
            platform::insert_idempotency(c, &rec)?;
            platform::insert_idempotency(c, &rec)?; // duplicate key: the whole transaction fails
            Ok(())
        })
        .await;
    assert!(
        matches!(result, Err(StoreError::UniqueViolation(_))),
        "{result:?}"
    );
    let audit = db
        .read(|c| platform::audit_of(c, "thing", "1"))
        .await
        .unwrap();
    assert!(audit.is_empty(), "rolled back audit rows must not persist");
    let idem = db
        .read(|c| platform::find_idempotency(c, "test", "r1"))
        .await
        .unwrap();
    assert!(idem.is_none());
}

#[derive(QueryableByName)]
struct Pid {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

fn backend_pid(c: &mut AnyConnection) -> Result<i32, StoreError> {
    Ok(diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<Pid>(c)?
        .pid)
}

/// The pool does not ping a connection in use within `check_after_idle`; one whose server side
/// went away meanwhile fails the one request that finds it dead and is then replaced, not
/// handed out again.
#[tokio::test]
async fn a_dead_connection_is_replaced_after_one_failure() {
    let Some(test_db) = TestDatabase::postgres() else {
        return;
    };
    let options = pbm_db::DbOptions {
        max_connections: 1,
        // Never idle long enough to be checked before use, whatever the machine's pace.
        check_after_idle: std::time::Duration::from_secs(3600),
        ..pbm_db::DbOptions::for_backend(pbm_db::Backend::Postgres)
    };
    let db = pbm_db::Db::connect(test_db.url(), &options).unwrap();
    let admin = test_db.connect();
    let first = db.read(backend_pid).await.unwrap();
    assert_eq!(
        db.read(backend_pid).await.unwrap(),
        first,
        "the pool reuses it"
    );
    admin
        .read(move |c| -> Result<(), StoreError> {
            diesel::sql_query(format!("SELECT pg_terminate_backend({first})")).execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        db.read(backend_pid).await.is_err(),
        "the dead connection fails once"
    );
    let second = db.read(backend_pid).await.unwrap();
    assert_ne!(second, first, "then a new connection serves");
    let written = db
        .write(|c| -> Result<i32, StoreError> { backend_pid(c) })
        .await
        .unwrap();
    assert_eq!(written, second);
}

/// A connection unused for longer than `check_after_idle` is checked before it is handed out:
/// one whose server side went away meanwhile (a restart) is replaced without failing a request.
#[tokio::test]
async fn an_idle_dead_connection_is_replaced_before_use() {
    let Some(test_db) = TestDatabase::postgres() else {
        return;
    };
    let options = pbm_db::DbOptions {
        max_connections: 2,
        check_after_idle: std::time::Duration::from_millis(50),
        ..pbm_db::DbOptions::for_backend(pbm_db::Backend::Postgres)
    };
    let db = pbm_db::Db::connect(test_db.url(), &options).unwrap();
    let admin = test_db.connect();
    // Two connections in the pool, both killed while idle.
    let (a, b) = tokio::join!(
        db.read(|c| -> Result<i32, StoreError> {
            std::thread::sleep(std::time::Duration::from_millis(100));
            backend_pid(c)
        }),
        db.read(|c| -> Result<i32, StoreError> {
            std::thread::sleep(std::time::Duration::from_millis(100));
            backend_pid(c)
        })
    );
    let killed = [a.unwrap(), b.unwrap()];
    admin
        .read(move |c| -> Result<(), StoreError> {
            for pid in killed {
                diesel::sql_query(format!("SELECT pg_terminate_backend({pid})")).execute(c)?;
            }
            Ok(())
        })
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let fresh = db.read(backend_pid).await.expect("no request fails");
    assert!(!killed.contains(&fresh), "a new connection serves");
    let written = db
        .write(|c| -> Result<i32, StoreError> { backend_pid(c) })
        .await
        .expect("a write finds a live connection too");
    assert!(!killed.contains(&written));
}

/// Embedded consumers read published outbox rows after a cursor (published_at, id) in that
/// order; rows a relay marked together share their time, so the id breaks the tie.
async fn outbox_reads_after_a_cursor(test_db: TestDatabase) {
    use pbm_db::platform::events::{Cursor, published_outbox_after};
    let db = test_db.connect();
    db.migrate(&[&pbm_db::PLATFORM_MIGRATIONS]).await.unwrap();
    let ids = |rows: Vec<platform::OutboxEvent>| rows.iter().map(|r| r.id).collect::<Vec<_>>();
    let (t1, t2) = db
        .write(|c| -> Result<_, StoreError> {
            for n in 0..5 {
                platform::insert_outbox(
                    c,
                    &platform::NewOutboxEvent {
                        occurred_at: pbm_db::now(),
                        service: "test".into(),
                        topic: "t".into(),
                        entity_id: n.to_string(),
                        payload: "{}".into(),
                    },
                )?;
            }
            let t1 = pbm_db::now();
            let t2 = t1 + chrono::Duration::seconds(1);
            platform::mark_outbox_published(c, &[1, 2, 3], t1)?;
            platform::mark_outbox_published(c, &[4, 5], t2)?;
            Ok((t1, t2))
        })
        .await
        .unwrap();
    let after = |at: Option<chrono::NaiveDateTime>, last_id, limit| {
        let cursor = at.map(|published_at| Cursor {
            published_at,
            last_id,
        });
        db.read(move |c| published_outbox_after(c, cursor, limit))
    };
    assert_eq!(ids(after(None, 0, 10).await.unwrap()), [1, 2, 3, 4, 5]);
    assert_eq!(ids(after(Some(t1), 2, 10).await.unwrap()), [3, 4, 5]);
    assert_eq!(ids(after(Some(t1), 3, 1).await.unwrap()), [4]);
    assert_eq!(ids(after(Some(t2), 4, 10).await.unwrap()), [5]);
    assert!(after(Some(t2), 5, 10).await.unwrap().is_empty());
}

pbm_db::backend_tests! {
    decimal_round_trip => decimals_round_trip_exactly;
    rollback => failed_transaction_writes_nothing;
    outbox_cursor => outbox_reads_after_a_cursor;
}

/// The embedded default syncs SQLite's WAL at every commit (`synchronous = FULL`, 2), so an
/// acknowledged write survives a power failure; `normal` (1) is the stated trade-off.
#[tokio::test]
async fn sqlite_syncs_every_commit_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("sync.sqlite3");
    let url = url.to_str().unwrap();
    for (setting, expected) in [
        (pbm_db::SqliteSynchronous::default(), 2),
        (pbm_db::SqliteSynchronous::Normal, 1),
    ] {
        let options = pbm_db::DbOptions {
            sqlite_synchronous: setting,
            ..pbm_db::DbOptions::for_backend(pbm_db::Backend::Sqlite)
        };
        let db = pbm_db::Db::connect(url, &options).unwrap();
        let level = db
            .read(|c| -> Result<i32, StoreError> {
                #[derive(QueryableByName)]
                struct Level {
                    #[diesel(sql_type = diesel::sql_types::Integer)]
                    synchronous: i32,
                }
                Ok(diesel::sql_query("PRAGMA synchronous")
                    .get_result::<Level>(c)?
                    .synchronous)
            })
            .await
            .unwrap();
        assert_eq!(level, expected, "{setting:?}");
    }
    assert_eq!("NORMAL".parse(), Ok(pbm_db::SqliteSynchronous::Normal));
    assert!("off".parse::<pbm_db::SqliteSynchronous>().is_err());
}
