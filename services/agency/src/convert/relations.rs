//! Relations (agencies' and experts' interests) ⇄ proto.

use pbm_proto::agency::v1 as proto;
use pbm_server::FieldViolation;

use super::{date, opt_date};
use crate::domain::registry::{Relation, RelationKind};

pub(super) fn relation_kind_from(v: i32) -> Option<RelationKind> {
    match proto::RelationKind::try_from(v).ok()? {
        proto::RelationKind::Unspecified => None,
        proto::RelationKind::WorkedFor => Some(RelationKind::WorkedFor),
        proto::RelationKind::Directed => Some(RelationKind::Directed),
        proto::RelationKind::Controlled => Some(RelationKind::Controlled),
        proto::RelationKind::Family => Some(RelationKind::Family),
        proto::RelationKind::OtherInterest => Some(RelationKind::OtherInterest),
    }
}

pub(super) fn relation_kind_to(k: RelationKind) -> proto::RelationKind {
    match k {
        RelationKind::WorkedFor => proto::RelationKind::WorkedFor,
        RelationKind::Directed => proto::RelationKind::Directed,
        RelationKind::Controlled => proto::RelationKind::Controlled,
        RelationKind::Family => proto::RelationKind::Family,
        RelationKind::OtherInterest => proto::RelationKind::OtherInterest,
    }
}

pub(super) fn relation_from(
    r: proto::Relation,
    field: &str,
    v: &mut Vec<FieldViolation>,
) -> Option<Relation> {
    let kind = relation_kind_from(r.kind);
    if kind.is_none() {
        v.push(FieldViolation::generic(
            format!("{field}.kind"),
            "请选择关联类型",
        ));
    }
    let from = date(&r.from, &format!("{field}.from"))
        .map_err(|e| v.extend(e.violations))
        .ok();
    let to = opt_date(&r.to, &format!("{field}.to"))
        .map_err(|e| v.extend(e.violations))
        .ok()
        .flatten();
    Some(Relation {
        party_code: r.party_code.trim().into(),
        kind: kind?,
        from: from?,
        to,
        note: r.note.trim().into(),
    })
}

pub(super) fn relation_to(r: &Relation) -> proto::Relation {
    proto::Relation {
        party_code: r.party_code.clone(),
        kind: relation_kind_to(r.kind) as i32,
        from: r.from.to_string(),
        to: r.to.map(|d| d.to_string()).unwrap_or_default(),
        note: r.note.clone(),
    }
}
