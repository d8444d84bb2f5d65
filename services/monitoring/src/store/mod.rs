//! What do we store? The warning bands per fiscal year, rounds with the snapshot of their goals
//! (subjects and indicators) and their units' deadlines, execution figures per project and month,
//! the units' reports with their history, one warning row per axis that explains itself,
//! corrective actions, finance's decisions and key monitoring. The only module with SQL.
//!
//! [`schema`] holds the tables; one file of queries per noun. The platform's tables (audit,
//! idempotency, outbox) are written only through `pbm_db::platform`.

mod actions;
mod decisions;
mod deviations;
mod execution;
mod key;
mod reports;
mod rounds;
pub mod schema;
mod subjects;
mod summary;

pub use actions::*;
pub use decisions::*;
pub use deviations::*;
pub use execution::*;
pub use key::*;
pub use reports::*;
pub use rounds::*;
pub use subjects::*;
pub use summary::*;

pub const MIGRATIONS: pbm_db::Migrations = pbm_db::Migrations {
    postgres: diesel_migrations::embed_migrations!("migrations/postgres"),
    sqlite: diesel_migrations::embed_migrations!("migrations/sqlite"),
};

pub static ALL_MIGRATIONS: [&pbm_db::Migrations; 2] = [&pbm_db::PLATFORM_MIGRATIONS, &MIGRATIONS];
