//! The upstream's side of following a library (docs/INDICATOR.md "Following an upstream
//! library"): WatchLibrary streams the change log after a cursor — or, without a usable cursor,
//! a snapshot of the whole library first — then live changes and heartbeats; GetMirrorStatus
//! shows the follower's side.
//!
//! The caller is authorised and the cursor parsed before the stream starts ([`open`]); then
//! [`Watch::run`] sends batches on a channel until the caller goes away. Live changes wake on
//! this process's own writes ([`AppState::library_written`]) and poll every [`POLL`] for other
//! replicas'.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use pbm_auth::Caller;
use pbm_proto::indicator::v1 as proto;
use pbm_server::ApiError;
use pbm_server::wire::stamp;
use tokio::sync::mpsc;
use tonic::Status;

use crate::convert;
use crate::domain::access;
use crate::domain::mirror::{self, Start};
use crate::state::AppState;
use crate::store::{self, library::LogKind};

/// How often a watch looks for other replicas' writes.
pub const POLL: Duration = Duration::from_millis(200);
/// A batch without changes at least this often, so followers notice a dead link.
pub const HEARTBEAT: Duration = Duration::from_secs(3);
const DEFAULT_BATCH: i64 = 500;
const MAX_BATCH: i64 = 5_000;

/// A WatchLibrary call, authorised and parsed.
pub struct Watch {
    state: AppState,
    cursor: Option<i64>,
    max_batch: i64,
}

/// Authorises the caller (a province caller, or finance of this region or one inside it) before
/// looking at the request, then parses the cursor.
pub fn open(
    state: &AppState,
    caller: Caller,
    m: proto::WatchLibraryRequest,
) -> Result<Watch, ApiError> {
    access::can_watch(&caller, &state.region)?;
    crate::convert::limits::check(&m)?;
    let cursor = mirror::parse_cursor(&m.cursor)
        .map_err(|e| ApiError::invalid_field("CURSOR_INVALID", "cursor", e))?;
    let max_batch = match i64::from(m.max_batch) {
        0 => DEFAULT_BATCH,
        n @ 1..=MAX_BATCH => n,
        _ => {
            return Err(ApiError::invalid_field(
                "MAX_BATCH_INVALID",
                "max_batch",
                format!("每批条数应在 1–{MAX_BATCH} 之间"),
            ));
        }
    };
    Ok(Watch {
        state: state.clone(),
        cursor,
        max_batch,
    })
}

type Tx = mpsc::Sender<Result<proto::WatchLibraryResponse, Status>>;

/// Why a watch stops: the caller went away, or an error to send as the stream's status.
enum Stop {
    Gone,
    Failed(ApiError),
}

impl From<ApiError> for Stop {
    fn from(e: ApiError) -> Self {
        Stop::Failed(e)
    }
}

impl From<pbm_db::StoreError> for Stop {
    fn from(e: pbm_db::StoreError) -> Self {
        Stop::Failed(e.into())
    }
}

impl Watch {
    /// Sends batches on `tx` until the caller goes away; an error is sent as the stream's
    /// status.
    pub async fn run(mut self, tx: Tx, domain: String) {
        let result = self.stream(&tx).await;
        if let Err(Stop::Failed(e)) = result {
            let _ = tx.send(Err(e.into_status(&domain))).await;
        }
    }

    fn batch(&self, head: i64) -> proto::WatchLibraryResponse {
        proto::WatchLibraryResponse {
            head_cursor: mirror::format_cursor(head),
            mof_div_code: self.state.region.to_string(),
            ..Default::default()
        }
    }

    async fn send(&self, tx: &Tx, b: proto::WatchLibraryResponse) -> Result<(), Stop> {
        tx.send(Ok(b)).await.map_err(|_| Stop::Gone)
    }

    async fn stream(&mut self, tx: &Tx) -> Result<(), Stop> {
        let mut last_sent = Instant::now();
        loop {
            // Registered before reading, so a write committed after the read wakes us.
            let changed = self.state.library_changed.clone();
            let notified = changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (oldest, newest) = self.state.db.read(store::library::log_bounds).await?;
            let head = newest.unwrap_or(0);
            let after = match mirror::start(self.cursor, oldest, newest) {
                Start::Resync => {
                    self.snapshot(tx, head).await?;
                    last_sent = Instant::now();
                    continue;
                }
                Start::After(c) => c,
            };
            let limit = self.max_batch;
            let entries = self
                .state
                .db
                .read(move |conn| store::library::log_after(conn, after, limit))
                .await?;
            if let Some(last) = entries.last().map(|e| e.revision) {
                let changes = self.changes(entries).await?;
                let mut b = self.batch(head.max(last));
                b.changes = changes;
                b.cursor = mirror::format_cursor(last);
                self.send(tx, b).await?;
                self.cursor = Some(last);
                last_sent = Instant::now();
                continue;
            }
            if last_sent.elapsed() >= HEARTBEAT {
                let mut b = self.batch(head);
                b.heartbeat = true;
                b.cursor = mirror::format_cursor(after);
                self.send(tx, b).await?;
                last_sent = Instant::now();
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = tx.closed() => return Err(Stop::Gone),
            }
        }
    }

    /// The frames and indicator versions the log rows name, in log order.
    async fn changes(
        &self,
        entries: Vec<store::library::LogEntry>,
    ) -> Result<Vec<proto::LibraryChange>, ApiError> {
        let pairs: Vec<(String, i64)> = entries
            .iter()
            .filter(|e| e.kind == LogKind::Indicator)
            .map(|e| (e.key.clone(), e.version))
            .collect();
        if entries.iter().any(|e| e.kind == LogKind::Frame) {
            self.state.reload_frames().await?;
        }
        let versions: HashMap<(String, i64), _> = self
            .state
            .db
            .read(move |conn| store::library::versions_many(conn, &pairs))
            .await?
            .into_iter()
            .map(|i| ((i.code.clone(), i.version), i))
            .collect();
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            let item = match e.kind {
                LogKind::Frame => self
                    .state
                    .cached_frame(e.fiscal_year)
                    .map(|f| proto::library_change::Item::Frame(self.frame(&f))),
                LogKind::Indicator => versions.get(&(e.key, e.version)).map(|i| {
                    proto::library_change::Item::Indicator(convert::indicator_to_proto(
                        i,
                        &self.state,
                    ))
                }),
            };
            if let Some(item) = item {
                out.push(proto::LibraryChange {
                    revision: e.revision,
                    item: Some(item),
                });
            }
        }
        Ok(out)
    }

    fn frame(&self, f: &store::StoredFrame) -> proto::Frame {
        convert::frame_to_proto(f, &self.state.region)
    }

    /// A `resync` batch, every frame, the current version of every indicator, and the head.
    async fn snapshot(&mut self, tx: &Tx, head: i64) -> Result<(), Stop> {
        let mut b = self.batch(head);
        b.resync = true;
        self.send(tx, b).await?;
        self.state.reload_frames().await?;
        let frames: Vec<_> = self
            .state
            .cached_frames()
            .iter()
            .map(|f| proto::LibraryChange {
                revision: 0,
                item: Some(proto::library_change::Item::Frame(self.frame(f))),
            })
            .collect();
        let mut b = self.batch(head);
        b.changes = frames;
        self.send(tx, b).await?;
        let mut after = String::new();
        loop {
            let limit = self.max_batch;
            let from = after.clone();
            let page = self
                .state
                .db
                .read(move |conn| store::library::current_after(conn, &from, limit))
                .await?;
            let done = (page.len() as i64) < limit;
            if let Some(last) = page.last() {
                after = last.code.clone();
            }
            let mut b = self.batch(head);
            b.changes = page
                .iter()
                .map(|i| proto::LibraryChange {
                    revision: 0,
                    item: Some(proto::library_change::Item::Indicator(
                        convert::indicator_to_proto(i, &self.state),
                    )),
                })
                .collect();
            if done {
                b.snapshot_end = true;
                b.cursor = mirror::format_cursor(head);
            }
            self.send(tx, b).await?;
            if done {
                self.cursor = Some(head);
                return Ok(());
            }
        }
    }
}

/// GetMirrorStatus: the link, the stored position and the clashes.
pub async fn status(
    state: &AppState,
    caller: Caller,
    _m: proto::GetMirrorStatusRequest,
) -> Result<proto::GetMirrorStatusResponse, ApiError> {
    access::can_see_mirror(&caller, &state.region)?;
    let link = state.mirror.clone();
    let upstream = link.upstream().unwrap_or_default();
    let key = upstream.clone();
    let (position, (clashes, clash_count), local_head) = state
        .db
        .read(move |conn| {
            Ok::<_, ApiError>((
                store::library::mirror_position(conn, &key)?,
                store::library::clashes(conn, 100)?,
                store::library::log_bounds(conn)?.1,
            ))
        })
        .await?;
    let position = position.unwrap_or_default();
    let upstream_head = link.upstream_head();
    let applied = mirror::parse_cursor(&position.cursor)
        .ok()
        .flatten()
        .unwrap_or(0);
    Ok(proto::GetMirrorStatusResponse {
        following: !upstream.is_empty(),
        upstream_url: upstream,
        cursor: position.cursor,
        last_applied_at: position
            .last_applied_at
            .map(|t| stamp("", t).at)
            .unwrap_or_default(),
        upstream_head_cursor: upstream_head.map(mirror::format_cursor).unwrap_or_default(),
        lag_revisions: upstream_head.map_or(0, |h| (h - applied).max(0)),
        resyncs: position.resyncs,
        connected: link.connected(),
        last_error: link.last_error(),
        clash_count,
        clashes: clashes
            .into_iter()
            .map(|c| proto::LibraryClash {
                kind: c.kind,
                key: c.key,
                upstream_region: c.upstream_region,
                detail: c.detail,
                recorded_at: stamp("", c.recorded_at).at,
            })
            .collect(),
        local_head_cursor: mirror::format_cursor(local_head.unwrap_or(0)),
    })
}
