//! Calls from one PBM service to another over gRPC: the lazily connected channel every client
//! uses, the request that carries the original caller, and the client of the agency service's
//! draws and engagements that several services commission through ([`agency`]).
//! Service-to-service calls carry the original caller's token, whom the called service
//! authorises by role and region (docs/DOMAIN.md "Regions and roles").

pub mod agency;

use std::time::Duration;

use pbm_proto::tls::ClientTlsFiles;
use tonic::transport::Channel;

/// A channel to another PBM service at `url`, connected on first use (within 2 s), each call
/// bounded by `timeout`; over TLS as `tls` says for an https:// URL.
pub fn lazy_channel(url: &str, tls: &ClientTlsFiles, timeout: Duration) -> anyhow::Result<Channel> {
    Ok(tls
        .endpoint(url)?
        .connect_timeout(Duration::from_secs(2))
        .timeout(timeout)
        .tcp_nodelay(true)
        .connect_lazy())
}

/// A request to another service carrying the original caller's `authorization` header and
/// the current span's W3C trace context (`traceparent`), so that the call is a child of the
/// request that made it: one request is one trace across services. Work that leaves the
/// request's task (a blocking closure, a batch lane, a spawned task) carries the request's
/// span with it (`pbm_db::Db::read`/`write`, the goal service's steps).
pub fn as_caller<T>(authorization: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Ok(value) = authorization.parse() {
        request.metadata_mut().insert("authorization", value);
    }
    pbm_telemetry::inject_current_context(request.metadata_mut());
    request
}
