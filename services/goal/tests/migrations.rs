//! Migrations that rewrite existing rows, tested on a populated database on both backends: the
//! goal's working version, added as a column, is filled from the state it was kept in.

use pbm_db::diesel::migration::MigrationSource;
use pbm_db::diesel::pg::Pg;
use pbm_db::diesel::sqlite::Sqlite;
use pbm_db::diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use pbm_db::diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use pbm_db::testing::TestDatabase;

const WORKING_VERSION: &str = "2026-02-05-000000_goal_working_version";

/// Runs every migration before `stop` (platform tables, then the goal service's).
fn migrate_until<C, DB>(conn: &mut C, goal: &EmbeddedMigrations, platform: &EmbeddedMigrations)
where
    DB: pbm_db::diesel::backend::Backend,
    C: MigrationHarness<DB>,
    EmbeddedMigrations: MigrationSource<DB>,
{
    conn.run_pending_migrations(ByRef(platform)).unwrap();
    for m in MigrationSource::<DB>::migrations(goal).unwrap() {
        if m.name().to_string() == WORKING_VERSION {
            break;
        }
        conn.run_migration(&*m).unwrap();
    }
}

struct ByRef<'a>(&'a EmbeddedMigrations);

impl<DB: pbm_db::diesel::backend::Backend> MigrationSource<DB> for ByRef<'_>
where
    EmbeddedMigrations: MigrationSource<DB>,
{
    fn migrations(
        &self,
    ) -> pbm_db::diesel::migration::Result<Vec<Box<dyn pbm_db::diesel::migration::Migration<DB>>>>
    {
        self.0.migrations()
    }
}

const SEED: [&str; 2] = [
    "INSERT INTO goals (fiscal_year, target_kind, target_code, agency_code, department_code, \
     status, approved_version, published_version, state, revision, changed_by, changed_at) \
     VALUES (2026, 'project', 'P-1', '140500101', '140500100', 'in_adjustment', 1, NULL, \
     '{\"status\":\"in_adjustment\",\"version\":2,\"approved_version\":1,\"published_version\":null,\"first_review\":\"excellent\",\"revision\":7}', \
     7, 'seed', '2026-01-15 08:00:00')",
    "INSERT INTO goals (fiscal_year, target_kind, target_code, agency_code, department_code, \
     status, approved_version, published_version, state, revision, changed_by, changed_at) \
     VALUES (2026, 'project', 'P-2', '140500101', '140500100', 'draft', NULL, NULL, \
     '{\"status\":\"draft\",\"version\":1,\"approved_version\":null,\"published_version\":null,\"first_review\":null,\"revision\":1}', \
     1, 'seed', '2026-01-15 08:00:00')",
];

#[derive(pbm_db::diesel::QueryableByName, Debug, PartialEq)]
struct Working {
    #[diesel(sql_type = pbm_db::diesel::sql_types::Text)]
    target_code: String,
    #[diesel(sql_type = pbm_db::diesel::sql_types::Integer)]
    working_version: i32,
}

const READ: &str = "SELECT target_code, working_version FROM goals ORDER BY target_code";

fn expected() -> Vec<Working> {
    vec![
        Working {
            target_code: "P-1".into(),
            working_version: 2,
        },
        Working {
            target_code: "P-2".into(),
            working_version: 1,
        },
    ]
}

/// Migrates `$conn` up to the working-version migration, writes goals as they stood before it,
/// runs the rest and reads the column back.
macro_rules! fill_and_read {
    ($conn:expr, $db:ty, $backend:ident) => {{
        let conn = $conn;
        migrate_until::<_, $db>(
            conn,
            &pbm_goal::store::MIGRATIONS.$backend,
            &pbm_db::PLATFORM_MIGRATIONS.$backend,
        );
        for sql in SEED {
            pbm_db::diesel::sql_query(sql).execute(conn).unwrap();
        }
        conn.run_pending_migrations(ByRef(&pbm_goal::store::MIGRATIONS.$backend))
            .unwrap();
        let rows: Vec<Working> = pbm_db::diesel::sql_query(READ).load(conn).unwrap();
        rows
    }};
}

#[test]
fn working_versions_are_filled_from_the_state_on_sqlite() {
    let db = TestDatabase::sqlite();
    let mut conn = SqliteConnection::establish(db.url()).unwrap();
    assert_eq!(fill_and_read!(&mut conn, Sqlite, sqlite), expected());
}

#[test]
fn working_versions_are_filled_from_the_state_on_postgres() {
    let Some(db) = TestDatabase::postgres() else {
        return;
    };
    let mut conn = PgConnection::establish(db.url()).unwrap();
    assert_eq!(fill_and_read!(&mut conn, Pg, postgres), expected());
}
