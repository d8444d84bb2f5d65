//! Spans reach an OTLP/gRPC collector with the service name, when an endpoint is configured.

use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};

#[derive(Clone, Default)]
struct Collector {
    received: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.received.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_exported_to_the_collector() {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let guard = pbm_telemetry::init("pbm-otlp-test", Some(&format!("http://{addr}"))).unwrap();
    tracing::info_span!(
        "grpc.server",
        otel.name = "/pbm.indicator.v1.IndicatorService/GetIndicator"
    )
    .in_scope(|| {
        tracing::info!("handled");
    });
    // Dropping the guard flushes the batch exporter (off the async workers).
    tokio::task::spawn_blocking(move || drop(guard))
        .await
        .unwrap();

    let received = collector.received.lock().unwrap();
    let spans: Vec<_> = received
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|rs| {
            let service = rs
                .resource
                .as_ref()
                .and_then(|r| r.attributes.iter().find(|a| a.key == "service.name"))
                .and_then(|a| a.value.as_ref())
                .map(|v| format!("{:?}", v.value));
            rs.scope_spans.iter().flat_map(move |ss| {
                ss.spans.iter().map({
                    let service = service.clone();
                    move |s| (service.clone(), s.name.clone())
                })
            })
        })
        .collect();
    assert!(
        spans.iter().any(|(service, name)| name
            == "/pbm.indicator.v1.IndicatorService/GetIndicator"
            && service
                .as_deref()
                .is_some_and(|s| s.contains("pbm-otlp-test"))),
        "{spans:?}"
    );
}
