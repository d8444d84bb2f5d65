//! What do we store? Projects from the budget system, one goal per project (or per department
//! as a whole) and fiscal year with its workflow state, every declaration version, every
//! transition of its history, and the rules per fiscal year. The only module with SQL.
//!
//! [`schema`] holds the tables, [`rows`] their rows; one file of queries per noun. The platform's
//! tables (audit, idempotency) are written only through `pbm_db::platform`.

mod batch;
mod exante;
mod goals;
mod history;
mod projects;
mod reviewers;
mod rows;
mod rules;
pub mod schema;
mod snapshot;

pub use batch::*;
pub use exante::*;
pub use goals::*;
pub use history::*;
pub use projects::*;
pub use reviewers::*;
pub use rows::*;
pub use rules::*;
pub use snapshot::*;

pub const MIGRATIONS: pbm_db::Migrations = pbm_db::Migrations {
    postgres: diesel_migrations::embed_migrations!("migrations/postgres"),
    sqlite: diesel_migrations::embed_migrations!("migrations/sqlite"),
};

pub static ALL_MIGRATIONS: [&pbm_db::Migrations; 2] = [&pbm_db::PLATFORM_MIGRATIONS, &MIGRATIONS];
