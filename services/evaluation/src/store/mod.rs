//! What do we store? The scoring rules per fiscal year, the self-evaluation of a year (campaign)
//! with one sheet per project or 部门整体 and its indicators, the units' deadlines, the sheets'
//! history, spot checks with their sampled sheets, reviews and problems. The only module with
//! SQL.
//!
//! [`schema`] holds the tables; one file of queries per noun. The platform's tables (audit,
//! idempotency, outbox) are written only through `pbm_db::platform`.

mod campaigns;
mod entries;
mod rules;
mod save_batch;
pub mod schema;
mod sheets;
pub mod spot_checks;

pub use campaigns::*;
pub use entries::*;
pub use rules::*;
pub use save_batch::*;
pub use sheets::*;

pub const MIGRATIONS: pbm_db::Migrations = pbm_db::Migrations {
    postgres: diesel_migrations::embed_migrations!("migrations/postgres"),
    sqlite: diesel_migrations::embed_migrations!("migrations/sqlite"),
};

pub static ALL_MIGRATIONS: [&pbm_db::Migrations; 2] = [&pbm_db::PLATFORM_MIGRATIONS, &MIGRATIONS];
