//! The monitoring rules of a fiscal year (the warning bands, docs/drafts/MONITORING.md §2 "Rules
//! record"): GetMonitoringRules, SetMonitoringRules. Versioned per year as goal's rules are
//! (services/goal/src/ops/rules.rs): version 0 is the national default and is never stored;
//! each SetMonitoringRules stores the next version, guarded by the version it replaces. Open
//! rounds keep the version they pinned until SetRoundRules re-pins them.

use pbm_auth::{Caller, Role as AuthRole};
use pbm_db::AnyConnection;
use pbm_proto::monitoring::v1 as mon;
use pbm_server::{ApiError, Effect, MutationContext, run_mutation};
use pbm_types::FiscalYear;

use super::authorise;
use crate::convert::rounds::{rules_from, rules_to};
use crate::domain::rules::MonitoringRules;
use crate::ops::recompute::{label_of, pinned_rules};
use crate::state::AppState;
use crate::store::{self, RulesRow};

/// The rules in force for a year: (version, label, bands, the stored row unless the defaults).
pub fn in_force(
    conn: &mut AnyConnection,
    year: i32,
) -> Result<(i64, String, MonitoringRules, Option<RulesRow>), ApiError> {
    match store::current_rules(conn, year)? {
        Some(row) => {
            let rules = pinned_rules(conn, year, row.version)?;
            Ok((row.version, row.label.clone(), rules, Some(row)))
        }
        None => Ok((0, label_of(year, 0), MonitoringRules::default(), None)),
    }
}

fn year_of(year: i32, field: &str) -> Result<i32, ApiError> {
    FiscalYear::new(year)
        .map(i32::from)
        .map_err(|e| ApiError::invalid_field(e.reason, field, e.message))
}

/// GetMonitoringRules: finance, departments, units and auditors of the region.
pub async fn get(
    state: &AppState,
    caller: Caller,
    m: mon::GetMonitoringRulesRequest,
) -> Result<mon::GetMonitoringRulesResponse, ApiError> {
    authorise(
        &caller,
        state,
        &[
            AuthRole::FinanceAdmin,
            AuthRole::Department,
            AuthRole::BudgetUnit,
            AuthRole::Auditor,
        ],
        false,
    )?;
    let year = year_of(m.fiscal_year, "fiscal_year")?;
    let (version, label, rules, row) = state.db.read(move |c| in_force(c, year)).await?;
    Ok(mon::GetMonitoringRulesResponse {
        rules: Some(rules_to(year, version, &label, &rules, row.as_ref())),
    })
}

/// SetMonitoringRules: finance of the region stores the next version; `rules.version` is the
/// version being replaced (0 for the first), else ABORTED `VERSION_MISMATCH`.
pub async fn set(
    state: &AppState,
    ctx: MutationContext,
    m: mon::SetMonitoringRulesRequest,
) -> Result<mon::SetMonitoringRulesResponse, ApiError> {
    let r = m.rules.clone().unwrap_or_default();
    let st = state.clone();
    run_mutation(
        &state.db,
        ctx,
        ("monitoring_rules", r.fiscal_year.to_string()),
        move |conn, ctx| {
            authorise(&ctx.caller, &st, &[AuthRole::FinanceAdmin], true)?;
            crate::convert::limits::check(&m)?;
            let year = year_of(r.fiscal_year, "rules.fiscal_year")?;
            let rules = rules_from(&r).map_err(ApiError::validation)?;
            let (current, ..) = in_force(conn, year)?;
            let stale = |now: i64| {
                ApiError::new(
                    pbm_server::ErrorKind::Aborted,
                    "VERSION_MISMATCH",
                    format!(
                        "{year}年度监控规则已被他人修改（您读取的版本 {}，当前版本 {now}），请刷新后重试",
                        r.version
                    ),
                )
                .with_violation("rules.version", format!("expected {}, current {now}", r.version))
            };
            if current != r.version {
                return Err(stale(current));
            }
            let version = current + 1;
            let row = RulesRow {
                fiscal_year: year,
                version,
                label: label_of(year, version),
                bands: serde_json::to_string(&rules).map_err(ApiError::internal)?,
                changed_by: ctx.caller.subject.clone(),
                changed_at: pbm_db::now(),
            };
            store::insert_rules(conn, &row).map_err(|e| match e {
                pbm_db::StoreError::UniqueViolation(_) => stale(version),
                other => other.into(),
            })?;
            Ok(Effect {
                response: mon::SetMonitoringRulesResponse {
                    rules: Some(rules_to(year, version, &row.label, &rules, Some(&row))),
                },
                entity_type: "monitoring_rules",
                entity_id: year.to_string(),
                detail: format!("{}：{}", row.label, row.bands),
            })
        },
    )
    .await
}
