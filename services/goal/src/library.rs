//! The indicator library as the goal service sees it: `ResolveIndicators` over gRPC
//! (ARCHITECTURE.md: goal management calls the indicator service to validate references and pin
//! versions). The call carries the original caller's token (service-to-service calls carry the
//! original caller). When the indicator service cannot be reached the answer is UNAVAILABLE with
//! `INDICATOR_SERVICE_UNAVAILABLE` — never a declaration checked against a guessed library.

use pbm_proto::indicator::v1 as ind;
use pbm_proto::indicator::v1::indicator_service_client::IndicatorServiceClient;
use pbm_server::{ApiError, ErrorKind};
use tonic::transport::{Channel, Endpoint};
use tonic_types::StatusExt;

use crate::domain::goal::{Direction, Level1, Level2, LibraryIndicator, LibraryStatus};

/// A lazily connected client of the indicator service.
#[derive(Clone)]
pub struct Library {
    channel: Channel,
}

/// What resolving a declaration's library references gave, by reference index.
#[derive(Debug, Default)]
pub struct Resolution {
    pub found: Vec<(usize, LibraryIndicator)>,
    /// The library's 评分规则 of each found reference (for exports: KPI_EVALSTD).
    pub scoring_rules: Vec<(usize, String)>,
    /// (reference index, reason code, message) of references the library refused.
    pub refused: Vec<(usize, &'static str, String)>,
}

/// A channel to another PBM service at `url`, connected on first use, with the deadlines every
/// service-to-service call uses.
pub(crate) fn lazy_channel(url: &str) -> anyhow::Result<Channel> {
    Ok(Endpoint::from_shared(url.to_owned())?
        .connect_timeout(std::time::Duration::from_secs(2))
        .timeout(std::time::Duration::from_secs(10))
        .tcp_nodelay(true)
        .connect_lazy())
}

/// A request to another service carrying the original caller's `authorization` header
/// (ARCHITECTURE.md: service-to-service calls carry the original caller).
pub(crate) fn as_caller<T>(authorization: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Ok(value) = authorization.parse() {
        request.metadata_mut().insert("authorization", value);
    }
    request
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
    /// A client of the indicator service at `url` (connected on first use).
    pub fn new(url: &str) -> anyhow::Result<Library> {
        Ok(Library {
            channel: lazy_channel(url)?,
        })
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

    /// Resolves `refs` (code, version; 0 = current) for `year`. References the library refuses
    /// (unknown, disabled, outside their period) are reported by index; the others resolve.
    pub async fn resolve(
        &self,
        authorization: &str,
        year: i32,
        refs: &[(String, i64)],
    ) -> Result<Resolution, ApiError> {
        let mut out = Resolution::default();
        if refs.is_empty() {
            return Ok(out);
        }
        let mut pending: Vec<usize> = (0..refs.len()).collect();
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
                            out.found.push((*i, library_indicator(&indicator)?));
                            out.scoring_rules.push((*i, rule));
                        }
                    }
                    return Ok(out);
                }
                Err(status) => {
                    let reason = match status.code() {
                        tonic::Code::NotFound => "INDICATOR_NOT_IN_LIBRARY",
                        tonic::Code::FailedPrecondition => "INDICATOR_NOT_ENABLED",
                        tonic::Code::Unavailable
                        | tonic::Code::DeadlineExceeded
                        | tonic::Code::Unknown
                        | tonic::Code::Internal => return Err(unavailable(status.message())),
                        tonic::Code::PermissionDenied | tonic::Code::Unauthenticated => {
                            return Err(ApiError::new(
                                ErrorKind::PermissionDenied,
                                "LIBRARY_ACCESS_DENIED",
                                format!("无权读取绩效指标库：{}", status.message()),
                            ));
                        }
                        _ => return Err(unavailable(status.message())),
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
