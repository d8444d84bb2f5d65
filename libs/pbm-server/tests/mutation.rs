//! `run_mutation`: one effect per request id, even under concurrent retries; refusals are
//! audited and write nothing; a reused id with another request is refused. Both backends.

use pbm_auth::{Caller, Role};
use pbm_db::platform::{self, NewOutboxEvent};
use pbm_db::testing::TestDatabase;
use pbm_db::{Db, StoreError};
use pbm_proto::bench::v1::EchoResponse;
use pbm_server::rpc::Rpc;
use pbm_server::{ApiError, Effect, MutationContext, run_mutation};
use pbm_types::DivisionCode;

fn caller(subject: &str) -> Caller {
    Caller {
        subject: subject.into(),
        role: Role::FinanceAdmin,
        mof_div_code: DivisionCode::parse("140525").unwrap(),
        unit: None,
        department: None,
        agency: None,
        expert: None,
        authenticated: true,
    }
}

async fn db(test_db: &TestDatabase) -> Db {
    let db = test_db.connect();
    db.migrate(&[&pbm_db::PLATFORM_MIGRATIONS]).await.unwrap();
    db
}

/// The effect under test: one outbox row, answered with the payload.
async fn mutate(
    db: &Db,
    subject: &str,
    request_id: &str,
    payload: &str,
) -> Result<EchoResponse, ApiError> {
    mutate_as(db, caller(subject), request_id, payload).await
}

/// [`mutate`] by any caller. Only finance may do it (as a use case authorises its caller
/// inside its effect).
async fn mutate_as(
    db: &Db,
    caller: Caller,
    request_id: &str,
    payload: &str,
) -> Result<EchoResponse, ApiError> {
    let request = EchoResponse {
        payload: payload.into(),
    };
    let ctx = MutationContext::new(
        Rpc::new("pbm.test.v1.TestService", "Echo"),
        caller,
        request_id,
        &request,
    )?;
    let payload = payload.to_owned();
    run_mutation(db, ctx, ("thing", "T1".into()), move |conn, ctx| {
        if ctx.caller.role != Role::FinanceAdmin {
            return Err(ApiError::permission_denied(
                "NOT_FINANCE",
                "仅财政部门可以修改",
            ));
        }
        if payload == "refuse" {
            platform::insert_outbox(conn, &event("must roll back"))?;
            return Err(ApiError::failed_precondition("THING_LOCKED", "不能修改"));
        }
        platform::insert_outbox(conn, &event(&payload))?;
        Ok(Effect {
            response: EchoResponse {
                payload: payload.clone(),
            },
            entity_type: "thing",
            entity_id: "T1".into(),
            detail: payload,
        })
    })
    .await
}

fn event(payload: &str) -> NewOutboxEvent {
    NewOutboxEvent {
        occurred_at: pbm_db::now(),
        service: "pbm.test".into(),
        topic: "t".into(),
        entity_id: "T1".into(),
        payload: payload.into(),
    }
}

async fn effects(db: &Db) -> usize {
    db.read(|c| -> Result<usize, StoreError> { Ok(platform::unpublished_outbox(c, 1000)?.len()) })
        .await
        .unwrap()
}

async fn concurrent_retries_have_one_effect(test_db: TestDatabase) {
    let db = db(&test_db).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            mutate(&db, "alice", "req-1", "hello").await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().payload, "hello");
    }
    assert_eq!(effects(&db).await, 1);
    let audit = db
        .read(|c| platform::audit_of_request(c, "req-1"))
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].outcome.as_str(), audit[0].subject.as_str()),
        ("OK", "alice")
    );
}

/// A guarded update (the shape of every workflow step): concurrent retries of one request all
/// answer the first response, and the guarded row moves once.
async fn concurrent_retries_of_a_guarded_update_replay(test_db: TestDatabase) {
    use pbm_db::diesel::RunQueryDsl;
    let db = db(&test_db).await;
    db.write(|c| -> Result<(), StoreError> {
        pbm_db::diesel::sql_query("CREATE TABLE counter (id INTEGER PRIMARY KEY, version BIGINT)")
            .execute(c)?;
        pbm_db::diesel::sql_query("INSERT INTO counter (id, version) VALUES (1, 0)").execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let request = EchoResponse {
                payload: "bump".into(),
            };
            let ctx = MutationContext::new(
                Rpc::new("pbm.test.v1.TestService", "Bump"),
                caller("alice"),
                "req-g",
                &request,
            )?;
            run_mutation(&db, ctx, ("counter", "1".into()), move |conn, _ctx| {
                let moved = pbm_db::diesel::sql_query(
                    "UPDATE counter SET version = version + 1 WHERE id = 1 AND version = 0",
                )
                .execute(conn)
                .map_err(StoreError::from)?;
                if moved != 1 {
                    return Err(ApiError::stale_version("counter 1", 0, 1));
                }
                Ok(Effect {
                    response: EchoResponse {
                        payload: "moved".into(),
                    },
                    entity_type: "counter",
                    entity_id: "1".into(),
                    detail: "0 → 1".into(),
                })
            })
            .await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().payload, "moved");
    }
    let audit = db
        .read(|c| platform::audit_of_request(c, "req-g"))
        .await
        .unwrap();
    assert_eq!(audit.len(), 1, "one effect, no refusal audited: {audit:?}");
}

async fn reused_request_id_is_refused(test_db: TestDatabase) {
    let db = db(&test_db).await;
    mutate(&db, "alice", "req-1", "hello").await.unwrap();
    // A later retry runs its effect again, collides with the record and replays the first.
    let retried = mutate(&db, "alice", "req-1", "hello").await.unwrap();
    assert_eq!((retried.payload.as_str(), effects(&db).await), ("hello", 1));
    let other_request = mutate(&db, "alice", "req-1", "bye").await.unwrap_err();
    assert_eq!(other_request.reason, "REQUEST_ID_REUSED");
    let other_caller = mutate(&db, "bob", "req-1", "hello").await.unwrap_err();
    assert_eq!(other_caller.reason, "REQUEST_ID_REUSED");
    assert_eq!(effects(&db).await, 1);
}

async fn refusals_are_audited_and_write_nothing(test_db: TestDatabase) {
    let db = db(&test_db).await;
    let err = mutate(&db, "alice", "req-2", "refuse").await.unwrap_err();
    assert_eq!(err.reason, "THING_LOCKED");
    assert_eq!(effects(&db).await, 0);
    let audit = db
        .read(|c| platform::audit_of(c, "thing", "T1"))
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].outcome, "THING_LOCKED");
    // Not recorded as done: the same id may be retried once the cause is fixed.
    assert_eq!(
        mutate(&db, "alice", "req-3", "ok").await.unwrap().payload,
        "ok"
    );
    let bad = mutate(&db, "alice", "", "x").await.unwrap_err();
    assert_eq!(bad.reason, "REQUEST_ID_INVALID");
}

/// A retry answers only the caller that made the first request: the same subject under another
/// role, region or unit is refused as a first request would be, and learns nothing of the first
/// answer.
async fn a_replay_authorises_its_caller(test_db: TestDatabase) {
    let db = db(&test_db).await;
    assert_eq!(
        mutate(&db, "alice", "req-x", "secret")
            .await
            .unwrap()
            .payload,
        "secret"
    );
    // The same account name as a budget unit: refused by the use case, not replayed.
    let mut unit = caller("alice");
    unit.role = Role::BudgetUnit;
    unit.unit = Some("U1".into());
    let denied = mutate_as(&db, unit, "req-x", "secret").await.unwrap_err();
    assert_eq!(denied.reason, "NOT_FINANCE");
    // The same account name as finance of another region: the fingerprint differs, so the
    // first answer is not given.
    let mut elsewhere = caller("alice");
    elsewhere.mof_div_code = DivisionCode::parse("140526").unwrap();
    let reused = mutate_as(&db, elsewhere, "req-x", "secret")
        .await
        .unwrap_err();
    assert_eq!(reused.reason, "REQUEST_ID_REUSED");
    // The first caller still gets its answer, and there was one effect.
    assert_eq!(
        mutate(&db, "alice", "req-x", "secret")
            .await
            .unwrap()
            .payload,
        "secret"
    );
    assert_eq!(effects(&db).await, 1);
}

/// Idempotency records are kept for the stated retention, then swept: a request id older than
/// that runs afresh.
async fn request_ids_expire_after_the_retention(test_db: TestDatabase) {
    use pbm_db::diesel::RunQueryDsl;
    let db = db(&test_db).await;
    mutate(&db, "alice", "req-old", "first").await.unwrap();
    assert_eq!(
        pbm_server::mutation::expire_idempotency(&db).await.unwrap(),
        0
    );
    mutate(&db, "alice", "req-old", "first").await.unwrap();
    assert_eq!(
        effects(&db).await,
        1,
        "within the retention a retry is replayed"
    );
    let aged =
        pbm_db::now() - pbm_server::mutation::IDEMPOTENCY_RETENTION - chrono::TimeDelta::minutes(1);
    db.write(move |c| -> Result<usize, StoreError> {
        Ok(pbm_db::diesel::sql_query(format!(
            "UPDATE pbm_idempotency SET created_at = '{}' WHERE request_id = 'req-old'",
            aged.format("%Y-%m-%d %H:%M:%S")
        ))
        .execute(c)?)
    })
    .await
    .unwrap();
    assert_eq!(
        pbm_server::mutation::expire_idempotency(&db).await.unwrap(),
        1
    );
    mutate(&db, "alice", "req-old", "first").await.unwrap();
    assert_eq!(
        effects(&db).await,
        2,
        "after the retention the id runs afresh"
    );
}

pbm_db::backend_tests! {
    retention => request_ids_expire_after_the_retention;
    replay_authorises => a_replay_authorises_its_caller;
    concurrent_retries => concurrent_retries_have_one_effect;
    concurrent_guarded => concurrent_retries_of_a_guarded_update_replay;
    reused_request_id => reused_request_id_is_refused;
    refusals => refusals_are_audited_and_write_nothing;
}
