//! Projects as the budget system registers them: DeclareProject, GetProject, and who sees one.

use chrono::NaiveDateTime;
use pbm_auth::Caller;
use pbm_db::{AnyConnection, Money};
use pbm_proto::goal::v1 as proto;
use pbm_server::{ApiError, Effect, MutationContext, run_mutation};

use super::{internal, project_not_found};
use crate::convert::{self, limits};
use crate::domain::access::{
    ProjectClaim, Viewer, can_register_project, can_register_projects, ensure_local, project_scope,
    taken_code, viewer,
};
use crate::domain::project::{Project, ProjectInput};
use crate::domain::workflow::Role;
use crate::state::AppState;
use crate::store::{self, ProjectRow};

pub(crate) fn project_row(p: &Project, version: i64, by: &str, at: NaiveDateTime) -> ProjectRow {
    ProjectRow {
        pro_code: p.pro_code.as_str().into(),
        fiscal_year: p.fiscal_year.get(),
        name: p.name.clone(),
        agency_code: p.agency_code.as_str().into(),
        department_code: p.department_code.as_str().into(),
        fund_source: p.fund_source.as_db().into(),
        special_field: p.special_field.as_db().into(),
        continuity: p.continuity.as_db().into(),
        nature: p.nature.as_db().into(),
        requested_amount: Money(p.requested_amount.yuan()),
        mid_term_from: p.mid_term.map(|m| m.start.get()),
        mid_term_to: p.mid_term.map(|m| m.end.get()),
        version,
        changed_by: by.into(),
        changed_at: at,
    }
}

pub fn project_from_row(r: &ProjectRow) -> Result<Project, ApiError> {
    use crate::domain::project::{Continuity, FundSource, Nature, SpecialField};
    let bad = |what: &str| internal(format!("stored project {} has a bad {what}", r.pro_code));
    Project::parse(ProjectInput {
        pro_code: r.pro_code.clone(),
        name: r.name.clone(),
        agency_code: r.agency_code.clone(),
        department_code: r.department_code.clone(),
        fiscal_year: r.fiscal_year,
        fund_source: FundSource::from_db(&r.fund_source).ok_or_else(|| bad("fund source"))?,
        special_field: SpecialField::from_db(&r.special_field)
            .ok_or_else(|| bad("special field"))?,
        continuity: Continuity::from_db(&r.continuity).ok_or_else(|| bad("continuity"))?,
        nature: Nature::from_db(&r.nature).ok_or_else(|| bad("nature"))?,
        requested_amount: r.requested_amount.0,
        mid_term: r.mid_term_from.zip(r.mid_term_to),
    })
    .map_err(|v| internal(format!("stored project {} invalid: {v:?}", r.pro_code)))
}

pub(crate) fn project_to_proto(r: &ProjectRow, region: &str) -> Result<proto::Project, ApiError> {
    Ok(proto::Project {
        spec: Some(convert::project_to(&project_from_row(r)?)),
        version: r.version,
        mof_div_code: region.into(),
        changed: Some(convert::stamp(&r.changed_by, r.changed_at)),
    })
}

/// DeclareProject: registers a project of the budget system, or (with its version) changes it.
/// Who may register for which unit, and who is told that a code is taken: see
/// [`can_register_project`] and [`taken_code`].
pub async fn declare(
    state: &AppState,
    ctx: MutationContext,
    m: proto::DeclareProjectRequest,
) -> Result<proto::DeclareProjectResponse, ApiError> {
    let project = convert::project_from(m.spec);
    let project = declare_project(state, ctx, project, m.expected_version).await?;
    Ok(proto::DeclareProjectResponse {
        project: Some(project),
    })
}

pub async fn declare_project(
    state: &AppState,
    ctx: MutationContext,
    project: Result<Project, ApiError>,
    expected_version: i64,
) -> Result<proto::Project, ApiError> {
    let st = state.clone();
    run_mutation(
        &state.db,
        ctx,
        ("project", String::new()),
        move |conn, ctx| {
            let v = viewer(&ctx.caller, &st.region)?;
            can_register_projects(&v)?;
            ensure_local(&ctx.caller, &st.region)?;
            let project = project?;
            let agency = project.agency_code.as_str();
            let recorded = store::unit_department(conn, agency)?;
            can_register_project(
                &v,
                &ProjectClaim {
                    agency,
                    department: project.department_code.as_str(),
                    token_department: ctx.caller.department.as_deref(),
                    recorded_department: recorded.as_deref(),
                },
            )?;
            let now = pbm_db::now();
            let code = project.pro_code.as_str().to_owned();
            let year = project.fiscal_year.get();
            let current = store::project(conn, &code, year)?;
            let row = match (current, expected_version) {
                (None, 0) => {
                    let row = project_row(&project, 1, &ctx.caller.subject, now);
                    store::insert_project(conn, &row)?;
                    row
                }
                (Some(current), 0) => {
                    // Only who may see the project holding the code learns that it is taken.
                    taken_code(sees_project(conn, &v, &current)?)?;
                    return Err(ApiError::already_exists(
                        "PROJECT_EXISTS",
                        format!("{year}年度项目「{code}」已登记；修改请带上当前版本号"),
                    ));
                }
                (None, _) => return Err(project_not_found(&code, year)),
                (Some(current), expected) => {
                    if !project_scope(&v, &current.agency_code, &current.department_code) {
                        return Err(project_not_found(&code, year));
                    }
                    let row = project_row(&project, expected + 1, &ctx.caller.subject, now);
                    if current.version != expected || !store::update_project(conn, &row, expected)?
                    {
                        return Err(ApiError::stale_version(
                            &format!("项目「{code}」"),
                            expected,
                            current.version,
                        ));
                    }
                    row
                }
            };
            Ok(Effect {
                response: project_to_proto(&row, &st.region.to_string())?,
                entity_type: "project",
                entity_id: format!("{year}/{code}"),
                detail: format!("version {}", row.version),
            })
        },
    )
    .await
}

/// GetProject.
pub async fn get(
    state: &AppState,
    caller: Caller,
    m: proto::GetProjectRequest,
) -> Result<proto::GetProjectResponse, ApiError> {
    let v = viewer(&caller, &state.region)?;
    limits::check(&m)?;
    let year = m.fiscal_year;
    let code = m.pro_code.trim().to_owned();
    let lookup = code.clone();
    let row = state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            match store::project(conn, &lookup, year)? {
                Some(row) if sees_project(conn, &v, &row)? => Ok(Some(row)),
                _ => Ok(None),
            }
        })
        .await?
        .ok_or_else(|| project_not_found(&code, year))?;
    Ok(proto::GetProjectResponse {
        project: Some(project_to_proto(&row, &state.region.to_string())?),
    })
}

/// Whether `v` may see a project: its unit, its department, finance, auditors and the
/// province ([`project_scope`]) — and the agency its ex-ante assessment was commissioned to.
pub(crate) fn sees_project(
    conn: &mut AnyConnection,
    v: &Viewer,
    row: &store::ProjectRow,
) -> Result<bool, ApiError> {
    if project_scope(v, &row.agency_code, &row.department_code) {
        return Ok(true);
    }
    Ok(v.role == Role::Agency
        && store::commission(conn, &row.pro_code, row.fiscal_year)?
            .is_some_and(|c| c.agency_credit_code == v.org_code))
}
