//! The audit trail's chain (docs/SECURITY.md "Audit log") on both backends: rows edited,
//! deleted, inserted, copied or cut from the tail in the database are each reported at their
//! exact sequence number; rows older than the chain are sealed once; two sealers at once keep
//! one chain.

use diesel::prelude::*;
use pbm_db::platform::chain::{self, Break, Verdict};
use pbm_db::platform::schema::{pbm_audit_chain, pbm_audit_log};
use pbm_db::platform::{self, AuditEntry, AuditRecord};
use pbm_db::testing::TestDatabase;
use pbm_db::{AnyConnection, Db, StoreError};

pbm_db::backend_tests! {
    edits_deletions_and_insertions_are_found_where_they_are => tamper;
    rows_older_than_the_chain_are_sealed_once => legacy;
    two_sealers_at_once_keep_one_chain => concurrent_sealers;
}

fn entry(n: usize) -> AuditEntry {
    AuditEntry {
        occurred_at: pbm_db::now(),
        service: "pbm.test".into(),
        method: "Change".into(),
        request_id: format!("r-{n}"),
        subject: "fin-1".into(),
        role: "finance_admin".into(),
        mof_div_code: "140500".into(),
        entity_type: "thing".into(),
        entity_id: n.to_string(),
        outcome: "OK".into(),
        detail: format!("change {n}"),
    }
}

async fn migrated(test_db: &TestDatabase) -> Db {
    let db = test_db.connect();
    db.migrate(&[&pbm_db::PLATFORM_MIGRATIONS]).await.unwrap();
    db
}

async fn write(db: &Db, from: usize, to: usize) {
    db.write(move |c| -> Result<(), StoreError> {
        (from..to).try_for_each(|n| platform::insert_audit(c, &entry(n)))
    })
    .await
    .unwrap();
}

async fn seal_and_verify(db: &Db) -> Verdict {
    let key = chain::installed_key();
    chain::seal(db, &key).await.unwrap();
    db.read(move |c| chain::verify(c, &key)).await.unwrap()
}

async fn sql(db: &Db, statement: &'static str) -> usize {
    db.write(move |c| ok(diesel::sql_query(statement).execute(c)))
        .await
        .unwrap()
}

async fn row_at(db: &Db, seq: i64) -> AuditRecord {
    db.read(move |c| {
        ok({
            pbm_audit_log::table
                .filter(pbm_audit_log::chain_seq.eq(seq))
                .select(AuditRecord::as_select())
                .first(c)
        })
    })
    .await
    .unwrap()
}

/// Writes `row` back exactly as it was read (its id, MAC and place in the chain).
fn put_back(c: &mut AnyConnection, row: &AuditRecord) -> QueryResult<usize> {
    use pbm_audit_log::*;
    diesel::insert_into(table)
        .values((
            id.eq(row.id),
            (row.entry(), row_mac.eq(&row.row_mac)),
            chain_seq.eq(row.chain_seq),
            chain_hash.eq(&row.chain_hash),
        ))
        .execute(c)
}

/// A query's result as the pool's closures return it.
fn ok<T>(result: QueryResult<T>) -> Result<T, StoreError> {
    result.map_err(StoreError::from)
}

fn broken_at(verdict: &Verdict, seq: i64, why: Break) {
    assert_eq!(verdict.broken, Some((seq, why)), "{verdict:?}");
}

async fn tamper(test_db: TestDatabase) {
    let db = migrated(&test_db).await;
    write(&db, 1, 11).await;
    let verdict = seal_and_verify(&db).await;
    assert!(verdict.ok(), "{verdict:?}");
    assert_eq!(
        (verdict.sealed, verdict.pending, verdict.head_seq),
        (10, 0, 10)
    );

    // Edited: the detail of row 4, then put back.
    let row4 = row_at(&db, 4).await;
    sql(
        &db,
        "UPDATE pbm_audit_log SET detail = 'nothing happened' WHERE chain_seq = 4",
    )
    .await;
    broken_at(&seal_and_verify(&db).await, 4, Break::RowAltered);
    sql(
        &db,
        "UPDATE pbm_audit_log SET detail = 'change 4' WHERE chain_seq = 4",
    )
    .await;
    assert!(seal_and_verify(&db).await.ok());
    // Its time, by a microsecond.
    let at = row4.occurred_at + chrono::TimeDelta::microseconds(1);
    db.write(move |c| {
        ok({
            diesel::update(pbm_audit_log::table.filter(pbm_audit_log::chain_seq.eq(4)))
                .set(pbm_audit_log::occurred_at.eq(at))
                .execute(c)
        })
    })
    .await
    .unwrap();
    broken_at(&seal_and_verify(&db).await, 4, Break::RowAltered);
    let at = row4.occurred_at;
    db.write(move |c| {
        ok({
            diesel::update(pbm_audit_log::table.filter(pbm_audit_log::chain_seq.eq(4)))
                .set(pbm_audit_log::occurred_at.eq(at))
                .execute(c)
        })
    })
    .await
    .unwrap();

    // Deleted: row 6, then put back.
    let row6 = row_at(&db, 6).await;
    assert_eq!(
        sql(&db, "DELETE FROM pbm_audit_log WHERE chain_seq = 6").await,
        1
    );
    broken_at(&seal_and_verify(&db).await, 6, Break::RowMissing);
    let back = row6.clone();
    db.write(move |c| ok(put_back(c, &back))).await.unwrap();
    assert!(seal_and_verify(&db).await.ok());

    // Deleted from the tail: the head row still names 10.
    let row10 = row_at(&db, 10).await;
    sql(&db, "DELETE FROM pbm_audit_log WHERE chain_seq = 10").await;
    broken_at(&seal_and_verify(&db).await, 10, Break::RowMissing);
    let back = row10.clone();
    db.write(move |c| ok(put_back(c, &back))).await.unwrap();

    // Inserted at 3: the rows from 3 on moved up by one, a forged row put at 3 (its MAC and
    // hash made up without the key).
    sql(
        &db,
        "UPDATE pbm_audit_log SET chain_seq = -chain_seq - 1 WHERE chain_seq >= 3",
    )
    .await;
    sql(
        &db,
        "UPDATE pbm_audit_log SET chain_seq = -chain_seq WHERE chain_seq < 0",
    )
    .await;
    sql(&db, "UPDATE pbm_audit_chain SET head_seq = head_seq + 1").await;
    let mut forged = row_at(&db, 2).await;
    forged.id = 1_000;
    forged.detail = "a change nobody made".into();
    forged.chain_seq = Some(3);
    forged.row_mac = Some("ab".repeat(48));
    forged.chain_hash = Some("cd".repeat(32));
    let row = forged.clone();
    db.write(move |c| ok(put_back(c, &row))).await.unwrap();
    broken_at(&seal_and_verify(&db).await, 3, Break::RowAltered);
    // A copy of row 2 (valid MAC) there instead: found as a copy.
    let mut copy = row_at(&db, 2).await;
    copy.id = 1_000;
    copy.chain_seq = Some(3);
    sql(&db, "DELETE FROM pbm_audit_log WHERE id = 1000").await;
    db.write(move |c| ok(put_back(c, &copy))).await.unwrap();
    broken_at(&seal_and_verify(&db).await, 3, Break::RowDuplicated);
    // Undo: the copy out, the rows back down.
    sql(&db, "DELETE FROM pbm_audit_log WHERE id = 1000").await;
    sql(
        &db,
        "UPDATE pbm_audit_log SET chain_seq = -chain_seq + 1 WHERE chain_seq >= 4",
    )
    .await;
    sql(
        &db,
        "UPDATE pbm_audit_log SET chain_seq = -chain_seq WHERE chain_seq < 0",
    )
    .await;
    sql(&db, "UPDATE pbm_audit_chain SET head_seq = head_seq - 1").await;
    assert!(seal_and_verify(&db).await.ok());

    // Inserted without the key and not sealed yet: refused by the sealer, reported where it
    // sits (after the head), and the chain goes on past it.
    let mut forged = row_at(&db, 1).await;
    forged.id = 2_000;
    forged.row_mac = Some("ab".repeat(48));
    forged.chain_seq = None;
    forged.chain_hash = None;
    db.write(move |c| ok(put_back(c, &forged))).await.unwrap();
    let verdict = seal_and_verify(&db).await;
    broken_at(&verdict, 11, Break::UnsealedRowInvalid);
    assert_eq!(verdict.broken_row_id, Some(2_000));
    write(&db, 11, 13).await;
    let verdict = seal_and_verify(&db).await;
    assert_eq!((verdict.sealed, verdict.head_seq), (12, 12), "{verdict:?}");
    assert_eq!(verdict.broken.map(|b| b.1), Some(Break::UnsealedRowInvalid));
    assert_eq!(verdict.broken_row_id, Some(2_000));
    let marked: Option<String> = db
        .read(|c| {
            ok({
                pbm_audit_log::table
                    .filter(pbm_audit_log::id.eq(2_000))
                    .select(pbm_audit_log::chain_hash)
                    .first(c)
            })
        })
        .await
        .unwrap();
    assert_eq!(marked.as_deref(), Some(chain::REJECTED));
    sql(&db, "DELETE FROM pbm_audit_log WHERE id = 2000").await;
    assert!(seal_and_verify(&db).await.ok());
}

async fn legacy(test_db: TestDatabase) {
    let db = migrated(&test_db).await;
    // Rows as written before the chain existed: no row MAC; the migration saw up to id 3.
    for n in 1..=3 {
        db.write(move |c| {
            ok({
                diesel::insert_into(pbm_audit_log::table)
                    .values(entry(n))
                    .execute(c)
            })
        })
        .await
        .unwrap();
    }
    sql(&db, "UPDATE pbm_audit_chain SET legacy_through = 3").await;
    write(&db, 4, 6).await;
    let verdict = seal_and_verify(&db).await;
    assert!(verdict.ok(), "{verdict:?}");
    assert_eq!(verdict.head_seq, 5);
    let first = row_at(&db, 1).await;
    assert!(first.row_mac.unwrap().starts_with("legacy-"));
    // A row without a MAC after the chain started is refused, whatever its id.
    sql(&db, "DELETE FROM pbm_audit_log WHERE chain_seq = 2").await;
    let row = row_at(&db, 1).await;
    db.write(move |c| {
        ok({
            diesel::insert_into(pbm_audit_log::table)
                .values((pbm_audit_log::id.eq(2), row.entry()))
                .execute(c)
        })
    })
    .await
    .unwrap();
    let verdict = seal_and_verify(&db).await;
    broken_at(&verdict, 2, Break::RowMissing);
    let rejected: Option<String> = db
        .read(|c| {
            ok({
                pbm_audit_log::table
                    .filter(pbm_audit_log::id.eq(2))
                    .select(pbm_audit_log::chain_hash)
                    .first(c)
            })
        })
        .await
        .unwrap();
    assert_eq!(rejected.as_deref(), Some(chain::REJECTED));
    // Raising the bound afterwards breaks the first link.
    sql(&db, "DELETE FROM pbm_audit_log WHERE id = 2").await;
    sql(&db, "UPDATE pbm_audit_chain SET legacy_through = 100").await;
    let verdict = seal_and_verify(&db).await;
    assert_eq!(verdict.broken.map(|b| b.0), Some(1), "{verdict:?}");
    let head: i64 = db
        .read(|c| {
            ok({
                pbm_audit_chain::table
                    .select(pbm_audit_chain::head_seq)
                    .first(c)
            })
        })
        .await
        .unwrap();
    assert_eq!(head, 5);
    // The head row deleted: sealing fails, verifying says so.
    sql(&db, "DELETE FROM pbm_audit_chain").await;
    write(&db, 6, 7).await;
    assert!(chain::seal(&db, &chain::installed_key()).await.is_err());
    let key = chain::installed_key();
    let verdict = db.read(move |c| chain::verify(c, &key)).await.unwrap();
    broken_at(&verdict, 1, Break::HeadMissing);
}

async fn concurrent_sealers(test_db: TestDatabase) {
    let db = migrated(&test_db).await;
    // Another replica: a pool of its own on the same database.
    let replica = test_db.connect();
    let writers = (0..4).map(|w| {
        let db = if w % 2 == 0 {
            db.clone()
        } else {
            replica.clone()
        };
        tokio::spawn(async move {
            for k in 0..25 {
                let n = w * 100 + k;
                write(&db, n, n + 2).await;
            }
        })
    });
    let writers: Vec<_> = writers.collect();
    let sealers: Vec<_> = [db.clone(), replica.clone()]
        .into_iter()
        .map(|db| {
            tokio::spawn(async move {
                let key = chain::installed_key();
                for _ in 0..20 {
                    chain::seal(&db, &key).await.unwrap();
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for task in writers.into_iter().chain(sealers) {
        task.await.unwrap();
    }
    let verdict = seal_and_verify(&db).await;
    assert!(verdict.ok(), "{verdict:?}");
    assert_eq!(
        (verdict.sealed, verdict.pending, verdict.head_seq),
        (200, 0, 200)
    );
}
