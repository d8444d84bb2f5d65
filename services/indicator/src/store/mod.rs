//! What do we store? The frame of each fiscal year (`frames`, `frame_nodes`), every version of
//! every third-level indicator (`indicator_versions`), which version is current (`indicators`),
//! and departments' proposals of 个性 indicators (`proposals`). The only module with SQL.

pub mod schema;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use pbm_db::{AnyConnection, Money, StoreError};
use pbm_types::FiscalYear;

use crate::domain::frame::{Frame, FrameNode};
use crate::domain::indicator::{Direction, Indicator, Kind, Spec, Status, ValueStandard};
use schema::{frame_nodes, frames, indicator_versions as iv, indicators, proposals};

pub const MIGRATIONS: pbm_db::Migrations = pbm_db::Migrations {
    postgres: diesel_migrations::embed_migrations!("migrations/postgres"),
    sqlite: diesel_migrations::embed_migrations!("migrations/sqlite"),
};

/// Platform tables first, then the service's own.
pub static ALL_MIGRATIONS: [&pbm_db::Migrations; 2] = [&pbm_db::PLATFORM_MIGRATIONS, &MIGRATIONS];

// ---------------------------------------------------------------------------------------------
// Frames

pub fn insert_frame(
    conn: &mut AnyConnection,
    frame: &Frame,
    actor: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    let year = frame.fiscal_year.get();
    diesel::insert_into(frames::table)
        .values((
            frames::fiscal_year.eq(year),
            frames::name.eq(&frame.name),
            frames::created_by.eq(actor),
            frames::created_at.eq(at),
        ))
        .execute(conn)?;
    for n in &frame.nodes {
        diesel::insert_into(frame_nodes::table)
            .values((
                frame_nodes::fiscal_year.eq(year),
                frame_nodes::code.eq(&n.code),
                frame_nodes::name.eq(&n.name),
                frame_nodes::level.eq(n.level),
                frame_nodes::parent_code.eq(&n.parent_code),
                frame_nodes::sort_order.eq(n.sort_order),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A frame with who created it and when.
pub struct StoredFrame {
    pub frame: Frame,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

pub fn load_frames(conn: &mut AnyConnection) -> Result<Vec<StoredFrame>, StoreError> {
    let heads: Vec<(i32, String, String, NaiveDateTime)> = frames::table
        .order(frames::fiscal_year.asc())
        .select((
            frames::fiscal_year,
            frames::name,
            frames::created_by,
            frames::created_at,
        ))
        .load(conn)?;
    let nodes: Vec<(i32, String, String, i32, String, i32)> = frame_nodes::table
        .order((
            frame_nodes::fiscal_year,
            frame_nodes::level,
            frame_nodes::parent_code,
            frame_nodes::sort_order,
            frame_nodes::code,
        ))
        .select((
            frame_nodes::fiscal_year,
            frame_nodes::code,
            frame_nodes::name,
            frame_nodes::level,
            frame_nodes::parent_code,
            frame_nodes::sort_order,
        ))
        .load(conn)?;
    let mut out = Vec::with_capacity(heads.len());
    for (year, name, created_by, created_at) in heads {
        let fiscal_year = FiscalYear::new(year).map_err(|e| StoreError::Other(e.to_string()))?;
        let nodes = nodes
            .iter()
            .filter(|n| n.0 == year)
            .map(
                |(_, code, name, level, parent_code, sort_order)| FrameNode {
                    code: code.clone(),
                    name: name.clone(),
                    level: *level,
                    parent_code: parent_code.clone(),
                    sort_order: *sort_order,
                },
            )
            .collect();
        out.push(StoredFrame {
            frame: Frame {
                fiscal_year,
                name,
                nodes,
            },
            created_by,
            created_at,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Indicators

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = iv)]
struct IndicatorRow {
    code: String,
    version: i64,
    status: String,
    fiscal_year: i32,
    frame_node_code: String,
    name: String,
    kind: String,
    industry_tags: String,
    field_tags: String,
    level_tags: String,
    direction: String,
    unit: String,
    explanation: String,
    formula: String,
    scoring_rule: String,
    value_standard: String,
    value_standard_note: String,
    reference_target: String,
    last_year_value: Option<Money>,
    year_before_value: Option<Money>,
    fixed: bool,
    enabled_from_year: Option<i32>,
    enabled_to_year: Option<i32>,
    owner_department: String,
    change_note: String,
    changed_by: String,
    changed_at: NaiveDateTime,
}

/// Tags are stored as `|a|b|` so one tag can be matched with `LIKE '%|a|%'`.
fn join_tags(tags: &[String]) -> String {
    if tags.is_empty() {
        String::new()
    } else {
        format!("|{}|", tags.join("|"))
    }
}

fn split_tags(text: &str) -> Vec<String> {
    text.split('|')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl From<&Indicator> for IndicatorRow {
    fn from(i: &Indicator) -> Self {
        let s = &i.spec;
        IndicatorRow {
            code: i.code.clone(),
            version: i.version,
            status: i.status.as_db().into(),
            fiscal_year: s.fiscal_year.get(),
            frame_node_code: s.frame_node_code.clone(),
            name: s.name.clone(),
            kind: s.kind.as_db().into(),
            industry_tags: join_tags(&s.industry_tags),
            field_tags: join_tags(&s.field_tags),
            level_tags: join_tags(&s.level_tags),
            direction: s.direction.as_db().into(),
            unit: s.unit.clone(),
            explanation: s.explanation.clone(),
            formula: s.formula.clone(),
            scoring_rule: s.scoring_rule.clone(),
            value_standard: s.value_standard.map_or("", ValueStandard::as_db).into(),
            value_standard_note: s.value_standard_note.clone(),
            reference_target: s.reference_target.clone(),
            last_year_value: s.last_year_value.map(Money),
            year_before_value: s.year_before_value.map(Money),
            fixed: s.fixed,
            enabled_from_year: s.enabled_from_year,
            enabled_to_year: s.enabled_to_year,
            owner_department: s.owner_department.clone(),
            change_note: i.change_note.clone(),
            changed_by: i.changed_by.clone(),
            changed_at: i.changed_at,
        }
    }
}

impl TryFrom<IndicatorRow> for Indicator {
    type Error = StoreError;

    fn try_from(r: IndicatorRow) -> Result<Self, StoreError> {
        let bad = |what: &str, v: &str| {
            StoreError::Other(format!("indicator {} has bad {what} `{v}`", r.code))
        };
        let spec = Spec {
            fiscal_year: FiscalYear::new(r.fiscal_year)
                .map_err(|_| bad("fiscal_year", &r.fiscal_year.to_string()))?,
            frame_node_code: r.frame_node_code.clone(),
            name: r.name.clone(),
            kind: Kind::from_db(&r.kind).ok_or_else(|| bad("kind", &r.kind))?,
            industry_tags: split_tags(&r.industry_tags),
            field_tags: split_tags(&r.field_tags),
            level_tags: split_tags(&r.level_tags),
            direction: Direction::from_db(&r.direction)
                .ok_or_else(|| bad("direction", &r.direction))?,
            unit: r.unit.clone(),
            explanation: r.explanation.clone(),
            formula: r.formula.clone(),
            scoring_rule: r.scoring_rule.clone(),
            value_standard: if r.value_standard.is_empty() {
                None
            } else {
                Some(
                    ValueStandard::from_db(&r.value_standard)
                        .ok_or_else(|| bad("value_standard", &r.value_standard))?,
                )
            },
            value_standard_note: r.value_standard_note.clone(),
            reference_target: r.reference_target.clone(),
            last_year_value: r.last_year_value.map(|m| m.0),
            year_before_value: r.year_before_value.map(|m| m.0),
            fixed: r.fixed,
            enabled_from_year: r.enabled_from_year,
            enabled_to_year: r.enabled_to_year,
            owner_department: r.owner_department.clone(),
        };
        Ok(Indicator {
            status: Status::from_db(&r.status).ok_or_else(|| bad("status", &r.status))?,
            code: r.code,
            version: r.version,
            spec,
            change_note: r.change_note,
            changed_by: r.changed_by,
            changed_at: r.changed_at,
        })
    }
}

fn rows_to_domain(rows: Vec<IndicatorRow>) -> Result<Vec<Indicator>, StoreError> {
    rows.into_iter().map(Indicator::try_from).collect()
}

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
    Ok(if updated == 1 {
        Ok(())
    } else {
        Err(indicator.version)
    })
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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

// ---------------------------------------------------------------------------------------------
// Proposals

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalRecord {
    pub id: i64,
    pub code: String,
    pub spec: Spec,
    pub department: String,
    pub reason: String,
    pub status: ProposalStatus,
    pub decision_comment: String,
    pub version: i64,
    pub proposed_by: String,
    pub proposed_at: NaiveDateTime,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub indicator_version: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProposalStatus {
    Pending,
    Approved,
    Rejected,
}

impl ProposalStatus {
    pub fn as_db(self) -> &'static str {
        match self {
            ProposalStatus::Pending => "pending",
            ProposalStatus::Approved => "approved",
            ProposalStatus::Rejected => "rejected",
        }
    }

    fn from_db(s: &str) -> Option<Self> {
        [
            ProposalStatus::Pending,
            ProposalStatus::Approved,
            ProposalStatus::Rejected,
        ]
        .into_iter()
        .find(|p| p.as_db() == s)
    }
}

type ProposalTuple = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    NaiveDateTime,
    Option<String>,
    Option<NaiveDateTime>,
    Option<i64>,
);

fn proposal_from(t: ProposalTuple) -> Result<ProposalRecord, StoreError> {
    let spec: Spec = serde_json::from_str(&t.2)
        .map_err(|e| StoreError::Other(format!("proposal {} spec: {e}", t.0)))?;
    Ok(ProposalRecord {
        id: t.0,
        code: t.1,
        spec,
        department: t.3,
        reason: t.4,
        status: ProposalStatus::from_db(&t.5)
            .ok_or_else(|| StoreError::Other(format!("proposal status `{}`", t.5)))?,
        decision_comment: t.6,
        version: t.7,
        proposed_by: t.8,
        proposed_at: t.9,
        decided_by: t.10,
        decided_at: t.11,
        indicator_version: t.12,
    })
}

macro_rules! proposal_columns {
    () => {
        (
            proposals::id,
            proposals::code,
            proposals::spec,
            proposals::department,
            proposals::reason,
            proposals::status,
            proposals::decision_comment,
            proposals::version,
            proposals::proposed_by,
            proposals::proposed_at,
            proposals::decided_by,
            proposals::decided_at,
            proposals::indicator_version,
        )
    };
}

pub fn insert_proposal(
    conn: &mut AnyConnection,
    code: &str,
    spec: &Spec,
    department: &str,
    reason: &str,
    actor: &str,
    at: NaiveDateTime,
) -> Result<i64, StoreError> {
    let spec = serde_json::to_string(spec).map_err(|e| StoreError::Other(e.to_string()))?;
    let values = (
        proposals::code.eq(code),
        proposals::spec.eq(spec),
        proposals::department.eq(department),
        proposals::reason.eq(reason),
        proposals::status.eq(ProposalStatus::Pending.as_db()),
        proposals::decision_comment.eq(""),
        proposals::version.eq(1i64),
        proposals::proposed_by.eq(actor),
        proposals::proposed_at.eq(at),
    );
    match conn {
        // Concurrent transactions insert concurrently: only RETURNING names our row.
        AnyConnection::Postgresql(pg) => Ok(diesel::insert_into(proposals::table)
            .values(values)
            .returning(proposals::id)
            .get_result::<i64>(pg)?),
        AnyConnection::Sqlite(sqlite) => {
            diesel::insert_into(proposals::table)
                .values(values)
                .execute(sqlite)?;
            // SQLite has one writer at a time: inside our transaction the newest row is ours.
            proposals::table
                .select(diesel::dsl::max(proposals::id))
                .first::<Option<i64>>(sqlite)?
                .ok_or(StoreError::NotFound)
        }
    }
}

pub fn proposal(conn: &mut AnyConnection, id: i64) -> Result<Option<ProposalRecord>, StoreError> {
    proposals::table
        .filter(proposals::id.eq(id))
        .select(proposal_columns!())
        .first::<ProposalTuple>(conn)
        .optional()?
        .map(proposal_from)
        .transpose()
}

pub fn list_proposals(
    conn: &mut AnyConnection,
    status: Option<ProposalStatus>,
    department: Option<&str>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<ProposalRecord>, i64), StoreError> {
    let base = || {
        let mut q = proposals::table.into_boxed::<pbm_db::MultiBackend>();
        if let Some(s) = status {
            q = q.filter(proposals::status.eq(s.as_db()));
        }
        if let Some(d) = department {
            q = q.filter(proposals::department.eq(d.to_owned()));
        }
        q
    };
    let total: i64 = base().count().get_result(conn)?;
    let rows: Vec<ProposalTuple> = base()
        .order(proposals::id.desc())
        .offset(offset)
        .limit(limit)
        .select(proposal_columns!())
        .load(conn)?;
    Ok((
        rows.into_iter()
            .map(proposal_from)
            .collect::<Result<_, _>>()?,
        total,
    ))
}

/// Finance's decision on a proposal.
pub struct Decision<'a> {
    pub status: ProposalStatus,
    pub comment: &'a str,
    pub actor: &'a str,
    pub at: NaiveDateTime,
    /// The indicator version created on approval.
    pub indicator_version: Option<i64>,
}

/// Records a decision if the proposal is still pending at `expected` version.
pub fn decide_proposal(
    conn: &mut AnyConnection,
    id: i64,
    expected: i64,
    d: &Decision<'_>,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        proposals::table
            .filter(proposals::id.eq(id))
            .filter(proposals::version.eq(expected))
            .filter(proposals::status.eq(ProposalStatus::Pending.as_db())),
    )
    .set((
        proposals::status.eq(d.status.as_db()),
        proposals::decision_comment.eq(d.comment),
        proposals::version.eq(expected + 1),
        proposals::decided_by.eq(Some(d.actor)),
        proposals::decided_at.eq(Some(d.at)),
        proposals::indicator_version.eq(d.indicator_version),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Writes many new indicators (version 1) in batches; used by the Excel import.
pub fn insert_new_batch(conn: &mut AnyConnection, new: &[Indicator]) -> Result<(), StoreError> {
    // 27 columns × 400 rows stays under both backends' bind-parameter limits.
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
    Ok(())
}
