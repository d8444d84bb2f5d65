//! Pool rules: configuration per region and fiscal year.

use pbm_auth::Caller;
use pbm_proto::agency::v1 as proto;
use pbm_server::{ApiError, Effect, FieldViolation, MutationContext, run_mutation};

use super::{RulesInForce, rules_in_force};
use crate::convert;
use crate::domain::access::{self};
use crate::domain::rules::PoolRules;
use crate::state::AppState;
use crate::store;

fn rules_record(
    r: &RulesInForce,
    changed: Option<(&str, chrono::NaiveDateTime)>,
) -> Result<proto::PoolRulesRecord, ApiError> {
    Ok(proto::PoolRulesRecord {
        fiscal_year: r.fiscal_year,
        version: r.version,
        rules_json: serde_json::to_string_pretty(&r.rules).map_err(ApiError::internal)?,
        changed: changed.map(|(by, at)| convert::stamp(by, at)),
    })
}

fn fiscal_year(year: i32) -> Result<i32, ApiError> {
    pbm_types::FiscalYear::new(year)
        .map(|y| y.get())
        .map_err(|e| ApiError::invalid_field(e.reason, "fiscal_year", e.message))
}

pub async fn get(
    state: &AppState,
    caller: Caller,
    r: proto::GetPoolRulesRequest,
) -> Result<proto::GetPoolRulesResponse, ApiError> {
    let (caller, year) = (&caller, r.fiscal_year);
    // Rules are not secret: every reader of the pool (agencies and experts included) may see them.
    if access::read_scope(caller, &state.region).is_err() {
        access::expert_scope(caller, &state.region)?;
    }
    let year = fiscal_year(year)?;
    let rules = state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let stored = store::current_rules(conn, year)?;
            let r = rules_in_force(conn, year)?;
            rules_record(
                &r,
                stored
                    .as_ref()
                    .map(|s| (s.changed_by.as_str(), s.changed_at)),
            )
        })
        .await?;
    Ok(proto::GetPoolRulesResponse { rules: Some(rules) })
}

pub async fn set(
    state: &AppState,
    ctx: MutationContext,
    r: proto::SetPoolRulesRequest,
) -> Result<proto::SetPoolRulesResponse, ApiError> {
    crate::convert::limits::check(&r)?;
    let (year, expected, json) = (r.fiscal_year, r.expected_version, r.rules_json);
    let region = state.region.clone();
    run_mutation(
        &state.db,
        ctx,
        ("pool_rules", year.to_string()),
        move |conn, ctx| {
            access::can_manage(&ctx.caller, &region)?;
            let year = fiscal_year(year)?;
            let rules: PoolRules = serde_json::from_str(&json).map_err(|e| {
                ApiError::invalid_field("RULES_INVALID", "rules_json", format!("规则格式错误：{e}"))
            })?;
            let violations: Vec<FieldViolation> = rules
                .violations()
                .into_iter()
                .map(|v| v.under("rules_json."))
                .collect();
            ApiError::check(violations)?;
            let current = rules_in_force(conn, year)?;
            if current.version != expected {
                return Err(ApiError::stale_version(
                    &format!("{year}年度规则"),
                    expected,
                    current.version,
                ));
            }
            let stored = store::StoredRules {
                fiscal_year: year,
                version: expected + 1,
                rules: serde_json::to_string(&rules).map_err(ApiError::internal)?,
                changed_by: ctx.caller.subject.clone(),
                changed_at: pbm_db::now(),
            };
            store::insert_rules(conn, &stored).map_err(|e| match e {
                pbm_db::StoreError::UniqueViolation(_) => {
                    ApiError::stale_version(&format!("{year}年度规则"), expected, expected + 1)
                }
                other => other.into(),
            })?;
            let now = RulesInForce {
                rules,
                fiscal_year: year,
                version: stored.version,
            };
            let response = rules_record(&now, Some((&stored.changed_by, stored.changed_at)))?;
            Ok(Effect {
                response,
                entity_type: "pool_rules",
                entity_id: year.to_string(),
                detail: now.label(),
            })
        },
    )
    .await
    .map(|rules| proto::SetPoolRulesResponse { rules: Some(rules) })
}
