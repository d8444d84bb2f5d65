//! Everything a request handler needs, cheap to clone.

use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use pbm_db::Db;
use pbm_server::pii::PiiCipher;
use pbm_types::DivisionCode;

use crate::domain::eligibility::ExpertFacts;
use crate::domain::taxonomy::FieldTaxonomy;

/// Today's date in China Standard Time (UTC+8, no daylight saving): qualification periods and
/// suspensions are dates in the bureau's calendar, not UTC.
pub fn today_in_china() -> NaiveDate {
    (chrono::Utc::now() + chrono::TimeDelta::hours(8)).date_naive()
}

/// A value derived from the database, reused while a cheap stamp of its source (read in the
/// same transaction as the use) is unchanged; any change of the stamp reloads it.
pub struct Snapshot<S, T> {
    slot: Mutex<Option<(S, Arc<T>)>>,
}

impl<S, T> Default for Snapshot<S, T> {
    fn default() -> Self {
        Snapshot {
            slot: Mutex::new(None),
        }
    }
}

impl<S: PartialEq + Clone, T> Snapshot<S, T> {
    /// The value for `stamp`: the kept one if its stamp is equal, else `load()` (kept).
    pub fn get_or_load<E>(
        &self,
        stamp: &S,
        load: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        if let Ok(slot) = self.slot.lock()
            && let Some((kept, value)) = slot.as_ref()
            && kept == stamp
        {
            return Ok(value.clone());
        }
        let value = Arc::new(load()?);
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Some((stamp.clone(), value.clone()));
        }
        Ok(value)
    }
}

/// The experts table's write counter (`pool_stamps`, bumped by a trigger).
pub type ExpertStamp = i64;

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
    /// Eligibility facts of every expert, reused by draws while the registry is unchanged.
    pub expert_pool: Arc<Snapshot<ExpertStamp, Vec<ExpertFacts>>>,
}

impl AppState {
    /// Migrates the database, seals personal data stored in clear, and prepares the state.
    pub async fn open(db: Db, region: DivisionCode, pii: PiiCipher) -> anyhow::Result<AppState> {
        db.migrate(&crate::store::ALL_MIGRATIONS).await?;
        // People's names, phones and emails on agency records, experts' names and birth dates,
        // stored before they were sealed: sealed before the service answers.
        let (agencies, experts) = crate::ops::personal::seal_stored(&db, &pii).await?;
        if agencies + experts > 0 {
            tracing::info!(agencies, experts, "sealed personal data stored in clear");
        }
        Ok(AppState {
            db,
            region,
            today: Arc::new(today_in_china),
            pii,
            taxonomy: Arc::new(FieldTaxonomy::default()),
            expert_pool: Arc::default(),
        })
    }

    pub fn today(&self) -> NaiveDate {
        (self.today)()
    }
}
