//! Calls to the other services over gRPC: the goal service ([`Goals`]: approved goals for a
//! round's snapshot) and the agency and expert pool ([`Pool`]: key monitoring commissioned to an
//! agency). Each call carries the original caller's token (docs/DOMAIN.md "Regions and roles":
//! the called service authorises the caller by role and region).

pub mod pool;

use pbm_proto::tls::ClientTlsFiles;
use tonic::transport::Channel;

/// A channel to another PBM service at `url`, connected on first use, with the deadlines every
/// service-to-service call uses; over TLS as `tls` says for an https:// URL.
pub(crate) fn lazy_channel(url: &str, tls: &ClientTlsFiles) -> anyhow::Result<Channel> {
    Ok(tls
        .endpoint(url)?
        .connect_timeout(std::time::Duration::from_secs(2))
        .timeout(std::time::Duration::from_secs(60))
        .tcp_nodelay(true)
        .connect_lazy())
}

/// A request to another service carrying the original caller's `authorization` header.
pub(crate) fn as_caller<T>(authorization: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Ok(value) = authorization.parse() {
        request.metadata_mut().insert("authorization", value);
    }
    request
}

/// A lazily connected client of the goal service.
#[derive(Clone)]
pub struct Goals {
    pub(crate) channel: Channel,
}

impl Goals {
    /// A client of the goal service at `url`, over TLS as `tls` says for an https:// URL.
    pub fn over_tls(url: &str, tls: &ClientTlsFiles) -> anyhow::Result<Goals> {
        Ok(Goals {
            channel: lazy_channel(url, tls)?,
        })
    }
}

/// A lazily connected client of the agency service (draws and engagements).
#[derive(Clone)]
pub struct Pool {
    pub(crate) channel: Channel,
}

impl Pool {
    /// A client of the agency service at `url`, over TLS as `tls` says for an https:// URL.
    pub fn over_tls(url: &str, tls: &ClientTlsFiles) -> anyhow::Result<Pool> {
        Ok(Pool {
            channel: lazy_channel(url, tls)?,
        })
    }
}
