//! Rows ⇄ domain: an `indicator_versions` row and an [`Indicator`], a `proposals` row and a
//! [`ProposalRecord`].

use chrono::NaiveDateTime;
use diesel::prelude::*;
use pbm_db::{Money, StoreError};
use pbm_types::FiscalYear;

use super::proposals::{ProposalRecord, ProposalStatus};
use super::schema::indicator_versions as iv;
use crate::domain::indicator::{Direction, Indicator, Kind, Origin, Spec, Status, ValueStandard};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = iv)]
pub(super) struct IndicatorRow {
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
    origin: String,
    origin_version: i64,
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
            origin: i
                .origin
                .as_ref()
                .map(|o| o.region.clone())
                .unwrap_or_default(),
            origin_version: i.origin.as_ref().map_or(0, |o| o.version),
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
            origin: (!r.origin.is_empty()).then_some(Origin {
                region: r.origin,
                version: r.origin_version,
            }),
        })
    }
}

pub(super) fn rows_to_domain(rows: Vec<IndicatorRow>) -> Result<Vec<Indicator>, StoreError> {
    rows.into_iter().map(Indicator::try_from).collect()
}

/// A `proposals` row, its columns in the order of `proposal_columns!` (proposals.rs).
pub(super) type ProposalTuple = (
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

pub(super) fn proposal_from(t: ProposalTuple) -> Result<ProposalRecord, StoreError> {
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
