//! Use cases of 事前绩效评估 reports (docs/DOMAIN.md "Ex-ante assessment (事前绩效评估)"): filed by
//! the project's unit, department or finance, checked against the region's rules, reviewed by
//! finance; the funding gate reads the conclusion and the review.

use chrono::NaiveDate;
use pbm_auth::Caller;
use pbm_proto::goal::v1 as proto;
use pbm_server::{ApiError, Effect, FieldViolation, MutationContext, run_mutation};
use pbm_types::Decimal;

use super::commission::{commission_to_proto, project_in_scope};
use super::project_not_found;
use super::projects::project_from_row;
use super::rules::{rules_in_force, rules_label};
use crate::convert;
use crate::domain::FiscalYear;
use crate::domain::access::{can_file_ex_ante, can_review_ex_ante, ensure_local, viewer};
use crate::domain::common::date_in_range;
use crate::domain::exante::{
    self, Assessor, Conclusion, Dimension, DimensionScore, ExAnteFacts, ExAnteReport, ExAnteReview,
    ExAnteRules, Method, ReportFacts, ReviewState, SpecialBondItem, SpecialBondItemText,
};
use crate::domain::project::ProCode;
use crate::domain::workflow::Role;
use crate::state::AppState;
use crate::store::{self, ExAnteRow, RulesRow};

pub(crate) fn not_found(code: &str, year: i32) -> ApiError {
    ApiError::not_found(
        "EX_ANTE_REPORT_NOT_FOUND",
        format!("{year}年度项目「{code}」没有事前绩效评估报告"),
    )
}

/// The region's ex-ante rules of a year; without a configured threshold nothing is required,
/// but a filed report is still checked (dimensions, conclusion, 专项债 items).
pub fn ex_ante_rules(rules: &RulesRow, region: &str, year: FiscalYear) -> ExAnteRules {
    let threshold = rules
        .ex_ante_threshold
        .as_ref()
        .map_or(Decimal::MAX, |t| t.0);
    ExAnteRules::new(rules_label(rules), region, year, threshold)
}

pub(crate) fn code_of<T: Copy>(
    text: &str,
    from_db: fn(&str) -> Option<T>,
    from_chinese: fn(&str) -> Option<T>,
) -> Option<T> {
    let t = text.trim();
    from_db(t).or_else(|| from_chinese(t))
}

/// A report from the wire; every unreadable value is a field violation.
pub(crate) fn report_from(r: &proto::ExAnteReport) -> Result<ExAnteReport, ApiError> {
    convert::limits::check_under(r, "report.")?;
    let mut v: Vec<FieldViolation> = Vec::new();
    let pro_code = ProCode::parse(&r.pro_code)
        .map_err(|e| v.push(FieldViolation::generic("report.pro_code", e.message)))
        .ok();
    let fiscal_year = FiscalYear::new(r.fiscal_year)
        .map_err(|e| v.push(FieldViolation::generic("report.fiscal_year", e.message)))
        .ok();
    let assessor = match proto::Assessor::try_from(r.assessor) {
        Ok(proto::Assessor::BudgetUnit) => Some(Assessor::BudgetUnit),
        Ok(proto::Assessor::Department) => Some(Assessor::Department),
        Ok(proto::Assessor::Finance) => Some(Assessor::Finance),
        Ok(proto::Assessor::Agency) => Some(Assessor::Agency {
            credit_code: r.assessor_agency_code.trim().to_uppercase(),
        }),
        _ => {
            v.push(FieldViolation::generic("report.assessor", "请选择评估主体"));
            None
        }
    };
    let completed_on = NaiveDate::parse_from_str(r.completed_on.trim(), "%Y-%m-%d")
        .map_err(|_| {
            v.push(FieldViolation::generic(
                "report.completed_on",
                format!("完成日期「{}」应为 YYYY-MM-DD", r.completed_on),
            ));
        })
        .ok()
        .and_then(|d| {
            date_in_range("report.completed_on", "完成日期", d)
                .map_err(|e| v.push(e))
                .ok()
        });
    let mut methods = Vec::new();
    for (i, m) in r.methods.iter().enumerate() {
        match code_of(m, Method::from_db, Method::from_chinese) {
            Some(m) => methods.push(m),
            None => v.push(FieldViolation::generic(
                format!("report.methods[{i}]"),
                format!("未知的评估方法「{m}」"),
            )),
        }
    }
    let mut scores = Vec::new();
    for (i, s) in r.scores.iter().enumerate() {
        let dimension = code_of(&s.dimension, Dimension::from_db, Dimension::from_chinese);
        if dimension.is_none() {
            v.push(FieldViolation::generic(
                format!("report.scores[{i}].dimension"),
                format!("未知的评估维度「{}」", s.dimension),
            ));
        }
        let score = match s
            .score
            .as_ref()
            .map(|d| pbm_types::decimal::parse(&d.value))
        {
            Some(Ok(d)) => Some(d),
            Some(Err(e)) => {
                v.push(FieldViolation::generic(
                    format!("report.scores[{i}].score"),
                    e.message,
                ));
                None
            }
            None => {
                v.push(FieldViolation::generic(
                    format!("report.scores[{i}].score"),
                    "缺少分数",
                ));
                None
            }
        };
        if let (Some(dimension), Some(score)) = (dimension, score) {
            scores.push(DimensionScore { dimension, score });
        }
    }
    let conclusion = code_of(&r.conclusion, Conclusion::from_db, Conclusion::from_chinese);
    if conclusion.is_none() {
        v.push(FieldViolation::generic(
            "report.conclusion",
            "请选择评估结论：予以支持、调整后支持或不予支持",
        ));
    }
    let mut items = Vec::new();
    for (i, it) in r.special_bond_items.iter().enumerate() {
        match code_of(
            &it.item,
            SpecialBondItem::from_db,
            SpecialBondItem::from_chinese,
        ) {
            Some(item) => items.push(SpecialBondItemText {
                item,
                text: it.text.clone(),
            }),
            None => v.push(FieldViolation::generic(
                format!("report.special_bond_items[{i}].item"),
                format!("未知的专项债评估事项「{}」", it.item),
            )),
        }
    }
    let (
        Some(pro_code),
        Some(fiscal_year),
        Some(assessor),
        Some(completed_on),
        Some(conclusion),
        true,
    ) = (
        pro_code,
        fiscal_year,
        assessor,
        completed_on,
        conclusion,
        v.is_empty(),
    )
    else {
        return Err(ApiError::validation(v));
    };
    Ok(ExAnteReport {
        pro_code,
        fiscal_year,
        assessor,
        completed_on,
        methods,
        method_note: r.method_note.trim().to_owned(),
        scores,
        conclusion,
        summary: r.summary.trim().to_owned(),
        special_bond_items: items,
    })
}

pub(crate) fn to_proto(row: &ExAnteRow, required: bool) -> Result<proto::ExAnteReport, ApiError> {
    let report: ExAnteReport = serde_json::from_str(&row.report).map_err(ApiError::internal)?;
    let review = ReviewState::from_db(&row.review_state).unwrap_or(ReviewState::Pending);
    let gate = exante::gate(&ExAnteFacts {
        required,
        report: Some(ReportFacts {
            conclusion: report.conclusion,
            review,
        }),
    });
    let (assessor, agency) = match &report.assessor {
        Assessor::BudgetUnit => (proto::Assessor::BudgetUnit, String::new()),
        Assessor::Department => (proto::Assessor::Department, String::new()),
        Assessor::Finance => (proto::Assessor::Finance, String::new()),
        Assessor::Agency { credit_code } => (proto::Assessor::Agency, credit_code.clone()),
    };
    Ok(proto::ExAnteReport {
        pro_code: row.pro_code.clone(),
        fiscal_year: row.fiscal_year,
        assessor: assessor as i32,
        assessor_agency_code: agency,
        completed_on: report.completed_on.to_string(),
        methods: report.methods.iter().map(|m| m.as_db().into()).collect(),
        method_note: report.method_note.clone(),
        scores: report
            .scores
            .iter()
            .map(|s| proto::DimensionScore {
                dimension: s.dimension.as_db().into(),
                score: convert::dec(s.score),
            })
            .collect(),
        conclusion: report.conclusion.as_db().into(),
        summary: report.summary.clone(),
        special_bond_items: report
            .special_bond_items
            .iter()
            .map(|i| proto::SpecialBondItemText {
                item: i.item.as_db().into(),
                text: i.text.clone(),
            })
            .collect(),
        total: convert::dec(report.total()),
        review_state: review.as_db().into(),
        review_opinion: row.review_opinion.clone(),
        version: row.version,
        rules: row.rules.clone(),
        gate: gate.chinese().into(),
        submitted: Some(convert::stamp(&row.submitted_by, row.submitted_at)),
        reviewed: row
            .reviewed_by
            .as_deref()
            .zip(row.reviewed_at)
            .map(|(by, at)| convert::stamp(by, at)),
    })
}

/// SubmitExAnteReport: files (or, with its version, replaces) a project's report.
pub async fn submit(
    state: &AppState,
    ctx: MutationContext,
    m: proto::SubmitExAnteReportRequest,
) -> Result<proto::SubmitExAnteReportResponse, ApiError> {
    let (r, expected_version) = (m.report.unwrap_or_default(), m.expected_version);
    let st = state.clone();
    run_mutation(
        &state.db,
        ctx,
        (
            "ex_ante_report",
            format!("{}/{}", r.fiscal_year, r.pro_code.trim()),
        ),
        move |conn, ctx| {
            let v = viewer(&ctx.caller, &st.region)?;
            can_file_ex_ante(&v)?;
            ensure_local(&ctx.caller, &st.region)?;
            let report = report_from(&r)?;
            let code = report.pro_code.as_str().to_owned();
            let year = report.fiscal_year.get();
            let (project, commission) = project_in_scope(conn, &v, &code, year)?;
            if let Some(c) = &commission {
                // A commissioned assessment is reported by the commissioned agency.
                let named = match &report.assessor {
                    Assessor::Agency { credit_code } => credit_code.as_str(),
                    _ => "",
                };
                if named != c.agency_credit_code {
                    return Err(ApiError::invalid_field(
                        "ASSESSOR_NOT_COMMISSIONED",
                        "report.assessor_agency_code",
                        format!(
                            "该项目的事前绩效评估已委托第三方机构「{}」，报告的评估主体应为该机构",
                            c.agency_credit_code
                        ),
                    ));
                }
            } else if v.role == Role::Agency {
                return Err(project_not_found(&code, year));
            }
            let rules_row = rules_in_force(conn, year)?;
            let rules = ex_ante_rules(&rules_row, &st.region.to_string(), report.fiscal_year);
            let problems = exante::check_report(&report, &project, &rules);
            if !problems.is_empty() {
                let mut e = ApiError::validation(
                    convert::violations(problems)
                        .into_iter()
                        .map(|v| v.under("report."))
                        .collect(),
                );
                e.reason = "EX_ANTE_REPORT_INVALID";
                return Err(e);
            }
            let current = store::ex_ante(conn, &code, year)?;
            let now = pbm_db::now();
            let next = ExAnteRow {
                pro_code: code.clone(),
                fiscal_year: year,
                report: serde_json::to_string(&report).map_err(ApiError::internal)?,
                conclusion: report.conclusion.as_db().into(),
                review_state: ReviewState::Pending.as_db().into(),
                review_opinion: String::new(),
                rules: rules_label(&rules_row),
                version: current.as_ref().map_or(1, |c| c.version + 1),
                submitted_by: ctx.caller.subject.clone(),
                submitted_at: now,
                reviewed_by: None,
                reviewed_at: None,
            };
            match (&current, expected_version) {
                (None, 0) => store::insert_ex_ante(conn, &next)?,
                (Some(c), e) if c.version == e => {
                    if !store::update_ex_ante(conn, &next, e)? {
                        return Err(ApiError::stale_version(
                            &format!("项目「{code}」的事前评估报告"),
                            e,
                            e + 1,
                        ));
                    }
                }
                (c, e) => {
                    return Err(ApiError::stale_version(
                        &format!("项目「{code}」的事前评估报告"),
                        e,
                        c.as_ref().map_or(0, |c| c.version),
                    ));
                }
            }
            let required = exante::requirement(&project, &rules).required;
            Ok(Effect {
                response: proto::SubmitExAnteReportResponse {
                    report: Some(to_proto(&next, required)?),
                },
                entity_type: "ex_ante_report",
                entity_id: format!("{year}/{code}"),
                detail: format!("{} version {}", report.conclusion.as_db(), next.version),
            })
        },
    )
    .await
}

/// ReviewExAnteReport: finance finds a report sufficient or not, with a written opinion.
pub async fn review(
    state: &AppState,
    ctx: MutationContext,
    r: proto::ReviewExAnteReportRequest,
) -> Result<proto::ReviewExAnteReportResponse, ApiError> {
    let st = state.clone();
    let code = r.pro_code.trim().to_owned();
    run_mutation(
        &state.db,
        ctx,
        ("ex_ante_report", format!("{}/{code}", r.fiscal_year)),
        move |conn, ctx| {
            can_review_ex_ante(&viewer(&ctx.caller, &st.region)?)?;
            convert::limits::check(&r)?;
            let opinion = r.opinion.trim().to_owned();
            let review = if r.sufficient {
                ExAnteReview::Sufficient {
                    opinion: opinion.clone(),
                }
            } else {
                ExAnteReview::Insufficient {
                    opinion: opinion.clone(),
                }
            };
            let problems = exante::check_review(&review);
            if !problems.is_empty() {
                return Err(ApiError::validation(convert::violations(problems)));
            }
            let current = store::ex_ante(conn, &code, r.fiscal_year)?
                .ok_or_else(|| not_found(&code, r.fiscal_year))?;
            if current.version != r.expected_version {
                return Err(ApiError::stale_version(
                    &format!("项目「{code}」的事前评估报告"),
                    r.expected_version,
                    current.version,
                ));
            }
            let next = ExAnteRow {
                review_state: ReviewState::from(&review).as_db().into(),
                review_opinion: opinion,
                version: current.version + 1,
                reviewed_by: Some(ctx.caller.subject.clone()),
                reviewed_at: Some(pbm_db::now()),
                ..current.clone()
            };
            if !store::update_ex_ante(conn, &next, current.version)? {
                return Err(ApiError::stale_version(
                    &format!("项目「{code}」的事前评估报告"),
                    r.expected_version,
                    current.version + 1,
                ));
            }
            let row = store::project(conn, &code, r.fiscal_year)?
                .ok_or_else(|| project_not_found(&code, r.fiscal_year))?;
            let project = project_from_row(&row)?;
            let rules_row = rules_in_force(conn, r.fiscal_year)?;
            let rules = ex_ante_rules(&rules_row, &st.region.to_string(), project.fiscal_year);
            let required = exante::requirement(&project, &rules).required;
            Ok(Effect {
                response: proto::ReviewExAnteReportResponse {
                    report: Some(to_proto(&next, required)?),
                },
                entity_type: "ex_ante_report",
                entity_id: format!("{}/{code}", r.fiscal_year),
                detail: format!("review {}", next.review_state),
            })
        },
    )
    .await
}

/// GetExAnteReport: a project's report and, when commissioned, the commission.
pub async fn get(
    state: &AppState,
    caller: Caller,
    m: proto::GetExAnteReportRequest,
) -> Result<proto::GetExAnteReportResponse, ApiError> {
    let v = viewer(&caller, &state.region)?;
    convert::limits::check(&m)?;
    let region = state.region.to_string();
    let (code, year) = (m.pro_code.trim().to_owned(), m.fiscal_year);
    state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let (project, commission) = project_in_scope(conn, &v, &code, year)?;
            let report =
                store::ex_ante(conn, &code, year)?.ok_or_else(|| not_found(&code, year))?;
            let rules = ex_ante_rules(&rules_in_force(conn, year)?, &region, project.fiscal_year);
            Ok(proto::GetExAnteReportResponse {
                report: Some(to_proto(
                    &report,
                    exante::requirement(&project, &rules).required,
                )?),
                commission: commission.as_ref().map(commission_to_proto),
            })
        })
        .await
}
