//! Distributed delivery: a [`Consumer`] reading Redis Streams with a consumer group.
//!
//! * The streams are those of one namespace, the deployment's region
//!   (`pbm:<namespace>:events:<topic>`, [`crate::stream_key`]), as its relay writes them
//!   ([`crate::RedisStreams`]). On start and every 10 minutes, entries a group left unread or
//!   unacknowledged in a key of before namespaces (`pbm:events:<topic>`) are reported with a
//!   warning saying since when to publish them again (docs/OPERATIONS.md "Events and dead
//!   letters"): they are not read, since on a shared Redis they may be another deployment's.
//! * One group per consumer (its name), created at the start of each stream (`XGROUP CREATE
//!   <key> <group> 0 MKSTREAM`, `BUSYGROUP` ignored), so events published before the first
//!   start are read too.
//! * `XREADGROUP GROUP <group> <instance> COUNT n BLOCK ms STREAMS <keys> >` on a connection of
//!   its own; entries are acknowledged (`XACK`) after their transaction commits: at least once.
//! * On start and every `reclaim_every`, entries pending longer than `min_idle` (their consumer
//!   died, or failed them for now) are claimed with `XAUTOCLAIM` and applied again; one
//!   delivered more than `max_deliveries` times goes to the dead letters and is acknowledged.
//! * A lost connection (Redis restarted) is reopened with backoff; a group that vanished (Redis
//!   lost its data) is created again. Applied effects are in the consumer's database and are
//!   never lost; events Redis loses before they are read are lost with it, so Redis runs with
//!   `appendonly yes` (docs/OPERATIONS.md "Events").

use std::collections::HashMap;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::streams::{
    StreamAutoClaimReply, StreamId, StreamInfoGroupsReply, StreamPendingCountReply,
    StreamPendingReply, StreamRangeReply, StreamReadReply,
};
use redis::{AsyncConnectionConfig, RedisError, RedisResult};

use crate::consumer::Applied;
use crate::{Consumer, Event, legacy_stream_key, stream_key, topic_of_key};

/// How a stream consumer reads, reclaims and gives up.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// Entries per `XREADGROUP` (and per transaction when all succeed).
    pub batch: usize,
    /// How long one `XREADGROUP` blocks waiting for entries.
    pub block: Duration,
    /// How long an entry stays pending before another consumer may claim it.
    pub min_idle: Duration,
    /// How often pending entries are reclaimed.
    pub reclaim_every: Duration,
    /// Deliveries after which an entry goes to the dead letters.
    pub max_deliveries: usize,
    /// The longest wait between reconnection attempts.
    pub max_backoff: Duration,
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            batch: 100,
            block: Duration::from_secs(2),
            min_idle: Duration::from_secs(30),
            reclaim_every: Duration::from_secs(10),
            max_deliveries: 5,
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// A name for this process's member of a group: host, process and a random part, so a
/// restarted process never takes over a dead one's pending entries except by reclaiming them.
pub fn instance_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "pbm".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{host}-{}-{nanos:x}-{seq}", std::process::id())
}

/// Reads the streams of `namespace`, applies and acknowledges forever as member `instance` of
/// `consumer`'s group, reconnecting with backoff. [`crate::RedisStreams::spawn_consumer`] runs
/// it with the namespace its relay publishes to.
pub async fn run(
    client: redis::Client,
    namespace: String,
    consumer: Consumer,
    options: StreamOptions,
    instance: String,
) {
    let keys = consumer
        .topics()
        .iter()
        .map(|t| stream_key(&namespace, t))
        .collect();
    let mut reader = Reader {
        consumer,
        options,
        instance,
        namespace,
        keys,
        legacy_checked: None,
    };
    let mut backoff = Duration::from_millis(50);
    loop {
        let started = Instant::now();
        match reader.session(&client).await {
            Ok(()) => {}
            Err(e) => tracing::warn!(consumer = %reader.consumer.name(), error = %e,
                "event stream connection failed; reconnecting"),
        }
        if started.elapsed() > Duration::from_secs(5) {
            backoff = Duration::from_millis(50);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(reader.options.max_backoff);
    }
}

/// How often a consumer looks for entries its group left in keys of before namespaces: on start
/// and then now and then, so that what old pods still publish during a rolling upgrade is
/// reported too (docs/OPERATIONS.md "Events and dead letters").
const LEGACY_CHECK_EVERY: Duration = Duration::from_secs(600);

struct Reader {
    consumer: Consumer,
    options: StreamOptions,
    instance: String,
    namespace: String,
    keys: Vec<String>,
    /// When the keys of before namespaces were last looked at ([`Reader::warn_legacy`]).
    legacy_checked: Option<Instant>,
}

fn is_nogroup(e: &RedisError) -> bool {
    e.code() == Some("NOGROUP") || e.to_string().contains("NOGROUP")
}

impl Reader {
    fn group(&self) -> &str {
        self.consumer.name()
    }

    /// One connection's life: returns when it fails.
    async fn session(&mut self, client: &redis::Client) -> RedisResult<()> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(self.options.block + Duration::from_secs(5)));
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        self.ensure_groups(&mut conn).await?;
        self.reclaim(&mut conn).await?;
        let mut last_reclaim = Instant::now();
        loop {
            if self
                .legacy_checked
                .is_none_or(|at| at.elapsed() >= LEGACY_CHECK_EVERY)
            {
                // Only a report: what fails here (e.g. an ACL denying the old keys) must not stop
                // the consumer.
                if let Err(e) = self.warn_legacy(&mut conn).await {
                    tracing::debug!(consumer = %self.consumer.name(), error = %e,
                        "could not look at the stream keys without namespace");
                }
                self.legacy_checked = Some(Instant::now());
            }
            if last_reclaim.elapsed() >= self.options.reclaim_every {
                self.reclaim(&mut conn).await?;
                last_reclaim = Instant::now();
            }
            let block = self.options.block.min(self.options.reclaim_every);
            let read: RedisResult<Option<StreamReadReply>> = redis::cmd("XREADGROUP")
                .arg("GROUP")
                .arg(self.group())
                .arg(&self.instance)
                .arg("COUNT")
                .arg(self.options.batch)
                .arg("BLOCK")
                .arg(block.as_millis() as u64)
                .arg("STREAMS")
                .arg(&self.keys)
                .arg(vec![">"; self.keys.len()])
                .query_async(&mut conn)
                .await;
            let reply = match read {
                Ok(reply) => reply,
                Err(e) if is_nogroup(&e) => {
                    tracing::warn!(consumer = %self.consumer.name(),
                        "event consumer group missing (Redis lost its data?); creating it again");
                    self.ensure_groups(&mut conn).await?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            for key in reply.map(|r| r.keys).unwrap_or_default() {
                self.process(&mut conn, &key.key, key.ids, &HashMap::new())
                    .await?;
            }
        }
    }

    async fn ensure_groups(&self, conn: &mut MultiplexedConnection) -> RedisResult<()> {
        for key in &self.keys {
            let created: RedisResult<()> = redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(key)
                .arg(self.group())
                .arg("0")
                .arg("MKSTREAM")
                .query_async(conn)
                .await;
            match created {
                Ok(()) => {}
                Err(e) if e.code() == Some("BUSYGROUP") || e.to_string().contains("BUSYGROUP") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Warns about each key of before namespaces where this consumer's group left entries
    /// ([`legacy_backlog`]): an upgraded deployment no longer reads them.
    async fn warn_legacy(&self, conn: &mut MultiplexedConnection) -> RedisResult<()> {
        for left in legacy_backlog(conn, self.group(), self.consumer.topics()).await? {
            tracing::warn!(consumer = %self.consumer.name(), stream = %left.key,
                namespace = %self.namespace, pending = left.pending, unread = ?left.unread,
                since = %left.since.to_rfc3339(),
                "entries left in a stream key without namespace are not read; publish the \
                 outbox again from `since` (docs/OPERATIONS.md \"Events and dead letters\")");
        }
        Ok(())
    }

    /// Claims the entries pending longer than `min_idle` and applies them.
    async fn reclaim(&self, conn: &mut MultiplexedConnection) -> RedisResult<()> {
        for key in &self.keys {
            let mut start = "0-0".to_owned();
            loop {
                let reply: RedisResult<StreamAutoClaimReply> = redis::cmd("XAUTOCLAIM")
                    .arg(key)
                    .arg(self.group())
                    .arg(&self.instance)
                    .arg(self.options.min_idle.as_millis() as u64)
                    .arg(&start)
                    .arg("COUNT")
                    .arg(self.options.batch)
                    .query_async(conn)
                    .await;
                let reply = match reply {
                    Ok(r) => r,
                    Err(e) if is_nogroup(&e) => {
                        self.ensure_groups(conn).await?;
                        break;
                    }
                    Err(e) => return Err(e),
                };
                if !reply.deleted_ids.is_empty() {
                    tracing::warn!(consumer = %self.consumer.name(), stream = %key,
                        entries = reply.deleted_ids.len(),
                        "pending entries trimmed from the stream before being applied");
                    self.ack(conn, key, &reply.deleted_ids).await?;
                }
                if let (Some(first), Some(last)) = (reply.claimed.first(), reply.claimed.last()) {
                    let pending: StreamPendingCountReply = redis::cmd("XPENDING")
                        .arg(key)
                        .arg(self.group())
                        .arg(&first.id)
                        .arg(&last.id)
                        .arg(reply.claimed.len() + self.options.batch)
                        .arg(&self.instance)
                        .query_async(conn)
                        .await?;
                    let deliveries: HashMap<String, usize> = pending
                        .ids
                        .into_iter()
                        .map(|p| (p.id, p.times_delivered))
                        .collect();
                    self.process(conn, key, reply.claimed, &deliveries).await?;
                }
                if reply.next_stream_id == "0-0" {
                    break;
                }
                start = reply.next_stream_id;
            }
        }
        Ok(())
    }

    /// Applies `entries` of stream `key` and acknowledges the settled ones.
    async fn process(
        &self,
        conn: &mut MultiplexedConnection,
        key: &str,
        entries: Vec<StreamId>,
        deliveries: &HashMap<String, usize>,
    ) -> RedisResult<()> {
        let topic = topic_of_key(&self.namespace, key);
        let mut acks = Vec::new();
        let mut batch = Vec::new();
        let mut batch_ids = Vec::new();
        for entry in entries {
            let event = parse(topic, &entry);
            let delivered = deliveries.get(&entry.id).copied().unwrap_or(1);
            let give_up = match &event {
                Err(reason) => Some(reason.clone()),
                Ok(_) if delivered > self.options.max_deliveries => {
                    Some(format!("delivered {delivered} times"))
                }
                Ok(_) => None,
            };
            let event = event.unwrap_or_else(|_| unparsed(topic, key, &entry));
            match give_up {
                Some(reason) => {
                    let attempts = delivered as i64;
                    if self
                        .consumer
                        .dead_letter(&event, &reason, attempts, None)
                        .await
                        .is_ok()
                    {
                        acks.push(entry.id);
                    }
                }
                None => {
                    batch.push((event, None));
                    batch_ids.push(entry.id);
                }
            }
        }
        let outcomes = self.consumer.apply_batch(batch, false).await;
        for (id, outcome) in batch_ids.into_iter().zip(outcomes) {
            match outcome {
                Applied::Retry(reason) => {
                    tracing::debug!(consumer = %self.consumer.name(), entry = %id, reason,
                        "event to be retried");
                }
                _ => acks.push(id),
            }
        }
        self.ack(conn, key, &acks).await
    }

    async fn ack(
        &self,
        conn: &mut MultiplexedConnection,
        key: &str,
        ids: &[String],
    ) -> RedisResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        redis::cmd("XACK")
            .arg(key)
            .arg(self.group())
            .arg(ids)
            .query_async::<()>(conn)
            .await
    }
}

/// The event of a stream entry the relay wrote (`Relay`, `RedisStreams::publish`).
fn parse(topic: &str, entry: &StreamId) -> Result<Event, String> {
    let field = |name: &str| {
        entry
            .get::<String>(name)
            .ok_or_else(|| format!("stream entry {} has no field {name}", entry.id))
    };
    Ok(Event {
        id: field("id")?,
        service: field("service")?,
        topic: topic.to_owned(),
        entity_id: field("entity_id")?,
        payload: field("payload")?,
        occurred_at: field("occurred_at")?,
        // Entries written before the relay carried it have none.
        trace_context: entry.get::<String>("traceparent").unwrap_or_default(),
    })
}

/// What a consumer group left in the key of a topic from before namespaces
/// (`pbm:events:<topic>`, [`legacy_stream_key`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyBacklog {
    pub key: String,
    /// Entries delivered to the group and not acknowledged.
    pub pending: usize,
    /// Entries never delivered to the group (`None`: Redis before 7 does not tell).
    pub unread: Option<usize>,
    /// When the oldest of them was added: publishing the producers' outboxes again from then
    /// delivers them on the namespaced keys (docs/OPERATIONS.md "Events and dead letters").
    pub since: chrono::DateTime<chrono::Utc>,
}

/// The keys of `topics` from before namespaces where `group` left entries pending or unread.
/// They are only reported, never read: on a Redis shared by deployments they may be another
/// deployment's.
pub async fn legacy_backlog(
    conn: &mut MultiplexedConnection,
    group: &str,
    topics: &[String],
) -> RedisResult<Vec<LegacyBacklog>> {
    let mut left = Vec::new();
    for topic in topics {
        let key = legacy_stream_key(topic);
        let groups: RedisResult<StreamInfoGroupsReply> = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(&key)
            .query_async(conn)
            .await;
        // No such key: nothing left behind.
        let Ok(groups) = groups else { continue };
        let Some(info) = groups.groups.into_iter().find(|g| g.name == group) else {
            continue;
        };
        let mut oldest = Vec::new();
        if info.pending > 0 {
            let summary: StreamPendingReply = redis::cmd("XPENDING")
                .arg(&key)
                .arg(group)
                .query_async(conn)
                .await?;
            if let StreamPendingReply::Data(data) = summary {
                oldest.push(data.start_id);
            }
        }
        let unread: StreamRangeReply = redis::cmd("XRANGE")
            .arg(&key)
            .arg(format!("({}", info.last_delivered_id))
            .arg("+")
            .arg("COUNT")
            .arg(1)
            .query_async(conn)
            .await?;
        oldest.extend(unread.ids.into_iter().map(|e| e.id));
        if let Some(since) = oldest.iter().filter_map(|id| entry_time(id)).min() {
            left.push(LegacyBacklog {
                key,
                pending: info.pending,
                unread: info.lag,
                since,
            });
        }
    }
    Ok(left)
}

/// The time a stream entry id (`<milliseconds>-<sequence>`) was added.
fn entry_time(id: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let millis = id.split_once('-').map_or(id, |(ms, _)| ms).parse().ok()?;
    chrono::DateTime::from_timestamp_millis(millis)
}

/// A stand-in for an entry of `topic` (stream `key`) that is not an event, to keep in the dead
/// letters.
fn unparsed(topic: &str, key: &str, entry: &StreamId) -> Event {
    Event {
        id: format!("{key}/{}", entry.id),
        service: String::new(),
        topic: topic.to_owned(),
        entity_id: String::new(),
        payload: format!("{:?}", entry.map),
        occurred_at: String::new(),
        trace_context: String::new(),
    }
}
