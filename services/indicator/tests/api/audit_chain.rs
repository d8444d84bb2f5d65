//! The audit trail's chain through the real service and `pbm.audit.v1.AuditService`, as the
//! runner adds it to every server (docs/SECURITY.md "Audit log"): rows written by real
//! mutations, then edited, deleted and inserted in the database, are each reported at their
//! exact sequence number; only auditors and the region's finance bureau verify and export.

use pbm_auth::Role;
use pbm_db::diesel::{self, ExpressionMethods, QueryDsl, RunQueryDsl, SelectableHelper};
use pbm_db::platform::AuditRecord;
use pbm_db::platform::schema::pbm_audit_log;
use pbm_db::{Db, StoreError};
use pbm_indicator::AppState;
use pbm_proto::audit::v1 as audit;
use pbm_proto::audit::v1::audit_service_client::AuditServiceClient;
use pbm_proto::common::v1::PageRequest;
use pbm_server::audit::Trail;
use pbm_testkit::{TestDatabase, TestServer};
use pbm_types::{DivisionCode, FiscalYear};
use tonic::Code;

use crate::common::*;

pbm_testkit::backend_tests! {
    edits_deletions_and_insertions_are_reported_at_their_sequence_number => tamper;
    only_auditors_and_the_regions_finance_verify_and_export => roles_and_export;
}

/// The indicator service with the audit service beside it, as `serve_hosted` serves them.
async fn serve(test_db: &TestDatabase) -> (TestServer, AppState) {
    let state = AppState::open(
        test_db.connect(),
        DivisionCode::parse(REGION).unwrap(),
        FiscalYear::new(FY).unwrap(),
    )
    .await
    .unwrap();
    let routes = pbm_server::audit::add_to(
        pbm_indicator::router(state.clone()),
        DivisionCode::parse(REGION).unwrap(),
        vec![Trail::of(pbm_indicator::HEALTH_NAME, state.db.clone())],
    );
    let server = TestServer::start(
        routes,
        vec![pbm_indicator::HEALTH_NAME, pbm_server::audit::HEALTH_NAME],
    )
    .await;
    (server, state)
}

/// `n` indicators created through the API: `n` audit rows.
async fn create(server: &TestServer, from: usize, n: usize) {
    let mut client =
        pbm_proto::indicator::v1::indicator_service_client::IndicatorServiceClient::new(
            server.channel.clone(),
        );
    for k in from..from + n {
        let r = pbm_proto::indicator::v1::CreateIndicatorRequest {
            request_id: server.rid(),
            code: format!("CH{k}"),
            spec: Some(spec(&format!("受益人口{k}"))),
        };
        client
            .create_indicator(server.req(&finance(), r))
            .await
            .unwrap();
    }
}

async fn verify(
    server: &TestServer,
    who: &Who,
) -> Result<audit::VerifyAuditChainResponse, tonic::Status> {
    let request = audit::VerifyAuditChainRequest {
        service: "pbm.indicator".into(),
    };
    AuditServiceClient::new(server.channel.clone())
        .verify_audit_chain(server.req(who, request))
        .await
        .map(tonic::Response::into_inner)
}

fn auditor() -> Who {
    Who::new(Role::Auditor, REGION).with_sub("auditor-1")
}

async fn broken(server: &TestServer) -> (i64, String) {
    let v = verify(server, &auditor()).await.unwrap();
    assert!(!v.ok, "{v:?}");
    (v.first_broken_seq, v.reason)
}

async fn sql(db: &Db, statement: String) -> usize {
    db.write(move |c| {
        diesel::sql_query(statement)
            .execute(c)
            .map_err(StoreError::from)
    })
    .await
    .unwrap()
}

async fn row_at(db: &Db, seq: i64) -> AuditRecord {
    db.read(move |c| {
        pbm_audit_log::table
            .filter(pbm_audit_log::chain_seq.eq(seq))
            .select(AuditRecord::as_select())
            .first(c)
            .map_err(StoreError::from)
    })
    .await
    .unwrap()
}

async fn put_back(db: &Db, row: AuditRecord) {
    use pbm_audit_log::*;
    db.write(move |c| {
        diesel::insert_into(table)
            .values((
                id.eq(row.id),
                (row.entry(), row_mac.eq(&row.row_mac)),
                chain_seq.eq(row.chain_seq),
                chain_hash.eq(&row.chain_hash),
            ))
            .execute(c)
            .map_err(StoreError::from)
    })
    .await
    .unwrap();
}

async fn tamper(test_db: TestDatabase) {
    let (server, state) = serve(&test_db).await;
    let db = &state.db;
    create(&server, 0, 6).await;
    let v = verify(&server, &auditor()).await.unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!((v.pending, v.first_broken_seq), (0, 0));
    let total = v.sealed;
    assert!(total >= 6, "{v:?}");
    assert_eq!(v.head_seq, total);
    assert_eq!(v.head_hash.len(), 64);

    // Edited in the database: the outcome of row 3, then put back.
    let row3 = row_at(db, 3).await;
    sql(
        db,
        "UPDATE pbm_audit_log SET outcome = 'REFUSED' WHERE chain_seq = 3".into(),
    )
    .await;
    assert_eq!(broken(&server).await, (3, "ROW_ALTERED".into()));
    sql(
        db,
        format!(
            "UPDATE pbm_audit_log SET outcome = '{}' WHERE chain_seq = 3",
            row3.outcome
        ),
    )
    .await;
    assert!(verify(&server, &auditor()).await.unwrap().ok);

    // Deleted: row 4, then put back.
    let row4 = row_at(db, 4).await;
    sql(db, "DELETE FROM pbm_audit_log WHERE chain_seq = 4".into()).await;
    assert_eq!(broken(&server).await, (4, "ROW_MISSING".into()));
    put_back(db, row4).await;
    assert!(verify(&server, &auditor()).await.unwrap().ok);

    // Inserted at 2 (the later rows moved up by one, a row made up without the key put there).
    sql(
        db,
        "UPDATE pbm_audit_log SET chain_seq = -chain_seq - 1 WHERE chain_seq >= 2".into(),
    )
    .await;
    sql(
        db,
        "UPDATE pbm_audit_log SET chain_seq = -chain_seq WHERE chain_seq < 0".into(),
    )
    .await;
    sql(
        db,
        "UPDATE pbm_audit_chain SET head_seq = head_seq + 1".into(),
    )
    .await;
    let mut forged = row_at(db, 1).await;
    forged.id = 100_000;
    forged.detail = "一笔从未发生的修改".into();
    forged.chain_seq = Some(2);
    forged.row_mac = Some("ab".repeat(48));
    forged.chain_hash = Some("cd".repeat(32));
    put_back(db, forged).await;
    assert_eq!(broken(&server).await, (2, "ROW_ALTERED".into()));
    sql(db, "DELETE FROM pbm_audit_log WHERE id = 100000".into()).await;
    sql(
        db,
        "UPDATE pbm_audit_log SET chain_seq = -chain_seq + 1 WHERE chain_seq >= 3".into(),
    )
    .await;
    sql(
        db,
        "UPDATE pbm_audit_log SET chain_seq = -chain_seq WHERE chain_seq < 0".into(),
    )
    .await;
    sql(
        db,
        "UPDATE pbm_audit_chain SET head_seq = head_seq - 1".into(),
    )
    .await;
    assert!(verify(&server, &auditor()).await.unwrap().ok);

    // Inserted as a new row, not sealed yet: the sealer refuses it; reported after the head.
    let mut forged = row_at(db, 1).await;
    forged.id = 200_000;
    forged.row_mac = Some("ab".repeat(48));
    forged.chain_seq = None;
    forged.chain_hash = None;
    put_back(db, forged).await;
    let v = verify(&server, &auditor()).await.unwrap();
    assert_eq!(
        (v.ok, v.first_broken_seq, v.reason.as_str(), v.sealed),
        (false, total + 1, "UNSEALED_ROW_INVALID", total),
        "{v:?}"
    );
    assert!(v.detail.contains("200000"), "{}", v.detail);
}

async fn roles_and_export(test_db: TestDatabase) {
    let (server, _state) = serve(&test_db).await;
    create(&server, 0, 3).await;
    for who in [
        of_role(Role::BudgetUnit),
        of_role(Role::Public),
        of_role(Role::Department),
        of_role(Role::Province),
        Who::finance("140526").with_sub("fin-other"),
    ] {
        let status = verify(&server, &who).await.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{who:?}: {status:?}");
        assert_eq!(domain(&status), "pbm.audit");
    }
    assert!(verify(&server, &finance()).await.unwrap().ok);
    assert!(
        verify(&server, &Who::new(Role::Auditor, "140000"))
            .await
            .unwrap()
            .ok
    );
    let mut client = AuditServiceClient::new(server.channel.clone());
    let unknown = client
        .verify_audit_chain(server.req(
            &auditor(),
            audit::VerifyAuditChainRequest {
                service: "pbm.goal".into(),
            },
        ))
        .await;
    refused(unknown, Code::NotFound, "SERVICE_UNKNOWN");

    // Export: every row, two a page, with its place in the chain.
    let export = |who: Who, token: String| {
        let mut client = client.clone();
        let request = audit::ExportAuditRequest {
            service: "pbm.indicator".into(),
            page: Some(PageRequest {
                page_size: 2,
                page_token: token,
            }),
            ..Default::default()
        };
        let request = server.req(&who, request);
        async move { client.export_audit(request).await }
    };
    let (mut rows, mut token) = (Vec::new(), String::new());
    loop {
        let page = export(auditor(), token).await.unwrap().into_inner();
        assert!(page.rows.len() <= 2);
        rows.extend(page.rows);
        token = page.page.unwrap().next_page_token;
        if token.is_empty() {
            break;
        }
    }
    let seqs: Vec<i64> = rows.iter().map(|r| r.chain_seq).collect();
    assert_eq!(seqs, (1..=rows.len() as i64).collect::<Vec<_>>());
    let creates: Vec<_> = rows
        .iter()
        .filter(|r| r.method == "CreateIndicator")
        .collect();
    assert_eq!(creates.len(), 3);
    assert!(
        rows.iter()
            .all(|r| r.row_mac.len() == 96 && r.chain_hash.len() == 64)
    );
    assert_eq!(creates[0].subject, "fin-1");
    let denied = export(of_role(Role::BudgetUnit), String::new()).await;
    refused(denied, Code::PermissionDenied, "ROLE_NOT_ALLOWED");
    let bad = client
        .export_audit(server.req(
            &auditor(),
            audit::ExportAuditRequest {
                service: "pbm.indicator".into(),
                from: "yesterday".into(),
                ..Default::default()
            },
        ))
        .await;
    refused(bad, Code::InvalidArgument, "TIME_INVALID");
    // A time range: nothing before the rows were written.
    let none = client
        .export_audit(server.req(
            &auditor(),
            audit::ExportAuditRequest {
                service: "pbm.indicator".into(),
                to: "2000-01-01T00:00:00Z".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(none.rows.is_empty());
}
