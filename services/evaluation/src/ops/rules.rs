//! The scoring rules of a fiscal year (docs/EVALUATION.md "Rules"; docs/DOMAIN.md
//! "Configuration per region and year"): GetEvaluationRules, SetEvaluationRules. Versioned per
//! year as goal's and monitoring's rules are: version 0 is the national default
//! (`RuleSet::national`) and is never stored; each SetEvaluationRules stores the next version,
//! validated by the engine (`RuleSet::validate`) and guarded by the version it replaces. A
//! campaign keeps the version it pinned at opening.

use pbm_auth::{Caller, Role as AuthRole};
use pbm_proto::evaluation::v1 as ev;
use pbm_server::{ApiError, Effect, ErrorKind, MutationContext, run_mutation};
use pbm_types::FiscalYear;

use super::authorise;
use super::scoring::{Rules, current_rules, label_of};
use crate::convert::scores::{rules_from, rules_to};
use crate::state::AppState;
use crate::store::{self, RulesRow};

/// A fiscal year of a request (INVALID_ARGUMENT `FISCAL_YEAR_INVALID` on `field` otherwise).
pub(crate) fn year_of(year: i32, field: &str) -> Result<i32, ApiError> {
    FiscalYear::new(year)
        .map(i32::from)
        .map_err(|e| ApiError::invalid_field(e.reason, field, e.message))
}

/// GetEvaluationRules: every role but the public (the rules are how every score is made).
pub async fn get(
    state: &AppState,
    caller: Caller,
    m: ev::GetEvaluationRulesRequest,
) -> Result<ev::GetEvaluationRulesResponse, ApiError> {
    authorise(
        &caller,
        state,
        &[
            AuthRole::FinanceAdmin,
            AuthRole::Department,
            AuthRole::BudgetUnit,
            AuthRole::Agency,
            AuthRole::Auditor,
            AuthRole::Province,
            AuthRole::Expert,
        ],
        false,
    )?;
    let year = year_of(m.fiscal_year, "fiscal_year")?;
    let (rules, row) = state
        .db
        .read(move |c| -> Result<(Rules, Option<RulesRow>), ApiError> {
            let row = store::current_rules(c, year)?;
            Ok((current_rules(c, year)?, row))
        })
        .await?;
    Ok(ev::GetEvaluationRulesResponse {
        rules: Some(rules_to(
            &state.region.to_string(),
            year,
            &rules,
            row.as_ref(),
        )),
    })
}

/// SetEvaluationRules: finance of the region stores the next version; `rules.version` is the
/// version being replaced (0 for the first), else ABORTED `VERSION_MISMATCH`.
pub async fn set(
    state: &AppState,
    ctx: MutationContext,
    m: ev::SetEvaluationRulesRequest,
) -> Result<ev::SetEvaluationRulesResponse, ApiError> {
    let r = m.rules.clone().unwrap_or_default();
    let st = state.clone();
    run_mutation(
        &state.db,
        ctx,
        ("evaluation_rules", r.fiscal_year.to_string()),
        move |conn, ctx| {
            authorise(&ctx.caller, &st, &[AuthRole::FinanceAdmin], true)?;
            crate::convert::limits::check(&m)?;
            let year = year_of(r.fiscal_year, "rules.fiscal_year")?;
            let set = rules_from(&r).map_err(ApiError::validation)?;
            let current = current_rules(conn, year)?.version;
            let stale = |now: i64| {
                ApiError::new(
                    ErrorKind::Aborted,
                    "VERSION_MISMATCH",
                    format!(
                        "{year}年度评价规则已被他人修改（您读取的版本 {}，当前版本 {now}），请刷新后重试",
                        r.version
                    ),
                )
                .with_violation(
                    "rules.version",
                    format!("expected {}, current {now}", r.version),
                )
            };
            if current != r.version {
                return Err(stale(current));
            }
            let version = current + 1;
            let row = RulesRow {
                fiscal_year: year,
                version,
                label: label_of(year, version),
                body: serde_json::to_string(&set).map_err(ApiError::internal)?,
                changed_by: ctx.caller.subject.clone(),
                changed_at: pbm_db::now(),
            };
            store::insert_rules(conn, &row).map_err(|e| match e {
                pbm_db::StoreError::UniqueViolation(_) => stale(version),
                other => other.into(),
            })?;
            let rules = Rules {
                version,
                label: row.label.clone(),
                set,
            };
            Ok(Effect {
                response: ev::SetEvaluationRulesResponse {
                    rules: Some(rules_to(&st.region.to_string(), year, &rules, Some(&row))),
                },
                entity_type: "evaluation_rules",
                entity_id: year.to_string(),
                detail: format!("{}：{}", row.label, row.body),
            })
        },
    )
    .await
}
