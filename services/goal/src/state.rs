//! Everything a request handler needs, cheap to clone.

use std::sync::Arc;

use chrono::NaiveDate;
use pbm_db::Db;
use pbm_types::DivisionCode;

use crate::clients::library::Library;
use crate::clients::pool::Pool;
use crate::ops::steps::{self, Steps};

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    /// The region (财政区划) this deployment serves.
    pub region: DivisionCode,
    /// The indicator library, over gRPC.
    pub library: Library,
    /// The agency and expert pool (reviewer draws), over gRPC.
    pub pool: Pool,
    /// Workflow steps batched on PostgreSQL (`None` on SQLite): [`crate::ops::steps`].
    pub steps: Option<Steps>,
    /// The calendar (China Standard Time); tests fix it.
    pub today: Arc<dyn Fn() -> NaiveDate + Send + Sync>,
}

/// Today's date in China Standard Time (UTC+8): budget years and dates are the bureau's.
pub fn today_in_china() -> NaiveDate {
    (chrono::Utc::now() + chrono::TimeDelta::hours(8)).date_naive()
}

impl AppState {
    /// Migrates the database and prepares the state.
    pub async fn open(
        db: Db,
        region: DivisionCode,
        library: Library,
        pool: Pool,
    ) -> anyhow::Result<AppState> {
        db.migrate(&crate::store::ALL_MIGRATIONS).await?;
        Ok(AppState {
            steps: steps::start(&db),
            db,
            region,
            library,
            pool,
            today: Arc::new(today_in_china),
        })
    }

    pub fn today(&self) -> NaiveDate {
        (self.today)()
    }
}
