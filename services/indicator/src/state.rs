//! Everything a request handler needs, cheap to clone.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use pbm_db::Db;
use pbm_server::ApiError;
use pbm_types::{DivisionCode, FiscalYear};

use crate::domain::frame::{Frame, Template};
use crate::domain::indicator::Indicator;
use crate::search::SearchIndex;
use crate::store::{self, StoredFrame};

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    /// The region (财政区划) this deployment serves.
    pub region: DivisionCode,
    pub index: SearchIndex,
    /// Frames never change once created, so every replica may cache them.
    frames: Arc<RwLock<HashMap<i32, Arc<StoredFrame>>>>,
    /// Poked after every library write: wakes this process's WatchLibrary streams at once
    /// (other replicas' writes are seen by their short poll).
    pub library_changed: Arc<tokio::sync::Notify>,
    /// The link to the upstream library this deployment follows, if any
    /// (docs/INDICATOR.md "Following an upstream library").
    pub mirror: Arc<crate::mirror::Link>,
}

impl AppState {
    /// Migrates the database, seeds the national default frame for `seed_year` when the library
    /// has no frame at all, and loads the search index.
    pub async fn open(
        db: Db,
        region: DivisionCode,
        seed_year: FiscalYear,
    ) -> anyhow::Result<AppState> {
        db.migrate(&store::ALL_MIGRATIONS).await?;
        let state = AppState {
            db,
            region,
            index: SearchIndex::new(),
            frames: Arc::default(),
            library_changed: Arc::default(),
            mirror: Arc::default(),
        };
        state.seed_default_frame(seed_year).await?;
        state.reload_frames().await?;
        state.rebuild_index().await?;
        Ok(state)
    }

    async fn seed_default_frame(&self, year: FiscalYear) -> Result<(), ApiError> {
        self.db
            .write(move |conn| -> Result<(), ApiError> {
                if !store::load_frames(conn)?.is_empty() {
                    return Ok(());
                }
                let template = Template::NationalDefault;
                let frame = Frame {
                    fiscal_year: year,
                    name: template.default_name().into(),
                    nodes: template.nodes(),
                };
                store::insert_frame(conn, &frame, "system", pbm_db::now())?;
                tracing::info!(
                    fiscal_year = year.get(),
                    "seeded the national default indicator frame"
                );
                Ok(())
            })
            .await
    }

    /// Wakes the WatchLibrary streams after a library write.
    pub fn library_written(&self) {
        self.library_changed.notify_waiters();
    }

    /// Keeps the newest `keep` rows of the library's change log (a follower whose cursor is
    /// older resyncs); returns how many rows were removed.
    pub async fn compact_library_log(&self, keep: i64) -> Result<usize, ApiError> {
        Ok(self
            .db
            .write(move |conn| store::library::compact_log(conn, keep))
            .await?)
    }

    pub async fn reload_frames(&self) -> Result<(), ApiError> {
        let frames = self.db.read(store::load_frames).await?;
        let mut cache = self.frames.write().unwrap_or_else(|p| p.into_inner());
        for f in frames {
            cache.insert(f.frame.fiscal_year.get(), Arc::new(f));
        }
        Ok(())
    }

    /// The frame of a fiscal year, if one was created.
    pub async fn frame(&self, year: i32) -> Result<Option<Arc<StoredFrame>>, ApiError> {
        if let Some(f) = self
            .frames
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&year)
        {
            return Ok(Some(f.clone()));
        }
        // Another replica may have created it.
        self.reload_frames().await?;
        Ok(self
            .frames
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&year)
            .cloned())
    }

    /// All frames known to this process (cached).
    pub fn cached_frames(&self) -> Vec<Arc<StoredFrame>> {
        let mut frames: Vec<_> = self
            .frames
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        frames.sort_by_key(|f| f.frame.fiscal_year);
        frames
    }

    pub fn cached_frame(&self, year: i32) -> Option<Arc<StoredFrame>> {
        self.frames
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&year)
            .cloned()
    }

    /// Code of the first-level node above an indicator's second-level node.
    pub fn level1_code(&self, indicator: &Indicator) -> String {
        self.cached_frame(indicator.spec.fiscal_year.get())
            .and_then(|f| {
                f.frame
                    .node(&indicator.spec.frame_node_code)
                    .map(|n| n.parent_code.clone())
            })
            .unwrap_or_default()
    }

    /// Puts indicators just written into the search index.
    pub fn index_written(&self, indicators: impl IntoIterator<Item = Indicator>) {
        let with_level1: Vec<_> = indicators
            .into_iter()
            .map(|i| {
                let l1 = self.level1_code(&i);
                (i, l1)
            })
            .collect();
        self.index.upsert_all(with_level1);
    }

    async fn rebuild_index(&self) -> Result<(), ApiError> {
        let all = self
            .db
            .read(|conn| store::all_current(conn, &store::Filter::default()))
            .await?;
        let count = all.len();
        self.index_written(all);
        tracing::info!(indicators = count, "search index loaded");
        Ok(())
    }

    /// Picks up indicators written by other replicas (distributed deployments). Looks back a
    /// margin further than the interval so a transaction that committed late is not missed, but
    /// reads full rows only for codes whose version differs from the indexed one.
    pub fn spawn_index_refresher(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let state = self.clone();
        tokio::spawn(async move {
            let margin = chrono::TimeDelta::seconds(30);
            let mut since = pbm_db::now() - margin;
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let started = pbm_db::now();
                match state.refresh_index_since(since).await {
                    Ok(()) => since = started - margin,
                    Err(e) => tracing::warn!(error = %e, "search index refresh failed"),
                }
            }
        })
    }

    async fn refresh_index_since(&self, since: chrono::NaiveDateTime) -> Result<(), ApiError> {
        let versions = self
            .db
            .read(move |conn| store::versions_changed_since(conn, since))
            .await?;
        let stale: Vec<String> = versions
            .into_iter()
            .filter(|(code, version)| self.index.version_of(code).is_none_or(|v| v < *version))
            .map(|(code, _)| code)
            .collect();
        if stale.is_empty() {
            return Ok(());
        }
        let changed = self
            .db
            .read(move |conn| store::current_many(conn, &stale))
            .await?;
        if changed
            .iter()
            .any(|i| self.cached_frame(i.spec.fiscal_year.get()).is_none())
        {
            self.reload_frames().await?;
        }
        self.index_written(changed);
        Ok(())
    }
}
