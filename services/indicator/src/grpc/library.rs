//! Transport of `pbm.indicator.v1.LibraryMirrorService` (docs/INDICATOR.md "Following an
//! upstream library").

use std::pin::Pin;

use pbm_proto::indicator::v1 as proto;
use pbm_proto::indicator::v1::library_mirror_service_server::LibraryMirrorService;
use pbm_server::rpc;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::ops;
use crate::state::AppState;

pub struct LibraryMirrorGrpc {
    state: AppState,
}

impl LibraryMirrorGrpc {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<proto::WatchLibraryResponse, Status>> + Send>>;

#[tonic::async_trait]
impl LibraryMirrorService for LibraryMirrorGrpc {
    type WatchLibraryStream = WatchStream;

    /// Authorised and checked before the stream starts (a refusal is the call's status); then
    /// batches flow until the caller goes away.
    async fn watch_library(
        &self,
        r: Request<proto::WatchLibraryRequest>,
    ) -> Result<Response<Self::WatchLibraryStream>, Status> {
        let domain = rpc::rpc_of(&r).domain().to_owned();
        let watch = rpc::query(r, |caller, m| async {
            ops::library::open(&self.state, caller, m)
        })
        .await?
        .into_inner();
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(watch.run(tx, domain).instrument(tracing::Span::current()));
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn get_mirror_status(
        &self,
        r: Request<proto::GetMirrorStatusRequest>,
    ) -> Result<Response<proto::GetMirrorStatusResponse>, Status> {
        rpc::query(r, |caller, m| ops::library::status(&self.state, caller, m)).await
    }
}
