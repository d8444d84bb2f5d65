//! Following an upstream library (docs/INDICATOR.md "Following an upstream library"): the
//! upstream's WatchLibrary (snapshot from an empty cursor, resume with no gap and no duplicate,
//! a too-old cursor resyncs, who may watch) and a follower over a real link (origin shown,
//! local edits of upstream indicators refused, local extensions kept, code clashes recorded, its
//! writes audited and announced once), who may read GetMirrorStatus, and the frame rule over a
//! real link.

use std::time::Duration;

use pbm_auth::Role;
use pbm_db::platform;
use pbm_proto::indicator::v1 as proto;
use pbm_proto::indicator::v1::library_change::Item;
use pbm_proto::indicator::v1::library_mirror_service_client::LibraryMirrorServiceClient;
use pbm_testkit::TestDatabase;
use tonic::Code;
use tonic::Streaming;

use crate::common::{TestApp, Who, reason, spawn_app_in, spec};

const PROVINCE: &str = "140000";
const CITY: &str = "140500";

fn watcher(app: &TestApp) -> LibraryMirrorServiceClient<tonic::transport::Channel> {
    LibraryMirrorServiceClient::new(app.server.channel.clone())
}

async fn watch(
    app: &TestApp,
    who: &Who,
    cursor: &str,
) -> Result<Streaming<proto::WatchLibraryResponse>, tonic::Status> {
    let r = proto::WatchLibraryRequest {
        cursor: cursor.into(),
        max_batch: 0,
    };
    Ok(watcher(app)
        .watch_library(app.req(who, r))
        .await?
        .into_inner())
}

/// The next batch with changes (heartbeats skipped).
async fn next_changes(
    s: &mut Streaming<proto::WatchLibraryResponse>,
) -> proto::WatchLibraryResponse {
    loop {
        let b = tokio::time::timeout(Duration::from_secs(10), s.message())
            .await
            .expect("a batch within 10 s")
            .expect("stream ok")
            .expect("stream open");
        if !b.heartbeat {
            return b;
        }
    }
}

fn indicators(b: &proto::WatchLibraryResponse) -> Vec<(String, i64)> {
    b.changes
        .iter()
        .filter_map(|c| match &c.item {
            Some(Item::Indicator(i)) => Some((i.code.clone(), i.version)),
            _ => None,
        })
        .collect()
}

fn same_backend(db: &TestDatabase) -> TestDatabase {
    match db.backend() {
        pbm_db::Backend::Sqlite => TestDatabase::sqlite(),
        pbm_db::Backend::Postgres => TestDatabase::postgres().expect("PostgreSQL"),
    }
}

fn city_finance() -> Who {
    Who::finance(CITY).with_sub("city-fin")
}

async fn watch_from_empty_then_resume(test_db: TestDatabase) {
    let up = spawn_app_in(test_db, PROVINCE).await;
    up.create("P1", spec("省级指标一")).await.unwrap();
    up.create("P2", spec("省级指标二")).await.unwrap();

    let mut s = watch(&up, &city_finance(), "").await.unwrap();
    let first = next_changes(&mut s).await;
    assert!(first.resync && first.changes.is_empty());
    assert_eq!(first.mof_div_code, PROVINCE);
    let frames = next_changes(&mut s).await;
    assert!(matches!(frames.changes[0].item, Some(Item::Frame(_))));
    let snap = next_changes(&mut s).await;
    assert!(snap.snapshot_end);
    assert_eq!(indicators(&snap), [("P1".into(), 1), ("P2".into(), 1)]);
    let Some(Item::Indicator(p1)) = &snap.changes[0].item else {
        panic!("indicator")
    };
    assert_eq!(
        (p1.origin_region.as_str(), p1.origin_version),
        (PROVINCE, 1)
    );
    assert!(!p1.upstream_owned);
    let head = snap.cursor.clone();
    assert_eq!(head, snap.head_cursor);

    // Live: a change committed after the snapshot arrives promptly.
    up.create("P3", spec("省级指标三")).await.unwrap();
    let live = next_changes(&mut s).await;
    assert_eq!(indicators(&live), [("P3".into(), 1)]);
    let after_p3 = live.cursor.clone();
    drop(s);

    // Changes while nobody watched: resuming from the cursor gives exactly them, in order.
    let p1 = up.get("P1").await.unwrap();
    let mut changed = p1.spec.clone().unwrap();
    changed.name = "省级指标一（修订）".into();
    up.update("P1", 1, changed).await.unwrap();
    up.create("P4", spec("省级指标四")).await.unwrap();
    let mut s = watch(&up, &city_finance(), &after_p3).await.unwrap();
    let resumed = next_changes(&mut s).await;
    assert!(!resumed.resync);
    assert_eq!(indicators(&resumed), [("P1".into(), 2), ("P4".into(), 1)]);

    // From the snapshot's head: P3 then the rest, nothing twice.
    let mut s = watch(&up, &city_finance(), &head).await.unwrap();
    let b = next_changes(&mut s).await;
    assert_eq!(
        indicators(&b),
        [("P3".into(), 1), ("P1".into(), 2), ("P4".into(), 1)]
    );
}

async fn too_old_cursor_resyncs(test_db: TestDatabase) {
    let up = spawn_app_in(test_db, PROVINCE).await;
    for n in 1..=5 {
        up.create(&format!("O{n}"), spec(&format!("压缩测试{n}")))
            .await
            .unwrap();
    }
    assert!(up.state.compact_library_log(2).await.unwrap() > 0);
    let mut s = watch(&up, &city_finance(), "r1").await.unwrap();
    assert!(next_changes(&mut s).await.resync);
    // A cursor within what is kept resumes.
    let mut s = watch(&up, &city_finance(), "r5").await.unwrap();
    let b = next_changes(&mut s).await;
    assert!(!b.resync);
    assert_eq!(indicators(&b), [("O5".into(), 1)]);
    // Not a cursor.
    let e = watch(&up, &city_finance(), "x").await.unwrap_err();
    assert_eq!(
        (e.code(), reason(&e).as_str()),
        (Code::InvalidArgument, "CURSOR_INVALID")
    );
}

async fn only_lower_finance_and_the_province_watch(test_db: TestDatabase) {
    let city_db = same_backend(&test_db);
    let up = spawn_app_in(test_db, PROVINCE).await;
    for (who, why) in [
        (Who::department(CITY, "D01"), "ROLE_NOT_ALLOWED"),
        (Who::new(Role::Auditor, PROVINCE), "ROLE_NOT_ALLOWED"),
        (Who::finance("130100"), "REGION_MISMATCH"),
    ] {
        let e = watch(&up, &who, "").await.unwrap_err();
        assert_eq!(
            (e.code(), reason(&e).as_str()),
            (Code::PermissionDenied, why),
            "{who:?}"
        );
    }
    // Another city's finance does not follow this city.
    let city = spawn_app_in(city_db, CITY).await;
    let e = watch(&city, &Who::finance("140600"), "").await.unwrap_err();
    assert_eq!(reason(&e), "REGION_MISMATCH");
    assert!(
        watch(&up, &Who::new(Role::Province, PROVINCE), "")
            .await
            .is_ok()
    );
}

/// Starts `follower` following `upstream` as the city's finance.
fn follow(follower: &TestApp, upstream: &TestApp) {
    let token = upstream.token(&city_finance());
    let file = std::env::temp_dir().join(format!(
        "pbm-mirror-token-{}-{}",
        std::process::id(),
        follower.server.addr.port()
    ));
    std::fs::write(&file, token).unwrap();
    pbm_indicator::mirror::spawn(
        &follower.state,
        pbm_indicator::mirror::Upstream {
            url: upstream.url(),
            token_file: file,
            tls: Default::default(),
        },
    );
}

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn a_follower_mirrors_refuses_and_records_clashes(test_db: TestDatabase) {
    let city_db = same_backend(&test_db);
    let up = spawn_app_in(test_db, PROVINCE).await;
    let city = spawn_app_in(city_db, CITY).await;
    // A local indicator of the city whose code the province will use too.
    city.create("X1", spec("市级同编码指标")).await.unwrap();
    up.create("P1", spec("省级指标一")).await.unwrap();
    follow(&city, &up);

    eventually("P1 at the city", || async { city.get("P1").await.is_ok() }).await;
    let p1 = city.get("P1").await.unwrap();
    assert_eq!(
        (p1.origin_region.as_str(), p1.origin_version),
        (PROVINCE, 1)
    );
    assert!(p1.upstream_owned);
    assert_eq!(p1.mof_div_code, CITY);

    // Local edits of the province's indicator are refused; local extensions keep working.
    let e = city
        .update("P1", p1.version, spec("市级改名"))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), reason(&e).as_str()),
        (Code::FailedPrecondition, "UPSTREAM_OWNED")
    );
    assert!(e.message().contains("140000"), "{}", e.message());
    let e = city
        .set_status("P1", p1.version, IndicatorStatusDisabled, "不用")
        .await
        .unwrap_err();
    assert_eq!(reason(&e), "UPSTREAM_OWNED");
    let e = city.create("P1", spec("同编码新建")).await.unwrap_err();
    assert_eq!(reason(&e), "UPSTREAM_OWNED");
    // An import row that would change it is refused too (nothing is written).
    let e = city
        .import(import_row("P1", "市级导入改名"), false)
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), reason(&e).as_str()),
        (Code::FailedPrecondition, "UPSTREAM_OWNED")
    );
    assert_eq!(city.versions("P1").await, [1]);
    city.create("C1", spec("市级扩展指标")).await.unwrap();
    let c1 = city.get("C1").await.unwrap();
    assert_eq!(
        (c1.origin_region.as_str(), c1.upstream_owned),
        (CITY, false)
    );

    // Upstream changes flow down as new local versions.
    let mut changed = spec("省级指标一（修订）");
    changed.reference_target = "2000".into();
    up.update("P1", 1, changed).await.unwrap();
    eventually("P1 v2 at the city", || async {
        city.get("P1").await.unwrap().origin_version == 2
    })
    .await;

    // The clash: the province's X1 wins from the next local version on; the local version stays.
    up.create("X1", spec("省级同编码指标")).await.unwrap();
    eventually("X1 owned by the province", || async {
        city.get("X1").await.unwrap().upstream_owned
    })
    .await;
    assert_eq!(city.versions("X1").await, [2, 1]);
    assert_eq!(
        city.get_version("X1", 1).await.unwrap().spec.unwrap().name,
        "市级同编码指标"
    );
    let status = watcher(&city)
        .get_mirror_status(city.fin(proto::GetMirrorStatusRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert!(status.following && status.connected, "{status:?}");
    assert_eq!(status.clash_count, 1);
    assert_eq!(status.clashes[0].key, "X1");
    assert!(!status.cursor.is_empty());
}

/// The city's audit rows of its link to `upstream`.
async fn mirror_trail(city: &TestApp, upstream: &str) -> Vec<platform::AuditRecord> {
    let upstream = upstream.to_owned();
    city.state
        .db
        .read(move |c| platform::audit_of(c, "library_mirror", &upstream))
        .await
        .expect("audit trail")
}

/// The city's `pbm.indicator.changed` events, as (code, version, status).
async fn changed_events(city: &TestApp) -> Vec<(String, i64, String)> {
    let events = city
        .state
        .db
        .read(|c| platform::unpublished_outbox(c, 10_000))
        .await
        .expect("outbox");
    events
        .into_iter()
        .filter(|e| e.topic == "pbm.indicator.changed" && e.service == "pbm.indicator")
        .map(|e| {
            let p: serde_json::Value = serde_json::from_str(&e.payload).expect("json");
            assert_eq!(p["code"], e.entity_id.as_str());
            (
                e.entity_id,
                p["version"].as_i64().expect("version"),
                p["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect()
}

async fn mirror_status(
    app: &TestApp,
    who: &Who,
) -> Result<proto::GetMirrorStatusResponse, tonic::Status> {
    Ok(watcher(app)
        .get_mirror_status(app.req(who, proto::GetMirrorStatusRequest {}))
        .await?
        .into_inner())
}

/// Every batch of a watch from `cursor` up to and including the first with changes and a
/// cursor (a snapshot's last, or a live batch).
async fn batches_through_cursor(
    s: &mut Streaming<proto::WatchLibraryResponse>,
) -> Vec<proto::WatchLibraryResponse> {
    let mut out = Vec::new();
    loop {
        let b = next_changes(s).await;
        let done = !b.cursor.is_empty() && !b.changes.is_empty();
        out.push(b);
        if done {
            return out;
        }
    }
}

/// docs/INDICATOR.md "Following an upstream library": a follower's writes are audited (one row
/// per batch, the upstream link as the actor) and announced (one `pbm.indicator.changed` per
/// version, as a local write); a batch applied again leaves neither again.
async fn mirrored_writes_are_audited_and_announced(test_db: TestDatabase) {
    let city_db = same_backend(&test_db);
    let up = spawn_app_in(test_db, PROVINCE).await;
    let city = spawn_app_in(city_db, CITY).await;
    for n in 1..=3 {
        up.create(&format!("A{n}"), spec(&format!("省级审计指标{n}")))
            .await
            .unwrap();
    }
    follow(&city, &up);
    eventually("A1–A3 at the city", || async {
        city.get("A3").await.is_ok()
    })
    .await;
    let rows = mirror_trail(&city, &up.url()).await;
    assert!(!rows.is_empty());
    for r in &rows {
        assert_eq!(
            (
                r.service.as_str(),
                r.method.as_str(),
                r.subject.as_str(),
                r.role.as_str(),
                r.mof_div_code.as_str(),
                r.outcome.as_str()
            ),
            (
                "pbm.indicator",
                "MirrorLibrary",
                "mirror:140000",
                "upstream_library",
                PROVINCE,
                "OK"
            ),
            "{r:?}"
        );
    }
    let last = rows.last().unwrap();
    assert!(
        last.detail
            .contains("3 indicator versions (3 new, 0 updated, 0 disabled)")
            && last.detail.contains("A1, A2, A3"),
        "{}",
        last.detail
    );
    let synced = |code: &str| (code.to_owned(), 1, "enabled".to_owned());
    assert_eq!(
        changed_events(&city).await,
        [synced("A1"), synced("A2"), synced("A3")]
    );

    // A live change: one more row, one more event, the cursor range in the row.
    let head = mirror_status(&city, &city_finance()).await.unwrap().cursor;
    assert!(!head.is_empty());
    let mut s = watch(&up, &city_finance(), &head).await.unwrap();
    up.update("A1", 1, spec("省级审计指标1（修订）"))
        .await
        .unwrap();
    let live = batches_through_cursor(&mut s).await;
    let cursor = live.last().unwrap().cursor.clone();
    eventually("the city at the live batch's cursor", || async {
        mirror_status(&city, &city_finance()).await.unwrap().cursor == cursor
    })
    .await;
    let rows = mirror_trail(&city, &up.url()).await;
    let detail = &rows.last().unwrap().detail;
    assert!(
        detail.contains(&format!("cursor {head} → {cursor}"))
            && detail.contains("1 indicator versions (0 new, 1 updated, 0 disabled)"),
        "{detail}"
    );
    let events = changed_events(&city).await;
    assert_eq!(events.len(), 4);
    assert_eq!(events[3], ("A1".into(), 2, "enabled".into()));

    // The same batches again (the live one, then the whole snapshot): nothing is written.
    let before = rows.len();
    for b in live {
        pbm_indicator::mirror::apply(&city.state, &up.url(), b, &mut None)
            .await
            .unwrap();
    }
    let mut s = watch(&up, &city_finance(), "").await.unwrap();
    let mut snapshot = None;
    for b in batches_through_cursor(&mut s).await {
        if b.resync {
            snapshot = Some(Default::default());
        }
        pbm_indicator::mirror::apply(&city.state, &up.url(), b, &mut snapshot)
            .await
            .unwrap();
    }
    assert_eq!(mirror_trail(&city, &up.url()).await.len(), before);
    assert_eq!(changed_events(&city).await.len(), 4);
    assert_eq!(city.versions("A1").await, [2, 1]);

    // The sealer chains the follower's rows like any other.
    let key = platform::chain::installed_key();
    platform::chain::seal(&city.state.db, &key).await.unwrap();
    let verdict = city
        .state
        .db
        .read(move |c| platform::chain::verify(c, &key))
        .await
        .unwrap();
    assert!(verdict.ok(), "{verdict:?}");
}

/// GetMirrorStatus: finance, auditors and the province who read here; nobody else.
async fn mirror_status_denials(test_db: TestDatabase) {
    let city = spawn_app_in(test_db, CITY).await;
    for (who, code, why) in [
        (
            Who::unit(CITY, "D01", "U0101"),
            Code::PermissionDenied,
            "ROLE_NOT_ALLOWED",
        ),
        (
            Who::department(CITY, "D01"),
            Code::PermissionDenied,
            "ROLE_NOT_ALLOWED",
        ),
        (
            Who::finance("140600"),
            Code::PermissionDenied,
            "REGION_MISMATCH",
        ),
        (
            Who::new(Role::Auditor, "130100"),
            Code::PermissionDenied,
            "REGION_MISMATCH",
        ),
        // A county inside the city reads its own library, not the city's.
        (
            Who::finance("140525"),
            Code::PermissionDenied,
            "REGION_MISMATCH",
        ),
    ] {
        let e = mirror_status(&city, &who).await.unwrap_err();
        assert_eq!((e.code(), reason(&e).as_str()), (code, why), "{who:?}");
    }
    for who in [
        city_finance(),
        Who::new(Role::Auditor, CITY),
        Who::new(Role::Province, PROVINCE),
    ] {
        let s = mirror_status(&city, &who).await.unwrap();
        assert!(!s.following, "{who:?}");
    }
}

fn node(code: &str, name: &str, level: i32, parent: &str) -> proto::FrameNode {
    proto::FrameNode {
        code: code.into(),
        name: name.into(),
        level,
        parent_code: parent.into(),
        ..Default::default()
    }
}

async fn create_frame(app: &TestApp, year: i32, nodes: Vec<proto::FrameNode>) {
    let r = proto::CreateFrameRequest {
        request_id: app.rid(),
        fiscal_year: year,
        name: format!("{year} 年度框架"),
        template: 0,
        nodes,
    };
    app.client().create_frame(app.fin(r)).await.unwrap();
}

fn spec_of(year: i32, node: &str, name: &str) -> proto::IndicatorSpec {
    proto::IndicatorSpec {
        fiscal_year: year,
        frame_node_code: node.into(),
        ..spec(name)
    }
}

/// The frame rule (docs/INDICATOR.md "Following an upstream library", "Code clashes") over a
/// real link: the city's frame of the year keeps its own nodes, gains the province's missing
/// ones, and an upstream node that differs keeps the local node and is a clash.
async fn frame_clash_through_the_link(test_db: TestDatabase) {
    const YEAR: i32 = 2028;
    let city_db = same_backend(&test_db);
    let up = spawn_app_in(test_db, PROVINCE).await;
    let city = spawn_app_in(city_db, CITY).await;
    create_frame(
        &up,
        YEAR,
        vec![
            node("1", "产出指标", 1, ""),
            node("101", "数量指标", 2, "1"),
            node("102", "质量指标", 2, "1"),
        ],
    )
    .await;
    create_frame(
        &city,
        YEAR,
        vec![
            node("1", "产出指标", 1, ""),
            node("101", "本级数量指标", 2, "1"),
            node("109", "本级特色指标", 2, "1"),
        ],
    )
    .await;
    up.create("F1", spec_of(YEAR, "101", "省级数量"))
        .await
        .unwrap();
    up.create("F2", spec_of(YEAR, "102", "省级质量"))
        .await
        .unwrap();
    follow(&city, &up);
    eventually("F2 at the city", || async { city.get("F2").await.is_ok() }).await;

    let frame = city.get_frame(YEAR).await.unwrap();
    let mut nodes: Vec<(String, String)> = frame
        .nodes
        .iter()
        .map(|n| (n.code.clone(), n.name.clone()))
        .collect();
    nodes.sort();
    let pair = |c: &str, n: &str| (c.to_owned(), n.to_owned());
    assert_eq!(
        nodes,
        [
            pair("1", "产出指标"),
            pair("101", "本级数量指标"),
            pair("102", "质量指标"),
            pair("109", "本级特色指标"),
        ]
    );
    // Indicators under the kept local node and under the added node are both held.
    assert_eq!(
        city.get("F1").await.unwrap().spec.unwrap().frame_node_code,
        "101"
    );
    assert!(city.get("F2").await.unwrap().upstream_owned);
    let status = mirror_status(&city, &city_finance()).await.unwrap();
    assert_eq!(status.clash_count, 1, "{status:?}");
    let clash = &status.clashes[0];
    assert_eq!(
        (
            clash.kind.as_str(),
            clash.key.as_str(),
            clash.upstream_region.as_str()
        ),
        ("frame_node", "2028/101", PROVINCE)
    );
    assert!(clash.detail.contains("保留本级节点"), "{}", clash.detail);
    // The frame batch is audited with its clash.
    let rows = mirror_trail(&city, &up.url()).await;
    assert!(
        rows.iter()
            .any(|r| r.detail.contains("1 frames, 1 clashes")),
        "{rows:?}"
    );
}

/// A workbook of one valid row (docs/INDICATOR.md "Excel").
fn import_row(code: &str, name: &str) -> Vec<u8> {
    use pbm_indicator::excel::COLUMNS;
    let mut r = vec![String::new(); COLUMNS.len()];
    for (h, v) in [
        ("指标编码", code),
        ("预算年度", "2026"),
        ("一级指标", "产出指标"),
        ("二级指标", "数量指标"),
        ("三级指标名称", name),
        ("指标类型", "共性"),
        ("指标方向", "≥"),
        ("计量单位", "人"),
        ("参考指标值", "1000"),
        ("是否固化", "否"),
    ] {
        let at = COLUMNS.iter().position(|c| c.header == h).expect("column");
        r[at] = v.into();
    }
    pbm_xlsx::write_table("s", &COLUMNS, &[r]).expect("workbook")
}

#[allow(non_upper_case_globals)]
const IndicatorStatusDisabled: crate::common::IndicatorStatus =
    crate::common::IndicatorStatus::Disabled;

pbm_testkit::backend_tests! {
    watch_resumes => watch_from_empty_then_resume;
    too_old_cursor => too_old_cursor_resyncs;
    watch_denials => only_lower_finance_and_the_province_watch;
    follower => a_follower_mirrors_refuses_and_records_clashes;
    follower_audit => mirrored_writes_are_audited_and_announced;
    status_denials => mirror_status_denials;
    frame_clash => frame_clash_through_the_link;
}
