//! StreamApprovedGoals: the approved goals of a fiscal year as other services snapshot them
//! (docs/drafts/MONITORING.md §4: monitoring takes its snapshot when a round opens) — per subject
//! the version in force and its declaration, or with `include_unapproved` why there is none, in
//! the funding gate's words (docs/GOAL.md "The funding gate").
//!
//! The caller is authorised and the request checked before anything is read ([`open`]); then
//! [`Snapshot::next`] reads one chunk of [`CHUNK`] rows at a time, each its own short read, which
//! the transport streams on while the next is read. Goals come first, in id order (a keyset, not
//! an offset), then — with `include_unapproved` — the projects without any goal, in PRO_CODE
//! order.

use pbm_auth::Caller;
use pbm_proto::goal::v1 as proto;
use pbm_server::ApiError;

use super::projects::project_to_proto;
use super::{Stored, declaration_to_proto, internal, state_of};
use crate::convert;
use crate::domain::FiscalYear;
use crate::domain::access::{can_stream_approved_goals, viewer};
use crate::domain::funding::goal_reason;
use crate::state::AppState;
use crate::store::{self, GoalRow, ProjectRow, SubjectFilter};

/// Rows per read.
pub const CHUNK: i64 = 500;
/// At most this many department codes, and PRO_CODEs, in one request.
const MAX_DEPARTMENTS: usize = 1_000;
const MAX_PROJECTS: usize = 10_000;

/// Where a snapshot's stream stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Position {
    /// Goals after this id.
    Goals(i64),
    /// Projects without a goal after this PRO_CODE.
    Projects(String),
    Done,
}

/// A StreamApprovedGoals call, authorised and parsed, read chunk by chunk.
#[derive(Debug)]
pub struct Snapshot {
    filter: SubjectFilter,
    include_unapproved: bool,
    region: String,
    at: Position,
}

/// The request's codes, trimmed, sorted and deduplicated: at most `max`, none empty.
fn codes(
    list: Vec<String>,
    max: usize,
    field: &str,
    reason: &'static str,
    what: &str,
) -> Result<Vec<String>, ApiError> {
    let mut list: Vec<String> = list.iter().map(|c| c.trim().to_owned()).collect();
    if list.len() > max || list.iter().any(String::is_empty) {
        return Err(ApiError::invalid_field(
            reason,
            field,
            format!("请提供不超过 {max} 个非空{what}"),
        ));
    }
    list.sort();
    list.dedup();
    Ok(list)
}

/// Authorises the caller (finance, auditors, the province) before looking at the request, then
/// checks it.
pub fn open(
    state: &AppState,
    caller: Caller,
    r: proto::StreamApprovedGoalsRequest,
) -> Result<Snapshot, ApiError> {
    can_stream_approved_goals(&viewer(&caller, &state.region)?)?;
    convert::limits::check(&r)?;
    let year = FiscalYear::new(r.fiscal_year)
        .map_err(|e| ApiError::invalid_field(e.reason, "fiscal_year", e.message))?;
    let department_codes = codes(
        r.department_codes,
        MAX_DEPARTMENTS,
        "department_codes",
        "DEPARTMENT_CODES_INVALID",
        "部门编码",
    )?;
    let pro_codes = codes(
        r.pro_codes,
        MAX_PROJECTS,
        "pro_codes",
        "PRO_CODES_INVALID",
        "项目编码",
    )?;
    Ok(Snapshot {
        filter: SubjectFilter {
            fiscal_year: year.get(),
            department_codes,
            pro_codes,
        },
        include_unapproved: r.include_unapproved,
        region: state.region.to_string(),
        at: Position::Goals(0),
    })
}

impl Snapshot {
    /// The items of the next chunk (possibly none, when the filters kept no row of it), or
    /// `None` when the stream is over.
    pub async fn next(
        &mut self,
        state: &AppState,
    ) -> Result<Option<Vec<proto::ApprovedGoalItem>>, ApiError> {
        let f = self.filter.clone();
        match std::mem::replace(&mut self.at, Position::Done) {
            Position::Done => Ok(None),
            Position::Goals(after) => {
                let unapproved = self.include_unapproved;
                let chunk = state
                    .db
                    .read(move |conn| store::snapshot_goals(conn, &f, unapproved, after, CHUNK))
                    .await?;
                self.at = match chunk.next {
                    Some(id) => Position::Goals(id),
                    None if self.include_unapproved => Position::Projects(String::new()),
                    None => Position::Done,
                };
                let items = chunk
                    .rows
                    .into_iter()
                    .map(|(goal, text, project)| {
                        goal_item(&goal, text.as_deref(), project.as_ref(), &self.region)
                    })
                    .collect::<Result<_, _>>()?;
                Ok(Some(items))
            }
            Position::Projects(after) => {
                let chunk = state
                    .db
                    .read(move |conn| store::projects_without_goal(conn, &f, &after, CHUNK))
                    .await?;
                self.at = chunk.next.map_or(Position::Done, Position::Projects);
                let items = chunk
                    .rows
                    .iter()
                    .map(|p| project_item(p, &self.region))
                    .collect::<Result<_, _>>()?;
                Ok(Some(items))
            }
        }
    }
}

/// A goal's item: its approved version's declaration, or why it has none.
pub(crate) fn goal_item(
    goal: &GoalRow,
    text: Option<&str>,
    project: Option<&ProjectRow>,
    region: &str,
) -> Result<proto::ApprovedGoalItem, ApiError> {
    use proto::approved_goal_item::Subject;
    let s = state_of(goal)?;
    let subject = if goal.target_kind == "project" {
        let p = project.ok_or_else(|| internal(format!("goal {} has no project", goal.id)))?;
        Subject::Project(project_to_proto(p, region)?)
    } else {
        Subject::DepartmentCode(goal.department_code.clone())
    };
    let mut item = proto::ApprovedGoalItem {
        subject: Some(subject),
        goal_id: goal.id,
        status: convert::status_to(s.status.kind()) as i32,
        status_text: s.status.chinese(),
        ..Default::default()
    };
    match (goal.approved_version, text) {
        (Some(version), Some(text)) => {
            let stored: Stored = serde_json::from_str(text).map_err(internal)?;
            item.approved_version = version;
            item.declaration = Some(declaration_to_proto(&stored));
        }
        (Some(version), None) => {
            return Err(internal(format!(
                "goal {} has no approved version {version}",
                goal.id
            )));
        }
        (None, _) => item.reason = goal_reason(Some(&s)).map(convert::funding_reason_to),
    }
    Ok(item)
}

/// A registered project without any goal.
fn project_item(p: &ProjectRow, region: &str) -> Result<proto::ApprovedGoalItem, ApiError> {
    use proto::approved_goal_item::Subject;
    Ok(proto::ApprovedGoalItem {
        subject: Some(Subject::Project(project_to_proto(p, region)?)),
        reason: goal_reason(None).map(convert::funding_reason_to),
        ..Default::default()
    })
}
