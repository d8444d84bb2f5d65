//! W3C trace context survives a hop: the server span continues the client's trace.

use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

#[test]
fn server_span_continues_the_client_trace() {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("t")));
    tracing::subscriber::with_default(subscriber, || {
        let client = tracing::info_span!("client");
        let _entered = client.enter();
        let mut metadata = tonic::metadata::MetadataMap::new();
        pbm_telemetry::inject_current_context(&mut metadata);
        let traceparent = metadata
            .get("traceparent")
            .expect("traceparent injected")
            .to_str()
            .unwrap()
            .to_owned();

        let request = http::Request::builder()
            .uri("/pbm.indicator.v1.IndicatorService/GetIndicator")
            .header("traceparent", &traceparent)
            .body(())
            .unwrap();
        let server = pbm_telemetry::server_span(&request);
        let client_trace = client.context().span().span_context().trace_id();
        let server_trace = server.context().span().span_context().trace_id();
        assert_eq!(client_trace, server_trace);
        assert!(traceparent.contains(&client_trace.to_string()));
    });
}
