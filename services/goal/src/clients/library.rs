//! The indicator library as the goal service sees it: `ResolveIndicators` over gRPC (docs/GOAL.md
//! "Served now: pbm.goal.v1.GoalService", Declarations: library indicators are resolved and pinned;
//! docs/DOMAIN.md "Library versions"). The call carries the original caller's token
//! (service-to-service calls carry the original caller, whom the called service authorises by role
//! and region: docs/DOMAIN.md "Regions and roles"). When the indicator service cannot be reached
//! the answer is UNAVAILABLE with `INDICATOR_SERVICE_UNAVAILABLE` — never a declaration checked
//! against a guessed library.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pbm_proto::common::v1::PageRequest;
use pbm_proto::indicator::v1 as ind;
use pbm_proto::indicator::v1::indicator_service_client::IndicatorServiceClient;
use pbm_proto::tls::ClientTlsFiles;
use pbm_server::calls::{as_caller, lazy_channel};
use pbm_server::{ApiError, ErrorKind};
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::domain::fixed::FixedIndicator;
use crate::domain::goal::{Direction, Level1, Level2, LibraryIndicator, LibraryStatus};

/// Every call to the indicator and agency services is bounded by this.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a library answer is reused when no `PBM_LIBRARY_CACHE_SECS` is set.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(5);

/// A lazily connected client of the indicator service, with a short-lived memory of its
/// answers.
///
/// A pinned `code@version` never changes in the library (every change makes a new version);
/// only whether the indicator may still be used does (停用 / 启用). Resolutions of pinned
/// versions and the list of 固化 indicators are therefore reused for `ttl` (default 5 s, the
/// same order as the indicator service's own in-memory view, docs/GOAL.md): a library change
/// reaches submissions within that time, and a burst of submissions against the same library
/// costs no call to the indicator service. References to the current version (version 0, as
/// SaveGoal pins them) and refusals are never reused. `ttl` zero turns the memory off.
#[derive(Clone)]
pub struct Library {
    channel: Channel,
    ttl: Duration,
    memory: Arc<Memory>,
}

/// (fiscal year, code, version).
type PinnedKey = (i32, String, i64);

#[derive(Default)]
struct Memory {
    /// When, the version's facts and its 评分规则.
    pinned: Mutex<HashMap<PinnedKey, (Instant, LibraryIndicator, String)>>,
    /// When, and every 固化 indicator the library lists as enabled.
    fixed: Mutex<Option<(Instant, Arc<Vec<FixedIndicator>>)>>,
}

/// Entries kept at most (a region's library has thousands of indicators, a year's goals pin a
/// few thousand versions); beyond it the memory starts afresh.
const MEMORY_LIMIT: usize = 100_000;

/// What resolving a declaration's library references gave, by reference index.
#[derive(Debug, Default)]
pub struct Resolution {
    pub found: Vec<(usize, LibraryIndicator)>,
    /// The library's 评分规则 of each found reference (for exports: KPI_EVALSTD).
    pub scoring_rules: Vec<(usize, String)>,
    /// (reference index, reason code, message) of references the library refused.
    pub refused: Vec<(usize, &'static str, String)>,
}

fn unavailable(detail: impl std::fmt::Display) -> ApiError {
    tracing::warn!(error = %detail, "indicator service unreachable");
    ApiError::unavailable(
        "INDICATOR_SERVICE_UNAVAILABLE",
        "绩效指标库服务暂时无法访问，请稍后重试（申报内容未做任何修改）",
    )
}

/// The index `i` of a `refs[i]…` field violation.
fn ref_index(field: &str) -> Option<usize> {
    field.strip_prefix("refs[")?.split(']').next()?.parse().ok()
}

impl Library {
    /// A client of the indicator service at an http:// `url` (connected on first use).
    pub fn new(url: &str) -> anyhow::Result<Library> {
        Library::over_tls(url, &ClientTlsFiles::default())
    }

    /// A client of the indicator service at `url`, over TLS as `tls` says for an https:// URL.
    pub fn over_tls(url: &str, tls: &ClientTlsFiles) -> anyhow::Result<Library> {
        Ok(Library {
            channel: lazy_channel(url, tls, CALL_TIMEOUT)?,
            ttl: DEFAULT_CACHE_TTL,
            memory: Arc::default(),
        })
    }

    /// The same client reusing answers for `ttl` (zero: never).
    #[must_use]
    pub fn with_cache_ttl(mut self, ttl: Duration) -> Library {
        self.ttl = ttl;
        self
    }

    fn fresh(&self, at: Instant) -> bool {
        !self.ttl.is_zero() && at.elapsed() < self.ttl
    }

    /// Every 固化 indicator the library lists as enabled (whatever their period; the domain
    /// decides which apply to a declaration, [`crate::domain::fixed`]).
    pub async fn fixed(&self, authorization: &str) -> Result<Arc<Vec<FixedIndicator>>, ApiError> {
        if let Some((at, list)) = self.memory.fixed.lock().expect("memory").as_ref()
            && self.fresh(*at)
        {
            return Ok(Arc::clone(list));
        }
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let request = as_caller(
                authorization,
                ind::ListIndicatorsRequest {
                    filter: Some(ind::IndicatorFilter {
                        status: ind::IndicatorStatus::Enabled as i32,
                        fixed_only: true,
                        ..Default::default()
                    }),
                    page: Some(PageRequest {
                        page_size: 500,
                        page_token: token,
                    }),
                },
            );
            let page = IndicatorServiceClient::new(self.channel.clone())
                .list_indicators(request)
                .await
                .map_err(refusal)?
                .into_inner();
            for i in &page.indicators {
                let spec = i.spec.clone().unwrap_or_default();
                out.push(FixedIndicator {
                    indicator: library_indicator(i)?,
                    industry_tags: spec.industry_tags,
                    field_tags: spec.field_tags,
                    level_tags: spec.level_tags,
                    owner_department: spec.owner_department,
                });
            }
            token = page.page.map(|p| p.next_page_token).unwrap_or_default();
            if token.is_empty() {
                break;
            }
        }
        let list = Arc::new(out);
        *self.memory.fixed.lock().expect("memory") = Some((Instant::now(), Arc::clone(&list)));
        Ok(list)
    }

    async fn call(
        &self,
        authorization: &str,
        year: i32,
        refs: &[(String, i64)],
    ) -> Result<Vec<ind::Indicator>, tonic::Status> {
        let request = as_caller(
            authorization,
            ind::ResolveIndicatorsRequest {
                fiscal_year: year,
                refs: refs
                    .iter()
                    .map(|(code, version)| ind::IndicatorRef {
                        code: code.clone(),
                        version: *version,
                    })
                    .collect(),
            },
        );
        Ok(IndicatorServiceClient::new(self.channel.clone())
            .resolve_indicators(request)
            .await?
            .into_inner()
            .indicators)
    }

    /// The resolution of `refs` from memory alone, when every reference is a pinned version
    /// seen within the cache time; `None` otherwise (then [`Library::resolve`] asks).
    pub fn remembered(&self, year: i32, refs: &[(String, i64)]) -> Option<Resolution> {
        let (known, missing) = self.recall(year, refs);
        missing.is_empty().then_some(known)
    }

    /// The references of `refs` answered from memory, and the indexes of the others.
    fn recall(&self, year: i32, refs: &[(String, i64)]) -> (Resolution, Vec<usize>) {
        let mut known = Resolution::default();
        let mut missing = Vec::new();
        let memory = self.memory.pinned.lock().expect("memory");
        for (i, (code, version)) in refs.iter().enumerate() {
            match memory.get(&(year, code.clone(), *version)) {
                Some((at, facts, rule)) if *version != 0 && self.fresh(*at) => {
                    known.found.push((i, facts.clone()));
                    known.scoring_rules.push((i, rule.clone()));
                }
                _ => missing.push(i),
            }
        }
        (known, missing)
    }

    /// Resolves `refs` (code, version; 0 = current) for `year`. References the library refuses
    /// (unknown, disabled, outside their period) are reported by index; the others resolve.
    pub async fn resolve(
        &self,
        authorization: &str,
        year: i32,
        refs: &[(String, i64)],
    ) -> Result<Resolution, ApiError> {
        let (mut out, mut pending) = self.recall(year, refs);
        if pending.is_empty() {
            return Ok(out);
        }
        // At most two rounds: all references, then the ones the library did not refuse.
        for _ in 0..2 {
            let asked: Vec<(String, i64)> = pending.iter().map(|i| refs[*i].clone()).collect();
            match self.call(authorization, year, &asked).await {
                Ok(indicators) => {
                    for (k, indicator) in indicators.into_iter().enumerate() {
                        if let Some(i) = pending.get(k) {
                            let rule = indicator
                                .spec
                                .as_ref()
                                .map(|s| s.scoring_rule.clone())
                                .unwrap_or_default();
                            let facts = library_indicator(&indicator)?;
                            if refs[*i].1 != 0 && !self.ttl.is_zero() {
                                self.remember(year, &facts, &rule);
                            }
                            out.found.push((*i, facts));
                            out.scoring_rules.push((*i, rule));
                        }
                    }
                    out.found.sort_by_key(|(i, _)| *i);
                    out.scoring_rules.sort_by_key(|(i, _)| *i);
                    return Ok(out);
                }
                Err(status) => {
                    let reason = match status.code() {
                        tonic::Code::NotFound => "INDICATOR_NOT_IN_LIBRARY",
                        tonic::Code::FailedPrecondition => "INDICATOR_NOT_ENABLED",
                        _ => return Err(refusal(status)),
                    };
                    let refused: Vec<(usize, String)> = status
                        .get_details_bad_request()
                        .map(|b| b.field_violations)
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|v| Some((ref_index(&v.field)?, v.description)))
                        .collect();
                    if refused.is_empty() {
                        return Err(unavailable(status.message()));
                    }
                    let mut keep = Vec::new();
                    for (k, i) in pending.iter().enumerate() {
                        match refused.iter().find(|(r, _)| *r == k) {
                            Some((_, why)) => out.refused.push((*i, reason, why.clone())),
                            None => keep.push(*i),
                        }
                    }
                    if keep.is_empty() {
                        return Ok(out);
                    }
                    pending = keep;
                }
            }
        }
        Err(unavailable("the library refused references twice"))
    }
}

impl Library {
    fn remember(&self, year: i32, facts: &LibraryIndicator, rule: &str) {
        let mut memory = self.memory.pinned.lock().expect("memory");
        if memory.len() >= MEMORY_LIMIT {
            memory.clear();
        }
        memory.insert(
            (year, facts.code.clone(), facts.version),
            (Instant::now(), facts.clone(), rule.to_owned()),
        );
    }
}

/// A failed call to the library that is not a per-reference refusal: access denied, or the
/// service unreachable.
fn refusal(status: tonic::Status) -> ApiError {
    match status.code() {
        tonic::Code::PermissionDenied | tonic::Code::Unauthenticated => ApiError::new(
            ErrorKind::PermissionDenied,
            "LIBRARY_ACCESS_DENIED",
            format!("无权读取绩效指标库：{}", status.message()),
        ),
        _ => unavailable(status.message()),
    }
}

fn direction(d: i32) -> Direction {
    match ind::Direction::try_from(d) {
        Ok(ind::Direction::Ge) => Direction::Ge,
        Ok(ind::Direction::Le) => Direction::Le,
        Ok(ind::Direction::Eq) => Direction::Eq,
        _ => Direction::Qualitative,
    }
}

/// The facts the quality checks need, from one library version. The frame's level names map to
/// the national frame (产出/效益/满意度/成本 and their second levels).
fn library_indicator(i: &ind::Indicator) -> Result<LibraryIndicator, ApiError> {
    let spec = i.spec.clone().unwrap_or_default();
    let level2 = Level2::from_chinese(&i.level2_name).ok_or_else(|| {
        ApiError::failed_precondition(
            "LIBRARY_LEVEL_UNKNOWN",
            format!(
                "指标「{}」的二级指标「{}」不属于国家指标框架，无法校验",
                i.code, i.level2_name
            ),
        )
    })?;
    let level1 = Level1::from_chinese(&i.level1_name).unwrap_or_else(|| level2.level1());
    Ok(LibraryIndicator {
        code: i.code.clone(),
        version: i.version,
        level1,
        level2,
        name: spec.name,
        direction: direction(spec.direction),
        unit: spec.unit,
        reference_target: spec.reference_target,
        fixed: spec.fixed,
        status: if i.status == ind::IndicatorStatus::Disabled as i32 {
            LibraryStatus::Disabled
        } else {
            LibraryStatus::Enabled
        },
        enabled_from_year: Some(spec.enabled_from_year).filter(|y| *y > 0),
        enabled_to_year: Some(spec.enabled_to_year).filter(|y| *y > 0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_indexes_come_from_field_paths() {
        assert_eq!(ref_index("refs[3]"), Some(3));
        assert_eq!(ref_index("refs[12].code"), Some(12));
        assert_eq!(ref_index("fiscal_year"), None);
    }

    #[test]
    fn library_levels_map_to_the_national_frame() {
        let i = ind::Indicator {
            code: "CX0001".into(),
            version: 2,
            status: ind::IndicatorStatus::Enabled as i32,
            spec: Some(ind::IndicatorSpec {
                name: "受益人口".into(),
                direction: ind::Direction::Ge as i32,
                unit: "人".into(),
                fixed: true,
                enabled_from_year: 2025,
                ..Default::default()
            }),
            level1_name: "效益指标".into(),
            level2_name: "社会效益指标".into(),
            ..Default::default()
        };
        let l = library_indicator(&i).unwrap();
        assert_eq!((l.level1, l.level2), (Level1::Benefit, Level2::Social));
        assert_eq!((l.direction, l.fixed), (Direction::Ge, true));
        assert_eq!((l.enabled_from_year, l.enabled_to_year), (Some(2025), None));
        let odd = ind::Indicator {
            level2_name: "自定义层级".into(),
            ..i
        };
        assert_eq!(
            library_indicator(&odd).unwrap_err().reason,
            "LIBRARY_LEVEL_UNKNOWN"
        );
    }
}
