//! `pbm.monitoring.v1.ExecutionService`: execution figures pushed or imported by the budget
//! system, and a project's monthly history ([`crate::ops::execution`]); every project's summary
//! streamed to the evaluation service ([`crate::ops::summary`]).

use std::pin::Pin;

use pbm_proto::monitoring::v1 as proto;
use pbm_proto::monitoring::v1::execution_service_server::{
    ExecutionService, ExecutionServiceServer,
};
use pbm_server::rpc;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::ops::{execution, summary};
use crate::state::AppState;

type SummaryStream = Pin<Box<dyn Stream<Item = Result<proto::ExecutionSummary, Status>> + Send>>;

pub struct ExecutionGrpc {
    state: AppState,
}

/// The service on `state`.
pub fn server(state: AppState) -> ExecutionServiceServer<ExecutionGrpc> {
    ExecutionServiceServer::new(ExecutionGrpc { state })
}

#[tonic::async_trait]
impl ExecutionService for ExecutionGrpc {
    type StreamExecutionSummaryStream = SummaryStream;

    async fn push_execution(
        &self,
        r: Request<proto::PushExecutionRequest>,
    ) -> Result<Response<proto::PushExecutionResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| execution::push(&self.state, ctx, m),
        )
        .await
    }

    async fn import_execution(
        &self,
        r: Request<proto::ImportExecutionRequest>,
    ) -> Result<Response<proto::ImportExecutionResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| execution::import(&self.state, ctx, m),
        )
        .await
    }

    async fn get_execution_history(
        &self,
        r: Request<proto::GetExecutionHistoryRequest>,
    ) -> Result<Response<proto::GetExecutionHistoryResponse>, Status> {
        rpc::query(r, |caller, m| execution::history(&self.state, caller, m)).await
    }

    /// Authorised and checked before the stream starts (a refusal is the call's status); then
    /// each chunk is sent on as soon as it is read, while the next is read.
    async fn stream_execution_summary(
        &self,
        r: Request<proto::StreamExecutionSummaryRequest>,
    ) -> Result<Response<Self::StreamExecutionSummaryStream>, Status> {
        let rpc = rpc::rpc_of(&r);
        let mut stream = rpc::query(r, |caller, m| async {
            summary::open(&self.state, caller, m)
        })
        .await?
        .into_inner();
        let state = self.state.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(summary::CHUNK as usize);
        tokio::spawn(
            async move {
                loop {
                    let items = match stream.next(&state).await {
                        Ok(Some(items)) => items,
                        Ok(None) => return,
                        Err(e) => {
                            let _ = tx.send(Err(e.into_status(rpc.domain()))).await;
                            return;
                        }
                    };
                    for item in items {
                        if tx.send(Ok(item)).await.is_err() {
                            // The caller went away.
                            return;
                        }
                    }
                }
            }
            .instrument(tracing::Span::current()),
        );
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}
