//! Everything a request handler needs, cheap to clone.

use std::sync::Arc;

use chrono::NaiveDate;
use pbm_db::Db;
use pbm_types::DivisionCode;

use crate::clients::{Goals, Monitoring, Pool};
use crate::ops::saves::{self, Saves};

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    /// The region (财政区划) this deployment serves.
    pub region: DivisionCode,
    /// The goal service (approved goals), over gRPC.
    pub goals: Goals,
    /// The monitoring service (execution figures and warnings), over gRPC.
    pub monitoring: Monitoring,
    /// The agency and expert pool (reviews commissioned to an agency), over gRPC.
    pub pool: Pool,
    /// The calendar (China Standard Time); tests fix it.
    pub today: Arc<dyn Fn() -> NaiveDate + Send + Sync>,
    /// SaveSelfEvaluation batched on PostgreSQL (`None` on SQLite): [`crate::ops::saves`].
    pub saves: Option<Saves>,
}

/// Today's date in China Standard Time (UTC+8): deadlines are the bureau's calendar days.
pub fn today_in_china() -> NaiveDate {
    (chrono::Utc::now() + chrono::TimeDelta::hours(8)).date_naive()
}

impl AppState {
    /// Migrates the database and prepares the state.
    pub async fn open(
        db: Db,
        region: DivisionCode,
        goals: Goals,
        monitoring: Monitoring,
        pool: Pool,
    ) -> anyhow::Result<AppState> {
        db.migrate(&crate::store::ALL_MIGRATIONS).await?;
        Ok(AppState {
            saves: saves::start(&db),
            db,
            region,
            goals,
            monitoring,
            pool,
            today: Arc::new(today_in_china),
        })
    }

    pub fn today(&self) -> NaiveDate {
        (self.today)()
    }
}
