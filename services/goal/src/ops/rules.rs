//! The goal rules of a fiscal year (weights, the ex-ante threshold): GetGoalRules, SetGoalRules.

use chrono::NaiveDateTime;
use pbm_auth::Caller;
use pbm_db::{AnyConnection, Money};
use pbm_proto::goal::v1 as proto;
use pbm_server::{ApiError, Effect, MutationContext, run_mutation};
use pbm_types::Decimal;

use crate::convert;
use crate::domain::access::{can_set_rules, viewer};
use crate::domain::{FieldViolation, FiscalYear};
use crate::state::AppState;
use crate::store::{self, RulesRow};

/// The goal rules in force for a year (the defaults until set).
pub fn rules_in_force(conn: &mut AnyConnection, year: i32) -> Result<RulesRow, ApiError> {
    Ok(rules_or_default(store::current_rules(conn, year)?, year))
}

/// `set`, or the defaults of `year` when its rules were never set.
pub(crate) fn rules_or_default(set: Option<RulesRow>, year: i32) -> RulesRow {
    set.unwrap_or(RulesRow {
        fiscal_year: year,
        version: 0,
        ex_ante_threshold: None,
        weight_total: Money(Decimal::ONE_HUNDRED),
        changed_by: String::new(),
        changed_at: NaiveDateTime::default(),
    })
}

pub fn rules_label(r: &RulesRow) -> String {
    let base = if r.version == 0 {
        format!("{}年度默认目标规则", r.fiscal_year)
    } else {
        format!("{}年度目标规则第{}版", r.fiscal_year, r.version)
    };
    match &r.ex_ante_threshold {
        Some(t) => format!("{base}（事前评估门槛 {} 元）", t.0.normalize()),
        None => format!("{base}（未配置事前评估门槛）"),
    }
}

pub(crate) fn rules_to_proto(r: &RulesRow) -> proto::GoalRules {
    proto::GoalRules {
        fiscal_year: r.fiscal_year,
        ex_ante_threshold: r.ex_ante_threshold.as_ref().and_then(|t| convert::dec(t.0)),
        weight_total: convert::dec(r.weight_total.0),
        version: r.version,
        label: rules_label(r),
        changed: (r.version > 0).then(|| convert::stamp(&r.changed_by, r.changed_at)),
    }
}

/// GetGoalRules: the rules in force for a year (anyone of the region reads them).
pub async fn get(
    state: &AppState,
    caller: Caller,
    m: proto::GetGoalRulesRequest,
) -> Result<proto::GetGoalRulesResponse, ApiError> {
    let year = m.fiscal_year;
    viewer(&caller, &state.region)?;
    FiscalYear::new(year)
        .map_err(|e| ApiError::invalid_field(e.reason, "fiscal_year", e.message))?;
    let row = state
        .db
        .read(move |conn| rules_in_force(conn, year))
        .await?;
    Ok(proto::GetGoalRulesResponse {
        rules: Some(rules_to_proto(&row)),
    })
}

/// SetGoalRules: finance of the region sets a year's rules (a new version).
pub async fn set(
    state: &AppState,
    ctx: MutationContext,
    m: proto::SetGoalRulesRequest,
) -> Result<proto::SetGoalRulesResponse, ApiError> {
    let (r, expected_version) = (m.rules.unwrap_or_default(), m.expected_version);
    let st = state.clone();
    run_mutation(
        &state.db,
        ctx,
        ("goal_rules", r.fiscal_year.to_string()),
        move |conn, ctx| {
            can_set_rules(&viewer(&ctx.caller, &st.region)?)?;
            crate::convert::limits::check_under(&r, "rules.")?;
            let mut v = Vec::new();
            if FiscalYear::new(r.fiscal_year).is_err() {
                v.push(FieldViolation::generic("rules.fiscal_year", "预算年度无效"));
            }
            let parse = |d: &Option<pbm_proto::common::v1::Decimal>| {
                d.as_ref()
                    .map(|d| d.value.trim())
                    .filter(|t| !t.is_empty())
                    .map(pbm_types::decimal::parse)
                    .transpose()
            };
            let threshold = match parse(&r.ex_ante_threshold) {
                Ok(Some(t)) if t > Decimal::ZERO => Some(t),
                Ok(None) => None,
                Ok(Some(_)) => {
                    v.push(FieldViolation::generic(
                        "rules.ex_ante_threshold",
                        "门槛应大于0元",
                    ));
                    None
                }
                Err(e) => {
                    v.push(FieldViolation::generic(
                        "rules.ex_ante_threshold",
                        e.message,
                    ));
                    None
                }
            };
            let weight_total = match parse(&r.weight_total) {
                Ok(Some(t)) if t > Decimal::ZERO && t <= Decimal::ONE_HUNDRED => t,
                Ok(None) => Decimal::ONE_HUNDRED,
                Ok(Some(_)) | Err(_) => {
                    v.push(FieldViolation::generic(
                        "rules.weight_total",
                        "权重合计应在 0–100 之间",
                    ));
                    Decimal::ONE_HUNDRED
                }
            };
            ApiError::check(v)?;
            let current = rules_in_force(conn, r.fiscal_year)?;
            if current.version != expected_version {
                return Err(ApiError::stale_version(
                    &format!("{}年度目标规则", r.fiscal_year),
                    expected_version,
                    current.version,
                ));
            }
            let row = RulesRow {
                fiscal_year: r.fiscal_year,
                version: current.version + 1,
                ex_ante_threshold: threshold.map(Money),
                weight_total: Money(weight_total),
                changed_by: ctx.caller.subject.clone(),
                changed_at: pbm_db::now(),
            };
            store::insert_rules(conn, &row).map_err(|e| match e {
                pbm_db::StoreError::UniqueViolation(_) => ApiError::stale_version(
                    &format!("{}年度目标规则", r.fiscal_year),
                    expected_version,
                    expected_version + 1,
                ),
                other => other.into(),
            })?;
            Ok(Effect {
                response: proto::SetGoalRulesResponse {
                    rules: Some(rules_to_proto(&row)),
                },
                entity_type: "goal_rules",
                entity_id: r.fiscal_year.to_string(),
                detail: rules_label(&row),
            })
        },
    )
    .await
}
