//! What do we store? Admission batches (procurement, qualification period), agencies (the
//! fields the national credit platform keeps; lists held as JSON), every status change with its
//! reason, and violations. The only module with SQL.

pub mod draws;
pub mod engagements;
pub mod experts;
pub mod schema;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use pbm_db::{AnyConnection, StoreError, insert_returning_id};

use crate::domain::ids::CreditCode;
use crate::domain::registry::{Agency, AgencySpec, AgencyType, Batch, Details, Scope, Status};
use schema::{
    admission_batches as batches, agencies, agency_status_changes as changes,
    agency_violations as violations, expert_violations as xv,
};

pub const MIGRATIONS: pbm_db::Migrations = pbm_db::Migrations {
    postgres: diesel_migrations::embed_migrations!("migrations/postgres"),
    sqlite: diesel_migrations::embed_migrations!("migrations/sqlite"),
};

pub static ALL_MIGRATIONS: [&pbm_db::Migrations; 2] = [&pbm_db::PLATFORM_MIGRATIONS, &MIGRATIONS];

fn bad(what: &str, value: &str) -> StoreError {
    StoreError::Other(format!("stored {what} `{value}` is not valid"))
}

// ---------------------------------------------------------------------------------------------
// Batches

type BatchRow = (
    i64,
    String,
    String,
    NaiveDate,
    NaiveDate,
    String,
    NaiveDateTime,
);

fn batch_from(r: BatchRow) -> Batch {
    Batch {
        id: r.0,
        name: r.1,
        procurement_ref: r.2,
        qualified_from: r.3,
        qualified_to: r.4,
        created_by: r.5,
        created_at: r.6,
    }
}

const BATCH_COLUMNS: (
    batches::id,
    batches::name,
    batches::procurement_ref,
    batches::qualified_from,
    batches::qualified_to,
    batches::created_by,
    batches::created_at,
) = (
    batches::id,
    batches::name,
    batches::procurement_ref,
    batches::qualified_from,
    batches::qualified_to,
    batches::created_by,
    batches::created_at,
);

pub fn insert_batch(conn: &mut AnyConnection, b: &Batch) -> Result<i64, StoreError> {
    let values = (
        batches::name.eq(&b.name),
        batches::procurement_ref.eq(&b.procurement_ref),
        batches::qualified_from.eq(b.qualified_from),
        batches::qualified_to.eq(b.qualified_to),
        batches::created_by.eq(&b.created_by),
        batches::created_at.eq(b.created_at),
    );
    Ok(insert_returning_id!(
        conn,
        batches::table,
        values,
        batches::id
    ))
}

pub fn batch(conn: &mut AnyConnection, id: i64) -> Result<Option<Batch>, StoreError> {
    Ok(batches::table
        .filter(batches::id.eq(id))
        .select(BATCH_COLUMNS)
        .first::<BatchRow>(conn)
        .optional()?
        .map(batch_from))
}

pub fn batches(conn: &mut AnyConnection) -> Result<Vec<Batch>, StoreError> {
    Ok(batches::table
        .order(batches::id.asc())
        .select(BATCH_COLUMNS)
        .load::<BatchRow>(conn)?
        .into_iter()
        .map(batch_from)
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Agencies

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = agencies, treat_none_as_null = true)]
struct AgencyRow {
    credit_code: String,
    name: String,
    agency_type: String,
    legal_representative: String,
    details: String,
    scopes: String,
    lead_evaluators: i32,
    admission_batch_id: i64,
    status: String,
    suspended_until: Option<NaiveDate>,
    version: i64,
    changed_by: String,
    changed_at: NaiveDateTime,
}

fn join_scopes(scopes: &[Scope]) -> String {
    let mut s: Vec<&str> = scopes.iter().map(|s| s.as_db()).collect();
    s.sort_unstable();
    format!("|{}|", s.join("|"))
}

impl AgencyRow {
    fn from_domain(a: &Agency) -> Result<Self, StoreError> {
        Ok(AgencyRow {
            credit_code: a.spec.credit_code.as_str().to_owned(),
            name: a.spec.name.clone(),
            agency_type: a.spec.agency_type.as_db().into(),
            legal_representative: a.spec.legal_representative.clone(),
            details: serde_json::to_string(&a.spec.details)
                .map_err(|e| StoreError::Other(e.to_string()))?,
            scopes: join_scopes(&a.spec.scopes),
            lead_evaluators: i32::try_from(a.spec.details.lead_evaluators.len())
                .unwrap_or(i32::MAX),
            admission_batch_id: a.spec.admission_batch_id,
            status: a.status.as_db().into(),
            suspended_until: a.suspended_until,
            version: a.version,
            changed_by: a.changed_by.clone(),
            changed_at: a.changed_at,
        })
    }

    fn into_domain(self) -> Result<Agency, StoreError> {
        let details: Details = serde_json::from_str(&self.details)
            .map_err(|_| bad("agency details", &self.credit_code))?;
        let scopes = self
            .scopes
            .split('|')
            .filter(|s| !s.is_empty())
            .map(|s| Scope::from_db(s).ok_or_else(|| bad("scope", s)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Agency {
            spec: AgencySpec {
                credit_code: CreditCode::parse(&self.credit_code)
                    .map_err(|_| bad("credit code", &self.credit_code))?,
                name: self.name,
                agency_type: AgencyType::from_db(&self.agency_type)
                    .ok_or_else(|| bad("agency type", &self.agency_type))?,
                legal_representative: self.legal_representative,
                details,
                scopes,
                admission_batch_id: self.admission_batch_id,
            },
            status: Status::from_db(&self.status).ok_or_else(|| bad("status", &self.status))?,
            suspended_until: self.suspended_until,
            version: self.version,
            changed_by: self.changed_by,
            changed_at: self.changed_at,
        })
    }
}

pub fn insert_agency(conn: &mut AnyConnection, a: &Agency) -> Result<(), StoreError> {
    diesel::insert_into(agencies::table)
        .values(AgencyRow::from_domain(a)?)
        .execute(conn)?;
    Ok(())
}

/// Replaces the agency if its version is still `expected` (the new row carries expected + 1).
/// Returns false when the version moved on.
pub fn update_agency(
    conn: &mut AnyConnection,
    a: &Agency,
    expected: i64,
) -> Result<bool, StoreError> {
    let row = AgencyRow::from_domain(a)?;
    let n = diesel::update(
        agencies::table
            .filter(agencies::credit_code.eq(&row.credit_code))
            .filter(agencies::version.eq(expected)),
    )
    .set(&row)
    .execute(conn)?;
    Ok(n == 1)
}

/// Moves the agencies `codes` that still have status `from` to `to` (until a date, for a
/// suspension), bumping their versions; returns how many moved (fewer than `codes.len()` means
/// one changed since it was read).
pub fn move_statuses(
    conn: &mut AnyConnection,
    codes: &[String],
    (from, to, until): (&str, &str, Option<NaiveDate>),
    (by, at): (&str, NaiveDateTime),
) -> Result<usize, StoreError> {
    let mut moved = 0;
    for chunk in codes.chunks(500) {
        moved += diesel::update(
            agencies::table
                .filter(agencies::credit_code.eq_any(chunk))
                .filter(agencies::status.eq(from)),
        )
        .set((
            agencies::status.eq(to),
            agencies::suspended_until.eq(until),
            agencies::version.eq(agencies::version + 1),
            agencies::changed_by.eq(by),
            agencies::changed_at.eq(at),
        ))
        .execute(conn)?;
    }
    Ok(moved)
}

pub fn agency(conn: &mut AnyConnection, credit_code: &str) -> Result<Option<Agency>, StoreError> {
    agencies::table
        .filter(agencies::credit_code.eq(credit_code))
        .select(AgencyRow::as_select())
        .first(conn)
        .optional()?
        .map(AgencyRow::into_domain)
        .transpose()
}

/// The agencies whose record may hold a person's name, phone or email in clear (written before
/// they were sealed): every record whose JSON has a `name`, `phone` or `email` key (a sealed
/// value has none; an empty one does, and so does a branch's name, so callers look at the values
/// themselves).
pub fn agencies_with_personal_data_in_clear(
    conn: &mut AnyConnection,
) -> Result<Vec<Agency>, StoreError> {
    agencies::table
        .filter(
            agencies::details
                .like("%\"phone\":\"%")
                .or(agencies::details.like("%\"email\":\"%"))
                .or(agencies::details.like("%\"name\":\"%")),
        )
        .order(agencies::credit_code.asc())
        .select(AgencyRow::as_select())
        .load(conn)?
        .into_iter()
        .map(AgencyRow::into_domain)
        .collect()
}

/// Up to `limit` agencies after credit code `after`, by credit code (the re-encryption's batches).
pub fn agencies_after(
    conn: &mut AnyConnection,
    after: &str,
    limit: i64,
) -> Result<Vec<Agency>, StoreError> {
    agencies::table
        .filter(agencies::credit_code.gt(after))
        .order(agencies::credit_code.asc())
        .limit(limit)
        .select(AgencyRow::as_select())
        .load(conn)?
        .into_iter()
        .map(AgencyRow::into_domain)
        .collect()
}

/// Rewrites an agency's details in place — the same content in its storage form (names, phones
/// and emails sealed, under the current key), not a change: the version, who and when stay. Only
/// while the version is still `version`; returns false when it moved on (the writer that moved
/// it stored its own details sealed).
pub fn reseal_agency_details(
    conn: &mut AnyConnection,
    credit_code: &str,
    version: i64,
    details: &Details,
) -> Result<bool, StoreError> {
    let details = serde_json::to_string(details).map_err(|e| StoreError::Other(e.to_string()))?;
    let n = diesel::update(
        agencies::table
            .filter(agencies::credit_code.eq(credit_code))
            .filter(agencies::version.eq(version)),
    )
    .set(agencies::details.eq(details))
    .execute(conn)?;
    Ok(n == 1)
}

#[derive(Debug, Clone, Default)]
pub struct AgencyFilter {
    pub agency_type: Option<AgencyType>,
    pub status: Option<Status>,
    pub scope: Option<Scope>,
    pub batch: Option<i64>,
    /// Restricts to one agency (an agency caller sees only itself).
    pub only: Option<String>,
}

pub fn list_agencies(
    conn: &mut AnyConnection,
    f: &AgencyFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<Agency>, i64), StoreError> {
    let query = || {
        let mut q = agencies::table.into_boxed::<pbm_db::MultiBackend>();
        if let Some(t) = f.agency_type {
            q = q.filter(agencies::agency_type.eq(t.as_db()));
        }
        if let Some(s) = f.status {
            q = q.filter(agencies::status.eq(s.as_db()));
        }
        if let Some(s) = f.scope {
            q = q.filter(agencies::scopes.like(format!("%|{}|%", s.as_db())));
        }
        if let Some(b) = f.batch {
            q = q.filter(agencies::admission_batch_id.eq(b));
        }
        if let Some(code) = &f.only {
            q = q.filter(agencies::credit_code.eq(code.clone()));
        }
        q
    };
    let total: i64 = query().count().get_result(conn)?;
    let rows = query()
        .order(agencies::credit_code.asc())
        .offset(offset)
        .limit(limit)
        .select(AgencyRow::as_select())
        .load(conn)?;
    Ok((
        rows.into_iter()
            .map(AgencyRow::into_domain)
            .collect::<Result<_, _>>()?,
        total,
    ))
}

// ---------------------------------------------------------------------------------------------
// Status history and violations

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub credit_code: String,
    pub from_status: String,
    pub to_status: String,
    pub reason: String,
    pub until: Option<NaiveDate>,
    pub changed_by: String,
    pub changed_at: NaiveDateTime,
}

pub fn insert_status_change(conn: &mut AnyConnection, c: &StatusChange) -> Result<(), StoreError> {
    insert_status_changes(conn, std::slice::from_ref(c))
}

/// Writes many status changes in few statements (a recompute of every rating may change many).
pub fn insert_status_changes(
    conn: &mut AnyConnection,
    list: &[StatusChange],
) -> Result<(), StoreError> {
    // 7 columns × 500 rows stays under both backends' bind-parameter limits.
    for chunk in list.chunks(500) {
        let values: Vec<_> = chunk
            .iter()
            .map(|c| {
                (
                    changes::credit_code.eq(&c.credit_code),
                    changes::from_status.eq(&c.from_status),
                    changes::to_status.eq(&c.to_status),
                    changes::reason.eq(&c.reason),
                    changes::until.eq(c.until),
                    changes::changed_by.eq(&c.changed_by),
                    changes::changed_at.eq(c.changed_at),
                )
            })
            .collect();
        // Multi-row INSERT goes through the concrete connection (MultiConnection cannot say
        // how DEFAULT is written).
        match conn {
            AnyConnection::Postgresql(c) => {
                diesel::insert_into(changes::table)
                    .values(&values)
                    .execute(c)?;
            }
            AnyConnection::Sqlite(c) => {
                diesel::insert_into(changes::table)
                    .values(&values)
                    .execute(c)?;
            }
        }
    }
    Ok(())
}

pub fn status_history(
    conn: &mut AnyConnection,
    credit_code: &str,
) -> Result<Vec<StatusChange>, StoreError> {
    type Row = (
        String,
        String,
        String,
        String,
        Option<NaiveDate>,
        String,
        NaiveDateTime,
    );
    let rows: Vec<Row> = changes::table
        .filter(changes::credit_code.eq(credit_code))
        .order(changes::id.asc())
        .select((
            changes::credit_code,
            changes::from_status,
            changes::to_status,
            changes::reason,
            changes::until,
            changes::changed_by,
            changes::changed_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| StatusChange {
            credit_code: r.0,
            from_status: r.1,
            to_status: r.2,
            reason: r.3,
            until: r.4,
            changed_by: r.5,
            changed_at: r.6,
        })
        .collect())
}

/// Whose violation: an agency (by credit code) or an expert (by id).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Violator {
    Agency(String),
    Expert(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViolationRecord {
    pub id: i64,
    pub violator: Violator,
    pub occurred_on: NaiveDate,
    /// `minor` or `major`.
    pub severity: String,
    pub description: String,
    pub recorded_by: String,
    pub recorded_at: NaiveDateTime,
}

pub fn insert_violation(conn: &mut AnyConnection, v: &ViolationRecord) -> Result<i64, StoreError> {
    Ok(match &v.violator {
        Violator::Agency(code) => {
            let values = (
                violations::credit_code.eq(code),
                violations::occurred_on.eq(v.occurred_on),
                violations::severity.eq(&v.severity),
                violations::description.eq(&v.description),
                violations::recorded_by.eq(&v.recorded_by),
                violations::recorded_at.eq(v.recorded_at),
            );
            insert_returning_id!(conn, violations::table, values, violations::id)
        }
        Violator::Expert(id) => {
            let values = (
                xv::expert_id.eq(id),
                xv::occurred_on.eq(v.occurred_on),
                xv::severity.eq(&v.severity),
                xv::description.eq(&v.description),
                xv::recorded_by.eq(&v.recorded_by),
                xv::recorded_at.eq(v.recorded_at),
            );
            insert_returning_id!(conn, xv::table, values, xv::id)
        }
    })
}

type ViolationRow<K> = (i64, K, NaiveDate, String, String, String, NaiveDateTime);

fn violation_record<K>(r: ViolationRow<K>, violator: impl Fn(K) -> Violator) -> ViolationRecord {
    ViolationRecord {
        id: r.0,
        violator: violator(r.1),
        occurred_on: r.2,
        severity: r.3,
        description: r.4,
        recorded_by: r.5,
        recorded_at: r.6,
    }
}

/// Violations of one agency or expert (`Some`), or of every agency and expert (`None`, for
/// bulk rating), oldest first.
pub fn violations_of(
    conn: &mut AnyConnection,
    who: Option<&Violator>,
) -> Result<Vec<ViolationRecord>, StoreError> {
    let mut out = Vec::new();
    if !matches!(who, Some(Violator::Expert(_))) {
        let mut q = violations::table
            .select((
                violations::id,
                violations::credit_code,
                violations::occurred_on,
                violations::severity,
                violations::description,
                violations::recorded_by,
                violations::recorded_at,
            ))
            .order((violations::occurred_on.asc(), violations::id.asc()))
            .into_boxed::<pbm_db::MultiBackend>();
        if let Some(Violator::Agency(code)) = who {
            q = q.filter(violations::credit_code.eq(code.clone()));
        }
        let rows: Vec<ViolationRow<String>> = q.load(conn)?;
        out.extend(
            rows.into_iter()
                .map(|r| violation_record(r, Violator::Agency)),
        );
    }
    if !matches!(who, Some(Violator::Agency(_))) {
        let mut q = xv::table
            .select((
                xv::id,
                xv::expert_id,
                xv::occurred_on,
                xv::severity,
                xv::description,
                xv::recorded_by,
                xv::recorded_at,
            ))
            .order((xv::occurred_on.asc(), xv::id.asc()))
            .into_boxed::<pbm_db::MultiBackend>();
        if let Some(Violator::Expert(id)) = who {
            q = q.filter(xv::expert_id.eq(*id));
        }
        let rows: Vec<ViolationRow<i64>> = q.load(conn)?;
        out.extend(
            rows.into_iter()
                .map(|r| violation_record(r, Violator::Expert)),
        );
    }
    Ok(out)
}

/// (agency, date) of every suspension in the status history (bulk rating: a suspension within
/// the look-back turns the next one into removal).
pub fn suspensions(conn: &mut AnyConnection) -> Result<Vec<(String, NaiveDateTime)>, StoreError> {
    Ok(changes::table
        .filter(changes::to_status.eq(Status::Suspended.as_db()))
        .select((changes::credit_code, changes::changed_at))
        .load(conn)?)
}

// ---------------------------------------------------------------------------------------------
// Pool rules

/// One stored version of a fiscal year's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRules {
    pub fiscal_year: i32,
    pub version: i64,
    /// JSON of `PoolRules`.
    pub rules: String,
    pub changed_by: String,
    pub changed_at: NaiveDateTime,
}

/// The newest version of a fiscal year's rules.
pub fn current_rules(
    conn: &mut AnyConnection,
    fiscal_year: i32,
) -> Result<Option<StoredRules>, StoreError> {
    use schema::pool_rules as r;
    type Row = (i32, i64, String, String, NaiveDateTime);
    let row: Option<Row> = r::table
        .filter(r::fiscal_year.eq(fiscal_year))
        .order(r::version.desc())
        .select((
            r::fiscal_year,
            r::version,
            r::rules,
            r::changed_by,
            r::changed_at,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|r| StoredRules {
        fiscal_year: r.0,
        version: r.1,
        rules: r.2,
        changed_by: r.3,
        changed_at: r.4,
    }))
}

/// Adds a version; the primary key makes two writers of the same version collide.
pub fn insert_rules(conn: &mut AnyConnection, s: &StoredRules) -> Result<(), StoreError> {
    use schema::pool_rules as r;
    diesel::insert_into(r::table)
        .values((
            r::fiscal_year.eq(s.fiscal_year),
            r::version.eq(s.version),
            r::rules.eq(&s.rules),
            r::changed_by.eq(&s.changed_by),
            r::changed_at.eq(s.changed_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Every agency (statistics).
pub fn all_agencies(conn: &mut AnyConnection) -> Result<Vec<Agency>, StoreError> {
    agencies::table
        .order(agencies::credit_code.asc())
        .select(AgencyRow::as_select())
        .load(conn)?
        .into_iter()
        .map(AgencyRow::into_domain)
        .collect()
}
