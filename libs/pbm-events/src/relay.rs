//! Publishing: the relay moves committed outbox rows to Redis Streams or the in-process bus.

use std::time::Duration;

use pbm_db::Db;
use pbm_db::platform;

use crate::streams::StreamOptions;
use crate::{Consumer, Event, stream_key};

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("database: {0}")]
    Store(#[from] pbm_db::StoreError),
}

/// Where events go.
pub trait Publisher: Send + Sync + 'static {
    fn publish(&self, events: &[Event]) -> impl Future<Output = Result<(), PublishError>> + Send;
}

/// Redis Streams of one deployment: one stream per topic, `pbm:<namespace>:events:<topic>`
/// ([`stream_key`]), the namespace being the deployment's region so that deployments may share
/// one Redis. Its consumers read the same namespace ([`RedisStreams::spawn_consumer`]).
#[derive(Clone)]
pub struct RedisStreams {
    client: redis::Client,
    conn: redis::aio::ConnectionManager,
    namespace: String,
    max_len: usize,
}

impl RedisStreams {
    /// Connects to the Redis at `url` for the streams of `namespace` (the region, e.g. `140525`).
    pub async fn connect(url: &str, namespace: &str) -> Result<Self, PublishError> {
        let client = redis::Client::open(url)?;
        let conn = redis::aio::ConnectionManager::new(client.clone()).await?;
        Ok(Self {
            client,
            conn,
            namespace: namespace.to_owned(),
            max_len: 100_000,
        })
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Runs `consumer` on the streams of this namespace until the task is aborted
    /// ([`crate::streams::run`], on a connection of its own).
    pub fn spawn_consumer(
        &self,
        consumer: Consumer,
        options: StreamOptions,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(crate::streams::run(
            self.client.clone(),
            self.namespace.clone(),
            consumer,
            options,
            crate::streams::instance_name(),
        ))
    }
}

impl Publisher for RedisStreams {
    async fn publish(&self, events: &[Event]) -> Result<(), PublishError> {
        let mut pipe = redis::pipe();
        for e in events {
            pipe.cmd("XADD")
                .arg(stream_key(&self.namespace, &e.topic))
                .arg("MAXLEN")
                .arg("~")
                .arg(self.max_len)
                .arg("*")
                .arg("id")
                .arg(&e.id)
                .arg("service")
                .arg(&e.service)
                .arg("entity_id")
                .arg(&e.entity_id)
                .arg("payload")
                .arg(&e.payload)
                .arg("occurred_at")
                .arg(&e.occurred_at)
                .arg("traceparent")
                .arg(&e.trace_context)
                .ignore();
        }
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }
}

/// The embedded bus: subscribers receive every event published after they subscribed.
#[derive(Clone)]
pub struct InProcessBus {
    sender: tokio::sync::broadcast::Sender<Event>,
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self {
            sender: tokio::sync::broadcast::channel(4096).0,
        }
    }
}

impl InProcessBus {
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.sender.subscribe()
    }
}

impl Publisher for InProcessBus {
    async fn publish(&self, events: &[Event]) -> Result<(), PublishError> {
        for e in events {
            // No subscriber yet is fine: nobody in this process consumes that topic.
            let _ = self.sender.send(e.clone());
        }
        Ok(())
    }
}

/// Moves committed outbox rows of one database to a publisher.
pub struct Relay<P> {
    db: Db,
    publisher: P,
    batch: i64,
}

impl<P: Publisher> Relay<P> {
    pub fn new(db: Db, publisher: P) -> Self {
        Self {
            db,
            publisher,
            batch: 500,
        }
    }

    /// Publishes every pending row; returns how many were published.
    pub async fn run_once(&self) -> Result<usize, PublishError> {
        let mut total = 0;
        loop {
            let batch = self.batch;
            let pending = self
                .db
                .read(move |c| platform::unpublished_outbox(c, batch))
                .await?;
            if pending.is_empty() {
                return Ok(total);
            }
            let events: Vec<Event> = pending.iter().map(Event::from).collect();
            self.publisher.publish(&events).await?;
            // Published first, marked second: a crash in between republishes (at least once).
            let ids: Vec<i64> = pending.iter().map(|e| e.id).collect();
            self.db
                .write(move |c| platform::mark_outbox_published(c, &ids, pbm_db::now()))
                .await?;
            total += events.len();
            if (events.len() as i64) < batch {
                return Ok(total);
            }
        }
    }

    /// Runs forever, every `every`, logging failures and retrying on the next tick.
    pub fn spawn(self, every: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                match self.run_once().await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(events = n, "outbox published"),
                    Err(e) => tracing::warn!(error = %e, "outbox relay failed; will retry"),
                }
            }
        })
    }
}

/// Starts the relay of one service database: to `redis` when given (distributed: the
/// deployment's streams, [`RedisStreams::connect`]), else to `bus` (embedded).
pub fn spawn_relay(
    db: Db,
    redis: Option<&RedisStreams>,
    bus: &InProcessBus,
) -> tokio::task::JoinHandle<()> {
    const EVERY: Duration = Duration::from_millis(500);
    match redis {
        Some(streams) => Relay::new(db, streams.clone()).spawn(EVERY),
        None => Relay::new(db, bus.clone()).spawn(EVERY),
    }
}
