//! Pinning indicator versions for a declaration (the goal service's call).

use pbm_auth::Caller;
use pbm_proto::indicator::v1 as proto;
use pbm_server::{ApiError, FieldViolation};

use crate::convert;
use crate::domain::access;
use crate::domain::indicator::{self, Indicator, Status};
use crate::state::AppState;
use crate::store;

/// Pins versions for a declaration of `year`: every reference must exist, be enabled and be in its
/// enabled period (docs/DOMAIN.md "Library versions": goals keep the version they were declared
/// against).
pub async fn resolve(
    state: &AppState,
    caller: Caller,
    m: proto::ResolveIndicatorsRequest,
) -> Result<proto::ResolveIndicatorsResponse, ApiError> {
    let texts = crate::convert::limits::check(&m);
    let year = m.fiscal_year;
    let refs: Vec<(String, i64)> = m
        .refs
        .into_iter()
        .map(|x| (x.code.trim().to_owned(), x.version))
        .collect();
    access::can_read(&caller, &state.region)?;
    texts?;
    pbm_types::FiscalYear::new(year)
        .map_err(|e| ApiError::invalid_field(e.reason, "fiscal_year", e.message))?;
    if refs.is_empty() || refs.len() > 1000 {
        return Err(ApiError::invalid_field(
            "REFS_INVALID",
            "refs",
            "请提供 1–1000 个指标引用",
        ));
    }
    let resolved = state
        .db
        .read(
            move |conn| -> Result<Vec<(String, i64, Option<Indicator>)>, ApiError> {
                let mut codes: Vec<String> = refs.iter().map(|(c, _)| c.clone()).collect();
                codes.sort();
                codes.dedup();
                let pinned: Vec<(String, i64)> =
                    refs.iter().filter(|(_, v)| *v != 0).cloned().collect();
                let (current, pinned) = store::current_and_pinned(conn, &codes, &pinned)?;
                Ok(refs
                    .into_iter()
                    .map(|(code, version)| {
                        let now = current.iter().find(|i| i.code == code);
                        let found = match (version, now) {
                            (0, now) => now.cloned(),
                            // A pinned version is usable only while the indicator itself is
                            // enabled: a disabled indicator may not enter a new declaration at
                            // any version.
                            (v, Some(now)) => pinned
                                .iter()
                                .find(|p| p.code == code && p.version == v)
                                .map(|p| {
                                    let mut p = p.clone();
                                    if now.status == Status::Disabled {
                                        p.status = Status::Disabled;
                                    }
                                    p
                                }),
                            (_, None) => None,
                        };
                        (code, version, found)
                    })
                    .collect())
            },
        )
        .await?;
    let mut missing = Vec::new();
    let mut unusable = Vec::new();
    let mut out = Vec::new();
    for (i, (code, version, found)) in resolved.into_iter().enumerate() {
        match found {
            None => missing.push(FieldViolation::new(
                format!("refs[{i}].code"),
                "INDICATOR_NOT_FOUND",
                format!("指标「{code}」(版本 {version}) 不存在"),
            )),
            Some(ind) => match indicator::unusable_reason(&ind, year) {
                Some((reason, why)) => {
                    unusable.push(FieldViolation::new(format!("refs[{i}]"), reason, why))
                }
                None => out.push(convert::indicator_to_proto(&ind, state)),
            },
        }
    }
    if !missing.is_empty() {
        let mut e = ApiError::not_found(
            "INDICATOR_NOT_FOUND",
            missing
                .iter()
                .map(|v| v.message.as_str())
                .collect::<Vec<_>>()
                .join("；"),
        );
        e.violations = missing;
        return Err(e);
    }
    if !unusable.is_empty() {
        let mut e = ApiError::failed_precondition(
            "INDICATOR_UNUSABLE",
            unusable
                .iter()
                .map(|v| v.message.as_str())
                .collect::<Vec<_>>()
                .join("；"),
        );
        e.violations = unusable;
        return Err(e);
    }
    Ok(proto::ResolveIndicatorsResponse { indicators: out })
}
