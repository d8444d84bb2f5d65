//! Proto ⇄ domain, below the use cases (they build the responses stored for idempotent
//! replay with it). Parsing collects every field violation at once; enums are matched
//! exhaustively so a new proto value is a compile error until handled.
//!
//! * [`excel`] – .xlsx rows ⇄ domain, with Chinese column headers.
//! * [`limits`] – the longest text of every request field (`TEXT_TOO_LONG`).

pub mod excel;
pub mod limits;

use pbm_proto::common::v1 as common;
use pbm_proto::indicator::v1 as proto;
use pbm_server::wire::stamp;
use pbm_server::{ApiError, FieldViolation};
use pbm_types::{DivisionCode, FiscalYear};

use crate::domain::frame::{Frame, FrameNode, Template};
use crate::domain::indicator::{self, Direction, Indicator, Kind, Spec, Status, ValueStandard};
use crate::search::MatchKind;
use crate::state::AppState;
use crate::store::{Filter, ProposalRecord, ProposalStatus, StoredFrame};

fn decimal(d: Option<pbm_types::Decimal>) -> Option<common::Decimal> {
    d.and_then(pbm_server::wire::decimal)
}

pub fn kind_from(v: i32) -> Option<Kind> {
    match proto::IndicatorKind::try_from(v).ok()? {
        proto::IndicatorKind::Unspecified => None,
        proto::IndicatorKind::Common => Some(Kind::Common),
        proto::IndicatorKind::Specific => Some(Kind::Specific),
    }
}

fn kind_to(k: Kind) -> proto::IndicatorKind {
    match k {
        Kind::Common => proto::IndicatorKind::Common,
        Kind::Specific => proto::IndicatorKind::Specific,
    }
}

fn direction_from(v: i32) -> Option<Direction> {
    match proto::Direction::try_from(v).ok()? {
        proto::Direction::Unspecified => None,
        proto::Direction::Ge => Some(Direction::Ge),
        proto::Direction::Le => Some(Direction::Le),
        proto::Direction::Eq => Some(Direction::Eq),
        proto::Direction::Qualitative => Some(Direction::Qualitative),
    }
}

fn direction_to(d: Direction) -> proto::Direction {
    match d {
        Direction::Ge => proto::Direction::Ge,
        Direction::Le => proto::Direction::Le,
        Direction::Eq => proto::Direction::Eq,
        Direction::Qualitative => proto::Direction::Qualitative,
    }
}

/// `Ok(None)` for UNSPECIFIED (the standard is optional).
fn value_standard_from(v: i32) -> Result<Option<ValueStandard>, ()> {
    match proto::ValueStandard::try_from(v).map_err(|_| ())? {
        proto::ValueStandard::Unspecified => Ok(None),
        proto::ValueStandard::Plan => Ok(Some(ValueStandard::Plan)),
        proto::ValueStandard::Industry => Ok(Some(ValueStandard::Industry)),
        proto::ValueStandard::History => Ok(Some(ValueStandard::History)),
        proto::ValueStandard::Other => Ok(Some(ValueStandard::Other)),
    }
}

fn value_standard_to(v: Option<ValueStandard>) -> proto::ValueStandard {
    match v {
        None => proto::ValueStandard::Unspecified,
        Some(ValueStandard::Plan) => proto::ValueStandard::Plan,
        Some(ValueStandard::Industry) => proto::ValueStandard::Industry,
        Some(ValueStandard::History) => proto::ValueStandard::History,
        Some(ValueStandard::Other) => proto::ValueStandard::Other,
    }
}

pub fn status_from(v: i32) -> Option<Status> {
    match proto::IndicatorStatus::try_from(v).ok()? {
        proto::IndicatorStatus::Unspecified => None,
        proto::IndicatorStatus::Enabled => Some(Status::Enabled),
        proto::IndicatorStatus::Disabled => Some(Status::Disabled),
    }
}

fn status_to(s: Status) -> proto::IndicatorStatus {
    match s {
        Status::Enabled => proto::IndicatorStatus::Enabled,
        Status::Disabled => proto::IndicatorStatus::Disabled,
    }
}

pub fn proposal_status_from(v: i32) -> Result<Option<ProposalStatus>, ApiError> {
    match proto::ProposalStatus::try_from(v) {
        Ok(proto::ProposalStatus::Unspecified) => Ok(None),
        Ok(proto::ProposalStatus::Pending) => Ok(Some(ProposalStatus::Pending)),
        Ok(proto::ProposalStatus::Approved) => Ok(Some(ProposalStatus::Approved)),
        Ok(proto::ProposalStatus::Rejected) => Ok(Some(ProposalStatus::Rejected)),
        Err(_) => Err(ApiError::invalid_field(
            "STATUS_INVALID",
            "status",
            "申请状态无效",
        )),
    }
}

fn proposal_status_to(s: ProposalStatus) -> proto::ProposalStatus {
    match s {
        ProposalStatus::Pending => proto::ProposalStatus::Pending,
        ProposalStatus::Approved => proto::ProposalStatus::Approved,
        ProposalStatus::Rejected => proto::ProposalStatus::Rejected,
    }
}

pub fn match_kind(k: MatchKind) -> proto::MatchKind {
    match k {
        MatchKind::NameExact => proto::MatchKind::NameExact,
        MatchKind::NamePrefix => proto::MatchKind::NamePrefix,
        MatchKind::NameContains => proto::MatchKind::NameContains,
        MatchKind::Explanation => proto::MatchKind::Explanation,
    }
}

/// Parses a spec, collecting every violation (field paths under `prefix`). Rules that need the
/// frame are checked later by [`Spec::violations`].
pub fn spec_from_proto(p: Option<proto::IndicatorSpec>, prefix: &str) -> Result<Spec, ApiError> {
    let Some(p) = p else {
        return Err(ApiError::invalid_field(
            "SPEC_REQUIRED",
            prefix.trim_end_matches('.'),
            "缺少指标属性 spec",
        ));
    };
    let proto::IndicatorSpec {
        fiscal_year,
        frame_node_code,
        name,
        kind,
        industry_tags,
        field_tags,
        level_tags,
        direction,
        unit,
        explanation,
        formula,
        scoring_rule,
        value_standard,
        value_standard_note,
        reference_target,
        last_year_value,
        year_before_value,
        fixed,
        enabled_from_year,
        enabled_to_year,
        owner_department,
    } = p;
    let field = |f: &str| format!("{prefix}{f}");
    let mut v = Vec::new();
    let fy = FiscalYear::new(fiscal_year)
        .map_err(|e| v.push(FieldViolation::generic(field("fiscal_year"), e.message)))
        .ok();
    let kind = kind_from(kind);
    if kind.is_none() {
        v.push(FieldViolation::generic(
            field("kind"),
            "请选择指标类型：共性或个性",
        ));
    }
    let direction = direction_from(direction);
    if direction.is_none() {
        v.push(FieldViolation::generic(
            field("direction"),
            "请选择指标方向：≥、≤、= 或定性",
        ));
    }
    let value_standard = value_standard_from(value_standard)
        .map_err(|()| {
            v.push(FieldViolation::generic(
                field("value_standard"),
                "指标值设定依据无效",
            ))
        })
        .ok()
        .flatten();
    let mut number = |name: &str, d: Option<common::Decimal>| -> Option<pbm_types::Decimal> {
        let d = d.filter(|d| !d.value.trim().is_empty())?;
        pbm_types::decimal::parse(&d.value)
            .map_err(|e| v.push(FieldViolation::generic(field(name), e.message)))
            .ok()
    };
    let last_year_value = number("last_year_value", last_year_value);
    let year_before_value = number("year_before_value", year_before_value);
    let year = |y: i32| (y != 0).then_some(y);
    let (Some(fiscal_year), Some(kind), Some(direction)) = (fy, kind, direction) else {
        return Err(ApiError::validation(v));
    };
    if !v.is_empty() {
        return Err(ApiError::validation(v));
    }
    Ok(Spec {
        fiscal_year,
        frame_node_code: frame_node_code.trim().to_owned(),
        name: name.trim().to_owned(),
        kind,
        industry_tags: indicator::normalize_tags(&industry_tags),
        field_tags: indicator::normalize_tags(&field_tags),
        level_tags: indicator::normalize_tags(&level_tags),
        direction,
        unit: unit.trim().to_owned(),
        explanation: explanation.trim().to_owned(),
        formula: formula.trim().to_owned(),
        scoring_rule: scoring_rule.trim().to_owned(),
        value_standard,
        value_standard_note: value_standard_note.trim().to_owned(),
        reference_target: reference_target.trim().to_owned(),
        last_year_value,
        year_before_value,
        fixed,
        enabled_from_year: year(enabled_from_year),
        enabled_to_year: year(enabled_to_year),
        owner_department: owner_department.trim().to_owned(),
    })
}

pub fn spec_to_proto(s: &Spec) -> proto::IndicatorSpec {
    proto::IndicatorSpec {
        fiscal_year: s.fiscal_year.get(),
        frame_node_code: s.frame_node_code.clone(),
        name: s.name.clone(),
        kind: kind_to(s.kind) as i32,
        industry_tags: s.industry_tags.clone(),
        field_tags: s.field_tags.clone(),
        level_tags: s.level_tags.clone(),
        direction: direction_to(s.direction) as i32,
        unit: s.unit.clone(),
        explanation: s.explanation.clone(),
        formula: s.formula.clone(),
        scoring_rule: s.scoring_rule.clone(),
        value_standard: value_standard_to(s.value_standard) as i32,
        value_standard_note: s.value_standard_note.clone(),
        reference_target: s.reference_target.clone(),
        last_year_value: decimal(s.last_year_value),
        year_before_value: decimal(s.year_before_value),
        fixed: s.fixed,
        enabled_from_year: s.enabled_from_year.unwrap_or(0),
        enabled_to_year: s.enabled_to_year.unwrap_or(0),
        owner_department: s.owner_department.clone(),
    }
}

pub fn indicator_to_proto(i: &Indicator, state: &AppState) -> proto::Indicator {
    let frame = state.cached_frame(i.spec.fiscal_year.get());
    let level2 = frame
        .as_ref()
        .and_then(|f| f.frame.node(&i.spec.frame_node_code).cloned());
    let level1 = level2.as_ref().and_then(|n| {
        frame
            .as_ref()
            .and_then(|f| f.frame.node(&n.parent_code).cloned())
    });
    proto::Indicator {
        code: i.code.clone(),
        version: i.version,
        status: status_to(i.status) as i32,
        spec: Some(spec_to_proto(&i.spec)),
        level1_name: level1.as_ref().map(|n| n.name.clone()).unwrap_or_default(),
        level2_name: level2.as_ref().map(|n| n.name.clone()).unwrap_or_default(),
        level1_code: level1.map(|n| n.code).unwrap_or_default(),
        mof_div_code: state.region.to_string(),
        change_note: i.change_note.clone(),
        changed: Some(stamp(&i.changed_by, i.changed_at)),
        origin_region: i
            .origin
            .as_ref()
            .map_or_else(|| state.region.to_string(), |o| o.region.clone()),
        origin_version: i.origin.as_ref().map_or(i.version, |o| o.version),
        upstream_owned: i.origin.is_some(),
    }
}

pub fn proposal_to_proto(p: &ProposalRecord) -> proto::Proposal {
    proto::Proposal {
        id: p.id,
        code: p.code.clone(),
        spec: Some(spec_to_proto(&p.spec)),
        department: p.department.clone(),
        reason: p.reason.clone(),
        status: proposal_status_to(p.status) as i32,
        decision_comment: p.decision_comment.clone(),
        version: p.version,
        proposed: Some(stamp(&p.proposed_by, p.proposed_at)),
        decided: match (&p.decided_by, p.decided_at) {
            (Some(by), Some(at)) => Some(stamp(by, at)),
            _ => None,
        },
        indicator_version: p.indicator_version.unwrap_or(0),
    }
}

pub fn frame_to_proto(f: &StoredFrame, region: &DivisionCode) -> proto::Frame {
    proto::Frame {
        fiscal_year: f.frame.fiscal_year.get(),
        name: f.frame.name.clone(),
        nodes: f
            .frame
            .nodes
            .iter()
            .map(|n| proto::FrameNode {
                code: n.code.clone(),
                name: n.name.clone(),
                level: n.level,
                parent_code: n.parent_code.clone(),
                sort_order: n.sort_order,
            })
            .collect(),
        mof_div_code: region.to_string(),
        created: Some(stamp(&f.created_by, f.created_at)),
    }
}

/// A frame from a template or from explicit nodes (not both).
pub fn frame_from_request(r: &proto::CreateFrameRequest) -> Result<Frame, ApiError> {
    let fiscal_year = FiscalYear::new(r.fiscal_year)
        .map_err(|e| ApiError::invalid_field(e.reason, "fiscal_year", e.message))?;
    let template = match proto::FrameTemplate::try_from(r.template) {
        Ok(proto::FrameTemplate::Unspecified) => None,
        Ok(proto::FrameTemplate::NationalDefault) => Some(Template::NationalDefault),
        Ok(proto::FrameTemplate::CostFirstLevel) => Some(Template::CostFirstLevel),
        Err(_) => {
            return Err(ApiError::invalid_field(
                "TEMPLATE_INVALID",
                "template",
                "框架模板无效",
            ));
        }
    };
    let nodes = match (template, r.nodes.is_empty()) {
        (Some(t), true) => t.nodes(),
        (None, false) => r
            .nodes
            .iter()
            .map(|n| FrameNode {
                code: n.code.trim().to_owned(),
                name: n.name.trim().to_owned(),
                level: n.level,
                parent_code: n.parent_code.trim().to_owned(),
                sort_order: n.sort_order,
            })
            .collect(),
        _ => {
            return Err(ApiError::invalid_field(
                "FRAME_SOURCE_INVALID",
                "template",
                "请选择一个框架模板，或逐个给出框架节点（二者选一）",
            ));
        }
    };
    let name = match (r.name.trim(), template) {
        ("", Some(t)) => t.default_name().to_owned(),
        (n, _) => n.to_owned(),
    };
    Ok(Frame {
        fiscal_year,
        name,
        nodes,
    })
}

pub fn filter_from_proto(f: Option<proto::IndicatorFilter>) -> Result<Filter, ApiError> {
    let Some(f) = f else {
        return Ok(Filter::default());
    };
    limits::check_under(&f, "filter.")?;
    // 0 is any year; any other year is one PBM serves.
    if f.fiscal_year != 0 {
        FiscalYear::new(f.fiscal_year)
            .map_err(|e| ApiError::invalid_field(e.reason, "filter.fiscal_year", e.message))?;
    }
    let text = |s: String| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let kind = match f.kind {
        0 => None,
        k => Some(kind_from(k).ok_or_else(|| {
            ApiError::invalid_field("KIND_INVALID", "filter.kind", "指标类型无效")
        })?),
    };
    let status = match f.status {
        0 => None,
        s => Some(status_from(s).ok_or_else(|| {
            ApiError::invalid_field("STATUS_INVALID", "filter.status", "状态无效")
        })?),
    };
    Ok(Filter {
        fiscal_year: (f.fiscal_year != 0).then_some(f.fiscal_year),
        frame_node_code: text(f.frame_node_code),
        level1_code: text(f.level1_code),
        kind,
        status,
        industry_tag: text(f.industry_tag),
        field_tag: text(f.field_tag),
        level_tag: text(f.level_tag),
        owner_department: text(f.owner_department),
        fixed_only: f.fixed_only,
    })
}

/// Largest chunk of an exported workbook in one stream message.
const EXPORT_CHUNK: usize = 1 << 20;

/// An exported workbook as stream messages; the first carries the row count.
pub fn export_chunks(bytes: &[u8], rows: usize) -> Vec<proto::ExportIndicatorsChunk> {
    bytes
        .chunks(EXPORT_CHUNK)
        .enumerate()
        .map(|(i, c)| proto::ExportIndicatorsChunk {
            data: c.to_vec(),
            rows: if i == 0 { rows as i32 } else { 0 },
        })
        .collect()
}
