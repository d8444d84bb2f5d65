//! Third-level indicators: every version (`indicator_versions`) and which one is current
//! (`indicators`); writes, point reads, and the filtered listing behind list, search and export.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use pbm_db::{AnyConnection, StoreError};

use super::library::{append_log, indicator_entry};
use super::rows::{IndicatorRow, rows_to_domain};
use super::schema::{indicator_versions as iv, indicators};
use crate::domain::indicator::{Indicator, Kind, Status};

/// Writes a new indicator (version 1) and makes it current. Fails with UniqueViolation when the
/// code exists.
pub fn insert_new(conn: &mut AnyConnection, indicator: &Indicator) -> Result<(), StoreError> {
    diesel::insert_into(iv::table)
        .values(IndicatorRow::from(indicator))
        .execute(conn)?;
    diesel::insert_into(indicators::table)
        .values((
            indicators::code.eq(&indicator.code),
            indicators::version.eq(indicator.version),
            indicators::changed_at.eq(indicator.changed_at),
        ))
        .execute(conn)?;
    append_log(conn, &[indicator_entry(indicator)], indicator.changed_at)?;
    Ok(())
}

/// Writes `indicator` (whose version is `expected + 1`) as the next version, if the current
/// version is still `expected`. Returns `Err(actual)` when it is not (the caller answers ABORTED
/// and the transaction rolls back).
pub fn insert_next_version(
    conn: &mut AnyConnection,
    indicator: &Indicator,
    expected: i64,
) -> Result<Result<(), i64>, StoreError> {
    debug_assert_eq!(indicator.version, expected + 1);
    let current: i64 = indicators::table
        .filter(indicators::code.eq(&indicator.code))
        .select(indicators::version)
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound)?;
    if current != expected {
        return Ok(Err(current));
    }
    // The version row goes in first: `indicators` references it. A concurrent writer of the same
    // next version makes this insert fail on the primary key: that writer won.
    match diesel::insert_into(iv::table)
        .values(IndicatorRow::from(indicator))
        .execute(conn)
    {
        Ok(_) => {}
        Err(e) => {
            return match StoreError::from(e) {
                StoreError::UniqueViolation(_) => Ok(Err(indicator.version)),
                other => Err(other),
            };
        }
    }
    let updated = diesel::update(
        indicators::table
            .filter(indicators::code.eq(&indicator.code))
            .filter(indicators::version.eq(expected)),
    )
    .set((
        indicators::version.eq(indicator.version),
        indicators::changed_at.eq(indicator.changed_at),
    ))
    .execute(conn)?;
    if updated != 1 {
        return Ok(Err(indicator.version));
    }
    append_log(conn, &[indicator_entry(indicator)], indicator.changed_at)?;
    Ok(Ok(()))
}

pub fn current(conn: &mut AnyConnection, code: &str) -> Result<Option<Indicator>, StoreError> {
    Ok(current_and_pinned(conn, &[code.to_owned()], &[])?.0.pop())
}

pub fn version(
    conn: &mut AnyConnection,
    code: &str,
    version: i64,
) -> Result<Option<Indicator>, StoreError> {
    let row = iv::table
        .filter(iv::code.eq(code))
        .filter(iv::version.eq(version))
        .select(IndicatorRow::as_select())
        .first(conn)
        .optional()?;
    row.map(Indicator::try_from).transpose()
}

/// The current versions of `codes` and the versions `pinned` asks for, in two statements
/// (ResolveIndicators answers a whole declaration at once).
pub fn current_and_pinned(
    conn: &mut AnyConnection,
    codes: &[String],
    pinned: &[(String, i64)],
) -> Result<(Vec<Indicator>, Vec<Indicator>), StoreError> {
    if codes.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let current = rows_to_domain(
        indicators::table
            .inner_join(
                iv::table.on(iv::code
                    .eq(indicators::code)
                    .and(iv::version.eq(indicators::version))),
            )
            .filter(indicators::code.eq_any(codes))
            .select(IndicatorRow::as_select())
            .load(conn)?,
    )?;
    let pinned = if pinned.is_empty() {
        Vec::new()
    } else {
        let versions: Vec<i64> = pinned.iter().map(|(_, v)| *v).collect();
        let pinned_codes: Vec<&str> = pinned.iter().map(|(c, _)| c.as_str()).collect();
        rows_to_domain(
            iv::table
                .filter(iv::code.eq_any(pinned_codes))
                .filter(iv::version.eq_any(versions))
                .select(IndicatorRow::as_select())
                .load(conn)?,
        )?
        .into_iter()
        .filter(|i| pinned.iter().any(|(c, v)| *c == i.code && *v == i.version))
        .collect()
    };
    Ok((current, pinned))
}

/// Every version of one indicator, newest first.
pub fn versions(conn: &mut AnyConnection, code: &str) -> Result<Vec<Indicator>, StoreError> {
    rows_to_domain(
        iv::table
            .filter(iv::code.eq(code))
            .order(iv::version.desc())
            .select(IndicatorRow::as_select())
            .load(conn)?,
    )
}

/// Filters of list, search and export (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Filter {
    pub fiscal_year: Option<i32>,
    pub frame_node_code: Option<String>,
    pub level1_code: Option<String>,
    pub kind: Option<Kind>,
    pub status: Option<Status>,
    pub industry_tag: Option<String>,
    pub field_tag: Option<String>,
    pub level_tag: Option<String>,
    pub owner_department: Option<String>,
    /// Only 固化 indicators.
    pub fixed_only: bool,
}

type CurrentJoin = diesel::dsl::Filter<
    diesel::dsl::InnerJoinOn<
        indicators::table,
        iv::table,
        diesel::dsl::And<
            diesel::dsl::Eq<iv::code, indicators::code>,
            diesel::dsl::Eq<iv::version, indicators::version>,
        >,
    >,
    diesel::dsl::AsExprOf<bool, diesel::sql_types::Bool>,
>;

fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn filtered(filter: &Filter) -> diesel::dsl::IntoBoxed<'static, CurrentJoin, pbm_db::MultiBackend> {
    let mut q = indicators::table
        .inner_join(
            iv::table.on(iv::code
                .eq(indicators::code)
                .and(iv::version.eq(indicators::version))),
        )
        .filter(true.into_sql::<diesel::sql_types::Bool>())
        .into_boxed();
    if let Some(y) = filter.fiscal_year {
        q = q.filter(iv::fiscal_year.eq(y));
    }
    if let Some(c) = &filter.frame_node_code {
        q = q.filter(iv::frame_node_code.eq(c.clone()));
    }
    if let Some(c) = &filter.level1_code {
        // The parent of a second-level code is looked up in the frame of the indicator's own
        // year (frames differ between years; diesel has no typed correlated subquery).
        q = q.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>(
                "EXISTS (SELECT 1 FROM frame_nodes AS parent_node \
                 WHERE parent_node.fiscal_year = indicator_versions.fiscal_year \
                 AND parent_node.code = indicator_versions.frame_node_code \
                 AND parent_node.parent_code = ",
            )
            .bind::<diesel::sql_types::Text, _>(c.clone())
            .sql(")"),
        );
    }
    if let Some(k) = filter.kind {
        q = q.filter(iv::kind.eq(k.as_db()));
    }
    if let Some(s) = filter.status {
        q = q.filter(iv::status.eq(s.as_db()));
    }
    if let Some(t) = &filter.industry_tag {
        q = q.filter(
            iv::industry_tags
                .like(format!("%|{}|%", like_escape(t)))
                .escape('\\'),
        );
    }
    if let Some(t) = &filter.field_tag {
        q = q.filter(
            iv::field_tags
                .like(format!("%|{}|%", like_escape(t)))
                .escape('\\'),
        );
    }
    if let Some(t) = &filter.level_tag {
        q = q.filter(
            iv::level_tags
                .like(format!("%|{}|%", like_escape(t)))
                .escape('\\'),
        );
    }
    if let Some(d) = &filter.owner_department {
        q = q.filter(iv::owner_department.eq(d.clone()));
    }
    if filter.fixed_only {
        q = q.filter(iv::fixed.eq(true));
    }
    q
}

/// One page of current indicators matching `filter`, ordered by code, and the total count.
pub fn list(
    conn: &mut AnyConnection,
    filter: &Filter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<Indicator>, i64), StoreError> {
    let total: i64 = filtered(filter).count().get_result(conn)?;
    let rows = filtered(filter)
        .order(iv::code.asc())
        .offset(offset)
        .limit(limit)
        .select(IndicatorRow::as_select())
        .load(conn)?;
    Ok((rows_to_domain(rows)?, total))
}

/// Every current indicator matching `filter`, ordered by code (export, index build).
pub fn all_current(
    conn: &mut AnyConnection,
    filter: &Filter,
) -> Result<Vec<Indicator>, StoreError> {
    rows_to_domain(
        filtered(filter)
            .order(iv::code.asc())
            .select(IndicatorRow::as_select())
            .load(conn)?,
    )
}

/// (code, current version) of indicators whose current version was made at or after `since`:
/// a light query for replicas to notice what changed.
pub fn versions_changed_since(
    conn: &mut AnyConnection,
    since: NaiveDateTime,
) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(indicators::table
        .filter(indicators::changed_at.ge(since))
        .select((indicators::code, indicators::version))
        .load(conn)?)
}

/// Current versions of the given codes (missing codes are simply absent).
pub fn current_many(
    conn: &mut AnyConnection,
    codes: &[String],
) -> Result<Vec<Indicator>, StoreError> {
    let mut out = Vec::with_capacity(codes.len());
    for chunk in codes.chunks(500) {
        let rows = filtered(&Filter::default())
            .filter(iv::code.eq_any(chunk.to_vec()))
            .select(IndicatorRow::as_select())
            .load(conn)?;
        out.extend(rows_to_domain(rows)?);
    }
    Ok(out)
}

/// Writes many new indicators (version 1) in batches; used by the Excel import.
pub fn insert_new_batch(conn: &mut AnyConnection, new: &[Indicator]) -> Result<(), StoreError> {
    // 29 columns × 400 rows stays under both backends' bind-parameter limits.
    for chunk in new.chunks(400) {
        let rows: Vec<IndicatorRow> = chunk.iter().map(IndicatorRow::from).collect();
        let heads: Vec<_> = chunk
            .iter()
            .map(|i| {
                (
                    indicators::code.eq(&i.code),
                    indicators::version.eq(i.version),
                    indicators::changed_at.eq(i.changed_at),
                )
            })
            .collect();
        // Multi-row INSERT is not available through MultiConnection (its backend cannot say how
        // DEFAULT is written), so dispatch to the concrete connection.
        match conn {
            AnyConnection::Postgresql(c) => {
                diesel::insert_into(iv::table).values(&rows).execute(c)?;
                diesel::insert_into(indicators::table)
                    .values(&heads)
                    .execute(c)?;
            }
            AnyConnection::Sqlite(c) => {
                diesel::insert_into(iv::table).values(&rows).execute(c)?;
                diesel::insert_into(indicators::table)
                    .values(&heads)
                    .execute(c)?;
            }
        }
    }
    if let Some(first) = new.first() {
        let entries: Vec<_> = new.iter().map(indicator_entry).collect();
        append_log(conn, &entries, first.changed_at)?;
    }
    Ok(())
}
