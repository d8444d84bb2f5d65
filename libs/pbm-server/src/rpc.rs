//! Thin handlers. Every RPC adapter of every service is one call to [`query`] or [`mutate`]:
//! the caller comes from the auth layer, the RPC's name from the path tonic routed
//! (`/pbm.goal.v1.GoalService/SubmitGoal`, put in the request's extensions by the standard
//! stack, see [`RpcLayer`]), and every error becomes a status of the service's one
//! `ErrorInfo.domain`.
//!
//! # `ErrorInfo.domain`
//! One scheme for every service: the proto package of the RPC's service without its version,
//! `pbm.indicator`, `pbm.agency`, `pbm.goal` (the gRPC service `pbm.goal.v1.GoalService` →
//! `pbm.goal`). Errors raised outside any RPC (the auth layer's, the platform's) carry `pbm`.
//! The same name keys a service's idempotency records and audit lines.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};

use pbm_auth::Caller;
use prost::Message;
use tonic::{Request, Response, Status};

use crate::{ApiError, MutationContext};

/// `ErrorInfo.domain` of errors raised outside any service's RPC.
pub const PLATFORM_DOMAIN: &str = "pbm";

/// The RPC a request calls, from its path: `/pbm.goal.v1.GoalService/SubmitGoal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rpc {
    path: Arc<str>,
    /// `path[1..slash]` is the gRPC service; `path[slash + 1..]` the method.
    slash: usize,
}

impl Rpc {
    /// The RPC of a gRPC path, or `None` for a path that is not `/<service>/<method>`.
    pub fn from_path(path: &str) -> Option<Rpc> {
        let rest = path.strip_prefix('/')?;
        let slash = rest.find('/')? + 1;
        let (service, method) = (&path[1..slash], &path[slash + 1..]);
        (!service.is_empty() && !method.is_empty() && !method.contains('/')).then(|| Rpc {
            path: path.into(),
            slash,
        })
    }

    /// An RPC named by hand: the items of a stream (each `DeclareGoals` item is audited as
    /// its own mutation) and tests. `service` is the fully qualified gRPC service name.
    pub fn new(service: &str, method: &str) -> Rpc {
        Rpc {
            path: format!("/{service}/{method}").into(),
            slash: service.len() + 1,
        }
    }

    /// The fully qualified gRPC service, e.g. `pbm.goal.v1.GoalService`.
    pub fn service(&self) -> &str {
        &self.path[1..self.slash]
    }

    /// The method, e.g. `SubmitGoal`.
    pub fn method(&self) -> &str {
        &self.path[self.slash + 1..]
    }

    /// `ErrorInfo.domain` of this RPC's errors, e.g. `pbm.goal`.
    pub fn domain(&self) -> &str {
        error_domain(self.service())
    }
}

/// `ErrorInfo.domain` for a gRPC service name: its proto package without the version
/// (`pbm.goal.v1.GoalService` → `pbm.goal`, `pbm.agency.v1.DrawService` → `pbm.agency`). A
/// name that does not follow `pbm.<service>.v<N>.<Service>` answers [`PLATFORM_DOMAIN`].
pub fn error_domain(grpc_service: &str) -> &str {
    let mut parts = grpc_service.rsplitn(3, '.');
    let (_service, version, package) = (parts.next(), parts.next(), parts.next());
    match (version, package) {
        (Some(v), Some(p))
            if p.starts_with("pbm.")
                && v.len() > 1
                && v.starts_with('v')
                && v[1..].bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            p
        }
        _ => PLATFORM_DOMAIN,
    }
}

/// The RPC of a request the standard stack served; outside it (a handler called directly),
/// a platform RPC named `unknown`.
pub fn rpc_of<M>(request: &Request<M>) -> Rpc {
    request
        .extensions()
        .get::<Rpc>()
        .cloned()
        .unwrap_or_else(|| Rpc::new("pbm", "unknown"))
}

/// The caller of a request, or UNAUTHENTICATED in the RPC's domain.
pub fn caller_of<M>(request: &Request<M>, rpc: &Rpc) -> Result<Caller, Status> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| ApiError::unauthenticated().into_status(rpc.domain()))
}

/// A reading RPC: `handle` gets the caller and the message; its error becomes a status of
/// the RPC's domain.
pub async fn query<M, R, F, Fut>(request: Request<M>, handle: F) -> Result<Response<R>, Status>
where
    F: FnOnce(Caller, M) -> Fut,
    Fut: Future<Output = Result<R, ApiError>>,
{
    let rpc = rpc_of(&request);
    let caller = caller_of(&request, &rpc)?;
    handle(caller, request.into_inner())
        .await
        .map(Response::new)
        .map_err(|e| e.into_status(rpc.domain()))
}

/// A mutating RPC: `handle` gets the [`MutationContext`] (caller, RPC, the validated client
/// request id taken by `request_id`, the request's fingerprint) and the message.
pub async fn mutate<M, R, F, Fut>(
    request: Request<M>,
    request_id: fn(&M) -> &str,
    handle: F,
) -> Result<Response<R>, Status>
where
    M: Message,
    F: FnOnce(MutationContext, M) -> Fut,
    Fut: Future<Output = Result<R, ApiError>>,
{
    let rpc = rpc_of(&request);
    let ctx = context(&request, &rpc, request_id)?;
    handle(ctx, request.into_inner())
        .await
        .map(Response::new)
        .map_err(|e| e.into_status(rpc.domain()))
}

/// The [`MutationContext`] of a request (for a streaming RPC that does not fit [`mutate`]).
pub fn context<M: Message>(
    request: &Request<M>,
    rpc: &Rpc,
    request_id: fn(&M) -> &str,
) -> Result<MutationContext, Status> {
    let caller = caller_of(request, rpc)?;
    let message = request.get_ref();
    MutationContext::new(rpc.clone(), caller, request_id(message), message)
        .map_err(|e| e.into_status(rpc.domain()))
}

/// How long a client stream may stay silent before it is closed ([`Inbound`]).
pub const STREAM_IDLE: std::time::Duration = std::time::Duration::from_secs(30);
/// How long a client stream may stay open in all ([`Inbound`]).
pub const STREAM_TOTAL: std::time::Duration = std::time::Duration::from_secs(600);

/// A client stream with deadlines: one that sends nothing for `idle`, or stays open longer
/// than `total`, ends with DEADLINE_EXCEEDED (`STREAM_IDLE` / `STREAM_TOTAL`) instead of
/// holding a task, a connection and shutdown forever.
pub struct Inbound<T> {
    stream: tonic::Streaming<T>,
    idle: std::time::Duration,
    ends_at: tokio::time::Instant,
    domain: String,
}

impl<T> Inbound<T> {
    /// `stream` of `rpc` with the standard deadlines.
    pub fn new(stream: tonic::Streaming<T>, rpc: &Rpc) -> Self {
        Self::with_deadlines(stream, rpc, STREAM_IDLE, STREAM_TOTAL)
    }

    /// `stream` of `rpc` with the given deadlines.
    pub fn with_deadlines(
        stream: tonic::Streaming<T>,
        rpc: &Rpc,
        idle: std::time::Duration,
        total: std::time::Duration,
    ) -> Self {
        Inbound {
            stream,
            idle,
            ends_at: tokio::time::Instant::now() + total,
            domain: rpc.domain().to_owned(),
        }
    }

    /// The next message, `None` at the end of the stream, or the error that ends it.
    pub async fn message(&mut self) -> Result<Option<T>, Status> {
        let left = self
            .ends_at
            .saturating_duration_since(tokio::time::Instant::now());
        let wait = self.idle.min(left);
        match tokio::time::timeout(wait, self.stream.message()).await {
            Ok(next) => next,
            Err(_) => {
                let (reason, message) = if wait < self.idle {
                    ("STREAM_TOO_LONG", "数据流传输时间过长，已关闭，请分批提交")
                } else {
                    ("STREAM_IDLE", "数据流长时间没有发送数据，已关闭")
                };
                Err(
                    ApiError::new(crate::ErrorKind::DeadlineExceeded, reason, message)
                        .into_status(&self.domain),
                )
            }
        }
    }
}

/// Puts the [`Rpc`] of each HTTP request's path into its extensions, where tonic hands them to
/// the handler. Part of the standard stack ([`crate::serve`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct RpcLayer;

impl<S> tower::Layer<S> for RpcLayer {
    type Service = RpcService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcService { inner }
    }
}

/// The service of [`RpcLayer`].
#[derive(Debug, Clone)]
pub struct RpcService<S> {
    inner: S,
}

impl<S, B, ResBody> tower::Service<http::Request<B>> for RpcService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<
        Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let rpc = Rpc::from_path(request.uri().path());
        if let Some(rpc) = &rpc {
            request.extensions_mut().insert(rpc.clone());
        }
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            Ok(match rpc {
                Some(rpc) if is_malformed_request(response.headers()) => {
                    malformed_request().into_status(rpc.domain()).into_http()
                }
                _ => response,
            })
        })
    }
}

/// Whether a response is tonic's refusal of a request it could not decode (bad protobuf,
/// invalid UTF-8 in a string, a bad frame): tonic answers INTERNAL with the decoder's text.
fn is_malformed_request(headers: &http::HeaderMap) -> bool {
    if headers.get("grpc-status").map(http::HeaderValue::as_bytes) != Some(b"13") {
        return false;
    }
    let message = headers
        .get("grpc-message")
        .map(http::HeaderValue::as_bytes)
        .unwrap_or_default();
    [
        &b"failed to decode Protobuf message"[..],
        b"failed%20to%20decode%20Protobuf%20message",
        b"protocol error: received message",
        b"protocol%20error:%20received%20message",
    ]
    .iter()
    .any(|prefix| message.starts_with(prefix))
}

/// What a caller whose request could not be decoded is told: INVALID_ARGUMENT, no internals.
fn malformed_request() -> ApiError {
    ApiError::invalid(
        "MALFORMED_REQUEST",
        "请求消息格式无效（无法按接口定义解析，或文本不是有效的 UTF-8）",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_is_the_package_without_version() {
        assert_eq!(error_domain("pbm.goal.v1.GoalService"), "pbm.goal");
        assert_eq!(error_domain("pbm.agency.v1.DrawService"), "pbm.agency");
        assert_eq!(
            error_domain("pbm.indicator.v2beta.IndicatorService"),
            "pbm.indicator"
        );
        assert_eq!(error_domain("grpc.health.v1.Health"), PLATFORM_DOMAIN);
        assert_eq!(error_domain("Echo"), PLATFORM_DOMAIN);
        assert_eq!(error_domain("pbm.GoalService"), PLATFORM_DOMAIN);
    }

    #[test]
    fn decoder_refusals_are_recognised() {
        let mut h = http::HeaderMap::new();
        h.insert("grpc-status", "13".parse().unwrap());
        h.insert(
            "grpc-message",
            "failed to decode Protobuf message: invalid string value: data is not UTF-8 encoded"
                .parse()
                .unwrap(),
        );
        assert!(is_malformed_request(&h));
        h.insert("grpc-message", "something else".parse().unwrap());
        assert!(!is_malformed_request(&h));
        h.insert("grpc-status", "3".parse().unwrap());
        assert!(!is_malformed_request(&h));
        let status = malformed_request().into_status("pbm.goal");
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(!status.message().contains("Protobuf"));
    }

    #[test]
    fn rpc_from_path() {
        let rpc = Rpc::from_path("/pbm.goal.v1.GoalService/SubmitGoal").unwrap();
        assert_eq!(rpc.service(), "pbm.goal.v1.GoalService");
        assert_eq!(rpc.method(), "SubmitGoal");
        assert_eq!(rpc.domain(), "pbm.goal");
        assert_eq!(rpc, Rpc::new("pbm.goal.v1.GoalService", "SubmitGoal"));
        for bad in ["", "/", "//x", "/a/", "a/b", "/a/b/c"] {
            assert!(Rpc::from_path(bad).is_none(), "{bad}");
        }
    }
}
