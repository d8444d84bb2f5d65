//! An exact decimal column type over both backends.
//!
//! diesel's SQLite `Numeric` goes through `f64`, and a SQLite column declared NUMERIC converts
//! `'0.1'` to REAL (NUMERIC affinity stores text that reads as a number as INTEGER or REAL), so
//! money and scores are stored as `NUMERIC` on PostgreSQL and as `TEXT` on SQLite, and always
//! read back as an exact [`rust_decimal::Decimal`].

use std::str::FromStr;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{HasSqlType, Numeric};
use diesel::sqlite::{Sqlite, SqliteType, SqliteValue};
use diesel::{AsExpression, FromSqlRow};
use rust_decimal::Decimal;

use crate::MultiBackend;

pub mod sql_types {
    /// Exact decimal: PostgreSQL `NUMERIC`, SQLite `TEXT`. Not called `Money`, which diesel
    /// already uses for PostgreSQL's MONEY type: the two would collide through the
    /// `diesel::sql_types::*` glob that `table!` brings in.
    #[derive(
        diesel::sql_types::SqlType, diesel::query_builder::QueryId, Clone, Copy, Debug, Default,
    )]
    #[diesel(postgres_type(oid = 1700, array_oid = 1231))]
    #[diesel(sqlite_type(name = "Text"))]
    pub struct Amount;
}

use sql_types::Amount;

/// A decimal value stored in an [`Amount`] column (money in 元, scores, ratios).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = Amount)]
pub struct Money(pub Decimal);

impl ToSql<Amount, Pg> for Money {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <Decimal as ToSql<Numeric, Pg>>::to_sql(&self.0, &mut out.reborrow())
    }
}

impl FromSql<Amount, Pg> for Money {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        <Decimal as FromSql<Numeric, Pg>>::from_sql(bytes).map(Money)
    }
}

impl ToSql<Amount, Sqlite> for Money {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.normalize().to_string());
        Ok(IsNull::No)
    }
}

impl FromSql<Amount, Sqlite> for Money {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        match value.value_type() {
            Some(SqliteType::Long) => Ok(Money(Decimal::from(value.read_long()))),
            Some(SqliteType::Double) => {
                // Only reachable if a row was written outside PBM; refuse rather than guess.
                Err(format!(
                    "inexact REAL value {} in a decimal column",
                    value.read_double()
                )
                .into())
            }
            _ => Ok(Money(Decimal::from_str(value.read_text())?)),
        }
    }
}

impl HasSqlType<Amount> for MultiBackend {
    fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
        MultiBackend::lookup_sql_type::<Amount>(lookup)
    }
}

impl FromSql<Amount, MultiBackend> for Money {
    fn from_sql(bytes: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        bytes.from_sql::<Money, Amount>()
    }
}

impl ToSql<Amount, MultiBackend> for Money {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((Amount, self));
        Ok(IsNull::No)
    }
}
