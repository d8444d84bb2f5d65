//! The benches' first baseline: a bare tonic server for `pbm.bench.v1.EchoService/Echo` in the
//! bench's own process (no auth, limits, tracing or timeouts; TCP_NODELAY on): how fast this
//! machine answers a gRPC call right now (docs/BENCHMARKS.md "Method").

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use pbm_bench::Latencies;
use pbm_bench::machine::{Meter, print_row};
use pbm_proto::bench::v1 as echo;
use tonic::transport::Channel;

struct Echo;

#[tonic::async_trait]
impl echo::echo_service_server::EchoService for Echo {
    async fn echo(
        &self,
        request: tonic::Request<echo::EchoRequest>,
    ) -> Result<tonic::Response<echo::EchoResponse>, tonic::Status> {
        Ok(tonic::Response::new(echo::EchoResponse {
            payload: request.into_inner().payload,
        }))
    }
}

/// Starts the echo server on a free loopback port, on the current runtime.
pub async fn serve() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the echo server");
    let addr = listener.local_addr().expect("echo address");
    tokio::spawn(
        tonic::transport::Server::builder()
            .tcp_nodelay(true)
            .add_service(echo::echo_service_server::EchoServiceServer::new(Echo))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    addr
}

/// A plaintext channel to `addr` on loopback, TCP_NODELAY on (the benches' clients).
pub async fn connect(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .expect("echo url")
        .tcp_nodelay(true)
        .connect()
        .await
        .expect("connect to the echo server")
}

/// `clients` clients, each on its own connection, echo 16 bytes for `secs` seconds; prints the
/// row `echo baseline ({when}), {clients} clients`.
pub async fn baseline(addr: SocketAddr, clients: usize, secs: u64, when: &str) {
    let meter = Meter::start();
    let until = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let client = echo::echo_service_client::EchoServiceClient::new(connect(addr).await);
        tasks.push(tokio::spawn(async move {
            let mut l = Vec::new();
            while Instant::now() < until {
                let t = Instant::now();
                client
                    .clone()
                    .echo(echo::EchoRequest {
                        payload: "0123456789abcdef".into(),
                    })
                    .await
                    .expect("echo");
                l.push(t.elapsed());
            }
            l
        }));
    }
    let mut all = Latencies::new();
    for t in tasks {
        all.extend(t.await.expect("echo client"));
    }
    let (wall, cpu) = meter.stop();
    if let Some(summary) = all.summary(Some(wall)) {
        print_row(
            &format!("echo baseline ({when}), {clients} clients"),
            &summary,
            &cpu,
        );
    }
}
