//! The follower's side of following an upstream library (docs/INDICATOR.md "Following an
//! upstream library"): a background task calls the upstream's `WatchLibrary` from the cursor
//! stored in `library_mirror`, applies each batch in one transaction that also stores the
//! batch's cursor (a restart resumes with no gap and no duplicate), and reconnects with backoff
//! after any error or when no batch (not even a heartbeat) arrives in [`SILENCE`].
//!
//! Applying an upstream indicator writes a new local version with the upstream's origin
//! ([`crate::domain::mirror::decide`]), which appends to this library's own log: the change
//! flows on to this deployment's followers (county follows city follows province).
//!
//! A batch that writes anything leaves, in its transaction, what a local write leaves: one audit
//! row naming the upstream link as the actor ([`audit_entry`]) and a `pbm.indicator.changed`
//! outbox event per indicator version written ([`crate::ops::outbox_event`]). A batch applied
//! again writes nothing, so it leaves neither again.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use pbm_db::AnyConnection;
use pbm_db::platform::{self, AuditEntry};
use pbm_proto::indicator::v1 as proto;
use pbm_proto::indicator::v1::library_mirror_service_client::LibraryMirrorServiceClient;
use pbm_proto::tls::ClientTlsFiles;
use pbm_server::ApiError;
use pbm_types::FiscalYear;

use crate::convert;
use crate::domain::frame::{Frame, FrameNode};
use crate::domain::indicator::{Indicator, Origin, Status};
use crate::domain::mirror::{self, Apply};
use crate::state::AppState;
use crate::store::{self, library::Clash};

/// No batch for this long (heartbeats come every 3 s): the link is dead, reconnect.
pub const SILENCE: Duration = Duration::from_secs(10);
/// Changes per batch asked of the upstream.
const BATCH: i32 = 2_000;
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The link to the upstream, as operators see it (GetMirrorStatus).
#[derive(Debug, Default)]
pub struct Link {
    upstream: Mutex<Option<String>>,
    connected: AtomicBool,
    last_error: Mutex<String>,
    /// The upstream's head revision as of the last batch; -1 before any.
    upstream_head: AtomicI64,
}

impl Link {
    pub fn upstream(&self) -> Option<String> {
        self.upstream
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    pub fn last_error(&self) -> String {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn upstream_head(&self) -> Option<i64> {
        let h = self.upstream_head.load(Ordering::Relaxed);
        (h > 0).then_some(h)
    }

    fn set_error(&self, e: String) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = e;
    }
}

/// Where the upstream is and how to call it.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// gRPC URL of the upstream deployment (PBM_UPSTREAM_LIBRARY_URL).
    pub url: String,
    /// File holding the token the upstream trusts (PBM_UPSTREAM_TOKEN_FILE): finance_admin or
    /// province of this region, signed by the upstream's key. Read again on every connect, so a
    /// rotated token is picked up.
    pub token_file: PathBuf,
    pub tls: ClientTlsFiles,
}

/// Starts following `upstream` in the background.
pub fn spawn(state: &AppState, upstream: Upstream) -> tokio::task::JoinHandle<()> {
    *state
        .mirror
        .upstream
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = Some(upstream.url.clone());
    state.mirror.upstream_head.store(-1, Ordering::Relaxed);
    let state = state.clone();
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            let applied = follow(&state, &upstream).await;
            state.mirror.connected.store(false, Ordering::Relaxed);
            match applied {
                Ok(()) => {}
                Err((e, progressed)) => {
                    if progressed {
                        backoff = Duration::from_millis(100);
                    }
                    tracing::warn!(upstream = %upstream.url, error = %e, "library mirror link failed; reconnecting");
                    state.mirror.set_error(e);
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    })
}

/// One connection: watch from the stored cursor and apply batches until the link fails.
/// The error says whether any batch was applied first (the backoff starts over).
async fn follow(state: &AppState, upstream: &Upstream) -> Result<(), (String, bool)> {
    let fail = |e: String| (e, false);
    let token = std::fs::read_to_string(&upstream.token_file)
        .map_err(|e| fail(format!("{}: {e}", upstream.token_file.display())))?;
    let channel = upstream
        .tls
        .endpoint(&upstream.url)
        .map_err(|e| fail(e.to_string()))?
        .connect_timeout(Duration::from_secs(2))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(5))
        .keep_alive_timeout(SILENCE)
        .connect()
        .await
        .map_err(|e| fail(format!("connect {}: {e}", upstream.url)))?;
    let mut client = LibraryMirrorServiceClient::new(channel)
        .max_decoding_message_size(crate::MAX_MESSAGE_BYTES);
    let key = upstream.url.clone();
    let position = state
        .db
        .read(move |conn| store::library::mirror_position(conn, &key))
        .await
        .map_err(|e: pbm_db::StoreError| fail(e.to_string()))?;
    let request = pbm_server::calls::as_caller(
        &format!("Bearer {}", token.trim()),
        proto::WatchLibraryRequest {
            cursor: position.map(|p| p.cursor).unwrap_or_default(),
            max_batch: BATCH,
        },
    );
    let mut stream = client
        .watch_library(request)
        .await
        .map_err(|e| fail(format!("WatchLibrary: {} {}", e.code(), e.message())))?
        .into_inner();
    state.mirror.connected.store(true, Ordering::Relaxed);
    state.mirror.set_error(String::new());
    let mut progressed = false;
    // Codes named by the snapshot under way, if one is.
    let mut snapshot: Option<HashSet<String>> = None;
    loop {
        let batch = match tokio::time::timeout(SILENCE, stream.message()).await {
            Err(_) => return Err(("no heartbeat from the upstream".into(), progressed)),
            Ok(Err(e)) => {
                return Err((
                    format!("WatchLibrary: {} {}", e.code(), e.message()),
                    progressed,
                ));
            }
            Ok(Ok(None)) => return Err(("the upstream ended the watch".into(), progressed)),
            Ok(Ok(Some(b))) => b,
        };
        if let Ok(Some(h)) = mirror::parse_cursor(&batch.head_cursor) {
            state.mirror.upstream_head.store(h, Ordering::Relaxed);
        }
        if batch.resync {
            snapshot = Some(HashSet::new());
        }
        if batch.heartbeat || (batch.changes.is_empty() && batch.cursor.is_empty()) {
            continue;
        }
        apply(state, &upstream.url, batch, &mut snapshot)
            .await
            .map_err(|e| (e.to_string(), progressed))?;
        progressed = true;
    }
}

/// Applies one batch in one transaction with its cursor; then brings the search index and the
/// frame cache up to date and wakes this library's own watchers.
pub async fn apply(
    state: &AppState,
    upstream: &str,
    batch: proto::WatchLibraryResponse,
    snapshot: &mut Option<HashSet<String>>,
) -> Result<(), ApiError> {
    let upstream_region = batch.mof_div_code.clone();
    let mut frames = Vec::new();
    // The last version of each code in the batch (an earlier one would only be superseded).
    let mut incoming: Vec<Indicator> = Vec::new();
    let mut position: HashMap<String, usize> = HashMap::new();
    for change in batch.changes {
        match change.item {
            Some(proto::library_change::Item::Frame(f)) => frames.push(frame_from(f)?),
            Some(proto::library_change::Item::Indicator(i)) => {
                let i = indicator_from(i, &upstream_region)?;
                if let Some(s) = snapshot.as_mut() {
                    s.insert(i.code.clone());
                }
                match position.get(&i.code) {
                    Some(&at) => incoming[at] = i,
                    None => {
                        position.insert(i.code.clone(), incoming.len());
                        incoming.push(i);
                    }
                }
            }
            None => {}
        }
    }
    let end = batch.snapshot_end;
    let seen = if end { snapshot.take() } else { None };
    let cursor = batch.cursor;
    let upstream = upstream.to_owned();
    let frames_changed = !frames.is_empty();
    let written = state
        .db
        .write(move |conn| -> Result<Vec<Indicator>, ApiError> {
            let at = pbm_db::now();
            let mut tally = Tally::default();
            for f in &frames {
                let (changed, clashes) = apply_frame(conn, f, &upstream_region, at)?;
                tally.frames += usize::from(changed);
                tally.clashes += clashes;
            }
            let (mut written, clashes) = apply_indicators(conn, incoming, &upstream_region, at)?;
            tally.clashes += clashes;
            if let Some(seen) = seen {
                let disabled = disable_missing(conn, &seen, at)?;
                tally.disabled = disabled.len();
                written.extend(disabled);
            }
            let from = store::library::mirror_position(conn, &upstream)?
                .map(|p| p.cursor)
                .unwrap_or_default();
            if !cursor.is_empty() {
                store::library::save_position(conn, &upstream, &cursor, at, end)?;
            }
            if !written.is_empty() || tally.frames > 0 || tally.clashes > 0 {
                let events: Vec<_> = written.iter().map(crate::ops::outbox_event).collect();
                platform::insert_outbox_batch(conn, &events)?;
                let link = Batch {
                    upstream: &upstream,
                    upstream_region: &upstream_region,
                    from: &from,
                    to: &cursor,
                    at,
                };
                platform::insert_audit(conn, &audit_entry(&link, &tally, &written))?;
            }
            Ok(written)
        })
        .await?;
    if frames_changed {
        state.reload_frames().await?;
    }
    if !written.is_empty() {
        state.index_written(written);
    }
    state.library_written();
    Ok(())
}

/// What one batch wrote besides its indicator versions, for its audit row.
#[derive(Debug, Default)]
struct Tally {
    /// Frames created or given nodes.
    frames: usize,
    /// Clashes newly recorded.
    clashes: usize,
    /// Upstream-owned indicators disabled at a snapshot's end.
    disabled: usize,
}

/// The link and the cursors of one applied batch.
struct Batch<'a> {
    upstream: &'a str,
    upstream_region: &'a str,
    /// The stored cursor before the batch (empty: none yet).
    from: &'a str,
    /// The batch's cursor (empty: a snapshot batch, which carries none).
    to: &'a str,
    at: chrono::NaiveDateTime,
}

/// Codes named in an audit row's detail; the rest are counted.
const AUDIT_CODES: usize = 20;

/// The audit row of one applied batch (docs/SECURITY.md "Audit log", docs/INDICATOR.md
/// "Following an upstream library"): the actor is the upstream link (`mirror:<region>`), the
/// entity the link (`library_mirror`, its URL), the detail the cursor range, the counts and the
/// codes written. It has no request id: no caller asked for it.
fn audit_entry(link: &Batch<'_>, tally: &Tally, written: &[Indicator]) -> AuditEntry {
    let created = written.iter().filter(|i| i.version == 1).count();
    let updated = written.len() - created - tally.disabled;
    let cursor = |c: &str| {
        if c.is_empty() {
            "-".to_owned()
        } else {
            c.to_owned()
        }
    };
    let mut codes: Vec<&str> = written
        .iter()
        .take(AUDIT_CODES)
        .map(|i| i.code.as_str())
        .collect();
    let more = written.len().saturating_sub(AUDIT_CODES);
    let more = if more > 0 {
        format!(" (+{more})")
    } else {
        String::new()
    };
    if codes.is_empty() {
        codes.push("-");
    }
    AuditEntry {
        occurred_at: link.at,
        service: crate::ops::SERVICE.into(),
        method: "MirrorLibrary".into(),
        request_id: String::new(),
        subject: format!("mirror:{}", link.upstream_region),
        role: "upstream_library".into(),
        mof_div_code: link.upstream_region.into(),
        entity_type: "library_mirror".into(),
        entity_id: link.upstream.into(),
        outcome: "OK".into(),
        detail: format!(
            "cursor {} → {}: {} indicator versions ({created} new, {updated} updated, {} disabled), \
             {} frames, {} clashes; codes {}{more}",
            cursor(link.from),
            cursor(link.to),
            written.len(),
            tally.disabled,
            tally.frames,
            tally.clashes,
            codes.join(", "),
        ),
    }
}

fn frame_from(f: proto::Frame) -> Result<Frame, ApiError> {
    Ok(Frame {
        fiscal_year: FiscalYear::new(f.fiscal_year)
            .map_err(|e| ApiError::invalid_field(e.reason, "fiscal_year", e.message))?,
        name: f.name,
        nodes: f
            .nodes
            .into_iter()
            .map(|n| FrameNode {
                code: n.code,
                name: n.name,
                level: n.level,
                parent_code: n.parent_code,
                sort_order: n.sort_order,
            })
            .collect(),
    })
}

/// An upstream indicator version as this library will hold it (its origin: the region that
/// owns it, and the version that region gave it).
fn indicator_from(i: proto::Indicator, upstream_region: &str) -> Result<Indicator, ApiError> {
    let spec = convert::spec_from_proto(i.spec, "spec.")?;
    let status = convert::status_from(i.status)
        .ok_or_else(|| ApiError::invalid_field("STATUS_INVALID", "status", "状态无效"))?;
    let region = if i.origin_region.is_empty() {
        upstream_region.to_owned()
    } else {
        i.origin_region
    };
    let origin_version = if i.origin_version > 0 {
        i.origin_version
    } else {
        i.version
    };
    Ok(Indicator {
        code: i.code,
        version: 0,
        status,
        spec,
        change_note: i.change_note,
        changed_by: String::new(),
        changed_at: pbm_db::now(),
        origin: Some(Origin {
            region,
            version: origin_version,
        }),
    })
}

/// Creates the year's frame, or merges the upstream's nodes into it ([`mirror::merge_frame`]).
/// Returns whether the frame changed, and the clashes newly recorded.
fn apply_frame(
    conn: &mut AnyConnection,
    f: &Frame,
    upstream_region: &str,
    at: chrono::NaiveDateTime,
) -> Result<(bool, usize), ApiError> {
    let local = store::load_frames(conn)?
        .into_iter()
        .find(|s| s.frame.fiscal_year == f.fiscal_year);
    let Some(local) = local else {
        let actor = format!("上级指标库（{upstream_region}）");
        store::insert_frame(conn, f, &actor, at)?;
        return Ok((true, 0));
    };
    let (added, clashes) = mirror::merge_frame(&local.frame, f);
    let year = f.fiscal_year.get();
    for n in &added {
        store::insert_frame_node(conn, year, n)?;
    }
    if !added.is_empty() {
        let mut merged = local.frame.clone();
        merged.nodes.extend(added.iter().cloned());
        store::log_frame(conn, &merged, at)?;
    }
    let mut recorded = 0;
    for c in clashes {
        recorded += usize::from(record_clash(
            conn,
            "frame_node",
            &format!("{year}/{}", c.code),
            upstream_region,
            c.detail,
            at,
        )?);
    }
    Ok((!added.is_empty(), recorded))
}

fn record_clash(
    conn: &mut AnyConnection,
    kind: &str,
    key: &str,
    upstream_region: &str,
    detail: String,
    at: chrono::NaiveDateTime,
) -> Result<bool, ApiError> {
    if store::library::clash_recorded(conn, kind, key, &detail)? {
        return Ok(false);
    }
    store::library::insert_clash(
        conn,
        &Clash {
            kind: kind.into(),
            key: key.into(),
            upstream_region: upstream_region.into(),
            detail,
            recorded_at: at,
        },
    )?;
    Ok(true)
}

/// Writes each upstream indicator as [`mirror::decide`] says; returns the versions written and
/// the clashes newly recorded.
fn apply_indicators(
    conn: &mut AnyConnection,
    incoming: Vec<Indicator>,
    upstream_region: &str,
    at: chrono::NaiveDateTime,
) -> Result<(Vec<Indicator>, usize), ApiError> {
    if incoming.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let mut clashes = 0;
    let codes: Vec<String> = incoming.iter().map(|i| i.code.clone()).collect();
    let current: HashMap<String, Indicator> = store::current_many(conn, &codes)?
        .into_iter()
        .map(|i| (i.code.clone(), i))
        .collect();
    // Frame nodes this library has: an indicator under a node it lacks cannot be held.
    let nodes: HashSet<(i32, String)> = store::load_frames(conn)?
        .iter()
        .flat_map(|f| {
            f.frame
                .nodes
                .iter()
                .map(|n| (f.frame.fiscal_year.get(), n.code.clone()))
        })
        .collect();
    let mut new = Vec::new();
    let mut written = Vec::new();
    for mut i in incoming {
        let origin = i.origin.clone().unwrap_or(Origin {
            region: upstream_region.into(),
            version: 0,
        });
        let cur = current.get(&i.code);
        let decision = mirror::decide(cur, &origin);
        if decision == Apply::Skip {
            continue;
        }
        if !nodes.contains(&(i.spec.fiscal_year.get(), i.spec.frame_node_code.clone())) {
            clashes += usize::from(record_clash(
                conn,
                "indicator",
                &i.code,
                &origin.region,
                format!(
                    "上级指标「{}」所属二级指标 {}/{} 在本级框架中不存在，未同步",
                    i.code, i.spec.fiscal_year, i.spec.frame_node_code
                ),
                at,
            )?);
            continue;
        }
        i.changed_by = format!("上级指标库（{}）", origin.region);
        i.changed_at = at;
        i.change_note = format!("同步上级（{}）第 {} 版", origin.region, origin.version);
        match (decision, cur) {
            (Apply::New, _) => {
                i.version = 1;
                new.push(i);
            }
            (_, Some(c)) => {
                if decision == Apply::Clash {
                    clashes += usize::from(record_clash(
                        conn,
                        "indicator",
                        &i.code,
                        &origin.region,
                        format!(
                            "本级指标「{}」（第 {} 版）与上级（{}）指标同编码，自第 {} 版起以上级为准",
                            i.code,
                            c.version,
                            origin.region,
                            c.version + 1
                        ),
                        at,
                    )?);
                }
                i.version = c.version + 1;
                if let Err(actual) = store::insert_next_version(conn, &i, c.version)? {
                    return Err(ApiError::stale_version(
                        &format!("指标「{}」", i.code),
                        c.version,
                        actual,
                    ));
                }
                written.push(i);
            }
            (_, None) => {}
        }
    }
    store::insert_new_batch(conn, &new)?;
    written.extend(new);
    Ok((written, clashes))
}

/// The end of a snapshot: upstream-owned indicators it did not name are disabled here.
fn disable_missing(
    conn: &mut AnyConnection,
    seen: &HashSet<String>,
    at: chrono::NaiveDateTime,
) -> Result<Vec<Indicator>, ApiError> {
    let mut written = Vec::new();
    for c in store::library::upstream_owned_current(conn)? {
        if c.status == Status::Disabled || seen.contains(&c.code) {
            continue;
        }
        let region = c
            .origin
            .as_ref()
            .map(|o| o.region.clone())
            .unwrap_or_default();
        let next = Indicator {
            version: c.version + 1,
            status: Status::Disabled,
            change_note: format!("停用: 上级（{region}）指标库已无此指标"),
            changed_by: format!("上级指标库（{region}）"),
            changed_at: at,
            ..c.clone()
        };
        if store::insert_next_version(conn, &next, c.version)?.is_ok() {
            written.push(next);
        }
    }
    Ok(written)
}
