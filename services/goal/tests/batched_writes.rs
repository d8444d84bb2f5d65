//! The statements PostgreSQL runs for a batch of workflow steps (`src/ops/steps.rs`): one read of
//! several goals in their context, and one write of several guarded transitions. Checked directly,
//! because whether concurrent requests share a batch is up to timing.

use chrono::NaiveDateTime;
use pbm_db::diesel::{Connection, PgConnection, RunQueryDsl};
use pbm_db::platform::{AuditEntry, IdempotencyRecord};
use pbm_db::testing::TestDatabase;
use pbm_goal::store::{self, EventRow, Transition};
use pbm_server::Records;
use pbm_types::DivisionCode;

const SEED: &str = "INSERT INTO goals (id, fiscal_year, target_kind, target_code, agency_code, \
     department_code, status, approved_version, published_version, state, revision, changed_by, \
     changed_at, working_version) SELECT n, 2026, 'project', 'P-' || n, '140500101', '140500100', \
     'draft', NULL, NULL, '{}', 1, 'seed', '2026-01-15 08:00:00', 1 FROM generate_series(1, 3) n; \
     INSERT INTO goal_versions (goal_id, version, declaration, saved_by, saved_at) \
     SELECT n, 1, '{\"n\":' || n || '}', 'seed', '2026-01-15 08:00:00' FROM generate_series(1, 3) n;";

fn at() -> NaiveDateTime {
    NaiveDateTime::parse_from_str("2026-03-01 09:00:00", "%Y-%m-%d %H:%M:%S").unwrap()
}

fn event(goal_id: i64) -> EventRow {
    EventRow {
        id: 0,
        goal_id,
        action: "submit".into(),
        from_status: "draft".into(),
        to_status: "submitted".into(),
        version: 1,
        comments: String::new(),
        changes: "[]".into(),
        budget_adjustment_ref: String::new(),
        role: "budget_unit".into(),
        actor: "unit-1".into(),
        at: at(),
    }
}

fn records(request_id: &str, goal_id: i64) -> Records {
    let audit = AuditEntry {
        occurred_at: at(),
        service: "pbm.goal".into(),
        method: "SubmitGoal".into(),
        request_id: request_id.into(),
        subject: "unit-1".into(),
        role: "budget_unit".into(),
        mof_div_code: "140500".into(),
        entity_type: "goal".into(),
        entity_id: goal_id.to_string(),
        outcome: "OK".into(),
        detail: "submit: draft → submitted".into(),
    };
    Records {
        audit_mac: audit.row_mac(),
        audit,
        idempotency: IdempotencyRecord {
            service: "pbm.goal".into(),
            request_id: request_id.into(),
            subject: "unit-1".into(),
            method: "SubmitGoal".into(),
            request_hash: format!("hash-{request_id}"),
            response: vec![goal_id as u8; 3],
            created_at: at(),
        },
    }
}

fn count(pg: &mut PgConnection, sql: &str) -> i64 {
    #[derive(pbm_db::diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = pbm_db::diesel::sql_types::BigInt)]
        n: i64,
    }
    pbm_db::diesel::sql_query(sql)
        .get_result::<N>(pg)
        .unwrap()
        .n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_reads_and_writes_several_goals_in_one_statement_each() {
    let Some(db) = TestDatabase::postgres() else {
        return;
    };
    // Migrated as the service migrates its database.
    pbm_goal::AppState::open(
        db.connect(),
        DivisionCode::parse("140500").unwrap(),
        pbm_goal::Library::new("http://127.0.0.1:9").unwrap(),
        pbm_goal::Pool::new("http://127.0.0.1:9").unwrap(),
    )
    .await
    .unwrap();
    let mut pg = PgConnection::establish(db.url()).unwrap();
    pbm_db::diesel::connection::SimpleConnection::batch_execute(&mut pg, SEED).unwrap();

    // The read: every goal asked for (an unknown id is simply absent), with its declaration.
    let found = store::goals_in_context(&mut pg, &[1, 2, 3, 99]).unwrap();
    let mut ids: Vec<i64> = found.keys().copied().collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(found[&2].1, "{\"n\":2}");

    // The write: goals 1 and 2 move; goal 3 was decided on revision 0 (stale) and does not,
    // and nothing is recorded for it.
    let moved_rows: Vec<_> = [1, 2, 3]
        .iter()
        .map(|id| {
            let mut row = found[id].0.clone();
            row.status = "submitted".into();
            row.revision = 2;
            row
        })
        .collect();
    let events: Vec<EventRow> = (1..=3).map(event).collect();
    let recs: Vec<Records> = (1..=3).map(|id| records(&format!("b-{id}"), id)).collect();
    let batch: Vec<Transition<'_>> = (0..3)
        .map(|k| Transition {
            row: &moved_rows[k],
            expected: if k == 2 { 0 } else { 1 },
            event: &events[k],
            records: &recs[k],
        })
        .collect();
    let mut moved = store::write_transitions(&mut pg, &batch).unwrap();
    moved.sort_unstable();
    assert_eq!(moved, [1, 2]);
    assert_eq!(
        count(
            &mut pg,
            "SELECT count(*) AS n FROM goals WHERE status = 'submitted' AND revision = 2"
        ),
        2
    );
    assert_eq!(count(&mut pg, "SELECT count(*) AS n FROM goal_events"), 2);
    assert_eq!(
        count(
            &mut pg,
            "SELECT count(*) AS n FROM pbm_audit_log WHERE request_id LIKE 'b-%'"
        ),
        2
    );
    assert_eq!(
        count(
            &mut pg,
            "SELECT count(*) AS n FROM pbm_idempotency WHERE request_id IN ('b-1', 'b-2')"
        ),
        2
    );
    assert_eq!(
        count(
            &mut pg,
            "SELECT count(*) AS n FROM pbm_idempotency WHERE request_id = 'b-3'"
        ),
        0
    );

    // A batch holding a request id already recorded fails as a whole and writes nothing: the
    // service then writes each of its steps alone.
    let mut third = moved_rows[2].clone();
    third.revision = 2;
    let again = records("b-1", 3);
    let fresh = records("b-3", 3);
    let failing = [
        Transition {
            row: &third,
            expected: 1,
            event: &events[2],
            records: &fresh,
        },
        Transition {
            row: &moved_rows[0],
            expected: 2,
            event: &events[0],
            records: &again,
        },
    ];
    let err = store::write_transitions(&mut pg, &failing).unwrap_err();
    assert!(
        matches!(err, pbm_db::StoreError::UniqueViolation(_)),
        "{err:?}"
    );
    assert_eq!(
        count(
            &mut pg,
            "SELECT count(*) AS n FROM goals WHERE id = 3 AND revision = 1"
        ),
        1
    );
    assert_eq!(count(&mut pg, "SELECT count(*) AS n FROM goal_events"), 2);

    // The audit lines the batch wrote carry their row MACs: the sealer chains both and the
    // chain verifies (docs/SECURITY.md "Audit log").
    let pool = db.connect();
    let key = pbm_db::platform::chain::installed_key();
    let sealing = pbm_db::platform::chain::seal(&pool, &key).await.unwrap();
    assert_eq!((sealing.sealed, sealing.rejected.len()), (2, 0));
    let verdict = pool
        .read(move |c| pbm_db::platform::chain::verify(c, &key))
        .await
        .unwrap();
    assert!(verdict.ok(), "{verdict:?}");
    assert_eq!((verdict.sealed, verdict.head_seq), (2, 2));
}
