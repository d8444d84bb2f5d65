//! Export of approved goals as .xlsx with the national 预算管理一体化 element names (docs/DOMAIN.md
//! "Interoperability": MOF_DIV_CODE, FISCAL_YEAR, AGENCY_CODE, PRO_CODE, KPI_TARGET, KPI_LV1/2/3,
//! KPI_VAL, KPI_EVALSTD, IS_COMMON_IND). One row per indicator of the version in force; KPI_EVALSTD
//! is the library's 评分规则 of the pinned version when the library still resolves it.

use pbm_auth::Caller;
use pbm_proto::goal::v1 as proto;
use pbm_server::ApiError;
use pbm_xlsx::Column;

use crate::domain::FiscalYear;
use crate::domain::access::{ListScope, export_scope, viewer};
use crate::domain::goal::IndicatorSource;
use crate::domain::workflow::GoalState;
use crate::ops::Stored;
use crate::state::AppState;
use crate::store::{self, GoalFilter};

const fn col(header: &'static str, width: f64) -> Column {
    Column {
        header,
        required: false,
        width,
    }
}

/// The columns: the element name first (what provincial platforms map), then the Chinese.
pub const COLUMNS: [Column; 15] = [
    col("MOF_DIV_CODE 财政区划", 12.0),
    col("FISCAL_YEAR 预算年度", 10.0),
    col("AGENCY_CODE 单位代码", 14.0),
    col("DEPT_CODE 主管部门", 14.0),
    col("PRO_CODE 项目编码", 18.0),
    col("KPI_TARGET 年度绩效目标", 40.0),
    col("KPI_LV1 一级指标", 12.0),
    col("KPI_LV2 二级指标", 16.0),
    col("KPI_LV3 三级指标", 28.0),
    col("KPI_DIRECTION 指标方向", 10.0),
    col("KPI_VAL 指标值", 12.0),
    col("KPI_UNIT 计量单位", 10.0),
    col("KPI_WEIGHT 权重", 8.0),
    col("KPI_EVALSTD 评分标准", 30.0),
    col("IS_COMMON_IND 是否库内指标", 10.0),
];

/// The size of an export's chunks.
const CHUNK: usize = 1 << 20;

/// ExportApprovedGoals: the .xlsx in chunks of [`CHUNK`] bytes; the first carries the number of
/// goals and of rows.
pub async fn export(
    state: &AppState,
    caller: Caller,
    auth: &str,
    r: proto::ExportApprovedGoalsRequest,
) -> Result<Vec<proto::ExportApprovedGoalsChunk>, ApiError> {
    // Authorise first, then validate: a caller refused the table learns nothing of the request.
    let scope = export_scope(&viewer(&caller, &state.region)?)?;
    crate::convert::limits::check(&r)?;
    let mut f = GoalFilter {
        fiscal_year: Some(
            FiscalYear::new(r.fiscal_year)
                .map_err(|e| ApiError::invalid_field(e.reason, "fiscal_year", e.message))?
                .get(),
        ),
        department_code: Some(r.department_code.trim().to_owned()).filter(|d| !d.is_empty()),
        ..Default::default()
    };
    match scope {
        ListScope::Department(code) => f.department_code = Some(code),
        ListScope::Unit(code) => f.agency_code = Some(code),
        // The region's readers; reviewers and the public are refused by `export_scope`.
        ListScope::Region | ListScope::Reviewer(_) | ListScope::Published => {}
    }
    let region = state.region.to_string();
    let goals: Vec<(store::GoalRow, Stored)> = state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let (rows, _) = store::list_goals(conn, &f, 0, i64::MAX)?;
            let mut out = Vec::new();
            for row in rows {
                let s: GoalState = serde_json::from_str(&row.state).map_err(ApiError::internal)?;
                let Some(version) = s.approved_version else {
                    continue;
                };
                let (text, _, _) =
                    store::version(conn, row.id, i32::try_from(version).unwrap_or(0))?
                        .ok_or_else(|| ApiError::internal("approved version missing"))?;
                let stored: Stored = serde_json::from_str(&text).map_err(ApiError::internal)?;
                out.push((row, stored));
            }
            Ok(out)
        })
        .await?;
    // The library's scoring rules of every pinned version, in one call per year.
    let mut refs: Vec<(String, i64)> = goals
        .iter()
        .flat_map(|(_, s)| s.declaration.indicators.iter())
        .filter_map(|i| match &i.source {
            IndicatorSource::Library { code, version } => Some((code.clone(), *version)),
            IndicatorSource::Specific => None,
        })
        .collect();
    refs.sort();
    refs.dedup();
    let mut rules = std::collections::HashMap::new();
    for chunk in refs.chunks(1000) {
        let resolution = state.library.resolve(auth, r.fiscal_year, chunk).await?;
        for (i, rule) in resolution.scoring_rules {
            rules.insert(chunk[i].clone(), rule);
        }
    }
    let mut rows = Vec::new();
    for (g, s) in &goals {
        for i in &s.declaration.indicators {
            let (evalstd, library) = match &i.source {
                IndicatorSource::Library { code, version } => (
                    rules
                        .get(&(code.clone(), *version))
                        .cloned()
                        .unwrap_or_default(),
                    "是",
                ),
                IndicatorSource::Specific => (String::new(), "否"),
            };
            rows.push(vec![
                region.clone(),
                g.fiscal_year.to_string(),
                g.agency_code.clone(),
                g.department_code.clone(),
                if g.target_kind == "project" {
                    g.target_code.clone()
                } else {
                    String::new()
                },
                s.declaration.year_goal.clone(),
                i.level1.chinese().to_owned(),
                i.level2.chinese().to_owned(),
                i.name.clone(),
                i.direction.chinese().to_owned(),
                i.target_value.clone(),
                i.unit.clone(),
                i.weight
                    .map(|w| w.normalize().to_string())
                    .unwrap_or_default(),
                evalstd,
                library.to_owned(),
            ]);
        }
    }
    let count = (goals.len(), rows.len());
    let bytes =
        tokio::task::spawn_blocking(move || pbm_xlsx::write_table("批复绩效目标", &COLUMNS, &rows))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
    Ok(chunks(&bytes, count.0, count.1))
}

fn chunks(bytes: &[u8], goals: usize, rows: usize) -> Vec<proto::ExportApprovedGoalsChunk> {
    let first = |i: usize, n: usize| {
        if i == 0 {
            i32::try_from(n).unwrap_or(i32::MAX)
        } else {
            0
        }
    };
    bytes
        .chunks(CHUNK)
        .enumerate()
        .map(|(i, c)| proto::ExportApprovedGoalsChunk {
            data: c.to_vec(),
            goals: first(i, goals),
            rows: first(i, rows),
        })
        .collect()
}
