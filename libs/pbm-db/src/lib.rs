//! Database access for PBM services: one sync diesel codebase over PostgreSQL and SQLite.
//!
//! # Layout
//! * [`AnyConnection`] – `#[derive(MultiConnection)]` over PostgreSQL and SQLite.
//! * [`Db`] – a pooled handle; runs closures on tokio's blocking pool, writes in one transaction.
//! * [`Coalescer`] – group commit: concurrent requests batched onto one connection.
//! * [`amount`] – the exact decimal column type (`NUMERIC` on PostgreSQL, `TEXT` on SQLite).
//! * [`platform`] – idempotency, audit and outbox tables every service keeps.
//! * [`testing`] – a fresh database per test on either backend (feature `test-util`).

pub mod amount;
mod coalesce;
mod error;
pub mod platform;
mod pool;
pub mod retention;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;

pub use amount::{Money, sql_types};
pub use coalesce::Coalescer;
pub use error::StoreError;
pub use pool::{
    Backend, CHECK_AFTER_IDLE, Db, DbOptions, Migrations, PLATFORM_MIGRATIONS, SqliteSynchronous,
};

pub use diesel;
pub use diesel_migrations;

/// One connection to either backend. Queries written against it run on both.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    // PostgreSQL first: diesel's MultiConnection tries its variants in order.
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Current UTC time truncated to microseconds, the precision both backends keep (PostgreSQL's
/// TIMESTAMP keeps microseconds, while SQLite's text would keep nanoseconds).
pub fn now() -> chrono::NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    chrono::DurationRound::duration_trunc(now, chrono::TimeDelta::microseconds(1)).unwrap_or(now)
}

/// Inserts a row into a table with a generated id and returns the id: `RETURNING` on
/// PostgreSQL; on SQLite writes are serialised (one writer, `Db::write`), so the last inserted
/// row id is ours. Evaluates to `i64`; errors propagate with `?` (the caller returns a type
/// `diesel::result::Error` converts into).
#[macro_export]
macro_rules! insert_returning_id {
    ($conn:expr, $table:expr, $values:expr, $id:expr) => {
        match $conn {
            $crate::AnyConnection::Postgresql(c) => $crate::diesel::RunQueryDsl::get_result::<i64>(
                $crate::diesel::insert_into($table)
                    .values($values)
                    .returning($id),
                c,
            )?,
            $crate::AnyConnection::Sqlite(c) => {
                $crate::diesel::RunQueryDsl::execute(
                    $crate::diesel::insert_into($table).values($values),
                    c,
                )?;
                $crate::diesel::RunQueryDsl::get_result::<i64>(
                    $crate::diesel::select($crate::diesel::dsl::sql::<
                        $crate::diesel::sql_types::BigInt,
                    >("last_insert_rowid()")),
                    c,
                )?
            }
        }
    };
}
