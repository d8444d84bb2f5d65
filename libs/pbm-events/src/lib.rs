//! Events between services (docs/ARCHITECTURE.md "Events").
//!
//! A service writes an outbox row in the same transaction as the change (`pbm_db::platform`).
//! The [`Relay`] publishes committed rows and marks them published, so nothing acknowledged to
//! a client is lost if the process dies between commit and publish: the row is simply published
//! on the next pass. Delivery is at least once; every event carries a stable id
//! (`<service>:<outbox id>`) for consumers to deduplicate.
//!
//! * distributed: [`RedisStreams`] – `XADD pbm:<namespace>:events:<topic> MAXLEN ~ N` (the
//!   namespace is the deployment's region, so deployments may share one Redis), read by
//!   [`streams::run`] with one consumer group per [`Consumer`] (`XREADGROUP`/`XACK`) on a
//!   dedicated connection (a blocked `XREADGROUP` holds up every other command on a shared
//!   multiplexed connection), pending entries of dead consumers reclaimed with `XAUTOCLAIM`;
//! * embedded: [`InProcessBus`] – a tokio broadcast channel, only a wake-up for
//!   [`embedded::spawn`], which reads the producers' outbox rows (all in this process) from a
//!   cursor kept in the consumer's database, so nothing is lost while a consumer lags or
//!   restarts.
//!
//! Either way a [`Consumer`] applies an event's effect in one transaction of its own database
//! together with recording the event id (`pbm_processed_events`): an id already recorded is
//! skipped, so the effect happens exactly once however often the event is delivered. What fails
//! permanently, or too often, goes to the dead letters ([`dead_letters`]).

pub mod consumer;
pub mod dead_letters;
pub mod embedded;
mod relay;
pub mod streams;
pub mod topics;

pub use consumer::{Applied, Consumer, Handler, HandlerError};
pub use relay::{InProcessBus, PublishError, Publisher, RedisStreams, Relay, spawn_relay};

use pbm_db::platform::OutboxEvent;

/// An event as consumers see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    /// `<service>:<outbox id>`, unique and stable across redeliveries.
    pub id: String,
    pub service: String,
    pub topic: String,
    pub entity_id: String,
    /// JSON.
    pub payload: String,
    /// RFC 3339 UTC.
    pub occurred_at: String,
    /// W3C `traceparent` of the request that wrote it ('' when none): its consumers' spans
    /// continue that trace.
    #[serde(default)]
    pub trace_context: String,
}

impl From<&OutboxEvent> for Event {
    fn from(e: &OutboxEvent) -> Self {
        Event {
            id: format!("{}:{}", e.service, e.id),
            service: e.service.clone(),
            topic: e.topic.clone(),
            entity_id: e.entity_id.clone(),
            payload: e.payload.clone(),
            occurred_at: format!("{}Z", e.occurred_at.format("%Y-%m-%dT%H:%M:%S%.6f")),
            trace_context: e.trace_context.clone(),
        }
    }
}

/// Stream key of `topic` in `namespace` (the deployment's region, e.g. `140525`):
/// `pbm:<namespace>:events:<topic>`, so deployments sharing one Redis never read each other's
/// events (docs/ARCHITECTURE.md "Events").
pub fn stream_key(namespace: &str, topic: &str) -> String {
    format!("pbm:{namespace}:events:{topic}")
}

/// The topic of a stream key of `namespace` ([`stream_key`]'s inverse); any other key is
/// returned whole.
pub fn topic_of_key<'k>(namespace: &str, key: &'k str) -> &'k str {
    key.strip_prefix("pbm:")
        .and_then(|rest| rest.strip_prefix(namespace))
        .and_then(|rest| rest.strip_prefix(":events:"))
        .unwrap_or(key)
}

/// The key `topic` had before keys carried a namespace (`pbm:events:<topic>`): read only to
/// warn about entries left there by an upgrade (docs/OPERATIONS.md "Events and dead letters").
pub fn legacy_stream_key(topic: &str) -> String {
    format!("pbm:events:{topic}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_keys_carry_the_namespace() {
        assert_eq!(
            stream_key("140525", "pbm.goal.approved"),
            "pbm:140525:events:pbm.goal.approved"
        );
        assert_eq!(
            legacy_stream_key("pbm.goal.approved"),
            "pbm:events:pbm.goal.approved"
        );
    }

    #[test]
    fn topic_of_key_inverts_stream_key() {
        for topic in ["pbm.goal.approved", "pbm.agency.engagement_rated", "a:b"] {
            assert_eq!(topic_of_key("140525", &stream_key("140525", topic)), topic);
        }
        // Another namespace's key, or an old one, is not a topic of this namespace.
        for other in [
            stream_key("140581", "pbm.goal.approved"),
            stream_key("1405", "pbm.goal.approved"),
            legacy_stream_key("pbm.goal.approved"),
        ] {
            assert_eq!(topic_of_key("140525", &other), other);
        }
    }
}
