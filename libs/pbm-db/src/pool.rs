use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, ManageConnection, Pool};
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

use crate::{AnyConnection, StoreError};

/// Which database a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// `postgres://` and `postgresql://` URLs are PostgreSQL; anything else is a SQLite path.
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// Embedded migrations of one crate for both backends (`migrations/postgres`, `migrations/sqlite`,
/// same version names).
pub struct Migrations {
    pub postgres: EmbeddedMigrations,
    pub sqlite: EmbeddedMigrations,
}

/// Lends an [`EmbeddedMigrations`] (which is not `Clone`) to diesel's harness.
struct ByRef<'a>(&'a EmbeddedMigrations);

impl<DB: diesel::backend::Backend> diesel::migration::MigrationSource<DB> for ByRef<'_> {
    fn migrations(
        &self,
    ) -> diesel::migration::Result<Vec<Box<dyn diesel::migration::Migration<DB>>>> {
        diesel::migration::MigrationSource::<DB>::migrations(self.0)
    }
}

/// The platform tables (idempotency, audit, outbox) every service database has.
pub const PLATFORM_MIGRATIONS: Migrations = Migrations {
    postgres: diesel_migrations::embed_migrations!("migrations/postgres"),
    sqlite: diesel_migrations::embed_migrations!("migrations/sqlite"),
};

#[derive(Debug, Clone)]
pub struct DbOptions {
    pub max_connections: u32,
    pub connect_timeout: Duration,
    /// A PostgreSQL connection unused for longer than this is checked (`SELECT 1`) before it
    /// is used again, and replaced if its server went away (restart, failover, an idle
    /// timeout on the way). Busier connections are not checked: under load no request pays
    /// for it. HikariCP's "alive bypass window" works the same way.
    pub check_after_idle: Duration,
    /// SQLite's `synchronous` setting (ignored on PostgreSQL, whose durability is the
    /// server's `fsync` and `synchronous_commit`).
    pub sqlite_synchronous: SqliteSynchronous,
}

/// How SQLite syncs its write-ahead log (<https://www.sqlite.org/pragma.html#pragma_synchronous>).
///
/// Both settings lose nothing acknowledged when the *process* dies (kill -9, a panic, an OOM
/// kill): a committed transaction is in the WAL file, which the operating system keeps. They
/// differ on *power failure or an operating-system crash*: [`SqliteSynchronous::Full`] syncs
/// the WAL at every commit, so an acknowledged write survives; [`SqliteSynchronous::Normal`]
/// syncs only at checkpoints, so the last transactions before the failure may roll back
/// (the database stays consistent). PBM acknowledges a write only after its commit, so `Full`
/// is the default; `Normal` is a stated trade-off an operator may choose (`--sqlite-synchronous
/// normal`), e.g. on a laptop with a battery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteSynchronous {
    #[default]
    Full,
    Normal,
}

impl SqliteSynchronous {
    fn pragma(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}

impl std::str::FromStr for SqliteSynchronous {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "full" => Ok(Self::Full),
            "normal" => Ok(Self::Normal),
            other => Err(format!("`{other}`: expected full or normal")),
        }
    }
}

impl DbOptions {
    pub fn for_backend(backend: Backend) -> Self {
        let max_connections = match backend {
            // A small pool beats a large one on a few cores: measured on 2 cores, SubmitGoal at 16
            // clients did 900/s with p99 37 ms on 4–6 connections and 800/s with p99 64 ms on
            // 16 (docs/BENCHMARKS.md). Twice the cores plus one, as the usual sizing rule says.
            Backend::Postgres => {
                let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
                u32::try_from(2 * cores + 1).unwrap_or(16).clamp(4, 32)
            }
            // One writer at a time anyway; a few readers run beside it in WAL mode.
            Backend::Sqlite => 8,
        };
        Self {
            max_connections,
            connect_timeout: Duration::from_secs(5),
            check_after_idle: CHECK_AFTER_IDLE,
            sqlite_synchronous: SqliteSynchronous::default(),
        }
    }
}

/// Connections are renewed after this long.
pub(crate) const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// The default [`DbOptions::check_after_idle`].
pub const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Whether `conn` still answers: the one check behind every "is this connection alive?".
pub(crate) fn ping(conn: &mut AnyConnection) -> Result<(), StoreError> {
    diesel::sql_query("SELECT 1").execute(conn)?;
    Ok(())
}

/// Whether `conn`, last used at `used`, may be used as it is: a PostgreSQL connection idle for
/// longer than `after` must still answer ([`ping`]).
pub(crate) fn still_alive(conn: &mut AnyConnection, used: Instant, after: Duration) -> bool {
    match conn {
        AnyConnection::Postgresql(_) if used.elapsed() > after => ping(conn).is_ok(),
        _ => true,
    }
}

/// Opens connections itself so a PostgreSQL error keeps its real cause (diesel's
/// `MultiConnection::establish` tries each backend in order and drops their errors).
#[derive(Debug, Clone)]
struct Manager {
    url: String,
    backend: Backend,
    sqlite_synchronous: SqliteSynchronous,
}

/// A pooled connection, whether it was found dead, and when it was last handed out.
struct Pooled {
    conn: AnyConnection,
    broken: bool,
    used: Instant,
}

impl Pooled {
    /// After a failed use: a connection that no longer answers is not returned to the pool
    /// (the pool pings only after an error and after an idle spell, [`still_alive`]).
    fn check_after_error(&mut self) {
        if ping(&mut self.conn).is_err() {
            self.broken = true;
        }
    }
}

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = StoreError;

    fn connect(&self) -> Result<Pooled, StoreError> {
        let conn = self.open()?;
        Ok(Pooled {
            conn,
            broken: false,
            used: Instant::now(),
        })
    }

    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), StoreError> {
        ping(&mut pooled.conn)
    }

    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        // A connection whose server went away (restart, failover) or whose transaction state
        // is broken is not returned to the pool.
        pooled.broken
            || std::thread::panicking()
            || r2d2::R2D2Connection::is_broken(&mut pooled.conn)
    }
}

impl Manager {
    fn open(&self) -> Result<AnyConnection, StoreError> {
        match self.backend {
            Backend::Postgres => PgConnection::establish(&self.url)
                .map(AnyConnection::Postgresql)
                .map_err(|e| StoreError::Unavailable(e.to_string())),
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.url)
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?;
                // WAL lets readers run beside the writer; busy_timeout waits out short locks.
                // `synchronous`: SqliteSynchronous says what each setting keeps on power failure.
                conn.batch_execute(&format!(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                    self.sqlite_synchronous.pragma()
                ))
                .map_err(StoreError::from)?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }
}

/// A pooled database handle. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    /// Opens connections outside the pool.
    opener: Arc<Manager>,
    backend: Backend,
    check_after_idle: Duration,
    /// SQLite allows one writer per file; serialising writes in-process avoids
    /// `SQLITE_BUSY` on lock upgrades. PostgreSQL writes are not serialised. One lock per file
    /// ([`sqlite_writer_of`]): services of one process given the same file (`pbm serve
    /// --database-url <file>`) share it, else a read transaction upgrading to write after
    /// another pool's commit fails at once (`SQLITE_BUSY_SNAPSHOT`, which no busy timeout waits
    /// out).
    sqlite_writer: Arc<Mutex<()>>,
}

/// The writer lock of the SQLite file at `url`, shared by every [`Db`] of this process on it.
fn sqlite_writer_of(url: &str) -> Arc<Mutex<()>> {
    use std::collections::HashMap;
    use std::sync::{OnceLock, Weak};
    static WRITERS: OnceLock<Mutex<HashMap<std::path::PathBuf, Weak<Mutex<()>>>>> = OnceLock::new();
    let path = std::path::Path::new(url);
    let key = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    let mut writers = WRITERS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    writers.retain(|_, w| w.strong_count() > 0);
    if let Some(lock) = writers.get(&key).and_then(Weak::upgrade) {
        return lock;
    }
    let lock = Arc::new(Mutex::new(()));
    writers.insert(key, Arc::downgrade(&lock));
    lock
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Db {
    /// Connects to `url`: a `postgres://` URL or a SQLite file path (created if missing).
    pub fn connect(url: &str, options: &DbOptions) -> Result<Db, StoreError> {
        let backend = Backend::of_url(url);
        let manager = Manager {
            url: url.to_owned(),
            backend,
            sqlite_synchronous: options.sqlite_synchronous,
        };
        let pool = Pool::builder()
            .max_size(options.max_connections)
            .min_idle(Some(1))
            // No `SELECT 1` before every use (a round trip per request): only a connection
            // idle for longer than `check_after_idle` is checked (`Db::conn`); one that broke
            // in use is dropped by `has_broken` after its failed statement, and connections
            // are renewed after `max_lifetime`.
            .test_on_check_out(false)
            .max_lifetime(Some(MAX_LIFETIME))
            .connection_timeout(options.connect_timeout)
            .build(manager.clone())
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(Db {
            pool,
            opener: Arc::new(manager),
            backend,
            check_after_idle: options.check_after_idle,
            sqlite_writer: match backend {
                Backend::Sqlite => sqlite_writer_of(url),
                Backend::Postgres => Arc::default(),
            },
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A pooled connection that answers: one idle for a while is checked first and, if its
    /// server went away, replaced (every idle connection may be dead after a restart, so as
    /// many as the pool holds may be tried; a new one is not checked).
    fn conn(&self) -> Result<r2d2::PooledConnection<Manager>, StoreError> {
        for _ in 0..=self.pool.max_size() {
            let mut pooled = self
                .pool
                .get()
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            let p: &mut Pooled = &mut pooled;
            if still_alive(&mut p.conn, p.used, self.check_after_idle) {
                p.used = Instant::now();
                return Ok(pooled);
            }
            p.broken = true;
        }
        Err(StoreError::Unavailable(
            "no pooled connection answers".into(),
        ))
    }

    /// See [`DbOptions::check_after_idle`].
    pub(crate) fn check_after_idle(&self) -> Duration {
        self.check_after_idle
    }

    /// Applies pending migrations of every set, in order. On PostgreSQL an advisory lock keeps
    /// concurrent replicas from migrating at the same time.
    pub fn migrate_blocking(&self, sets: &[&Migrations]) -> Result<(), StoreError> {
        let mut pooled = self.conn()?;
        let conn = &mut pooled.conn;
        let run = |conn: &mut AnyConnection| -> Result<(), StoreError> {
            for set in sets {
                let result = match conn {
                    AnyConnection::Postgresql(c) => {
                        c.run_pending_migrations(ByRef(&set.postgres)).map(drop)
                    }
                    AnyConnection::Sqlite(c) => {
                        c.run_pending_migrations(ByRef(&set.sqlite)).map(drop)
                    }
                };
                result.map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
            }
            Ok(())
        };
        match self.backend {
            Backend::Postgres => {
                diesel::sql_query("SELECT pg_advisory_lock(727274)").execute(&mut *conn)?;
                let result = run(conn);
                diesel::sql_query("SELECT pg_advisory_unlock(727274)").execute(&mut *conn)?;
                result
            }
            Backend::Sqlite => run(conn),
        }
    }

    /// Runs `migrate_blocking` on the blocking pool.
    pub async fn migrate(&self, sets: &'static [&'static Migrations]) -> Result<(), StoreError> {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.migrate_blocking(sets))
            .await
            .map_err(|e| StoreError::Other(e.to_string()))?
    }

    /// Runs a read on a pooled connection, off the async workers.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
    {
        let db = self.clone();
        // The request's span follows the work (its logs, and the trace of any call it makes).
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut pooled = db.conn()?;
            let result = f(&mut pooled.conn);
            if result.is_err() {
                pooled.check_after_error();
            }
            result
        })
        .await
        .map_err(|e| E::from(StoreError::Other(e.to_string())))?
    }

    /// Runs `f` in one transaction: everything it writes commits together or not at all.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + From<diesel::result::Error> + Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
    {
        let db = self.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(|| db.write_blocking(f)))
            .await
            .map_err(|e| E::from(StoreError::Other(e.to_string())))?
    }

    /// A connection of its own, outside the pool (a [`crate::Coalescer`]'s lane).
    pub(crate) fn open_dedicated(&self) -> Result<AnyConnection, StoreError> {
        self.opener.open()
    }

    /// The largest number of connections the pool opens.
    pub fn max_connections(&self) -> usize {
        self.pool.max_size() as usize
    }

    /// The blocking form of [`Db::write`].
    pub fn write_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<StoreError> + From<diesel::result::Error>,
        F: FnOnce(&mut AnyConnection) -> Result<T, E>,
    {
        let mut pooled = self.conn()?;
        let _guard = match self.backend {
            Backend::Sqlite => Some(self.sqlite_writer.lock().unwrap_or_else(|p| p.into_inner())),
            Backend::Postgres => None,
        };
        let result = pooled.conn.transaction(|c| f(c));
        if result.is_err() {
            pooled.check_after_error();
        }
        result
    }
}
