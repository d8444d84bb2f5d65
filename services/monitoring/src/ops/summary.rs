//! StreamExecutionSummary: per project of a fiscal year, its latest execution figures and its
//! warnings in the latest round that holds it — what the evaluation service reads when finance
//! opens the year's self-evaluation (单位自评: the figures for the execution score, the red
//! warnings and the deviation for the spot-check risk score).
//!
//! The caller is authorised and the request checked before anything is read ([`open`]); then
//! [`SummaryStream::next`] reads one chunk of [`CHUNK`] projects at a time, each its own short
//! read, which the transport streams on while the next is read — the pattern of the goal
//! service's StreamApprovedGoals (`services/goal/src/ops/snapshot.rs`). Projects come in PRO_CODE
//! order: those with figures and those in a round of the year (`store::summary_chunk`).
//!
//! Who: finance of the region (the budget system and the evaluation service call as finance),
//! auditors and the province; finance of an enclosing region reads as an auditor; another
//! region is refused, and so is every other role (docs/MONITORING.md "Roles").

use pbm_auth::{Caller, Role};
use pbm_proto::monitoring::v1 as proto;
use pbm_server::ApiError;

use crate::convert::execution::summary_to;
use crate::convert::limits;
use crate::domain::access::can_stream_summary;
use crate::ops::authorise;
use crate::state::AppState;
use crate::store::{self, SummaryFilter};

/// Projects per read.
pub const CHUNK: i64 = 500;
/// At most this many PRO_CODEs in one request.
const MAX_PROJECTS: usize = 10_000;

/// The roles that read the summary (tests/tests/authorization_matrix.rs).
const READERS: &[Role] = &[Role::FinanceAdmin, Role::Auditor, Role::Province];

/// A StreamExecutionSummary call, authorised and parsed, read chunk by chunk.
#[derive(Debug)]
pub struct SummaryStream {
    filter: SummaryFilter,
    /// The PRO_CODE the next chunk starts after; `None` once the stream is over.
    after: Option<String>,
}

/// Authorises the caller before looking at the request, then checks it.
pub fn open(
    state: &AppState,
    caller: Caller,
    r: proto::StreamExecutionSummaryRequest,
) -> Result<SummaryStream, ApiError> {
    let viewer = authorise(&caller, state, READERS, false)?;
    can_stream_summary(&viewer)?;
    limits::check(&r)?;
    let year = pbm_types::FiscalYear::new(r.fiscal_year)
        .map_err(|e| ApiError::invalid_field(e.reason, "fiscal_year", e.message))?
        .get();
    let mut codes: Vec<String> = r.pro_codes.iter().map(|c| c.trim().to_owned()).collect();
    if codes.len() > MAX_PROJECTS || codes.iter().any(String::is_empty) {
        return Err(ApiError::invalid_field(
            "PRO_CODES_INVALID",
            "pro_codes",
            format!("请提供不超过 {MAX_PROJECTS} 个非空项目编码（不提供则汇总全部项目）"),
        ));
    }
    codes.sort();
    codes.dedup();
    Ok(SummaryStream {
        filter: SummaryFilter {
            fiscal_year: year,
            pro_codes: codes,
        },
        after: Some(String::new()),
    })
}

impl SummaryStream {
    /// The projects of the next chunk (possibly none, when the filter kept no code of it), or
    /// `None` when the stream is over.
    pub async fn next(
        &mut self,
        state: &AppState,
    ) -> Result<Option<Vec<proto::ExecutionSummary>>, ApiError> {
        let Some(after) = self.after.take() else {
            return Ok(None);
        };
        let f = self.filter.clone();
        let chunk = state
            .db
            .read(move |conn| store::summary_chunk(conn, &f, &after, CHUNK))
            .await?;
        self.after = chunk.next;
        let items = chunk
            .projects
            .iter()
            .map(|p| {
                summary_to(p).ok_or_else(|| {
                    ApiError::internal(format!(
                        "execution rate of {} not representable",
                        p.pro_code
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Some(items))
    }
}
