//! The numbers of following an upstream library (docs/BENCHMARKS.md "Indicator library down the
//! levels"), ignored by default; run in release:
//!
//! ```text
//! set -a; . /tmp/pbm-env; set +a
//! cargo test --release -p pbm-indicator --test api mirror_bench -- --ignored --nocapture --test-threads 1
//! ```
//!
//! * 100,000 upstream indicators into an empty follower (≤ 60 s), against the same 100,000
//!   written directly into an empty library in one bulk transaction (the store's Excel-import
//!   path) in the same run.
//! * An upstream change visible two levels down (province → city → county) ≤ 2 s p99: 100
//!   sequential UpdateIndicator at the province, each timed until GetIndicator at the county
//!   shows it; against a GetIndicator round trip at the county in the same run.
//!
//! Every deployment is its own `AppState` and gRPC server on loopback in this process, each with
//! its own database of the backend under test.

use std::time::{Duration, Instant};

use pbm_indicator::domain::indicator::{Direction, Indicator, Kind, Spec, Status};
use pbm_proto::indicator::v1 as proto;
use pbm_testkit::TestDatabase;

use crate::common::{TestApp, Who, spawn_app_in, spec};

const N: usize = 100_000;

fn seed_indicator(n: usize) -> Indicator {
    Indicator {
        code: format!("B{n:06}"),
        version: 1,
        status: Status::Enabled,
        spec: Spec {
            fiscal_year: pbm_types::FiscalYear::new(crate::common::FY).unwrap(),
            frame_node_code: ["101", "102", "201", "202", "301"][n % 5].into(),
            name: format!("省级共性指标第{n}号"),
            kind: Kind::Common,
            industry_tags: vec!["水利".into()],
            field_tags: Vec::new(),
            level_tags: Vec::new(),
            direction: Direction::Ge,
            unit: "人".into(),
            explanation: format!("第{n}号指标的解释"),
            formula: String::new(),
            scoring_rule: String::new(),
            value_standard: None,
            value_standard_note: String::new(),
            reference_target: "100".into(),
            last_year_value: None,
            year_before_value: None,
            fixed: n.is_multiple_of(7),
            enabled_from_year: None,
            enabled_to_year: None,
            owner_department: String::new(),
        },
        change_note: "新建".into(),
        changed_by: "bench".into(),
        changed_at: pbm_db::now(),
        origin: None,
    }
}

/// Writes `N` indicators straight into `app`'s library in one transaction; returns the time.
async fn bulk_write(app: &TestApp) -> Duration {
    let all: Vec<Indicator> = (0..N).map(seed_indicator).collect();
    let started = Instant::now();
    app.state
        .db
        .write(move |conn| pbm_indicator::store::insert_new_batch(conn, &all))
        .await
        .unwrap();
    started.elapsed()
}

async fn count(app: &TestApp) -> i64 {
    app.state
        .db
        .read(|conn| {
            pbm_indicator::store::list(conn, &Default::default(), 0, 1).map(|(_, total)| total)
        })
        .await
        .unwrap()
}

fn follow(follower: &TestApp, upstream: &TestApp) {
    let token = upstream.token(&Who::finance(&follower.region).with_sub("fin-follower"));
    let file = std::env::temp_dir().join(format!(
        "pbm-mirror-bench-token-{}-{}",
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

fn fresh(backend: pbm_db::Backend) -> TestDatabase {
    match backend {
        pbm_db::Backend::Sqlite => TestDatabase::sqlite(),
        pbm_db::Backend::Postgres => {
            TestDatabase::postgres().expect("PostgreSQL (PBM_TEST_DATABASE_URL)")
        }
    }
}

async fn hundred_thousand_into_an_empty_follower(backend: pbm_db::Backend) {
    let baseline = spawn_app_in(fresh(backend), "140500").await;
    let direct = bulk_write(&baseline).await;
    drop(baseline);

    let province = spawn_app_in(fresh(backend), "140000").await;
    bulk_write(&province).await;
    let city = spawn_app_in(fresh(backend), "140500").await;
    let started = Instant::now();
    follow(&city, &province);
    while count(&city).await < N as i64 {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "no convergence"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mirrored = started.elapsed();
    println!(
        "mirror {backend:?}: {N} upstream indicators into an empty follower in {:.1} s \
         (target ≤ 60 s); baseline, the same {N} bulk-written directly: {:.1} s",
        mirrored.as_secs_f64(),
        direct.as_secs_f64()
    );
    assert!(mirrored <= Duration::from_secs(60));
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    // Nearest rank (docs/BENCHMARKS.md "Percentiles, medians and verdicts").
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank - 1]
}

async fn change_two_levels_down(backend: pbm_db::Backend) {
    let province = spawn_app_in(fresh(backend), "140000").await;
    let city = spawn_app_in(fresh(backend), "140500").await;
    let county = spawn_app_in(fresh(backend), "140525").await;
    follow(&city, &province);
    follow(&county, &city);
    province
        .create("LAT-1", spec("延迟测试指标"))
        .await
        .unwrap();
    let started = Instant::now();
    while county.get("LAT-1").await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "never arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut echo = Vec::new();
    for _ in 0..100 {
        let t = Instant::now();
        county.get("LAT-1").await.unwrap();
        echo.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let mut times = Vec::new();
    for v in 1..=100i64 {
        let mut s = spec("延迟测试指标");
        s.reference_target = (1000 + v).to_string();
        let t = Instant::now();
        province.update("LAT-1", v, s).await.unwrap();
        loop {
            let i: proto::Indicator = county.get("LAT-1").await.unwrap();
            if i.origin_version == v + 1 {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "v{} never arrived",
                v + 1
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    echo.sort_by(f64::total_cmp);
    println!(
        "mirror {backend:?}: an upstream change visible two levels down: p50 {:.0} ms, p99 {:.0} ms, \
         max {:.0} ms over 100 sequential updates (target p99 ≤ 2000 ms); baseline GetIndicator \
         round trip at the county p50 {:.2} ms, p99 {:.2} ms",
        percentile(&times, 50.0),
        percentile(&times, 99.0),
        times[times.len() - 1],
        percentile(&echo, 50.0),
        percentile(&echo, 99.0)
    );
    assert!(percentile(&times, 99.0) <= 2000.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark (docs/BENCHMARKS.md); run in release with --ignored"]
async fn mirror_bench_100k_sqlite() {
    hundred_thousand_into_an_empty_follower(pbm_db::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark (docs/BENCHMARKS.md); run in release with --ignored"]
async fn mirror_bench_100k_postgres() {
    hundred_thousand_into_an_empty_follower(pbm_db::Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark (docs/BENCHMARKS.md); run in release with --ignored"]
async fn mirror_bench_latency_sqlite() {
    change_two_levels_down(pbm_db::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark (docs/BENCHMARKS.md); run in release with --ignored"]
async fn mirror_bench_latency_postgres() {
    change_two_levels_down(pbm_db::Backend::Postgres).await;
}
