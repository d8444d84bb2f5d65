//! Pool statistics for the provincial platform.

use pbm_auth::Caller;
use pbm_proto::agency::v1 as proto;
use pbm_server::ApiError;

use super::ratings::RatingBook;
use crate::domain::access::{self};
use crate::domain::registry::{self, EffectiveStatus};
use crate::state::AppState;
use crate::store;
use crate::store::engagements as store_e;
use crate::store::experts as store_x;
use chrono::Datelike;

fn counts(keys: impl IntoIterator<Item = String>) -> Vec<proto::CountByKey> {
    let mut map = std::collections::BTreeMap::<String, i64>::new();
    for k in keys {
        *map.entry(k).or_default() += 1;
    }
    map.into_iter()
        .map(|(key, count)| proto::CountByKey { key, count })
        .collect()
}

/// Pool statistics for the provincial platform (docs/DOMAIN.md "Statistics and publication").
pub async fn get(
    state: &AppState,
    caller: Caller,
    _: proto::GetPoolStatisticsRequest,
) -> Result<proto::GetPoolStatisticsResponse, ApiError> {
    if access::read_scope(&caller, &state.region)? != access::ReadScope::All {
        return Err(ApiError::permission_denied(
            "ROLE_NOT_ALLOWED",
            "统计数据只对财政、审计和省级平台开放",
        ));
    }
    let today = state.today();
    let region = state.region.to_string();
    state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let agencies = store::all_agencies(conn)?;
            let batches = store::batches(conn)?;
            let mut statuses = Vec::with_capacity(agencies.len());
            let mut grades = Vec::with_capacity(agencies.len());
            let book = RatingBook::load(conn, today)?;
            for a in &agencies {
                let batch = batches
                    .iter()
                    .find(|b| b.id == a.spec.admission_batch_id)
                    .ok_or_else(|| ApiError::internal("agency without batch"))?;
                let status = match registry::effective_status(a, batch.qualified_to, today) {
                    EffectiveStatus::Admitted => "admitted",
                    EffectiveStatus::Warned => "warned",
                    EffectiveStatus::Suspended => "suspended",
                    EffectiveStatus::Removed => "removed",
                    EffectiveStatus::Expired => "expired",
                };
                statuses.push(status.to_string());
                grades.push(format!(
                    "{:?}",
                    book.agency(a.spec.credit_code.as_str()).grade
                ));
            }
            let experts = store_x::field_and_status(conn)?;
            let engagements = store_e::kinds_and_dates(conn)?;
            Ok(proto::GetPoolStatisticsResponse {
                mof_div_code: region,
                as_of: today.to_string(),
                agencies_by_type: counts(
                    agencies
                        .iter()
                        .map(|a| a.spec.agency_type.as_db().to_string()),
                ),
                agencies_by_status: counts(statuses),
                experts_by_field: counts(experts.iter().flat_map(|(fields, _)| {
                    fields
                        .split('|')
                        .filter(|f| !f.is_empty())
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })),
                experts_by_status: counts(experts.iter().map(|(_, s)| s.clone())),
                agency_grades: counts(grades),
                engagements_by_year_and_kind: counts(
                    engagements
                        .iter()
                        .map(|(kind, ended)| format!("{}/{kind}", ended.year())),
                ),
                rules: book.rules.label(),
            })
        })
        .await
}
