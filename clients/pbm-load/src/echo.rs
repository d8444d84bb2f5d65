//! The baseline: a bare tonic server for `pbm.bench.v1.EchoService/Echo`. No auth, tracing,
//! limits or timeouts — only tonic, with TCP_NODELAY on every accepted socket (as `pbm serve`
//! sets it), so the comparison measures what the PBM stack adds on top of tonic.

use std::net::SocketAddr;

use anyhow::Context;
use pbm_proto::bench::v1::echo_service_server::{EchoService, EchoServiceServer};
use pbm_proto::bench::v1::{EchoRequest, EchoResponse};
use tonic::transport::Server;
use tonic::{Request, Response, Status};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:50099")]
    listen: SocketAddr,
}

struct Echo;

#[tonic::async_trait]
impl EchoService for Echo {
    async fn echo(&self, request: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(EchoResponse {
            payload: request.into_inner().payload,
        }))
    }
}

/// Serves until SIGINT or SIGTERM.
pub async fn serve(args: Args) -> anyhow::Result<()> {
    eprintln!("pbm-load echo-server listening on {}", args.listen);
    Server::builder()
        .tcp_nodelay(true)
        .add_service(EchoServiceServer::new(Echo))
        .serve_with_shutdown(args.listen, shutdown())
        .await
        .with_context(|| format!("echo server on {}", args.listen))
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
