//! A fresh, empty database per test, on SQLite (always) and PostgreSQL (when
//! `PBM_TEST_DATABASE_URL` is set; required when `PBM_REQUIRE_POSTGRES=1`, as the full test
//! command sets it, so CI never skips PostgreSQL silently).

use diesel::{Connection, PgConnection, RunQueryDsl};
use rand::Rng;

use crate::{Backend, Db, DbOptions};

/// Env var naming a PostgreSQL database the tests may create other databases from.
pub const TEST_DATABASE_URL: &str = "PBM_TEST_DATABASE_URL";
/// When `1`, a missing [`TEST_DATABASE_URL`] fails the test instead of skipping PostgreSQL.
pub const REQUIRE_POSTGRES: &str = "PBM_REQUIRE_POSTGRES";

pub struct TestDatabase {
    url: String,
    backend: Backend,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// A SQLite database in a temporary file (`:memory:` would give one database per pooled
    /// connection: each SQLite connection to `:memory:` opens a database of its own).
    pub fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().expect("temp dir for a test database");
        let url = dir
            .path()
            .join("test.sqlite3")
            .to_string_lossy()
            .into_owned();
        TestDatabase {
            url,
            backend: Backend::Sqlite,
            _dir: Some(dir),
            postgres: None,
        }
    }

    /// A new PostgreSQL database, or `None` when PostgreSQL is not configured and not required.
    pub fn postgres() -> Option<TestDatabase> {
        let Some(admin_url) = std::env::var(TEST_DATABASE_URL)
            .ok()
            .filter(|u| !u.is_empty())
        else {
            if std::env::var(REQUIRE_POSTGRES).is_ok_and(|v| v == "1") {
                panic!("{TEST_DATABASE_URL} must be set when {REQUIRE_POSTGRES}=1");
            }
            eprintln!(
                "note: {TEST_DATABASE_URL} not set; PostgreSQL variant not run (scripts/test-all.sh runs it)"
            );
            return None;
        };
        let name = format!("pbm_t_{:016x}", rand::thread_rng().r#gen::<u64>());
        let mut admin = PgConnection::establish(&admin_url)
            .unwrap_or_else(|e| panic!("cannot connect to {TEST_DATABASE_URL}: {e}"));
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create test database");
        let url = replace_database(&admin_url, &name);
        Some(TestDatabase {
            url,
            backend: Backend::Postgres,
            _dir: None,
            postgres: Some((admin_url, name)),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A pool on this database (not migrated).
    pub fn connect(&self) -> Db {
        Db::connect(&self.url, &DbOptions::for_backend(self.backend))
            .expect("connect to test database")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.postgres
            && let Ok(mut admin) = PgConnection::establish(admin_url)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin);
        }
    }
}

/// Replaces the database name in a PostgreSQL URL, keeping any query string.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Declares one test per backend for each `name => async_fn;` pair:
/// `name::sqlite` and `name::postgres`. `async_fn` takes a [`TestDatabase`].
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident => $body:ident;)*) => {
        $(
            mod $name {
                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$body($crate::testing::TestDatabase::sqlite()).await;
                }

                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(db) = $crate::testing::TestDatabase::postgres() {
                        super::$body(db).await;
                    }
                }
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_database_name() {
        assert_eq!(
            replace_database("postgres://u@h:1/pbm_test", "x"),
            "postgres://u@h:1/x"
        );
        assert_eq!(
            replace_database("postgres://u@h:1/pbm_test?sslmode=disable", "x"),
            "postgres://u@h:1/x?sslmode=disable"
        );
        assert_eq!(
            replace_database("postgres://u@h:1", "x"),
            "postgres://u@h:1/x"
        );
    }
}
