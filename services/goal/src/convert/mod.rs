//! `pbm.goal.v1` messages to and from the domain types, parsed once at the edge.
//!
//! * [`limits`] – the longest text of every request field (`TEXT_TOO_LONG`).

pub mod limits;

use pbm_proto::common::v1 as common;
use pbm_proto::goal::v1 as proto;
use pbm_proto::indicator::v1 as ind;
use pbm_server::ApiError;
use pbm_types::Decimal;

use crate::domain::FiscalYear;
use crate::domain::common::FieldViolation;
use crate::domain::goal::{
    DeclaredIndicator, Direction, FieldChange, GoalDeclaration, IndicatorSource, Level2,
};
use crate::domain::project::{
    Continuity, DeclarationTarget, DepartmentCode, FundSource, Nature, ProCode, Project,
    ProjectInput, SpecialField,
};
use crate::domain::workflow::{GoalState, ReviewOutcome, Status, StatusKind};
pub use pbm_server::wire::{decimal as dec, stamp};

/// Domain violations as the API's field violations (reason codes also kept in the message).
pub fn violations(list: Vec<FieldViolation>) -> Vec<FieldViolation> {
    list.into_iter()
        .map(|v| {
            let message = format!("{}（{}）", v.message, v.reason);
            FieldViolation::new(v.field, v.reason, message)
        })
        .collect()
}

fn decimal(d: Option<&common::Decimal>, field: &str) -> Result<Option<Decimal>, FieldViolation> {
    match d.map(|d| d.value.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => pbm_types::decimal::parse(v)
            .map(Some)
            .map_err(|e| FieldViolation::generic(field, e.message)),
    }
}

pub fn fund_source_from(v: i32) -> Option<FundSource> {
    use proto::FundSource as P;
    Some(match P::try_from(v).ok()? {
        P::Unspecified => return None,
        P::GeneralPublic => FundSource::GeneralPublic,
        P::GovernmentFund => FundSource::GovernmentFund,
        P::StateCapital => FundSource::StateCapital,
        P::SocialInsurance => FundSource::SocialInsurance,
    })
}

pub fn fund_source_to(f: FundSource) -> proto::FundSource {
    use proto::FundSource as P;
    match f {
        FundSource::GeneralPublic => P::GeneralPublic,
        FundSource::GovernmentFund => P::GovernmentFund,
        FundSource::StateCapital => P::StateCapital,
        FundSource::SocialInsurance => P::SocialInsurance,
    }
}

fn special_field_from(v: i32) -> Option<SpecialField> {
    use proto::SpecialField as P;
    Some(match P::try_from(v).ok()? {
        P::Unspecified => return None,
        P::None => SpecialField::None,
        P::GovernmentInvestmentFund => SpecialField::GovernmentInvestmentFund,
        P::Ppp => SpecialField::Ppp,
        P::GovernmentProcurement => SpecialField::GovernmentProcurement,
        P::GovernmentPurchasedServices => SpecialField::GovernmentPurchasedServices,
        P::GeneralBond => SpecialField::GeneralBond,
        P::SpecialBond => SpecialField::SpecialBond,
    })
}

pub fn special_field_to(f: SpecialField) -> proto::SpecialField {
    use proto::SpecialField as P;
    match f {
        SpecialField::None => P::None,
        SpecialField::GovernmentInvestmentFund => P::GovernmentInvestmentFund,
        SpecialField::Ppp => P::Ppp,
        SpecialField::GovernmentProcurement => P::GovernmentProcurement,
        SpecialField::GovernmentPurchasedServices => P::GovernmentPurchasedServices,
        SpecialField::GeneralBond => P::GeneralBond,
        SpecialField::SpecialBond => P::SpecialBond,
    }
}

/// A project spec from the wire, checked by the domain (every problem a field violation).
pub fn project_from(spec: Option<proto::ProjectSpec>) -> Result<Project, ApiError> {
    let s = spec.unwrap_or_default();
    limits::check_under(&s, "spec.")?;
    let mut v = Vec::new();
    let fund_source = fund_source_from(s.fund_source);
    if fund_source.is_none() {
        v.push(FieldViolation::generic(
            "spec.fund_source",
            "请选择资金来源（四本预算）",
        ));
    }
    let special_field = special_field_from(s.special_field);
    if special_field.is_none() {
        v.push(FieldViolation::generic(
            "spec.special_field",
            "请选择重点领域（无则选“无”）",
        ));
    }
    let continuity = match proto::Continuity::try_from(s.continuity) {
        Ok(proto::Continuity::New) => Some(Continuity::New),
        Ok(proto::Continuity::Continuing) => Some(Continuity::Continuing),
        _ => {
            v.push(FieldViolation::generic(
                "spec.continuity",
                "请选择新增或延续项目",
            ));
            None
        }
    };
    let nature = match proto::Nature::try_from(s.nature) {
        Ok(proto::Nature::Project) => Some(Nature::Project),
        Ok(proto::Nature::Policy) => Some(Nature::Policy),
        _ => {
            v.push(FieldViolation::generic("spec.nature", "请选择项目或政策"));
            None
        }
    };
    let amount = match decimal(s.requested_amount.as_ref(), "spec.requested_amount") {
        Ok(Some(a)) => Some(a),
        Ok(None) => {
            v.push(FieldViolation::generic(
                "spec.requested_amount",
                "请填写申请金额（元）",
            ));
            None
        }
        Err(e) => {
            v.push(e);
            None
        }
    };
    let (Some(fund_source), Some(special_field), Some(continuity), Some(nature), Some(amount)) =
        (fund_source, special_field, continuity, nature, amount)
    else {
        return Err(ApiError::validation(v));
    };
    let mid_term =
        (s.mid_term_from != 0 || s.mid_term_to != 0).then_some((s.mid_term_from, s.mid_term_to));
    Project::parse(ProjectInput {
        pro_code: s.pro_code,
        name: s.name,
        agency_code: s.agency_code,
        department_code: s.department_code,
        fiscal_year: s.fiscal_year,
        fund_source,
        special_field,
        continuity,
        nature,
        requested_amount: amount,
        mid_term,
    })
    .map_err(|list| {
        let mut all = v;
        all.extend(violations(list).into_iter().map(|v| v.under("spec.")));
        ApiError::validation(all)
    })
}

pub fn project_to(p: &Project) -> proto::ProjectSpec {
    proto::ProjectSpec {
        pro_code: p.pro_code.as_str().into(),
        name: p.name.clone(),
        agency_code: p.agency_code.as_str().into(),
        department_code: p.department_code.as_str().into(),
        fiscal_year: p.fiscal_year.get(),
        fund_source: fund_source_to(p.fund_source) as i32,
        special_field: special_field_to(p.special_field) as i32,
        continuity: match p.continuity {
            Continuity::New => proto::Continuity::New,
            Continuity::Continuing => proto::Continuity::Continuing,
        } as i32,
        nature: match p.nature {
            Nature::Project => proto::Nature::Project,
            Nature::Policy => proto::Nature::Policy,
        } as i32,
        requested_amount: dec(p.requested_amount.yuan()),
        mid_term_from: p.mid_term.map_or(0, |m| m.start.get()),
        mid_term_to: p.mid_term.map_or(0, |m| m.end.get()),
    }
}

fn level2_from(v: i32) -> Option<Level2> {
    use proto::Level2 as P;
    Some(match P::try_from(v).ok()? {
        P::Unspecified => return None,
        P::Quantity => Level2::Quantity,
        P::Quality => Level2::Quality,
        P::Timeliness => Level2::Timeliness,
        P::OutputCost => Level2::OutputCost,
        P::Economic => Level2::Economic,
        P::Social => Level2::Social,
        P::Ecological => Level2::Ecological,
        P::Sustainability => Level2::Sustainability,
        P::ServiceRecipientSatisfaction => Level2::ServiceRecipientSatisfaction,
        P::EconomicCost => Level2::EconomicCost,
        P::SocialCost => Level2::SocialCost,
        P::EcologicalCost => Level2::EcologicalCost,
    })
}

fn level2_to(l: Level2) -> proto::Level2 {
    use proto::Level2 as P;
    match l {
        Level2::Quantity => P::Quantity,
        Level2::Quality => P::Quality,
        Level2::Timeliness => P::Timeliness,
        Level2::OutputCost => P::OutputCost,
        Level2::Economic => P::Economic,
        Level2::Social => P::Social,
        Level2::Ecological => P::Ecological,
        Level2::Sustainability => P::Sustainability,
        Level2::ServiceRecipientSatisfaction => P::ServiceRecipientSatisfaction,
        Level2::EconomicCost => P::EconomicCost,
        Level2::SocialCost => P::SocialCost,
        Level2::EcologicalCost => P::EcologicalCost,
    }
}

fn direction_from(v: i32) -> Option<Direction> {
    Some(match ind::Direction::try_from(v).ok()? {
        ind::Direction::Unspecified => return None,
        ind::Direction::Ge => Direction::Ge,
        ind::Direction::Le => Direction::Le,
        ind::Direction::Eq => Direction::Eq,
        ind::Direction::Qualitative => Direction::Qualitative,
    })
}

fn direction_to(d: Direction) -> ind::Direction {
    match d {
        Direction::Ge => ind::Direction::Ge,
        Direction::Le => ind::Direction::Le,
        Direction::Eq => ind::Direction::Eq,
        Direction::Qualitative => ind::Direction::Qualitative,
    }
}

/// The target of a declaration: exactly one of a project code and a department code.
pub fn target_from(d: &proto::GoalDeclaration) -> Result<DeclarationTarget, ApiError> {
    match (
        d.pro_code.trim().is_empty(),
        d.department_code.trim().is_empty(),
    ) {
        (false, true) => ProCode::parse(&d.pro_code)
            .map(|pro_code| DeclarationTarget::Project { pro_code })
            .map_err(|v| ApiError::validation(prefixed("declaration.", vec![v]))),
        (true, false) => DepartmentCode::parse(&d.department_code)
            .map(|department_code| DeclarationTarget::DepartmentOverall { department_code })
            .map_err(|v| ApiError::validation(prefixed("declaration.", vec![v]))),
        _ => Err(ApiError::invalid_field(
            "TARGET_REQUIRED",
            "declaration.pro_code",
            "请指定项目编码（项目绩效目标）或部门编码（部门整体绩效目标），二者选一",
        )),
    }
}

fn prefixed(prefix: &str, list: Vec<FieldViolation>) -> Vec<FieldViolation> {
    violations(list)
        .into_iter()
        .map(|v| v.under(prefix))
        .collect()
}

/// A declaration from the wire. Library indicators carry only their reference and the unit's
/// values here; [`crate::ops`] fills in the library's levels, name, direction, unit and 固化.
pub fn declaration_from(
    d: &proto::GoalDeclaration,
    target: DeclarationTarget,
) -> Result<GoalDeclaration, ApiError> {
    let mut v = Vec::new();
    let fiscal_year = FiscalYear::new(d.fiscal_year)
        .map_err(|e| {
            v.push(FieldViolation::generic(
                "declaration.fiscal_year",
                e.message,
            ))
        })
        .ok();
    let mut indicators = Vec::with_capacity(d.indicators.len());
    for (i, x) in d.indicators.iter().enumerate() {
        let at = |f: &str| format!("declaration.indicators[{i}].{f}");
        let weight = decimal(x.weight.as_ref(), &at("weight"))
            .map_err(|e| v.push(e))
            .ok()
            .flatten();
        let code = x.library_code.trim();
        if !code.is_empty() {
            indicators.push(DeclaredIndicator {
                source: IndicatorSource::Library {
                    code: code.to_owned(),
                    version: x.library_version,
                },
                // Placeholders until the library answers (ops::with_library); a name sent is
                // checked against the library's there.
                level1: Level2::Quantity.level1(),
                level2: Level2::Quantity,
                name: x.name.trim().to_owned(),
                direction: Direction::Qualitative,
                target_value: x.target_value.trim().to_owned(),
                unit: x.unit.trim().to_owned(),
                weight,
                fixed: false,
            });
            continue;
        }
        let level2 = level2_from(x.level2);
        if level2.is_none() {
            v.push(FieldViolation::generic(
                at("level2"),
                "自定义指标请选择二级指标",
            ));
        }
        let direction = direction_from(x.direction);
        if direction.is_none() {
            v.push(FieldViolation::generic(
                at("direction"),
                "请选择指标方向（≥ ≤ = 或定性）",
            ));
        }
        if let (Some(level2), Some(direction)) = (level2, direction) {
            indicators.push(DeclaredIndicator {
                source: IndicatorSource::Specific,
                level1: level2.level1(),
                level2,
                name: x.name.trim().to_owned(),
                direction,
                target_value: x.target_value.trim().to_owned(),
                unit: x.unit.trim().to_owned(),
                weight,
                fixed: false,
            });
        }
    }
    let Some(fiscal_year) = fiscal_year.filter(|_| v.is_empty()) else {
        return Err(ApiError::validation(v));
    };
    Ok(GoalDeclaration {
        target,
        fiscal_year,
        year_goal: d.year_goal.trim().to_owned(),
        mid_term_goal: Some(d.mid_term_goal.trim().to_owned()).filter(|m| !m.is_empty()),
        serves_people: d.serves_people,
        indicators,
    })
}

pub fn declaration_to(d: &GoalDeclaration) -> proto::GoalDeclaration {
    let (pro_code, department_code) = match &d.target {
        DeclarationTarget::Project { pro_code } => (pro_code.as_str().to_owned(), String::new()),
        DeclarationTarget::DepartmentOverall { department_code } => {
            (String::new(), department_code.as_str().to_owned())
        }
    };
    proto::GoalDeclaration {
        pro_code,
        department_code,
        fiscal_year: d.fiscal_year.get(),
        year_goal: d.year_goal.clone(),
        mid_term_goal: d.mid_term_goal.clone().unwrap_or_default(),
        serves_people: d.serves_people,
        indicators: d
            .indicators
            .iter()
            .map(|i| {
                let (library_code, library_version) = match &i.source {
                    IndicatorSource::Library { code, version } => (code.clone(), *version),
                    IndicatorSource::Specific => (String::new(), 0),
                };
                proto::GoalIndicator {
                    library_code,
                    library_version,
                    level2: level2_to(i.level2) as i32,
                    name: i.name.clone(),
                    direction: direction_to(i.direction) as i32,
                    unit: i.unit.clone(),
                    target_value: i.target_value.clone(),
                    weight: i.weight.and_then(dec),
                    level1_name: i.level1.chinese().into(),
                    level2_name: i.level2.chinese().into(),
                    fixed: i.fixed,
                }
            })
            .collect(),
        department_budget: None,
    }
}

pub fn status_to(k: StatusKind) -> proto::GoalStatus {
    use proto::GoalStatus as P;
    match k {
        StatusKind::Draft => P::Draft,
        StatusKind::Submitted => P::Submitted,
        StatusKind::Reviewed => P::Reviewed,
        StatusKind::Returned => P::Returned,
        StatusKind::Blocked => P::Blocked,
        StatusKind::Approved => P::Approved,
        StatusKind::Published => P::Published,
        StatusKind::Adjusting => P::Adjusting,
    }
}

pub fn status_from(v: i32) -> Option<StatusKind> {
    use proto::GoalStatus as P;
    Some(match P::try_from(v).ok()? {
        P::Unspecified => return None,
        P::Draft => StatusKind::Draft,
        P::Submitted => StatusKind::Submitted,
        P::Reviewed => StatusKind::Reviewed,
        P::Returned => StatusKind::Returned,
        P::Blocked => StatusKind::Blocked,
        P::Approved => StatusKind::Approved,
        P::Published => StatusKind::Published,
        P::Adjusting => StatusKind::Adjusting,
    })
}

pub fn outcome_from(v: i32) -> Option<ReviewOutcome> {
    use proto::ReviewOutcome as P;
    Some(match P::try_from(v).ok()? {
        P::Unspecified => return None,
        P::Excellent => ReviewOutcome::Excellent,
        P::Good => ReviewOutcome::Good,
        P::Fair => ReviewOutcome::Fair,
        P::Poor => ReviewOutcome::Poor,
    })
}

pub fn outcome_to(o: Option<ReviewOutcome>) -> proto::ReviewOutcome {
    use proto::ReviewOutcome as P;
    match o {
        None => P::Unspecified,
        Some(ReviewOutcome::Excellent) => P::Excellent,
        Some(ReviewOutcome::Good) => P::Good,
        Some(ReviewOutcome::Fair) => P::Fair,
        Some(ReviewOutcome::Poor) => P::Poor,
    }
}

/// The workflow parts of a goal message.
pub fn state_into(goal: &mut proto::Goal, s: &GoalState) {
    goal.status = status_to(s.status.kind()) as i32;
    goal.status_text = s.status.chinese();
    if let Status::Reviewed {
        outcome,
        amendments,
    } = s.status
    {
        goal.outcome = outcome_to(Some(outcome)) as i32;
        goal.amendments = i32::try_from(amendments).unwrap_or(i32::MAX);
    }
    goal.latest_version = i32::try_from(s.version).unwrap_or(i32::MAX);
    goal.approved_version = s
        .approved_version
        .map_or(0, |v| i32::try_from(v).unwrap_or(0));
    goal.published_version = s
        .published_version
        .map_or(0, |v| i32::try_from(v).unwrap_or(0));
    goal.first_review = outcome_to(s.first_review) as i32;
    goal.revision = i64::try_from(s.revision).unwrap_or(i64::MAX);
}

/// A reason against funding (the funding gate's, StreamApprovedGoals' for a subject without an
/// approved goal).
pub fn funding_reason_to(r: crate::domain::funding::Reason) -> proto::FundingReason {
    proto::FundingReason {
        code: r.code().into(),
        message: r.chinese(),
    }
}

pub fn changes_to(list: &[FieldChange]) -> Vec<proto::FieldChange> {
    list.iter()
        .map(|c| proto::FieldChange {
            field: c.field.clone(),
            before: c.before.clone(),
            after: c.after.clone(),
        })
        .collect()
}
