//! Events between services (docs/ARCHITECTURE.md "Events").
//!
//! A service writes an outbox row in the same transaction as the change (`pbm_db::platform`).
//! The [`Relay`] publishes committed rows and marks them published, so nothing acknowledged to
//! a client is lost if the process dies between commit and publish: the row is simply published
//! on the next pass. Delivery is at least once; every event carries a stable id
//! (`<service>:<outbox id>`) for consumers to deduplicate.
//!
//! * distributed: [`RedisStreams`] – `XADD pbm:events:<topic> MAXLEN ~ N`, read by
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

/// Stream key of a topic.
pub fn stream_key(topic: &str) -> String {
    format!("pbm:events:{topic}")
}

/// The topic of a stream key ([`stream_key`]'s inverse).
pub fn topic_of_key(key: &str) -> &str {
    key.strip_prefix("pbm:events:").unwrap_or(key)
}
