//! Everything a request handler needs, cheap to clone.

use std::sync::Arc;

use chrono::NaiveDate;
use pbm_db::Db;
use pbm_server::pii::PiiCipher;
use pbm_types::DivisionCode;

use crate::domain::taxonomy::FieldTaxonomy;

/// Today's date in China Standard Time (UTC+8, no daylight saving): qualification periods and
/// suspensions are dates in the bureau's calendar, not UTC.
pub fn today_in_china() -> NaiveDate {
    (chrono::Utc::now() + chrono::TimeDelta::hours(8)).date_naive()
}

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    /// The region (财政区划) this deployment serves.
    pub region: DivisionCode,
    /// The calendar; tests fix it.
    pub today: Arc<dyn Fn() -> NaiveDate + Send + Sync>,
    /// Encrypts personal data at rest.
    pub pii: PiiCipher,
    /// Expert fields (专家领域).
    pub taxonomy: Arc<FieldTaxonomy>,
}

impl AppState {
    /// Migrates the database and prepares the state.
    pub async fn open(db: Db, region: DivisionCode, pii: PiiCipher) -> anyhow::Result<AppState> {
        db.migrate(&crate::store::ALL_MIGRATIONS).await?;
        Ok(AppState {
            db,
            region,
            today: Arc::new(today_in_china),
            pii,
            taxonomy: Arc::new(FieldTaxonomy::default()),
        })
    }

    pub fn today(&self) -> NaiveDate {
        (self.today)()
    }
}
