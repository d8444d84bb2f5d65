use std::net::SocketAddr;
use std::time::Duration;

use pbm_auth::AuthLayer;
use tokio::net::TcpListener;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::Routes;
use tonic::transport::{Server, ServerTlsConfig};
use tonic_health::ServingStatus;

/// How the standard server behaves.
#[derive(Clone)]
pub struct ServeOptions {
    pub auth: AuthLayer,
    /// Requests in flight across all connections before new ones are shed (RESOURCE_EXHAUSTED).
    pub max_in_flight: usize,
    /// Per-request deadline (tonic's `Server::timeout` answers CANCELLED, not DEADLINE_EXCEEDED,
    /// when it passes).
    pub request_timeout: Duration,
    /// Fully-qualified gRPC service names reported SERVING by grpc.health.v1.
    pub health_services: Vec<&'static str>,
    /// TLS of the listener (with a client CA: mutual TLS); `None` serves plaintext
    /// ([`crate::tls::TlsArgs::server`]).
    pub tls: Option<ServerTlsConfig>,
    /// A second, plaintext listener serving grpc.health.v1 only, for probes that cannot speak
    /// TLS (Kubernetes' gRPC probes): it carries no request data and no token.
    pub health_listen: Option<SocketAddr>,
}

/// Serves `routes` on `listener` behind the standard stack until `shutdown` resolves, then
/// drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_service_status("", ServingStatus::Serving)
        .await;
    for name in &options.health_services {
        health_reporter
            .set_service_status(*name, ServingStatus::Serving)
            .await;
    }
    // Reflection lists the services this server serves (the health names, and health itself),
    // not every service of the contracts (the benchmarks' echo service is not served here).
    let reflection = |b: tonic_reflection::server::Builder<'static>| {
        options.health_services.iter().fold(
            b.register_encoded_file_descriptor_set(pbm_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                .with_service_name("grpc.health.v1.Health"),
            |b, name| b.with_service_name(*name),
        )
    };
    let reflection_v1 = reflection(tonic_reflection::server::Builder::configure()).build_v1()?;
    // grpcio and older grpcurl speak v1alpha only; tonic's own client asks for v1.
    let reflection_v1alpha =
        reflection(tonic_reflection::server::Builder::configure()).build_v1alpha()?;
    let health_only = match options.health_listen {
        Some(addr) => Some((
            TcpListener::bind(addr)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen for health on {addr}: {e}"))?,
            health_service.clone(),
        )),
        None => None,
    };
    let routes = routes
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);

    let layers = tower::ServiceBuilder::new()
        // Shed load instead of queueing without bound once the limit below is reached.
        .load_shed()
        // Bound work in flight across all connections (unbounded, tonic's p99 reaches 0.1–0.3 s
        // at 2,048 requests in flight).
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
            options.max_in_flight,
        ))
        // Name the RPC from its path (`/pbm.goal.v1.GoalService/SubmitGoal`) for the handlers
        // (`crate::rpc`): errors' domain, audit lines, idempotency records.
        .layer(crate::rpc::RpcLayer)
        // Authenticate inside the span and the limit, so refusals are traced and bounded too.
        .layer(options.auth.clone())
        .into_inner();

    // serve_with_incoming leaves TCP_NODELAY off, whatever Server::tcp_nodelay says (latencies
    // then show a 40 ms delayed-ACK floor): set it on every socket.
    let incoming = TcpListenerStream::new(listener).map(|stream| {
        if let Ok(s) = &stream {
            let _ = s.set_nodelay(true);
        }
        stream
    });
    let local = health_reporter.clone();
    let names = options.health_services.clone();
    let (draining, drain_started) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        shutdown.await;
        let _ = draining.send(());
        tracing::info!("shutting down: draining in-flight requests");
        local
            .set_service_status("", ServingStatus::NotServing)
            .await;
        for name in names {
            local
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
    };
    let mut builder = Server::builder();
    // TLS wraps each accepted socket (serve_with_incoming included), handshakes run beside the
    // accept loop and a failed one drops only its connection.
    if let Some(tls) = options.tls {
        builder = builder.tls_config(tls)?;
    }
    let server = builder
        .timeout(options.request_timeout)
        .trace_fn(pbm_telemetry::server_span)
        .layer(layers)
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, shutdown);
    // Drain, then cancel: once shutdown starts, what is still in flight after DRAIN_DEADLINE (an
    // idle client stream, a stuck call) is dropped, so a SIGTERM always ends the process.
    let deadline = async {
        if drain_started.await.is_ok() {
            tokio::time::sleep(DRAIN_DEADLINE).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    // The health listener lives as long as the server (reporting NOT_SERVING while it drains).
    let health_only = async move {
        match health_only {
            Some((listener, health)) => {
                Server::builder()
                    .add_service(health)
                    .serve_with_incoming(TcpListenerStream::new(listener))
                    .await
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        served = server => served?,
        served = health_only => served?,
        () = deadline => {
            tracing::warn!(
                deadline_secs = DRAIN_DEADLINE.as_secs(),
                "drain deadline passed: cancelling the requests still in flight"
            );
        }
    }
    Ok(())
}

/// How long a shutdown waits for requests in flight before cancelling them (below
/// Kubernetes' default 30 s termination grace period).
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(20);

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (Kubernetes, systemd; `tokio::signal::ctrl_c` alone
/// handles SIGINT only).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
