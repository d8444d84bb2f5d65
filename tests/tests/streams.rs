//! A client stream cannot hold the server: one that sends nothing ends with DEADLINE_EXCEEDED
//! after the idle deadline (`pbm_server::rpc::STREAM_IDLE`), and a shutdown (SIGTERM) drains and
//! then cancels what is still in flight after `pbm_server::DRAIN_DEADLINE` — over real gRPC, the
//! server assembled as `pbm serve` assembles it. docs/SECURITY.md, "Streams and shutdown".

use std::time::{Duration, Instant};

use pbm_e2e::REGION;
use pbm_proto::goal::v1 as pb;
use pbm_proto::goal::v1::goal_service_client::GoalServiceClient;
use pbm_testkit::{TestDatabase, Who, bearer, reason};
use tonic::Code;

/// Opens `DeclareGoals` as a budget unit and sends nothing; the sender is returned so the
/// stream stays open.
async fn idle_declaration(
    d: &pbm_e2e::Deployment,
) -> (
    tokio::sync::mpsc::Sender<pb::DeclareGoalsItem>,
    Result<tonic::Response<tonic::Streaming<pb::DeclareGoalsResult>>, tonic::Status>,
) {
    let unit = d.token(&Who::unit(REGION, "D01", "D01001"));
    let (tx, rx) = tokio::sync::mpsc::channel::<pb::DeclareGoalsItem>(1);
    let items = tokio_stream::wrappers::ReceiverStream::new(rx);
    let opened = GoalServiceClient::new(d.channel.clone())
        .declare_goals(bearer(&unit, items))
        .await;
    (tx, opened)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_client_stream_ends_with_deadline_exceeded() {
    let d = pbm_e2e::Deployment::start(TestDatabase::sqlite(), None).await;
    let started = Instant::now();
    let (_keep_open, opened) = idle_declaration(&d).await;
    let mut results = opened.expect("the stream opens").into_inner();
    let ended = tokio::time::timeout(
        pbm_server::rpc::STREAM_IDLE + Duration::from_secs(15),
        results.message(),
    )
    .await
    .expect("the server ends an idle stream by itself");
    let status = ended.expect_err("an idle stream ends with an error");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert_eq!(reason(&status), "STREAM_IDLE");
    assert!(started.elapsed() >= pbm_server::rpc::STREAM_IDLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_completes_with_a_client_stream_open() {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let d = pbm_e2e::Deployment::start_until(TestDatabase::sqlite(), None, async {
        let _ = stopped.await;
    })
    .await;
    let (_keep_open, opened) = idle_declaration(&d).await;
    let _results = opened.expect("the stream opens");
    let asked = Instant::now();
    stop.send(()).expect("the server listens for shutdown");
    let served = tokio::time::timeout(
        pbm_server::DRAIN_DEADLINE + Duration::from_secs(10),
        d.server,
    )
    .await
    .expect("shutdown completes although a client stream is open");
    served.expect("server task").expect("server ends cleanly");
    assert!(asked.elapsed() <= pbm_server::DRAIN_DEADLINE + Duration::from_secs(5));
}
