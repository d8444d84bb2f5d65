//! [`AuthLayer`]: verifies the bearer token of every request and attaches the [`Caller`].
//!
//! * no `authorization` header, or an invalid, expired or refused token → UNAUTHENTICATED
//!   before any handler, validation or write runs (no audit row, no database work: a flood of
//!   token-less calls costs the server almost nothing);
//! * health checks and reflection need no token;
//! * with a rate limit ([`AuthLayer::with_rate_limit`]), each caller — a token's subject, or the
//!   peer address of a call without a valid token — gets so many requests a second (a burst
//!   allowed); beyond that RESOURCE_EXHAUSTED (`RATE_LIMITED`), before any handler.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};

use tower::{Layer, Service};

use crate::{Caller, TokenVerifier};

/// Verified tokens are remembered (until they expire) so the signature check, the costliest
/// step of a small RPC, runs once per token rather than once per request.
const CACHE_CAPACITY: usize = 10_000;

#[derive(Clone)]
pub struct AuthLayer {
    inner: Arc<Inner>,
}

struct Inner {
    verifier: Box<dyn TokenVerifier>,
    cache: RwLock<HashMap<String, (Caller, i64)>>,
    limiter: Option<governor::DefaultKeyedRateLimiter<String>>,
    /// Whether reflection needs a token too (production).
    reflection_needs_token: bool,
    /// Log lines of refusals, at most one a second each (a flood of bad tokens must not become
    /// a flood of log lines).
    rate_limited_log: LogGate,
    token_refused_log: LogGate,
}

/// Lets a log line through at most once a second, counting the ones it held back.
#[derive(Default)]
struct LogGate {
    /// The second (Unix time) of the last line let through.
    last: std::sync::atomic::AtomicI64,
    held_back: std::sync::atomic::AtomicU64,
}

impl LogGate {
    /// `Some(lines held back since the last one)` when this line may be logged.
    fn pass(&self) -> Option<u64> {
        use std::sync::atomic::Ordering::Relaxed;
        let now = chrono::Utc::now().timestamp();
        let last = self.last.load(Relaxed);
        if now > last
            && self
                .last
                .compare_exchange(last, now, Relaxed, Relaxed)
                .is_ok()
        {
            Some(self.held_back.swap(0, Relaxed))
        } else {
            self.held_back.fetch_add(1, Relaxed);
            None
        }
    }
}

/// Callers the rate limiter remembers before it forgets the ones that are back to full quota.
const LIMITER_KEYS: usize = 100_000;

impl AuthLayer {
    pub fn new(verifier: impl TokenVerifier) -> Self {
        Self {
            inner: Arc::new(Inner {
                verifier: Box::new(verifier),
                cache: RwLock::new(HashMap::new()),
                limiter: None,
                reflection_needs_token: false,
                rate_limited_log: LogGate::default(),
                token_refused_log: LogGate::default(),
            }),
        }
    }

    /// Limits every caller to `per_second` requests a second, bursts of `burst` allowed. A
    /// caller is a token's subject; a call without a valid token counts against its peer
    /// address. Configure before the layer is cloned.
    pub fn with_rate_limit(
        mut self,
        per_second: std::num::NonZeroU32,
        burst: std::num::NonZeroU32,
    ) -> Self {
        let quota = governor::Quota::per_second(per_second).allow_burst(burst);
        Arc::get_mut(&mut self.inner)
            .expect("configure the auth layer before cloning it")
            .limiter = Some(governor::RateLimiter::keyed(quota));
        self
    }

    /// Reflection needs a valid token too (production: the contracts are not shown to anyone
    /// on the network). Configure before the layer is cloned.
    pub fn with_closed_reflection(mut self) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("configure the auth layer before cloning it")
            .reflection_needs_token = true;
        self
    }

    /// Whether a request on `path` needs no token.
    fn is_open(&self, path: &str) -> bool {
        is_health_path(path) || (!self.inner.reflection_needs_token && is_reflection_path(path))
    }

    /// Whether the caller `key` names may make one more request now. The key is built only
    /// when a limit is configured.
    fn admit(&self, key: impl FnOnce() -> String) -> Result<(), tonic::Status> {
        let Some(limiter) = &self.inner.limiter else {
            return Ok(());
        };
        let key = key();
        if limiter.len() > LIMITER_KEYS {
            limiter.retain_recent();
        }
        limiter.check_key(&key).map_err(|_| {
            use tonic_types::{ErrorDetails, StatusExt};
            if let Some(held_back) = self.inner.rate_limited_log.pass() {
                tracing::info!(caller = %key, held_back, "rate limited");
            }
            tonic::Status::with_error_details(
                tonic::Code::ResourceExhausted,
                "请求过于频繁，请稍后再试 (RATE_LIMITED)",
                ErrorDetails::with_error_info("RATE_LIMITED", "pbm", HashMap::new()),
            )
        })
    }

    /// Returns the caller of a request with these headers, or the reason it is refused.
    pub fn authenticate(&self, headers: &http::HeaderMap) -> Result<Caller, tonic::Status> {
        let Some(value) = headers.get(http::header::AUTHORIZATION) else {
            return Err(unauthenticated("请先登录（缺少访问令牌）"));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| unauthenticated("authorization 头格式应为 `Bearer <token>`"))?;
        let now = chrono::Utc::now().timestamp();
        if let Some((caller, exp)) = self
            .inner
            .cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(token)
            && *exp > now
        {
            return Ok(caller.clone());
        }
        let claims = self.inner.verifier.verify(token, now).map_err(|e| {
            if let Some(held_back) = self.inner.token_refused_log.pass() {
                tracing::info!(error = %e, held_back, "token refused");
            }
            unauthenticated(&format!("令牌无效: {e}"))
        })?;
        let exp = claims.exp;
        let caller = claims
            .into_caller()
            .map_err(|e| unauthenticated(&format!("令牌无效: {e}")))?;
        let mut cache = self.inner.cache.write().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_CAPACITY {
            cache.retain(|_, (_, e)| *e > now);
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(token.to_owned(), (caller.clone(), exp));
        Ok(caller)
    }
}

/// A refusal with the platform's error details: `ErrorInfo` reason `UNAUTHENTICATED`, domain
/// `pbm` (the refusal comes before any service).
fn unauthenticated(message: &str) -> tonic::Status {
    use tonic_types::{ErrorDetails, StatusExt};
    tonic::Status::with_error_details(
        tonic::Code::Unauthenticated,
        format!("{message} (UNAUTHENTICATED)"),
        ErrorDetails::with_error_info("UNAUTHENTICATED", "pbm", HashMap::new()),
    )
}

/// Health needs no token: load balancers and probes must reach it.
fn is_health_path(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/")
}

/// Reflection needs no token outside production: tooling (grpcurl, Postman) discovers the
/// contracts.
fn is_reflection_path(path: &str) -> bool {
    path.starts_with("/grpc.reflection.")
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Auth<S> {
    inner: S,
    layer: AuthLayer,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Auth<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        // Take the service that was polled ready; leave a fresh clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if !self.layer.is_open(request.uri().path()) {
            let refused = match self.layer.authenticate(request.headers()) {
                Ok(caller) => match self.layer.admit(|| format!("sub:{}", caller.subject)) {
                    Ok(()) => {
                        request.extensions_mut().insert(caller);
                        None
                    }
                    Err(limited) => Some(limited),
                },
                Err(status) => {
                    let peer = || {
                        use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
                        // Over TLS the socket's address sits inside the TLS connection's info.
                        let extensions = request.extensions();
                        let ip = extensions
                            .get::<TcpConnectInfo>()
                            .or_else(|| {
                                extensions
                                    .get::<TlsConnectInfo<TcpConnectInfo>>()
                                    .map(TlsConnectInfo::get_ref)
                            })
                            .and_then(TcpConnectInfo::remote_addr)
                            .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string());
                        format!("peer:{ip}")
                    };
                    Some(self.layer.admit(peer).err().unwrap_or(status))
                }
            };
            if let Some(status) = refused {
                return Box::pin(async move { Ok(status.into_http()) });
            }
        }
        Box::pin(inner.call(request))
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::{Claims, Ed25519Verifier, Role, TokenSigner};
    use ed25519_dalek::SigningKey;

    #[test]
    fn refusals_log_one_line_a_second_the_rest_counted() {
        let gate = LogGate::default();
        assert_eq!(gate.pass(), Some(0));
        let held = (0..1000).filter(|_| gate.pass().is_none()).count();
        // The second may turn during the loop: then one more line passes.
        assert!(held >= 998, "{held}");
    }

    fn layer() -> (AuthLayer, TokenSigner) {
        let signer = TokenSigner::new("k", SigningKey::from_bytes(&[3u8; 32]));
        let verifier = Ed25519Verifier::new().with_key("k", signer.verifying_key());
        (AuthLayer::new(verifier), signer)
    }

    fn headers(value: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn attaches_caller_of_valid_token() {
        let (layer, signer) = layer();
        let token = signer.sign(
            &Claims::new("u1", Role::BudgetUnit, "140525", 60)
                .with_unit(Some("101001"))
                .with_department(Some("101")),
        );
        for _ in 0..2 {
            let caller = layer
                .authenticate(&headers(&format!("Bearer {token}")))
                .unwrap();
            assert_eq!(caller.role, Role::BudgetUnit);
            assert_eq!(caller.unit.as_deref(), Some("101001"));
            assert!(caller.authenticated);
        }
    }

    #[test]
    fn missing_and_bad_tokens_are_refused() {
        use tonic_types::StatusExt;
        let (layer, _) = layer();
        let err = layer.authenticate(&http::HeaderMap::new()).unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unauthenticated);
        let info = err.get_details_error_info().expect("error info");
        assert_eq!(
            (info.reason.as_str(), info.domain.as_str()),
            ("UNAUTHENTICATED", "pbm")
        );
        let err = layer.authenticate(&headers("Bearer garbage")).unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unauthenticated);
        let err = layer.authenticate(&headers("Basic abc")).unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unauthenticated);
    }

    #[test]
    fn a_caller_over_its_rate_is_refused_and_others_are_not() {
        use std::num::NonZeroU32;
        let (layer, signer) = layer();
        let layer = layer.with_rate_limit(NonZeroU32::new(1).unwrap(), NonZeroU32::new(3).unwrap());
        let alice = signer.sign(&Claims::new("alice", Role::Auditor, "140525", 60));
        let bob = signer.sign(&Claims::new("bob", Role::Auditor, "140525", 60));
        let alice = layer
            .authenticate(&headers(&format!("Bearer {alice}")))
            .unwrap();
        let bob = layer
            .authenticate(&headers(&format!("Bearer {bob}")))
            .unwrap();
        for _ in 0..3 {
            assert!(layer.admit(|| format!("sub:{}", alice.subject)).is_ok());
        }
        let limited = layer
            .admit(|| format!("sub:{}", alice.subject))
            .unwrap_err();
        assert_eq!(limited.code(), tonic::Code::ResourceExhausted);
        assert!(limited.message().contains("RATE_LIMITED"));
        assert!(layer.admit(|| format!("sub:{}", bob.subject)).is_ok());
    }

    #[test]
    fn health_and_reflection_are_open_and_reflection_closes_in_production() {
        let reflection = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";
        let (open, _) = layer();
        assert!(open.is_open("/grpc.health.v1.Health/Check"));
        assert!(open.is_open(reflection));
        assert!(!open.is_open("/pbm.indicator.v1.IndicatorService/GetIndicator"));
        let (closed, _) = layer();
        let closed = closed.with_closed_reflection();
        assert!(closed.is_open("/grpc.health.v1.Health/Check"));
        assert!(!closed.is_open(reflection));
    }
}
